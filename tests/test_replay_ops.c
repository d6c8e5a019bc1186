/* test_replay_ops: the replayable tape op by op. For every op of ad_ops.def and every way its operands can be
 * active or passive: record at one point, replay at another, and compare the value and the partials with a
 * fresh recording there (bit for bit) and with central finite differences of the op's value (independent of
 * the partial expressions). Then long recordings that cross many chunk boundaries, re-recording on kept
 * storage, Jacobians by repeated sweeps, the byte accounting, and argument errors. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "replay/replay_ops.h"

#include "testkit.h"

static int same_bits(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }
static double rel(double a, double b) { return fabs(a - b) / (fabs(b) > 1 ? fabs(b) : 1); }

/* Calls op with its kind's signature; a constant operand is taken from the passive variable's value. */
static ad_t call_op(ad_ctx *c, ad_op op, ad_t a, ad_t b) {
  switch (op) {
#define CALL_U(name)                                                                                           \
  case AD_OP_##name:                                                                                           \
    return ad_##name(c, a);
#define CALL_VV(name)                                                                                          \
  case AD_OP_##name:                                                                                           \
    return ad_##name(c, a, b);
#define CALL_VC(name)                                                                                          \
  case AD_OP_##name:                                                                                           \
    return ad_##name(c, a, b.v);
#define CALL_CV(name)                                                                                          \
  case AD_OP_##name:                                                                                           \
    return ad_##name(c, a.v, b);
#define AD_OP(name, kind, torch, facts, pre, value, da, db) CALL_##kind(name)
#include "ad_ops.def"
#undef AD_OP
  default:
    return a;
  }
}

/* The value of op at (a, b), from the op table (used for the finite differences only). */
static double op_value(ad_op op, double a, double b) {
  double v, da, db;
  ad_op_eval(op, a, b, &v, &da, &db);
  return v;
}

/* Records op with operand a active or not and b active or not; returns the result and the operands. */
static ad_t record_op(replay_t *t, ad_op op, int act_a, int act_b, double a, double b, ad_t *va, ad_t *vb) {
  replay_reset(t);
  *va = act_a ? replay_input(t, a) : ad_const(t, a);
  *vb = act_b ? replay_input(t, b) : ad_const(t, b);
  return call_op(t, op, *va, *vb);
}

/* Gradient of y with respect to (va, vb) after the last evaluation on t. */
static void grad(replay_t *t, ad_t y, ad_t va, ad_t vb, double *ga, double *gb) {
  double *adj = replay_adjoints(t);
  CHECKF(adj != NULL, "no adjoints");
  if (!adj) return;
  adj[y.i] = 1.0;
  adj[0] = 0.0;
  CHECKF(replay_reverse(t) == AD_OK, "reverse failed");
  *ga = va.i ? adj[va.i] : 0.0;
  *gb = vb.i ? adj[vb.i] : 0.0;
}

