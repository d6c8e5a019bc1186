/* llsq_t: llsq (llsq.c) in tensor form: f = 1/2 sum((s - T x)^2), T[i][j] = t_i^j (n x 128), s_i = sign(t_i).
 * Same inputs, sizes, node count and hand-written gradient as llsq. T and s are constant data, computed by init
 * exactly as llsq computes them (t_i^j by the same running product). The matrix-vector product sums
 * T[i][0] x_0 + T[i][1] x_1 + ... and subtracts once, where llsq subtracts term by term: values agree with llsq's
 * to rounding (about 1e-15 relative), not bit for bit. */
#ifdef WL_META

static int llsq_t_n_data(int size) { return llsq_n(size) * (LLSQ_M + 1); }
static void llsq_t_init(int size, uint64_t seed, double *x, double *data) {
  llsq_init(size, seed, x, data);
  int n = llsq_n(size);
  for (int i = 0; i < n; ++i) {
    double t = -1.0 + i * 2.0 / (n - 1), tj = t;
    double *row = data + (size_t)i * LLSQ_M;
    row[0] = 1.0;
    for (int j = 1; j < LLSQ_M; ++j, tj *= t) row[j] = tj;
    data[(size_t)n * LLSQ_M + i] = (double)((t > 0.0) - (t < 0.0));
  }
}
const wl_info wl_info_llsq_t = {WL_llsq_t, "llsq_t", "linear least squares, 128 coefficients, n points, tensor form",
                                {4, 64}, 10000000, llsq_n_in, llsq_n_out, llsq_t_n_data, llsq_zero, llsq_nodes,
                                llsq_t_init, llsq_manual, NULL, 0};

#elif defined(AD_ARR_ENGINE)

static void WL_FN(llsq_t)(ad_ctx *c, int size, const double *data, const ad_t *x, ad_t *y, ad_t *s) {
  (void)s;
  enum { M = 128 };
  int n = size < 2 ? 2 : size;
  ad_arr X = ad_arr_stack(c, x, M);
  ad_arr T = ad_arr_reshape(c, ad_arr_data(c, data, (int64_t)n * M), n, M);
  ad_arr S = ad_arr_data(c, data + (size_t)n * M, n);
  ad_arr r = ad_arr_sub_vv(c, S, ad_arr_mv(c, T, 0, X));
  y[0] = ad_mul_vc(c, ad_arr_sum(c, ad_arr_sqr(c, r)), 0.5);
}

#else
WL_NO_ARRAYS(llsq_t)
#endif
