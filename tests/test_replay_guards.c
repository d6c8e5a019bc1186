/* test_replay_guards: guards refuse every replay whose control flow would differ from the recording.
 * For each kind of guard (comparisons _vv and _vc with both operand orders, abs, fmax/fmin, value reads, loop
 * trip counts): a replay on the recorded path succeeds and matches the hand-computed gradient; a replay off it
 * returns AD_EGUARD with the right position and outcomes, and replaying the same inputs without guards gives a
 * gradient that is demonstrably wrong, which is what the guard prevented. On the branchy workload (compiled here
 * for the replay engine) at random inputs: every replay the guards allow equals a fresh recording, and every
 * replay that would have given a wrong gradient is refused. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "replay/replay_ops.h"
#include "wl.h"
#include "workloads/all.inc"

#include "testkit.h"

typedef void (*wl_fn_t)(ad_ctx *c, int size, const double *data, const ad_t *x, ad_t *y, ad_t *s);
static const wl_fn_t wl_fns[WL_COUNT] = {
#define WL__X(name) WL_FN(name),
    WL_LIST(WL__X)
#undef WL__X
};

static double rel(double a, double b) { return fabs(a - b) / (fabs(b) > 1 ? fabs(b) : 1); }

/* A one-input function recorded on the tape: returns its output. */
typedef ad_t (*fn1)(ad_ctx *c, ad_t x);

/* Replays t (recorded from one input) at x: status, value and derivative. */
static ad_status replay1(replay_t *t, ad_t in, ad_t out, double x, int guarded, double *f, double *g) {
  uint64_t fired = 0;
  *f = *g = NAN;
  ad_status st = guarded ? replay_forward(t, &x, 1) : replay_forward_unguarded(t, &x, 1, &fired);
  if (st != AD_OK) return st;
  double *adj = replay_adjoints(t);
  if (!adj) return AD_ENOMEM;
  adj[out.i] = 1.0;
  st = replay_reverse(t);
  *f = replay_value(t, out);
  *g = in.i ? adj[in.i] : 0.0;
  return st;
}

/* Records fn at x0 on t; fills in and out. */
static void record1(replay_t *t, fn1 fn, double x0, ad_t *in, ad_t *out) {
  replay_reset(t);
  *in = replay_input(t, x0);
  *out = fn(t, *in);
}

/* ---- one branch ---- */

/* x > 0 ? sqrt(x + 1) : exp(x) */
static ad_t f_branch(ad_ctx *c, ad_t x) {
  return ad_gt_vc(c, x, 0.0) ? ad_sqrt(c, ad_add_vc(c, x, 1.0)) : ad_exp(c, x);
}

static void test_branch(void) {
  replay_t *t = replay_new();
  if (!t) {
    CHECKF(0, "replay_new");
    return;
  }
  ad_t in, out;
  double f, g;
  record1(t, f_branch, 1.0, &in, &out);
  CHECKF(replay_get_stats(t).guards == 1, "one guard recorded");
  /* On the recorded path: the gradient of sqrt(x + 1), by hand. */
  CHECKF(replay1(t, in, out, 2.0, 1, &f, &g) == AD_OK, "replay at 2");
  CHECKF(f == sqrt(3.0) && rel(g, 0.5 / sqrt(3.0)) < 1e-15, "at 2: f %.17g g %.17g", f, g);
  /* Off it: refused, with where and what. */
  CHECKF(replay1(t, in, out, -0.5, 1, &f, &g) == AD_EGUARD, "replay at -0.5 must be refused");
  replay_guard gd = replay_last_guard(t);
  CHECKF(gd.op == 1 && gd.statement == 2 && gd.recorded == 1 && gd.now == 0, "guard op %llu statement %u %d -> %d",
         (unsigned long long)gd.op, gd.statement, gd.recorded, gd.now);
  CHECKF(strcmp(replay_guard_name(gd.code), "gt_vc") == 0, "guard name %s", replay_guard_name(gd.code));
  char msg[160];
  int len = replay_guard_message(t, msg, sizeof msg);
  CHECKF(len > 0 && strcmp(msg, "control flow changed at op 1 (gt_vc: recorded true, now false): record again") == 0,
         "message \"%s\"", msg);
  /* The refused values cannot be swept, nor read as a gradient. */
  CHECKF(replay_adjoints(t) != NULL && replay_reverse(t) == AD_EGUARD, "reverse after a refused replay");
  /* What the guard prevented: the recorded branch's derivative 0.5 / sqrt(0.5) instead of exp(-0.5). */
  CHECKF(replay1(t, in, out, -0.5, 0, &f, &g) == AD_OK, "unguarded replay");
  CHECKF(rel(g, 0.5 / sqrt(0.5)) < 1e-15 && rel(g, ad_m_exp(-0.5)) > 0.1,
         "unguarded replay should follow the recorded (wrong) branch: g %.17g", g);
  uint64_t fired = 0;
  double x = -0.5;
  CHECKF(replay_forward_unguarded(t, &x, 1, &fired) == AD_OK && fired == 1, "fired %llu", (unsigned long long)fired);
  /* The recording itself is intact: the path is accepted again. */
  CHECKF(replay1(t, in, out, 0.25, 1, &f, &g) == AD_OK && rel(g, 0.5 / sqrt(1.25)) < 1e-15, "back on the path");
  /* Recorded on the other branch, the other side is refused. */
  record1(t, f_branch, -1.0, &in, &out);
  CHECKF(replay1(t, in, out, -3.0, 1, &f, &g) == AD_OK && rel(g, ad_m_exp(-3.0)) < 1e-15, "exp branch");
  CHECKF(replay1(t, in, out, 0.5, 1, &f, &g) == AD_EGUARD, "exp branch, x > 0 refused");
  CHECKF(replay1(t, in, out, 0.0, 1, &f, &g) == AD_OK, "0 is not > 0: still the exp branch");
  replay_free(t);
}

