/* seed: y = (x + w) * (w + 1), the smallest graph with fan-out. At x = 2, w = 1: y = 6, dy/dx = 2, dy/dw = 5.
 * Inputs: x[0] = x, x[1] = w (the size and the seed are ignored). 3 nodes besides the 2 inputs. */
#ifdef WL_META

static int seed_n_in(int size) { (void)size; return 2; }
static int seed_n_out(int size) { (void)size; return 1; }
static int seed_zero(int size) { (void)size; return 0; }
static double seed_nodes(int size) { (void)size; return 3; }
static void seed_init(int size, uint64_t seed, double *x, double *data) {
  (void)size, (void)seed, (void)data;
  x[0] = 2.0;
  x[1] = 1.0;
}
static void seed_manual(int size, const double *data, const double *x, double *f, double *g) {
  (void)size, (void)data;
  *f = (x[0] + x[1]) * (x[1] + 1.0);
  g[0] = x[1] + 1.0;                 /* dy/dx = w + 1 */
  g[1] = (x[1] + 1.0) + (x[0] + x[1]); /* dy/dw = (w + 1) + (x + w) */
}
const wl_info wl_info_seed = {WL_seed, "seed", "y = (x + w) * (w + 1) at x = 2, w = 1", {1, 1}, 1,
                              seed_n_in, seed_n_out, seed_zero, seed_zero, seed_nodes, seed_init, seed_manual, NULL, 0};

#else

static void WL_FN(seed)(ad_ctx *c, int size, const double *data, const ad_t *x, ad_t *y, ad_t *s) {
  (void)size, (void)data, (void)s;
  ad_t a = ad_add_vv(c, x[0], x[1]); /* a = x + w */
  ad_t b = ad_add_vc(c, x[1], 1.0);  /* b = w + 1 */
  y[0] = ad_mul_vv(c, a, b);
}

#endif
