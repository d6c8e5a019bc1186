/* gmm_t: gmm (gmm.c) in tensor form, after GradBench's vectorised PyTorch objective (python/gradbench/gradbench/
 * evals/gmm: Qtimesx, logsumexpvec, log_wishart_prior): every point and component at once, in matrix products and
 * reductions along an axis.
 *
 *   W       (k d x d): row (c, b) is row b of Q_c = diag(exp(q_c)) + the strictly lower part from l_c
 *   V       (n x k d) = X W^T - 1 (W mu)^T: V[i, (c, b)] = (Q_c (x_i - mu_c))_b, one matrix product for all points
 *           and components (PyTorch: Qdiag * xcentered + einsum over the batch of L_c; here the centring comes after
 *           the product: W mu is one row, broadcast over the points)
 *   main    (n x k) = alpha + sum_j q_cj - |V[i, (c, .)]|^2 / 2            (row-broadcast alpha + sum q)
 *   f       = sum_i logsumexp_c(main[i, .]) + const - n logsumexp(alpha) - prior
 * logsumexp along axis 1 is composed of max_axis, a column broadcast, exp, sum_axis and log, as logsumexpvec.
 * Broadcasting a row over the n points (or a column over the k components) is a product with a column (row) of
 * ones: mm of (n x 1) by (1 x m), whose sums have one term, so the values are the row's exactly.
 * W and the gathers of q and l are stacks of scalar variables (exp(q) as scalar ops, l and 0 as they are), PyTorch's
 * constructL with torch.cat and torch.stack.
 * Same inputs, sizes, node count and hand-written gradient as gmm; the data is gmm's followed by max(n, k) ones.
 * Values agree with gmm's to rounding (the product sums x_ia W[(c,b),a] over a and subtracts (W mu)_(c,b) where gmm
 * subtracts mu first; logsumexp's largest term comes from max_axis instead of comparisons), not necessarily bit
 * for bit. Under adbench --ckpt the tape engines report AD_ESTATE for it, as for every tensor form (ode_t.c). */
#ifdef WL_META

static int gmm_t_ones(int size) { return gmm_row(size)[2] > gmm_row(size)[1] ? gmm_row(size)[2] : gmm_row(size)[1]; }
static int gmm_t_n_data(int size) { return gmm_n_data(size) + gmm_t_ones(size); }
/* Scratch: q (k d), l (k L), exp(q) (k d), then W and mu's rows as W needs them (k d d each). */
static int gmm_t_n_scratch(int size) {
  const int *r = gmm_row(size);
  int d = r[0], k = r[1];
  return 2 * k * d + k * (d * (d - 1) / 2) + 2 * k * d * d;
}
static void gmm_t_init(int size, uint64_t seed, double *x, double *data) {
  gmm_init(size, seed, x, data);
  double *ones = data + gmm_n_data(size);
  for (int i = 0; i < gmm_t_ones(size); ++i) ones[i] = 1.0;
}
const wl_info wl_info_gmm_t = {WL_gmm_t, "gmm_t", "GMM log-posterior with Wishart prior, tensor form (size = grid row)",
                               {1, 3}, GMM_ROWS, gmm_n_in, gmm_n_out, gmm_t_n_data, gmm_t_n_scratch, gmm_nodes,
                               gmm_t_init, gmm_manual, NULL, 0};

#elif defined(AD_ARR_ENGINE)

/* logsumexp of each row of M (rows x cols), the row's largest term subtracted first: log(sum_j exp(M[i, j] - m_i))
 * + m_i. ones: at least cols ones (constant data). */
static ad_arr gmm_t_lse_rows(ad_ctx *c, ad_arr M, const double *ones) {
  int64_t rows = M.shape.rows, cols = M.shape.cols;
  ad_arr mx = ad_arr_max_axis(c, M, 1);
  ad_arr MX = ad_arr_mm(c, ad_arr_reshape(c, mx, rows, 1), 0, ad_arr_reshape(c, ad_arr_data(c, ones, cols), 1, cols), 0);
  ad_arr se = ad_arr_sum_axis(c, ad_arr_exp(c, ad_arr_sub_vv(c, M, MX)), 1);
  return ad_arr_add_vv(c, ad_arr_log(c, se), mx);
}

