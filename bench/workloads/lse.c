/* lse: log-sum-exp of n values, computed the numerically stable way: A = max_i x_i, f = log(sum_i e^(x_i - A)) + A.
 *
 * Definition: GradBench's `lse` eval (github.com/gradbench/gradbench: evals/lse/README.md and its reference
 * cpp/gradbench/evals/lse.hpp). The maximum is selected by comparison, as std::max does for an AD type (no op is
 * recorded for it; the selected x_i carries the derivative of both A terms, which cancel). The sum starts with
 * the first term. The gradient is softmax(x).
 * Inputs: x_i uniform in [0, 1) (GradBench: numpy's rand; here wl_rng). Size = n; GradBench's default sizes are
 * n = 2500, 5000, ..., 1280000 (doubling). Nodes: exactly 3 n + 1.
 * Accuracy: the derivative reaching the selected maximum through its two uses is 1 - sum_i softmax_i, zero in
 * exact arithmetic but a cancellation whose rounding (about sqrt(n) n eps against entries of order 1 / n) grows
 * with n: the engines differ from the exact softmax (the manual gradient) by about 1e-13 at n = 200, by up to
 * 1e-12 at n = 1000 and by more beyond (7e-12 at n = 10^4). adcheck's medium size is therefore n = 200. */
#ifdef WL_META

static int lse_n_in(int size) { return size < 1 ? 1 : size; }
static int lse_n_out(int size) { (void)size; return 1; }
static int lse_zero(int size) { (void)size; return 0; }
static double lse_nodes(int size) { return 3.0 * lse_n_in(size) + 1.0; }
static void lse_init(int size, uint64_t seed, double *x, double *data) {
  (void)data;
  wl_rng r = {seed};
  for (int i = 0; i < lse_n_in(size); ++i) x[i] = wl_rng_uniform(&r, 0.0, 1.0);
}
/* Hand-written: g_i = e^(x_i - A) / sum_j e^(x_j - A). */
static void lse_manual(int size, const double *data, const double *x, double *f, double *g) {
  (void)data;
  int n = lse_n_in(size);
  double A = x[0], s = 0.0;
  for (int i = 1; i < n; ++i)
    if (A < x[i]) A = x[i];
  for (int i = 0; i < n; ++i) {
    g[i] = ad_m_exp(x[i] - A);
    s = i ? s + g[i] : g[i];
  }
  for (int i = 0; i < n; ++i) g[i] /= s;
  *f = ad_m_log(s) + A;
}
const wl_info wl_info_lse = {WL_lse, "lse", "log-sum-exp of n values, max subtracted first (GradBench lse)",
                             {5, 200}, 100000000, lse_n_in, lse_n_out, lse_zero, lse_zero, lse_nodes, lse_init,
                             lse_manual, NULL, 0};

#else

static void WL_FN(lse)(ad_ctx *c, int size, const double *data, const ad_t *x, ad_t *y, ad_t *s) {
  (void)data, (void)s;
  int n = size < 1 ? 1 : size;
  ad_t A = x[0];
  for (int i = 1; i < n; ++i)
    if (ad_lt_vv(c, A, x[i])) A = x[i];
  ad_t sum = ad_exp(c, ad_sub_vv(c, x[0], A));
  for (int i = 1; i < n; ++i) sum = ad_add_vv(c, sum, ad_exp(c, ad_sub_vv(c, x[i], A)));
  y[0] = ad_add_vv(c, ad_log(c, sum), A);
}

#endif