static void test_every_op(void) {
  replay_t *t = replay_new(), *fresh = replay_new();
  CHECKF(t && fresh, "replay_new");
  if (!t || !fresh) return;
  /* Recorded at (a0, b0), replayed at (a1, b1): inside every op's domain, away from kinks (b > a > 0 both
   * times, so fmax and fmin keep their winner and abs its sign). */
  const double a0 = 0.7, b0 = 1.3, a1 = 0.45, b1 = 1.6;
  int cases = 0;
  for (int op = 0; op < AD_OP_COUNT; ++op) {
    ad_kind kind = ad_op_kind[op];
    /* Activity patterns: U and VC have a active; CV has b active; VV all three with at least one active. */
    int pats[3][2] = {{1, 0}, {0, 0}, {0, 0}}, np = 1;
    if (kind == AD_KIND_CV) pats[0][0] = 0, pats[0][1] = 1;
    if (kind == AD_KIND_VV) {
      pats[0][1] = 1;
      pats[1][0] = 1, pats[1][1] = 0;
      pats[2][0] = 0, pats[2][1] = 1;
      np = 3;
    }
    for (int p = 0; p < np; ++p) {
      int act_a = pats[p][0], act_b = pats[p][1];
      ad_t va, vb, fa, fb;
      ad_t y = record_op(t, (ad_op)op, act_a, act_b, a0, b0, &va, &vb);
      CHECKF(y.i != 0, "%s: result not recorded", ad_op_name[op]);
      double a = act_a ? a1 : a0, b = act_b ? b1 : b0; /* passive operands are constants: they keep */
      double x[2], ga, gb, fga, fgb;
      size_t nx = 0;
      if (act_a) x[nx++] = a1;
      if (act_b) x[nx++] = b1;
      ad_status st = replay_forward(t, x, nx);
      CHECKF(st == AD_OK, "%s: replay: %s", ad_op_name[op], ad_status_str(st));
      grad(t, y, va, vb, &ga, &gb);
      ad_t yf = record_op(fresh, (ad_op)op, act_a, act_b, a, b, &fa, &fb);
      grad(fresh, yf, fa, fb, &fga, &fgb);
      CHECKF(same_bits(replay_value(t, y), replay_value(fresh, yf)), "%s pattern %d: value %.17g vs fresh %.17g",
             ad_op_name[op], p, replay_value(t, y), replay_value(fresh, yf));
      CHECKF(same_bits(ga, fga) && same_bits(gb, fgb), "%s pattern %d: gradient (%.17g, %.17g) vs fresh (%.17g, %.17g)",
             ad_op_name[op], p, ga, gb, fga, fgb);
      CHECKF(same_bits(replay_value(t, y), op_value((ad_op)op, a, b)), "%s: value differs from the op table",
             ad_op_name[op]);
      /* Central differences of the op's value in each active operand. */
      for (int k = 0; k < 2; ++k) {
        if (!(k ? act_b : act_a)) continue;
        double h = 1e-5, fd;
        if (k) fd = (op_value((ad_op)op, a, b + h) - op_value((ad_op)op, a, b - h)) / (2 * h);
        else fd = (op_value((ad_op)op, a + h, b) - op_value((ad_op)op, a - h, b)) / (2 * h);
        double g = k ? gb : ga;
        CHECKF(rel(g, fd) < 1e-7, "%s pattern %d: d/d%c = %.17g, finite differences %.17g", ad_op_name[op], p,
               k ? 'b' : 'a', g, fd);
      }
      cases++;
    }
  }
  /* 7 VV ops with 3 patterns, the other ops with 1. */
  int vv = 0;
  for (int op = 0; op < AD_OP_COUNT; ++op) vv += ad_op_kind[op] == AD_KIND_VV;
  CHECKF(cases == AD_OP_COUNT + 2 * vv, "cases %d", cases);
  /* Passive operands only: a passive result, nothing recorded. */
  replay_reset(t);
  ad_t p = ad_mul_vv(t, ad_const(t, 2.0), ad_const(t, 3.0));
  CHECKF(p.i == 0 && p.v == 6.0, "passive result");
  CHECKF(replay_get_stats(t).statements == 0, "passive ops recorded something");
  replay_free(t);
  replay_free(fresh);
}

/* The example of replay.h: y = (x + w)(w + 1), recorded at (2, 1), replayed at (3, 0.5). */
static void test_header_example(void) {
  replay_t *t = replay_new();
  CHECKF(t != NULL, "replay_new");
  if (!t) return;
  ad_t x = replay_input(t, 2.0), w = replay_input(t, 1.0);
  ad_t y = ad_mul_vv(t, ad_add_vv(t, x, w), ad_add_vc(t, w, 1.0));
  CHECKF(y.v == 6.0, "recorded value %g", y.v);
  double x2[2] = {3.0, 0.5};
  CHECKF(replay_forward(t, x2, 2) == AD_OK, "replay");
  double *adj = replay_adjoints(t);
  CHECKF(adj != NULL, "adjoints");
  if (adj) {
    adj[y.i] = 1.0;
    CHECKF(replay_reverse(t) == AD_OK, "reverse");
    CHECKF(replay_value(t, y) == 5.25, "replayed value %g", replay_value(t, y));
    CHECKF(adj[x.i] == 1.5 && adj[w.i] == 5.0, "gradient (%g, %g), want (w + 1, x + 2w + 1) = (1.5, 5)", adj[x.i],
           adj[w.i]);
  }
  /* The byte accounting: 2 inputs and 3 statements (add_vv: 2 indices; add_vc: 1 index, 1 constant; mul_vv: 2
   * indices): 5 codes + 5 * 4 + 1 * 8 + 5 values * 8. */
  replay_stats s = replay_get_stats(t);
  CHECKF(s.statements == 5 && s.inputs == 2 && s.guards == 0 && s.arguments == 5 && s.constants == 1,
         "stats %llu %llu %llu %llu %llu", (unsigned long long)s.statements, (unsigned long long)s.inputs,
         (unsigned long long)s.guards, (unsigned long long)s.arguments, (unsigned long long)s.constants);
  CHECKF(s.bytes_used == 5 + 20 + 8 + 40, "bytes_used %llu", (unsigned long long)s.bytes_used);
  CHECKF(s.bytes_held >= s.bytes_used && s.bytes_held >= s.value_bytes, "bytes_held %llu",
         (unsigned long long)s.bytes_held);
  replay_free(t);
}