static void WL_FN(gmm_t)(ad_ctx *c, int size, const double *data, const ad_t *x, ad_t *y, ad_t *s) {
  const int d = (int)data[0], k = (int)data[1], n = (int)data[2], L = d * (d - 1) / 2, icf_sz = d + L;
  const int kd = k * d, n_in = k + kd + k * icf_sz;
  const double wm = data[3], gamma = data[4], *pts = data + 7, *ones = data + 7 + n * d; /* gmm.c: 7 header doubles */
  const ad_t *icf = x + k + kd;
  (void)size;
  ad_t *qs = s, *ls = qs + kd, *es = ls + k * L, *ws = es + kd, *ms = ws + kd * d;
  for (int ic = 0; ic < k; ++ic) {
    for (int j = 0; j < d; ++j) {
      qs[ic * d + j] = icf[ic * icf_sz + j];
      es[ic * d + j] = ad_exp(c, qs[ic * d + j]);
    }
    for (int j = 0; j < L; ++j) ls[ic * L + j] = icf[ic * icf_sz + d + j];
  }
  /* W[(c, b), a]: exp(q_cb) on the diagonal, l_c(a, b) below it (l_c column by column), 0 above; mu_ca beside it */
  ad_t zero = ad_const(c, 0.0);
  for (int ic = 0; ic < k; ++ic)
    for (int b = 0; b < d; ++b)
      for (int a = 0; a < d; ++a) {
        int row = ic * d + b;
        ws[row * d + a] = a == b ? es[row] : a > b ? zero : ls[ic * L + a * (2 * d - a - 1) / 2 + (b - a - 1)];
        ms[row * d + a] = x[k + ic * d + a];
      }
  ad_arr P = ad_arr_stack(c, x, n_in);
  ad_arr alpha = ad_arr_slice(c, P, 0, k);
  ad_arr Q = ad_arr_stack(c, qs, kd), Qd = ad_arr_stack(c, es, kd);
  ad_arr sumq = ad_arr_sum_axis(c, ad_arr_reshape(c, Q, k, d), 1);
  ad_arr W = ad_arr_reshape(c, ad_arr_stack(c, ws, (int64_t)kd * d), kd, d);
  ad_arr Wmu = ad_arr_sum_axis(c, ad_arr_mul_vv(c, W, ad_arr_reshape(c, ad_arr_stack(c, ms, (int64_t)kd * d), kd, d)), 1);
  ad_arr X = ad_arr_reshape(c, ad_arr_data(c, pts, (int64_t)n * d), n, d);
  ad_arr onesn = ad_arr_reshape(c, ad_arr_data(c, ones, n), n, 1);
  ad_arr V = ad_arr_sub_vv(c, ad_arr_mm(c, X, 0, W, 1), ad_arr_mm(c, onesn, 0, ad_arr_reshape(c, Wmu, 1, kd), 0));
  ad_arr sq = ad_arr_reshape(c, ad_arr_sum_axis(c, ad_arr_reshape(c, ad_arr_sqr(c, V), (int64_t)n * k, d), 1), n, k);
  ad_arr aq = ad_arr_reshape(c, ad_arr_add_vv(c, alpha, sumq), 1, k);
  ad_arr main_t = ad_arr_sub_vv(c, ad_arr_mm(c, onesn, 0, aq, 0), ad_arr_mul_vc(c, sq, 0.5));
  ad_t slse = ad_arr_sum(c, gmm_t_lse_rows(c, main_t, ones));
  ad_t amax = ad_arr_max(c, alpha);
  ad_t lse_alpha = ad_add_vv(c, ad_log(c, ad_arr_sum(c, ad_arr_exp(c, ad_arr_sub_vv_bs(c, alpha, amax)))), amax);
  ad_t err = ad_sub_vv(c, ad_add_vc(c, slse, data[5]), ad_mul_vc(c, lse_alpha, (double)n));
  /* the prior: 1/2 gamma^2 (|exp(q_c)|^2 + |l_c|^2) - m sum q_c, summed over the components */
  ad_arr frob = ad_arr_sum_axis(c, ad_arr_reshape(c, ad_arr_sqr(c, Qd), k, d), 1);
  if (L) frob = ad_arr_add_vv(c, frob, ad_arr_sum_axis(c, ad_arr_reshape(c, ad_arr_sqr(c, ad_arr_stack(c, ls, (int64_t)k * L)), k, L), 1));
  ad_t out = ad_arr_sum(c, ad_arr_sub_vv(c, ad_arr_mul_vc(c, frob, 0.5 * gamma * gamma), ad_arr_mul_vc(c, sumq, wm)));
  y[0] = ad_add_vv(c, err, ad_sub_cv(c, data[6], out));
}

#else
WL_NO_ARRAYS(gmm_t)
#endif
