/* poly: p(t) = sum_{i<n} c_i t^i by Horner's rule, differentiated with respect to all coefficients and t.
 * Size n = number of coefficients; inputs x[0..n) = c_i uniform in [-1, 1), x[n] = t = 1 - u / n with u in
 * [0.5, 1.5), so t^n stays near e^-1 and no adjoint becomes subnormal. 2 nodes per coefficient. */
#ifdef WL_META

static int poly_n(int size) { return size < 1 ? 1 : size; }
static int poly_n_in(int size) { return poly_n(size) + 1; }
static int poly_n_out(int size) { (void)size; return 1; }
static int poly_zero(int size) { (void)size; return 0; }
static double poly_nodes(int size) { return 2.0 * (poly_n(size) - 1); }
static void poly_init(int size, uint64_t seed, double *x, double *data) {
  (void)data;
  int n = poly_n(size);
  wl_rng r = {seed};
  for (int i = 0; i < n; ++i) x[i] = wl_rng_uniform(&r, -1.0, 1.0);
  x[n] = 1.0 - wl_rng_uniform(&r, 0.5, 1.5) / n;
}
static void poly_manual(int size, const double *data, const double *x, double *f, double *g) {
  (void)data;
  int n = poly_n(size);
  double t = x[n], p = x[n - 1], dp = 0.0, ti = 1.0;
  for (int i = n - 2; i >= 0; --i) { /* Horner for p and p' together */
    dp = dp * t + p;
    p = p * t + x[i];
  }
  for (int i = 0; i < n; ++i, ti *= t) g[i] = ti; /* dp/dc_i = t^i */
  g[n] = dp;
  *f = p;
}
const wl_info wl_info_poly = {WL_poly, "poly", "dense polynomial of n coefficients by Horner's rule",
                              {4, 1000}, 100000000, poly_n_in, poly_n_out, poly_zero, poly_zero,
                              poly_nodes, poly_init, poly_manual, NULL, 0};

#else

static void WL_FN(poly)(ad_ctx *c, int size, const double *data, const ad_t *x, ad_t *y, ad_t *s) {
  (void)data, (void)s;
  int n = size < 1 ? 1 : size;
  ad_t t = x[n], p = x[n - 1];
  for (int i = n - 2; i >= 0; --i) p = ad_add_vv(c, ad_mul_vv(c, p, t), x[i]);
  y[0] = p;
}

#endif