/* ---- every comparison, both operand orders ---- */

static int g_cmp, g_form; /* which comparison; form 0: x op y (both active), 1: x op k, 2: k op x as _vv */
static ad_t f_cmp(ad_ctx *c, ad_t x) {
  ad_t k = ad_const(c, 1.0), y = ad_mul_vc(c, ad_sqr(c, x), 0.5); /* y = x^2 / 2: equals x at 0 and 2 */
  int r = 0;
  switch (g_cmp) {
#define CASE(name, op)                                                                                         \
  case REPLAY_CMP_##name:                                                                                      \
    r = g_form == 0 ? ad_##name##_vv(c, x, y) : g_form == 1 ? ad_##name##_vc(c, x, 1.0) : ad_##name##_vv(c, k, x); \
    break;
    AD_CMP_LIST(CASE)
#undef CASE
  }
  return r ? ad_mul_vc(c, x, 3.0) : ad_mul_vc(c, x, -2.0);
}

static int cmp_ref(int cmp, double a, double b) {
  switch (cmp) {
#define CASE(name, op)                                                                                         \
  case REPLAY_CMP_##name:                                                                                      \
    return a op b;
    AD_CMP_LIST(CASE)
#undef CASE
  }
  return -1;
}

static void test_comparisons(void) {
  replay_t *t = replay_new();
  if (!t) {
    CHECKF(0, "replay_new");
    return;
  }
  /* Points where the comparison is <, ==, > between its two sides, per form: form 0 compares x with x^2/2
   * (x = 1: >, 2: ==, 3: <), forms 1 and 2 compare with 1 (0.5, 1, 1.5). */
  const double pts[3][3] = {{1.0, 2.0, 3.0}, {0.5, 1.0, 1.5}, {0.5, 1.0, 1.5}};
  int checked = 0, refused = 0;
  for (g_cmp = 0; g_cmp < REPLAY_CMP_COUNT; ++g_cmp)
    for (g_form = 0; g_form < 3; ++g_form)
      for (int r = 0; r < 3; ++r)
        for (int p = 0; p < 3; ++p) {
          ad_t in, out;
          double x0 = pts[g_form][r], x1 = pts[g_form][p], f, g;
          record1(t, f_cmp, x0, &in, &out);
          double l0 = g_form == 2 ? 1.0 : x0, r0 = g_form == 0 ? x0 * x0 * 0.5 : g_form == 1 ? 1.0 : x0;
          double l1 = g_form == 2 ? 1.0 : x1, r1 = g_form == 0 ? x1 * x1 * 0.5 : g_form == 1 ? 1.0 : x1;
          int same = cmp_ref(g_cmp, l0, r0) == cmp_ref(g_cmp, l1, r1);
          ad_status st = replay1(t, in, out, x1, 1, &f, &g);
          double want = cmp_ref(g_cmp, l1, r1) ? 3.0 : -2.0;
          if (same) {
            CHECKF(st == AD_OK && g == want, "cmp %d form %d: %g -> %g: status %s, g %g", g_cmp, g_form, x0, x1,
                   ad_status_str(st), g);
          } else {
            CHECKF(st == AD_EGUARD, "cmp %d form %d: %g -> %g: outcome changed but status %s", g_cmp, g_form, x0, x1,
                   ad_status_str(st));
            replay_guard gd = replay_last_guard(t);
            CHECKF(gd.recorded == !gd.now && gd.op == 3, "cmp guard %d -> %d at op %llu (input, sqr, mul_vc, guard)",
                   gd.recorded, gd.now, (unsigned long long)gd.op);
            /* Unguarded, the recorded branch's slope comes back: wrong. */
            CHECKF(replay1(t, in, out, x1, 0, &f, &g) == AD_OK && g != want, "unguarded replay should be wrong");
            refused++;
          }
          checked++;
        }
  CHECKF(checked == REPLAY_CMP_COUNT * 27 && refused > 0, "checked %d refused %d", checked, refused);
  /* A comparison of passive values records nothing. */
  replay_reset(t);
  ad_t a = ad_const(t, 1.0), b = ad_const(t, 2.0);
  CHECKF(ad_lt_vv(t, a, b) && !ad_gt_vc(t, a, 3.0), "passive comparisons");
  CHECKF(replay_get_stats(t).guards == 0, "passive comparisons recorded guards");
  replay_free(t);
}

