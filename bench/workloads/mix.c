/* mix: a synthetic f: R^n -> R^m with a dense Jacobian, n inputs mixed into m outputs, for the crossover between
 * forward mode (one pass per input: n passes) and reverse mode (one sweep per output: m sweeps).
 *
 *   y_j = sum_{i<n} sin(a_j x_i + b_i),   J_ji = a_j cos(a_j x_i + b_i)
 *
 * Every output depends on every input and one evaluation costs 4 n m - m nodes (mul, add, sin per term, then
 * the sum), so a forward Jacobian costs about n times, a reverse one a recording plus m sweeps: forward wins when
 * n is small against m, reverse when m is small against n. adlab's own workload.
 * Inputs: x_i uniform in [-1, 1); data: n, m, a_j uniform in [0.5, 1.5), b_i uniform in [-3, 3) (wl_rng, in the
 * order x, a, b).
 * Sizes: n = 2^p and m = 2^q for p, q in 0 .. 12; size s is the s-th pair in order of p + q, then of decreasing q
 * (so that the node count never decreases with s): 1: (1, 1), 2: (1, 2), 3: (2, 1), 4: (1, 4), 5: (2, 2),
 * 6: (4, 1), 7: (1, 8), ...; 9: (4, 2), 42: (32, 8), 169: (4096, 4096). mix_shape gives the pair.
 * Nodes: exactly 4 n m - m. */
#ifdef WL_META

enum { MIX_K = 12, MIX_ROWS = (MIX_K + 1) * (MIX_K + 1) };

/* (n, m) of size s. */
static void mix_shape(int size, int *n, int *m) {
  int idx = (size < 1 ? 1 : size > MIX_ROWS ? MIX_ROWS : size) - 1;
  for (int L = 0; L <= 2 * MIX_K; ++L)
    for (int q = L < MIX_K ? L : MIX_K; q >= 0 && L - q <= MIX_K; --q)
      if (idx-- == 0) {
        *n = 1 << (L - q);
        *m = 1 << q;
        return;
      }
  *n = *m = 1; /* not reached */
}
static int mix_n_in(int size) {
  int n, m;
  mix_shape(size, &n, &m);
  return n;
}
static int mix_n_out(int size) {
  int n, m;
  mix_shape(size, &n, &m);
  return m;
}
static int mix_n_data(int size) { return 2 + mix_n_in(size) + mix_n_out(size); }
static int mix_zero(int size) { (void)size; return 0; }
static double mix_nodes(int size) {
  int n, m;
  mix_shape(size, &n, &m);
  return 4.0 * n * m - m;
}
static void mix_init(int size, uint64_t seed, double *x, double *data) {
  int n, m;
  mix_shape(size, &n, &m);
  wl_rng r = {seed};
  data[0] = n;
  data[1] = m;
  for (int i = 0; i < n; ++i) x[i] = wl_rng_uniform(&r, -1.0, 1.0);
  for (int j = 0; j < m; ++j) data[2 + j] = wl_rng_uniform(&r, 0.5, 1.5);
  for (int i = 0; i < n; ++i) data[2 + m + i] = wl_rng_uniform(&r, -3.0, 3.0);
}
/* Hand-written Jacobian: J_ji = a_j cos(a_j x_i + b_i). */
static void mix_manual_jacobian(int size, const double *data, const double *x, double *y, double *J) {
  (void)size;
  const int n = (int)data[0], m = (int)data[1];
  const double *a = data + 2, *b = a + m;
  for (int j = 0; j < m; ++j) {
    double acc = 0.0;
    for (int i = 0; i < n; ++i) {
      ad_m2 sc = ad_m_sincos(x[i] * a[j] + b[i]);
      acc = i ? acc + sc.x : sc.x;
      J[(size_t)j * n + i] = a[j] * sc.y;
    }
    y[j] = acc;
  }
}
const wl_info wl_info_mix = {WL_mix, "mix", "n inputs mixed into m outputs, dense Jacobian (size: see mix_shape)",
                             {9, 42}, MIX_ROWS, mix_n_in, mix_n_out, mix_n_data, mix_zero, mix_nodes, mix_init,
                             NULL, mix_manual_jacobian, 1};

#else

static void WL_FN(mix)(ad_ctx *c, int size, const double *data, const ad_t *x, ad_t *y, ad_t *s) {
  (void)size, (void)s;
  const int n = (int)data[0], m = (int)data[1];
  const double *a = data + 2, *b = a + m;
  for (int j = 0; j < m; ++j) {
    ad_t acc = ad_const(c, 0.0);
    for (int i = 0; i < n; ++i) {
      ad_t t = ad_sin(c, ad_add_vc(c, ad_mul_vc(c, x[i], a[j]), b[i]));
      acc = i ? ad_add_vv(c, acc, t) : t;
    }
    y[j] = acc;
  }
}

#endif
