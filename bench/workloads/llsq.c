/* llsq: the linear least-squares objective of fitting a polynomial of m coefficients to the sign function.
 *
 * Definition: GradBench's `llsq` eval (github.com/gradbench/gradbench: evals/llsq/README.md and its reference
 * cpp/gradbench/evals/llsq.hpp), from cmpad's llsq_obj (Bradley M. Bell):
 *   f(x) = 1/2 sum_{i<n} (s_i - sum_{j<m} x_j t_i^j)^2,   t_i = -1 + i 2 / (n - 1),   s_i = sign(t_i)
 * with m = 128 coefficients (GradBench's default). Deviation: t_i^j comes from a running product (t_i^j =
 * t_i^(j-1) t_i), not from pow, so it may differ from pow's result in the last bits; it is a constant either way.
 * Inputs: x_j uniform in [0, 1) (GradBench: numpy's rand; here wl_rng). Size = n (>= 2); GradBench's default
 * sizes are n = 16, 32, ..., 4096, 8196, 16392. Nodes: exactly n (2 m + 2). */
#ifdef WL_META

enum { LLSQ_M = 128 };
static int llsq_n(int size) { return size < 2 ? 2 : size; }
static int llsq_n_in(int size) { (void)size; return LLSQ_M; }
static int llsq_n_out(int size) { (void)size; return 1; }
static int llsq_zero(int size) { (void)size; return 0; }
static double llsq_nodes(int size) { return llsq_n(size) * (2.0 * LLSQ_M + 2.0); }
static void llsq_init(int size, uint64_t seed, double *x, double *data) {
  (void)size, (void)data;
  wl_rng r = {seed};
  for (int i = 0; i < LLSQ_M; ++i) x[i] = wl_rng_uniform(&r, 0.0, 1.0);
}
/* Hand-written: with residuals r_i = s_i - sum_j x_j t_i^j, df/dx_j = -sum_i r_i t_i^j. */
static void llsq_manual(int size, const double *data, const double *x, double *f, double *g) {
  (void)data;
  int n = llsq_n(size);
  double sum = 0.0;
  for (int j = 0; j < LLSQ_M; ++j) g[j] = 0.0;
  for (int i = 0; i < n; ++i) {
    double t = -1.0 + i * 2.0 / (n - 1), tj = 1.0;
    double r = (t > 0.0) - (t < 0.0);
    for (int j = 0; j < LLSQ_M; ++j, tj *= t) r -= x[j] * tj;
    tj = 1.0;
    for (int j = 0; j < LLSQ_M; ++j, tj *= t) g[j] -= r * tj;
    sum = i ? sum + r * r : r * r;
  }
  *f = sum * 0.5;
}
const wl_info wl_info_llsq = {WL_llsq, "llsq", "linear least squares, 128 coefficients, n points (GradBench llsq)",
                              {4, 64}, 10000000, llsq_n_in, llsq_n_out, llsq_zero, llsq_zero, llsq_nodes,
                              llsq_init, llsq_manual, NULL, 0};

#else

static void WL_FN(llsq)(ad_ctx *c, int size, const double *data, const ad_t *x, ad_t *y, ad_t *s) {
  (void)data, (void)s;
  enum { M = 128 };
  int n = size < 2 ? 2 : size;
  ad_t sum = ad_const(c, 0.0);
  for (int i = 0; i < n; ++i) {
    double t = -1.0 + i * 2.0 / (n - 1), tj = t;
    ad_t r = ad_sub_cv(c, (double)((t > 0.0) - (t < 0.0)), ad_mul_vc(c, x[0], 1.0));
    for (int j = 1; j < M; ++j, tj *= t) r = ad_sub_vv(c, r, ad_mul_vc(c, x[j], tj));
    ad_t r2 = ad_sqr(c, r);
    sum = i ? ad_add_vv(c, sum, r2) : r2;
  }
  y[0] = ad_mul_vc(c, sum, 0.5);
}

#endif