/* ---- NaN in a comparison ---- */

static ad_t f_nan(ad_ctx *c, ad_t x) {
  ad_t s = ad_log(c, x); /* NaN for x < 0; its partial 1/x stays finite, so no NaN reaches the gradient */
  return ad_lt_vc(c, s, 2.0) ? ad_mul_vc(c, x, 2.0) : ad_mul_vc(c, x, 5.0);
}

static void test_nan(void) {
  replay_t *t = replay_new();
  if (!t) {
    CHECKF(0, "replay_new");
    return;
  }
  ad_t in, out;
  double f, g;
  record1(t, f_nan, -1.0, &in, &out); /* NaN < 2 is false: the 5x branch */
  CHECKF(replay1(t, in, out, -4.0, 1, &f, &g) == AD_OK && g == 5.0, "NaN again: same outcome");
  CHECKF(replay1(t, in, out, 9.0, 1, &f, &g) == AD_OK && g == 5.0, "log 9 < 2 is false too");
  CHECKF(replay1(t, in, out, 1.0, 1, &f, &g) == AD_EGUARD, "log 1 < 2 is true: refused");
  char msg[160];
  replay_guard_message(t, msg, sizeof msg);
  CHECKF(strstr(msg, "lt_vc: recorded false, now true") != NULL, "message %s", msg);
  replay_free(t);
}

/* ---- kinks: abs, fmax, fmin ---- */

static ad_t f_abs(ad_ctx *c, ad_t x) { return ad_mul_vv(c, ad_abs(c, x), x); } /* x |x| */
static int g_kink;
static ad_t f_max(ad_ctx *c, ad_t x) {
  ad_t y = ad_sub_cv(c, 1.0, x); /* 1 - x: fmax(x, 1 - x) switches at 0.5 */
  switch (g_kink) {
  case 0: return ad_fmax_vv(c, x, y);
  case 1: return ad_fmin_vv(c, x, y);
  case 2: return ad_fmax_vc(c, x, 0.5);
  case 3: return ad_fmin_vc(c, x, 0.5);
  default: return ad_fmax_vv(c, ad_const(c, 0.5), x); /* a VV op with a passive operand */
  }
}
static double max_grad_ref(int kink, double x) { /* by hand, PyTorch's rule: half each at a tie */
  double w = x > 0.5 ? 1.0 : x < 0.5 ? 0.0 : 0.5; /* d max(x, c)/dx where c is the other side */
  switch (kink) {
  case 0: return w * 1.0 + (1.0 - w) * -1.0; /* max(x, 1 - x) */
  case 1: return (1.0 - w) * 1.0 + w * -1.0;
  case 2: return w;
  case 3: return 1.0 - w;
  default: return w;
  }
}

