/* ode_t: ode (ode.c) in tensor form, after GradBench's vectorised PyTorch RK4 (python/gradbench/gradbench/evals/ode:
 * f(x, y) = cat(x[:1], x[1:] * y[:-1]), each stage one vector expression on the state):
 *   k1 = f(y), k2 = f(y + k1 h / 2), k3 = f(y + k2 h / 2), k4 = f(y + k3 h), y <- y + (k1 + 2 k2 + 2 k3 + k4) h / 6.
 * The shift y[:-1] that f concatenates behind x_0 is a slice here, without a concatenation: the state carries P =
 * 4 s leading entries equal to 1 and the parameters P leading zeros, so f's element for y_0 reads the 1 before it
 * (x_0 * 1 = x_0) and the entries before that stay 1 (1 + 0 h). Each stage's f is a product of two slices, which
 * drops the array's first entry (four per step), so after s steps the state is exactly y. The padding costs 4 s
 * entries per op (under 1% at n >= 10^4; 20% on average at n = 1000 with 100 steps).
 * Same inputs, sizes, node count and hand-written gradient as ode; the same ops in the same order, so values are
 * bit-identical to ode's.
 * Not an AD_STEPS region (engines/ckpt/ad_steps.h), unlike ode: AD_STEPS carries its state in scalar variables,
 * and handing an array state to it and back would cost one get per element and step (n records a step), more
 * than the step's own array ops; the checkpointing tape refuses array records anyway (AD_ESTATE from its reverse
 * sweep), so under adbench --ckpt the tape engines report that status for ode_t. */
#ifdef WL_META

static int ode_t_pad(int size) { return 4 * ode_row(size)[1]; }
static int ode_t_n_scratch(int size) { return 2 * (ode_t_pad(size) + ode_row(size)[0]); }
const wl_info wl_info_ode_t = {WL_ode_t, "ode_t", "RK4 on GradBench's ODE, n dims x s steps, tensor form (size = table row)",
                               {1, 3}, ODE_ROWS, ode_n_in, ode_one, ode_n_data, ode_t_n_scratch, ode_nodes, ode_init,
                               ode_manual, NULL, 0};

#elif defined(AD_ARR_ENGINE)

/* f on the entries [lo + 1, len) of the padded frame: x[lo + 1 ..] * u[lo ..], u holding the entries [lo, len). */
static ad_arr ode_t_f(ad_ctx *c, ad_arr Xp, ad_arr u, int64_t lo, int64_t len) {
  return ad_arr_mul_vv(c, ad_arr_slice(c, Xp, lo + 1, len), ad_arr_slice(c, u, 0, len - lo - 1));
}
/* The entries of a from the m-th on (a view). */
static ad_arr ode_t_tail(ad_ctx *c, ad_arr a, int64_t m) { return ad_arr_slice(c, a, m, ad_arr_n(a)); }

static void WL_FN(ode_t)(ad_ctx *c, int size, const double *data, const ad_t *x, ad_t *y, ad_t *s) {
  (void)size;
  const int n = (int)data[0], steps = (int)data[1], pad = 4 * steps;
  const int64_t len = (int64_t)pad + n;
  const double h = 2.0 / steps;
  ad_t *xs = s, *ys = s + len, zero = ad_const(c, 0.0), one = ad_const(c, 1.0);
  for (int i = 0; i < pad; ++i) xs[i] = zero, ys[i] = one;
  for (int i = 0; i < n; ++i) xs[pad + i] = x[i], ys[pad + i] = x[n + i];
  ad_arr Xp = ad_arr_stack(c, xs, len), Y = ad_arr_stack(c, ys, len);
  for (int st = 0; st < steps; ++st) {
    int64_t lo = 4 * (int64_t)st; /* Y holds the entries [lo, len) */
    ad_arr k1 = ode_t_f(c, Xp, Y, lo, len);
    ad_arr u = ad_arr_add_vv(c, ode_t_tail(c, Y, 1), ad_arr_mul_vc(c, k1, h / 2));
    ad_arr k2 = ode_t_f(c, Xp, u, lo + 1, len);
    u = ad_arr_add_vv(c, ode_t_tail(c, Y, 2), ad_arr_mul_vc(c, k2, h / 2));
    ad_arr k3 = ode_t_f(c, Xp, u, lo + 2, len);
    u = ad_arr_add_vv(c, ode_t_tail(c, Y, 3), ad_arr_mul_vc(c, k3, h));
    ad_arr k4 = ode_t_f(c, Xp, u, lo + 3, len);
    ad_arr sum = ad_arr_add_vv(c, ode_t_tail(c, k1, 3), ad_arr_mul_vc(c, ode_t_tail(c, k2, 2), 2.0));
    sum = ad_arr_add_vv(c, ad_arr_add_vv(c, sum, ad_arr_mul_vc(c, ode_t_tail(c, k3, 1), 2.0)), k4);
    Y = ad_arr_add_vv(c, ode_t_tail(c, Y, 4), ad_arr_div_vc(c, ad_arr_mul_vc(c, sum, h), 6.0));
  }
  y[0] = ad_arr_get(c, Y, n - 1);
}

#else
WL_NO_ARRAYS(ode_t)
#endif