/* A long recording: s <- 0.5 sin(s) + 0.25 x1 with a guard per step, n steps from s = x0. Statements, indices,
 * constants and guards interleave so every stream crosses chunk boundaries at different places. */
static ad_t record_long(replay_t *t, int n, double x0, double x1, ad_t *in0, ad_t *in1) {
  replay_reset(t);
  ad_t s = *in0 = replay_input(t, x0);
  ad_t u = *in1 = replay_input(t, x1);
  for (int i = 0; i < n; ++i) {
    if (ad_gt_vc(t, s, -10.0)) /* always true: s stays in (-1, 1) */
      s = ad_add_vv(t, ad_mul_vc(t, ad_sin(t, s), 0.5), ad_mul_vc(t, u, 0.25));
  }
  return s;
}

/* By hand: value and gradient of the recurrence, carrying ds/dx0 and ds/dx1 forwards. */
static void long_manual(int n, double x0, double x1, double *f, double *g0, double *g1) {
  double s = x0, d0 = 1, d1 = 0;
  for (int i = 0; i < n; ++i) {
    ad_m2 sc = ad_m_sincos(s);
    d0 = 0.5 * sc.y * d0;
    d1 = 0.5 * sc.y * d1 + 0.25;
    s = sc.x * 0.5 + x1 * 0.25;
  }
  *f = s, *g0 = d0, *g1 = d1;
}

static void check_long(replay_t *t, int n, double r0, double r1, double x0, double x1) {
  ad_t i0, i1;
  ad_t y = record_long(t, n, r0, r1, &i0, &i1);
  CHECKF(replay_status(t) == AD_OK, "recording %d steps", n);
  replay_stats st = replay_get_stats(t);
  CHECKF(st.statements == 2 + 4ull * n && st.guards == (uint64_t)n && st.arguments == 6ull * n &&
             st.constants == 3ull * n,
         "stats at %d steps: %llu statements, %llu guards, %llu indices, %llu constants", n,
         (unsigned long long)st.statements, (unsigned long long)st.guards, (unsigned long long)st.arguments,
         (unsigned long long)st.constants);
  double x[2] = {x0, x1}, f, g0, g1;
  CHECKF(replay_forward(t, x, 2) == AD_OK, "replay at %d steps", n);
  double *adj = replay_adjoints(t);
  if (!adj) {
    CHECKF(0, "adjoints");
    return;
  }
  adj[y.i] = 1.0;
  CHECKF(replay_reverse(t) == AD_OK, "reverse");
  long_manual(n, x0, x1, &f, &g0, &g1);
  CHECKF(replay_value(t, y) == f, "%d steps: value %.17g, by hand %.17g", n, replay_value(t, y), f);
  CHECKF(rel(adj[i0.i], g0) < 1e-12 && rel(adj[i1.i], g1) < 1e-12,
         "%d steps: gradient (%.17g, %.17g), by hand (%.17g, %.17g)", n, adj[i0.i], adj[i1.i], g0, g1);
}