static void test_kinks(void) {
  replay_t *t = replay_new();
  if (!t) {
    CHECKF(0, "replay_new");
    return;
  }
  ad_t in, out;
  double f, g;
  /* abs: sign of the operand. */
  record1(t, f_abs, 2.0, &in, &out);
  CHECKF(replay1(t, in, out, 3.0, 1, &f, &g) == AD_OK && g == 6.0, "abs on the same side: g %g", g);
  CHECKF(replay1(t, in, out, -1.0, 1, &f, &g) == AD_EGUARD, "abs across 0 refused");
  CHECKF(strcmp(replay_guard_name(replay_last_guard(t).code), "abs") == 0, "abs guard name");
  char msg[160];
  replay_guard_message(t, msg, sizeof msg);
  CHECKF(strstr(msg, "abs: recorded positive, now negative") != NULL, "message %s", msg);
  CHECKF(replay1(t, in, out, 0.0, 1, &f, &g) == AD_EGUARD, "abs at its switch point refused");
  /* Ignoring kink guards: this tape recomputes partials at the new values, so the gradient is still right
   * (d x|x| / dx = 2|x|), and equals a fresh recording's. */
  replay_set_kink_guards(t, 0);
  CHECKF(replay1(t, in, out, -1.0, 1, &f, &g) == AD_OK && g == 2.0 && f == -1.0, "kinks off: g %g f %g", g, f);
  replay_set_kink_guards(t, 1);
  /* fmax and fmin, variable-variable and variable-constant. */
  for (g_kink = 0; g_kink < 5; ++g_kink) {
    const double xs[3] = {0.25, 0.5, 0.75};
    for (int r = 0; r < 3; ++r)
      for (int p = 0; p < 3; ++p) {
        record1(t, f_max, xs[r], &in, &out);
        ad_status st = replay1(t, in, out, xs[p], 1, &f, &g);
        if (r == p) {
          CHECKF(st == AD_OK && g == max_grad_ref(g_kink, xs[p]), "kink %d at %g: %s, g %g", g_kink, xs[p],
                 ad_status_str(st), g);
        } else {
          CHECKF(st == AD_EGUARD, "kink %d: %g -> %g should be refused, got %s", g_kink, xs[r], xs[p],
                 ad_status_str(st));
          CHECKF(strcmp(replay_guard_name(replay_last_guard(t).code), "fmax/fmin") == 0, "fmax guard name");
          replay_set_kink_guards(t, 0);
          st = replay1(t, in, out, xs[p], 1, &f, &g);
          CHECKF(st == AD_OK && g == max_grad_ref(g_kink, xs[p]), "kink %d kinks off %g -> %g: g %g", g_kink, xs[r],
                 xs[p], g);
          replay_set_kink_guards(t, 1);
        }
      }
  }
  replay_free(t);
}

/* ---- value reads ---- */

static ad_t f_read(ad_ctx *c, ad_t x) {
  double v = ad_val(c, x); /* a constant taken from a value: x * x0, not x^2 */
  return ad_mul_vc(c, x, v);
}

static void test_value_read(void) {
  replay_t *t = replay_new();
  if (!t) {
    CHECKF(0, "replay_new");
    return;
  }
  ad_t in, out;
  double f, g;
  record1(t, f_read, 3.0, &in, &out);
  CHECKF(replay_get_stats(t).guards == 1, "ad_val records a guard");
  CHECKF(replay1(t, in, out, 3.0, 1, &f, &g) == AD_OK && f == 9.0 && g == 3.0, "same value: replayed");
  CHECKF(replay1(t, in, out, 4.0, 1, &f, &g) == AD_EGUARD, "changed value read: refused");
  CHECKF(strcmp(replay_guard_name(replay_last_guard(t).code), "ad_val") == 0, "value guard name");
  CHECKF(replay1(t, in, out, 4.0, 0, &f, &g) == AD_OK && f == 12.0, "unguarded: 4 * 3, the stale constant");
  replay_set_kink_guards(t, 0); /* value reads are not kinks */
  CHECKF(replay1(t, in, out, 4.0, 1, &f, &g) == AD_EGUARD, "value guards hold with kinks off");
  replay_free(t);
}

/* ---- loop trip counts ---- */

static ad_t f_loop(ad_ctx *c, ad_t x) { /* branchy's inner loop */
  ad_t v = x;
  for (int k = 0; ad_gt_vc(c, v, 0.3) && k < 24; ++k) v = ad_mul_vc(c, ad_sin(c, v), 0.9);
  return v;
}
static int loop_trips(double v) {
  int k = 0;
  for (; v > 0.3 && k < 24; ++k) v = 0.9 * ad_m_sincos(v).x;
  return k;
}
static double loop_grad(double v) {
  double d = 1;
  for (int k = 0; v > 0.3 && k < 24; ++k) {
    ad_m2 sc = ad_m_sincos(v);
    d *= 0.9 * sc.y;
    v = 0.9 * sc.x;
  }
  return d;
}

