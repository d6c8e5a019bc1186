/* mlp: mean squared error of a one-hidden-layer tanh network over a fixed batch.
 *   loss = (1/S) sum_s (w2 . tanh(W1 u_s + b1) + b2 - t_s)^2
 * with D = 4 input features and S = 8 samples (constant data), H = size hidden units.
 * Parameters (the inputs), in order: W1 (H x D, row-major), b1 (H), w2 (H), b2: n = 6H + 1.
 * Parameters uniform in [-1, 1) / sqrt(D) (W1) and [-1, 1) / sqrt(H) (w2); data u, t uniform in [-1, 1).
 * Nodes: S (H (2D + 3) + 4) + 1. */
#ifdef WL_META

enum { MLP_D = 4, MLP_S = 8 };
static int mlp_h(int size) { return size < 1 ? 1 : size; }
static int mlp_n_in(int size) { return 6 * mlp_h(size) + 1; }
static int mlp_n_out(int size) { (void)size; return 1; }
static int mlp_n_data(int size) { (void)size; return MLP_S * (MLP_D + 1); }
static int mlp_zero(int size) { (void)size; return 0; }
static double mlp_nodes(int size) { return MLP_S * (mlp_h(size) * (2.0 * MLP_D + 3) + 4) + 1; }
static void mlp_init(int size, uint64_t seed, double *x, double *data) {
  int h = mlp_h(size);
  wl_rng r = {seed};
  for (int i = 0; i < h * MLP_D; ++i) x[i] = wl_rng_uniform(&r, -1.0, 1.0) / 2.0; /* 1 / sqrt(D) */
  for (int i = 0; i < h; ++i) x[h * MLP_D + i] = wl_rng_uniform(&r, -0.5, 0.5);
  for (int i = 0; i < h; ++i) x[h * (MLP_D + 1) + i] = wl_rng_uniform(&r, -1.0, 1.0) / ad_m_sqrt(h);
  x[h * (MLP_D + 2)] = wl_rng_uniform(&r, -0.5, 0.5);
  for (int i = 0; i < MLP_S * (MLP_D + 1); ++i) data[i] = wl_rng_uniform(&r, -1.0, 1.0);
}
/* Hand-written backpropagation. */
static void mlp_manual(int size, const double *data, const double *x, double *f, double *g) {
  int h = mlp_h(size), n = mlp_n_in(size);
  const double *W1 = x, *b1 = x + h * MLP_D, *w2 = b1 + h, *b2 = w2 + h;
  double *gW1 = g, *gb1 = g + h * MLP_D, *gw2 = gb1 + h, *gb2 = gw2 + h;
  double loss = 0.0;
  for (int i = 0; i < n; ++i) g[i] = 0.0;
  for (int s = 0; s < MLP_S; ++s) {
    const double *u = data + s * (MLP_D + 1);
    double t = u[MLP_D], out = 0.0;
    for (int j = 0; j < h; ++j) {
      double z = W1[j * MLP_D] * u[0];
      for (int d = 1; d < MLP_D; ++d) z += W1[j * MLP_D + d] * u[d];
      out += w2[j] * ad_m_tanh(z + b1[j]);
    }
    double e = out + b2[0] - t;
    loss += e * e;
    double de = 2.0 * e / MLP_S;
    gb2[0] += de;
    for (int j = 0; j < h; ++j) {
      double z = W1[j * MLP_D] * u[0];
      for (int d = 1; d < MLP_D; ++d) z += W1[j * MLP_D + d] * u[d];
      double a = ad_m_tanh(z + b1[j]);
      gw2[j] += de * a;
      double dz = de * w2[j] * (1.0 - a * a);
      gb1[j] += dz;
      for (int d = 0; d < MLP_D; ++d) gW1[j * MLP_D + d] += dz * u[d];
    }
  }
  *f = loss / MLP_S;
}
const wl_info wl_info_mlp = {WL_mlp, "mlp", "MSE of a tanh MLP (4 features, H hidden, 8 samples)", {2, 100},
                             10000000, mlp_n_in, mlp_n_out, mlp_n_data, mlp_zero, mlp_nodes, mlp_init,
                             mlp_manual, NULL, 0};

#else

static void WL_FN(mlp)(ad_ctx *c, int size, const double *data, const ad_t *x, ad_t *y, ad_t *s) {
  (void)s;
  enum { D = 4, S = 8 };
  int h = size < 1 ? 1 : size;
  const ad_t *W1 = x, *b1 = x + h * D, *w2 = b1 + h, *b2 = w2 + h;
  ad_t loss = ad_const(c, 0.0);
  for (int k = 0; k < S; ++k) {
    const double *u = data + k * (D + 1);
    ad_t out = ad_const(c, 0.0);
    for (int j = 0; j < h; ++j) {
      ad_t z = ad_mul_vc(c, W1[j * D], u[0]);
      for (int d = 1; d < D; ++d) z = ad_add_vv(c, z, ad_mul_vc(c, W1[j * D + d], u[d]));
      ad_t a = ad_tanh(c, ad_add_vv(c, z, b1[j]));
      ad_t o = ad_mul_vv(c, w2[j], a);
      out = j == 0 ? o : ad_add_vv(c, out, o);
    }
    ad_t e = ad_sub_vc(c, ad_add_vv(c, out, b2[0]), u[D]);
    loss = k == 0 ? ad_sqr(c, e) : ad_add_vv(c, loss, ad_sqr(c, e));
  }
  y[0] = ad_mul_vc(c, loss, 1.0 / S);
}

#endif
