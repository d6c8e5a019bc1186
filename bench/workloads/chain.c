/* chain: a depth-N chain of mixed unary ops on one input. The ops repeat in a cycle of eight,
 *     s = sin(y); a = s + 3; e = exp(a); l = log(e); b = l - 3; m = 2 b; d = m / 2; y = -d
 * so each cycle maps y to about -sin(y): values stay in [-1, 1], |y| shrinks like sqrt(3 / k) after k cycles and
 * the derivative only polynomially (about k^-1.5), so adjoints never become subnormal even at 10^8 nodes.
 * Three of the eight ops are SLEEF calls (sin, exp, log): the primal cost is dominated by elementary functions.
 * Size N = number of ops (nodes); input x in [0.5, 1.5). */
#ifdef WL_META

static int chain_n_in(int size) { (void)size; return 1; }
static int chain_n_out(int size) { (void)size; return 1; }
static int chain_zero(int size) { (void)size; return 0; }
static double chain_nodes(int size) { return size; }
static void chain_init(int size, uint64_t seed, double *x, double *data) {
  (void)size, (void)data;
  wl_rng r = {seed};
  x[0] = wl_rng_uniform(&r, 0.5, 1.5);
}
/* Hand-written: y' is the product of the ops' derivatives, each written out here. */
static void chain_manual(int size, const double *data, const double *x, double *f, double *g) {
  (void)data;
  double y = x[0], d = 1.0;
  for (int i = 0; i < size; ++i) {
    switch (i & 7) {
    case 0: { ad_m2 sc = ad_m_sincos(y); d *= sc.y; y = sc.x; break; } /* sin' = cos */
    case 1: y = y + 3.0; break;
    case 2: y = ad_m_exp(y); d *= y; break;                          /* exp' = exp */
    case 3: d /= y; y = ad_m_log(y); break;                          /* log' = 1 / y */
    case 4: y = y - 3.0; break;
    case 5: y = y * 2.0; d *= 2.0; break;
    case 6: y = y / 2.0; d /= 2.0; break;
    default: y = -y; d = -d; break;
    }
  }
  *f = y;
  g[0] = d;
}
const wl_info wl_info_chain = {WL_chain, "chain", "depth-N chain of sin, +3, exp, log, -3, *2, /2, neg",
                               {16, 1000}, 100000000, chain_n_in, chain_n_out, chain_zero, chain_zero,
                               chain_nodes, chain_init, chain_manual, NULL, 0};

#else

static void WL_FN(chain)(ad_ctx *c, int size, const double *data, const ad_t *x, ad_t *y, ad_t *s) {
  (void)data, (void)s;
  ad_t v = x[0];
  int i = 0;
  for (; i + 8 <= size; i += 8) {
    v = ad_sin(c, v);
    v = ad_add_vc(c, v, 3.0);
    v = ad_exp(c, v);
    v = ad_log(c, v);
    v = ad_sub_vc(c, v, 3.0);
    v = ad_mul_vc(c, v, 2.0);
    v = ad_div_vc(c, v, 2.0);
    v = ad_neg(c, v);
  }
  /* the first size % 8 ops of one more cycle */
  if (i++ < size) v = ad_sin(c, v);
  if (i++ < size) v = ad_add_vc(c, v, 3.0);
  if (i++ < size) v = ad_exp(c, v);
  if (i++ < size) v = ad_log(c, v);
  if (i++ < size) v = ad_sub_vc(c, v, 3.0);
  if (i++ < size) v = ad_mul_vc(c, v, 2.0);
  if (i++ < size) v = ad_div_vc(c, v, 2.0);
  y[0] = v;
}

#endif