static void test_loop(void) {
  replay_t *t = replay_new();
  if (!t) {
    CHECKF(0, "replay_new");
    return;
  }
  ad_t in, out;
  double f, g;
  const double x0 = 1.0;
  int k0 = loop_trips(x0), same = 0, other = 0;
  record1(t, f_loop, x0, &in, &out);
  CHECKF(k0 > 1 && replay_get_stats(t).guards == (uint64_t)k0 + 1, "trips %d, guards %llu", k0,
         (unsigned long long)replay_get_stats(t).guards);
  for (double x = 0.1; x < 2.0; x += 0.05) {
    ad_status st = replay1(t, in, out, x, 1, &f, &g);
    if (loop_trips(x) == k0) {
      CHECKF(st == AD_OK && rel(g, loop_grad(x)) < 1e-14, "x %g: same trip count: %s", x, ad_status_str(st));
      same++;
    } else {
      CHECKF(st == AD_EGUARD, "x %g: %d trips instead of %d, yet %s", x, loop_trips(x), k0, ad_status_str(st));
      other++;
    }
  }
  CHECKF(same > 1 && other > 1, "same %d other %d", same, other);
  replay_free(t);
}

/* ---- the branchy workload at random inputs ---- */

static void test_branchy(void) {
  const wl_info *w = wl_find("branchy");
  if (!w) {
    CHECKF(0, "no branchy workload");
    return;
  }
  const int size = 8, n = w->n_in(size);
  double x0[64], x[64], data[1], gu[64], gf[64], gm[64], fm;
  replay_t *t = replay_new(), *fresh = replay_new();
  ad_t in[64], fin[64], y, fy, scratch[1];
  if (!t || !fresh || n > 64) {
    CHECKF(0, "setup");
    return;
  }
  w->init(size, 1, x0, data);
  replay_reset(t);
  for (int i = 0; i < n; ++i) in[i] = replay_input(t, x0[i]);
  wl_fns[WL_branchy](t, size, data, in, &y, scratch);
  int ok = 0, refused = 0, prevented = 0;
  wl_rng r = {7};
  for (int trial = 0; trial < 200; ++trial) {
    /* Half near the recorded point (mostly the same path), half anywhere. */
    for (int i = 0; i < n; ++i)
      x[i] = trial % 2 ? wl_rng_uniform(&r, -2.0, 3.0) : x0[i] * (1 + 1e-3 * wl_rng_uniform(&r, -1.0, 1.0));
    /* The truth: a fresh recording at x, and the hand-written gradient. */
    replay_reset(fresh);
    for (int i = 0; i < n; ++i) fin[i] = replay_input(fresh, x[i]);
    wl_fns[WL_branchy](fresh, size, data, fin, &fy, scratch);
    double *adj = replay_adjoints(fresh);
    if (!adj) break;
    adj[fy.i] = 1.0;
    replay_reverse(fresh);
    for (int i = 0; i < n; ++i) gf[i] = adj[fin[i].i];
    w->manual(size, data, x, &fm, gm);
    /* Unguarded replay: what a static graph without guards would return. */
    uint64_t fired = 0;
    CHECKF(replay_forward_unguarded(t, x, (size_t)n, &fired) == AD_OK, "unguarded replay");
    adj = replay_adjoints(t);
    if (!adj) break;
    adj[y.i] = 1.0;
    replay_reverse(t);
    int wrong = replay_value(t, y) != replay_value(fresh, fy);
    for (int i = 0; i < n; ++i) {
      gu[i] = adj[in[i].i];
      wrong |= gu[i] != gf[i];
    }
    /* Guarded replay. */
    ad_status st = replay_forward(t, x, (size_t)n);
    if (st == AD_OK) {
      adj = replay_adjoints(t);
      if (!adj) break;
      adj[y.i] = 1.0;
      replay_reverse(t);
      int same = replay_value(t, y) == replay_value(fresh, fy);
      double err = 0;
      for (int i = 0; i < n; ++i) {
        same &= adj[in[i].i] == gf[i];
        double e = rel(adj[in[i].i], gm[i]);
        err = e > err ? e : err;
      }
      CHECKF(same && err < 1e-12 && fired == 0, "trial %d: accepted replay differs from a fresh recording", trial);
      ok++;
    } else {
      CHECKF(st == AD_EGUARD && fired > 0, "trial %d: %s, %llu guards fired", trial, ad_status_str(st),
             (unsigned long long)fired);
      refused++;
      prevented += wrong;
    }
    CHECKF(!wrong || st == AD_EGUARD, "trial %d: a replay that would have been wrong was not refused", trial);
  }
  printf("branchy, size %d, 200 inputs: %d replayed, %d refused by guards (%d of them would have given a wrong "
         "value or gradient)\n",
         size, ok, refused, prevented);
  CHECKF(ok >= 20 && refused >= 20 && prevented >= 20, "ok %d refused %d prevented %d", ok, refused, prevented);
  replay_free(t);
  replay_free(fresh);
}

int main(void) {
  test_branch();
  test_comparisons();
  test_nan();
  test_kinks();
  test_value_read();
  test_loop();
  test_branchy();
  return test_report("test_replay_guards");
}
