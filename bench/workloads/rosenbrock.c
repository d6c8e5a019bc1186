/* rosenbrock: f(x) = sum_{i=0}^{n-2} (1 - x_i)^2 + 100 (x_{i+1} - x_i^2)^2, the extended Rosenbrock function.
 * Size n = number of inputs (n >= 2), x_i uniform in [-2, 2). 8 nodes per term. */
#ifdef WL_META

static int rosen_n_in(int size) { return size < 2 ? 2 : size; }
static int rosen_n_out(int size) { (void)size; return 1; }
static int rosen_zero(int size) { (void)size; return 0; }
static double rosen_nodes(int size) { return 8.0 * (rosen_n_in(size) - 1); }
static void rosen_init(int size, uint64_t seed, double *x, double *data) {
  (void)data;
  wl_rng r = {seed};
  for (int i = 0; i < rosen_n_in(size); ++i) x[i] = wl_rng_uniform(&r, -2.0, 2.0);
}
static void rosen_manual(int size, const double *data, const double *x, double *f, double *g) {
  (void)data;
  int n = rosen_n_in(size);
  double acc = 0.0;
  for (int i = 0; i < n; ++i) g[i] = 0.0;
  for (int i = 0; i + 1 < n; ++i) {
    double t = 1.0 - x[i], u = x[i + 1] - x[i] * x[i];
    acc += t * t + 100.0 * (u * u);
    g[i] += -2.0 * t - 400.0 * u * x[i];
    g[i + 1] += 200.0 * u;
  }
  *f = acc;
}
const wl_info wl_info_rosenbrock = {WL_rosenbrock, "rosenbrock", "extended Rosenbrock function of n inputs",
                                    {4, 1000}, 100000000, rosen_n_in, rosen_n_out, rosen_zero, rosen_zero,
                                    rosen_nodes, rosen_init, rosen_manual, NULL, 0};

#else

static void WL_FN(rosenbrock)(ad_ctx *c, int size, const double *data, const ad_t *x, ad_t *y, ad_t *s) {
  (void)data, (void)s;
  int n = size < 2 ? 2 : size;
  ad_t f = ad_const(c, 0.0);
  for (int i = 0; i + 1 < n; ++i) {
    ad_t t = ad_sub_cv(c, 1.0, x[i]);
    ad_t u = ad_sub_vv(c, x[i + 1], ad_sqr(c, x[i]));
    ad_t term = ad_add_vv(c, ad_sqr(c, t), ad_mul_vc(c, ad_sqr(c, u), 100.0));
    f = i == 0 ? term : ad_add_vv(c, f, term);
  }
  y[0] = f;
}

#endif