static void test_long_recordings(void) {
  replay_t *t = replay_new();
  CHECKF(t != NULL, "replay_new");
  if (!t) return;
  check_long(t, 60000, 0.3, -0.2, 0.9, 0.4);
  uint64_t held = replay_get_stats(t).bytes_held;
  check_long(t, 1000, 0.1, 0.1, -0.5, 0.7); /* shorter: the later chunks hold stale entries of the first */
  check_long(t, 60000, -0.3, 0.6, 0.2, -0.9);
  CHECKF(replay_get_stats(t).bytes_held == held, "re-recording the same size allocated more: %llu vs %llu",
         (unsigned long long)replay_get_stats(t).bytes_held, (unsigned long long)held);
  replay_shrink(t);
  CHECKF(replay_get_stats(t).bytes_held < held / 20, "shrink kept %llu of %llu bytes",
         (unsigned long long)replay_get_stats(t).bytes_held, (unsigned long long)held);
  check_long(t, 5000, 0.3, -0.2, 0.9, 0.4);
  replay_free(t);
}

/* A Jacobian (two outputs) by two sweeps on one replay, with the adjoints cleared in between. */
static void test_jacobian(void) {
  replay_t *t = replay_new();
  CHECKF(t != NULL, "replay_new");
  if (!t) return;
  ad_t x = replay_input(t, 1.0), w = replay_input(t, 2.0);
  ad_t y0 = ad_mul_vv(t, x, ad_exp(t, w));   /* x e^w */
  ad_t y1 = ad_div_cv(t, 1.0, ad_add_vv(t, x, w)); /* 1 / (x + w) */
  double in[2] = {0.5, -0.25};
  CHECKF(replay_forward(t, in, 2) == AD_OK, "replay");
  double *adj = replay_adjoints(t);
  if (!adj) {
    CHECKF(0, "adjoints");
    replay_free(t);
    return;
  }
  adj[y0.i] = 1.0;
  replay_reverse(t);
  double e = ad_m_exp(-0.25);
  CHECKF(rel(adj[x.i], e) < 1e-15 && rel(adj[w.i], 0.5 * e) < 1e-15, "row 0: (%g, %g)", adj[x.i], adj[w.i]);
  replay_clear_adjoints(t);
  CHECKF(adj[x.i] == 0 && adj[y0.i] == 0, "clear");
  adj[y1.i] = 1.0;
  replay_reverse(t);
  double q = -1.0 / (0.25 * 0.25);
  CHECKF(rel(adj[x.i], q) < 1e-15 && rel(adj[w.i], q) < 1e-15, "row 1: (%g, %g), want %g", adj[x.i], adj[w.i], q);
  replay_free(t);
}

static void test_errors(void) {
  replay_t *t = replay_new();
  CHECKF(t != NULL, "replay_new");
  if (!t) return;
  ad_t x = replay_input(t, 1.0);
  ad_t y = ad_sin(t, x);
  double in[2] = {1.0, 2.0};
  CHECKF(replay_forward(t, in, 2) == AD_EINVAL, "too many inputs");
  CHECKF(replay_forward(t, in, 0) == AD_EINVAL, "too few inputs");
  CHECKF(replay_forward(t, NULL, 1) == AD_EINVAL, "NULL inputs");
  CHECKF(replay_reverse(t) == AD_ESTATE, "reverse without an adjoint vector");
  CHECKF(replay_forward(t, in, 1) == AD_OK, "replay");
  double *adj = replay_adjoints(t);
  if (adj) {
    adj[y.i] = 1.0;
    CHECKF(replay_reverse(t) == AD_OK, "reverse");
    CHECKF(adj[x.i] == ad_m_sincos(1.0).y, "d sin");
  }
  /* An empty recording replays (nothing to do). */
  replay_reset(t);
  CHECKF(replay_forward(t, NULL, 0) == AD_OK, "empty replay");
  CHECKF(replay_value(t, ad_const(t, 4.0)) == 4.0, "passive value");
  replay_free(t);
}

int main(void) {
  test_header_example();
  test_every_op();
  test_long_recordings();
  test_jacobian();
  test_errors();
  return test_report("test_replay_ops");
}
