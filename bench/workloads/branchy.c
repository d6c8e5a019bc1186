/* branchy: data-dependent control flow, so the recorded graph changes with the input (a dynamic graph).
 * For each input x_i (uniform in [-2, 3)):
 *     v = x_i > 0 ? sqrt(x_i + 1) : exp(x_i)                 the branch taken depends on x_i
 *     while (v > 0.3 && k < 24) v = 0.9 sin(v), k++           the number of iterations depends on x_i
 *     f += max(v x_{(i+1) mod n}, -0.25)                      a kink, also data dependent
 * Size n = number of inputs; about 2 + 2 k + 3 nodes per input, k between 0 and 24. */
#ifdef WL_META

static int branchy_n_in(int size) { return size < 1 ? 1 : size; }
static int branchy_n_out(int size) { (void)size; return 1; }
static int branchy_zero(int size) { (void)size; return 0; }
static double branchy_nodes(int size) { return 14.0 * branchy_n_in(size); }
static void branchy_init(int size, uint64_t seed, double *x, double *data) {
  (void)data;
  wl_rng r = {seed};
  for (int i = 0; i < branchy_n_in(size); ++i) x[i] = wl_rng_uniform(&r, -2.0, 3.0);
}
/* Hand-written: follows the same branches, carrying dv/dx_i along. */
static void branchy_manual(int size, const double *data, const double *x, double *f, double *g) {
  (void)data;
  int n = branchy_n_in(size);
  double acc = 0.0;
  for (int i = 0; i < n; ++i) g[i] = 0.0;
  for (int i = 0; i < n; ++i) {
    double v, dv;
    if (x[i] > 0.0) {
      v = ad_m_sqrt(x[i] + 1.0);
      dv = 0.5 / v;
    } else {
      v = ad_m_exp(x[i]);
      dv = v;
    }
    for (int k = 0; v > 0.3 && k < 24; ++k) {
      ad_m2 sc = ad_m_sincos(v);
      dv *= 0.9 * sc.y;
      v = 0.9 * sc.x;
    }
    int j = (i + 1) % n;
    double p = v * x[j];
    double w = p > -0.25 ? 1.0 : p == -0.25 ? 0.5 : 0.0; /* d max(p, -0.25) / dp */
    acc += p > -0.25 ? p : -0.25;
    g[i] += w * x[j] * dv;
    g[j] += w * v;
  }
  *f = acc;
}
const wl_info wl_info_branchy = {WL_branchy, "branchy", "input-dependent branches and loop trip counts",
                                 {5, 300}, 50000000, branchy_n_in, branchy_n_out, branchy_zero, branchy_zero,
                                 branchy_nodes, branchy_init, branchy_manual, NULL, 0};

#else

static void WL_FN(branchy)(ad_ctx *c, int size, const double *data, const ad_t *x, ad_t *y, ad_t *s) {
  (void)data, (void)s;
  int n = size < 1 ? 1 : size;
  ad_t f = ad_const(c, 0.0);
  for (int i = 0; i < n; ++i) {
    ad_t v = ad_gt_vc(c, x[i], 0.0) ? ad_sqrt(c, ad_add_vc(c, x[i], 1.0)) : ad_exp(c, x[i]);
    for (int k = 0; ad_gt_vc(c, v, 0.3) && k < 24; ++k) v = ad_mul_vc(c, ad_sin(c, v), 0.9);
    ad_t p = ad_fmax_vc(c, ad_mul_vv(c, v, x[(i + 1) % n]), -0.25);
    f = i == 0 ? p : ad_add_vv(c, f, p);
  }
  y[0] = f;
}

#endif
