/* test_preacc: the tape's statement-level preaccumulation (tape_ops.h, TAPE_PREACC) is exact.
 *  - one-operand ops fold into the variable and record nothing; an op of two one-term operands records nothing
 *    either (a pending pair); an op with three or four terms between its operands records one statement of them
 *    all; tape_settle makes a pair one statement;
 *  - an intermediate used twice (fan-out), values read mid-expression (ad_val, comparisons, branches) and outputs
 *    that are a scaled statement (y.d != 1, seeded through tape_seed) give the closed-form gradients;
 *  - every workload's Jacobian agrees with the per-op tape (`tape_op`) to 1e-14 at its check sizes, and its
 *    statements per op are as expected (chain records none, rosenbrock 3 per 2 x 8 ops).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eng.h"
#include "judge.h"
#include "run.h"
#include "tape/tape_ops.h"
#include "wl.h"

#include "testkit.h"

/* Gradient of y (a variable of t's recording) with respect to inputs x[0..n) by one reverse sweep. */
static void gradient(tape_t *t, ad_t y, const ad_t *x, int n, double *g) {
  double *adj = tape_adjoints(t); /* zeroed */
  CHECKF(adj != NULL, "adjoints");
  if (!adj) return;
  tape_seed(t, y, 1.0);
  CHECKF(tape_reverse(t) == AD_OK, "reverse");
  for (int j = 0; j < n; ++j) g[j] = adj[x[j].i];
}

static void folding(void) {
  tape_t *t = tape_new();
  ad_t x = tape_input(t, 0.7), w = tape_input(t, -1.3);
  /* A chain of one-operand ops: nothing recorded, the partial travels in y.d. */
  ad_t y = ad_mul_vc(t, ad_exp(t, ad_sin(t, x)), 3.0);
  tape_stats s = tape_get_stats(t);
  CHECKF(s.statements == 2 && s.arguments == 0, "chain of one-operand ops: %llu statements, %llu args",
         (unsigned long long)s.statements, (unsigned long long)s.arguments);
  CHECKF(y.i == x.i, "the chain's result stands for x's statement");
  double g[2], want = 3.0 * exp(sin(0.7)) * cos(0.7);
  gradient(t, y, &x, 1, g);
  CHECKF(fabs(g[0] - want) <= 1e-15 * fabs(want), "d/dx 3 exp(sin x): %.17g, want %.17g", g[0], want);

  /* Fan-out: u = sin(x) * w is a pending pair used twice (u * u and exp(-u)): each use scales its own copy of the
   * two terms, and the sum of the two copies is one statement of four arguments. */
  tape_reset(t);
  x = tape_input(t, 0.7), w = tape_input(t, -1.3);
  ad_t u = ad_mul_vv(t, ad_sin(t, x), w);
  CHECKF(u.i == x.i && u.i2 == w.i && tape_get_stats(t).statements == 2, "sin(x) * w: a pending pair, nothing recorded");
  ad_t z = ad_add_vv(t, ad_sqr(t, u), ad_exp(t, ad_neg(t, u)));
  double uv = sin(0.7) * -1.3, dz_du = 2 * uv - exp(-uv);
  ad_t xs[2] = {x, w};
  gradient(t, z, xs, 2, g);
  double gx = dz_du * cos(0.7) * -1.3, gw = dz_du * sin(0.7);
  CHECKF(fabs(g[0] - gx) <= 1e-15 && fabs(g[1] - gw) <= 1e-15, "fan-out: (%.17g, %.17g), want (%.17g, %.17g)", g[0],
         g[1], gx, gw);
  s = tape_get_stats(t);
  CHECKF(s.statements == 3 && s.arguments == 4, "fan-out: 2 inputs + one statement of 4 terms, %llu statements, %llu args",
         (unsigned long long)s.statements, (unsigned long long)s.arguments);

  /* Three terms: (x * w) + sin(x), a pair and one more term, is one statement of three arguments; the same
   * statement again as an output through tape_settle changes nothing (one term already). */
  tape_reset(t);
  x = tape_input(t, 0.7), w = tape_input(t, -1.3);
  z = ad_add_vv(t, ad_mul_vv(t, x, w), ad_sin(t, x));
  s = tape_get_stats(t);
  CHECKF(s.statements == 3 && s.arguments == 3 && z.i2 == 0 && z.d == 1.0, "x w + sin x: one statement of 3 terms");
  CHECKF(tape_settle(t, z).i == z.i && tape_get_stats(t).statements == 3, "settling one term records nothing");
  xs[0] = x, xs[1] = w;
  gradient(t, z, xs, 2, g);
  CHECKF(g[0] == -1.3 + cos(0.7) && g[1] == 0.7, "x w + sin x: (%.17g, %.17g)", g[0], g[1]);

  /* tape_settle: a pending pair becomes one statement of its two terms with d = 1, and seeds as the pair did. */
  tape_reset(t);
  x = tape_input(t, 0.7), w = tape_input(t, -1.3);
  u = ad_mul_vc(t, ad_sub_vv(t, x, w), 3.0);
  ad_t us = tape_settle(t, u);
  s = tape_get_stats(t);
  CHECKF(u.i2 != 0 && us.i2 == 0 && us.d == 1.0 && us.i == 3 && s.statements == 3 && s.arguments == 2,
         "settling 3 (x - w): one statement of 2 terms");
  gradient(t, us, xs, 2, g);
  CHECKF(g[0] == 3.0 && g[1] == -3.0, "settled 3 (x - w): (%g, %g)", g[0], g[1]);

  /* tape_output: a pair of nonzero partials stays a pair (nothing recorded; a sweep from tape_top starts at its
   * higher statement); a pair with a zero partial is settled, so that the op that made it is reached as a whole:
   * out = x + 0 (sqrt(z) + w) w at z = 0, where sqrt's infinite partial below a zero partial gives NaN (the policy
   * of ad_ops.def), which seeding the zero term alone would not. */
  tape_reset(t);
  x = tape_input(t, 0.7), w = tape_input(t, -1.3);
  ad_t zin = tape_input(t, 0.0);
  u = ad_mul_vv(t, x, w);
  ad_t uo = tape_output(t, u);
  CHECKF(uo.i == x.i && uo.i2 == w.i && tape_top(uo) == w.i && tape_get_stats(t).statements == 3,
         "tape_output of x w: the pair, nothing recorded");
  ad_t v = ad_mul_vv(t, ad_add_vv(t, ad_sqrt(t, zin), w), w); /* a statement of three terms */
  ad_t out = ad_add_vv(t, x, ad_mul_vc(t, v, 0.0));        /* the pair (x: 1, v: 0) */
  CHECKF(out.i2 == v.i && out.d2 == 0.0, "x + 0 v: a pair with a zero partial");
  uint64_t before = tape_get_stats(t).statements;
  out = tape_output(t, out);
  CHECKF(out.i2 == 0 && tape_get_stats(t).statements == before + 1, "tape_output settles a pair with a zero partial");
  double g3[3];
  ad_t xs3[3] = {x, w, zin};
  gradient(t, out, xs3, 3, g3);
  CHECKF(g3[0] == 1.0 && g3[1] == 0.0 && isnan(g3[2]), "x + 0 (sqrt(z) + w) w at z = 0: (%g, %g, %g), want (1, 0, NaN)",
         g3[0], g3[1], g3[2]);

  /* Values read mid-expression: a comparison and ad_val steer the computation; the value read becomes a
   * constant (no derivative through it), as in every engine. */
  tape_reset(t);
  x = tape_input(t, 0.7), w = tape_input(t, -1.3);
  u = ad_mul_vv(t, x, ad_sqr(t, w));
  ad_t r = ad_gt_vc(t, u, 0.0) ? ad_log(t, u) : ad_mul_vc(t, u, ad_val(t, u));
  xs[0] = x, xs[1] = w;
  gradient(t, r, xs, 2, g);
  CHECKF(fabs(g[0] - 1 / 0.7) <= 1e-15 * (1 / 0.7) && fabs(g[1] - 2 / -1.3) <= 1e-15 * (2 / 1.3),
         "branch on a folded value: (%.17g, %.17g)", g[0], g[1]);

  /* An op of a variable with itself: both arguments are the same statement. */
  tape_reset(t);
  x = tape_input(t, 0.7);
  y = ad_mul_vv(t, ad_sin(t, x), ad_sin(t, x));
  gradient(t, y, &x, 1, g);
  want = 2 * sin(0.7) * cos(0.7);
  CHECKF(fabs(g[0] - want) <= 1e-15, "sin(x) * sin(x): %.17g, want %.17g", g[0], want);

  /* Passive operands: nothing recorded. A passive operand of a two-operand op is a term of statement 0, which adds
   * nothing (its adjoint slot is never read); meeting a pair, it is a dead argument of the statement. */
  tape_reset(t);
  x = tape_input(t, 0.7);
  ad_t k = ad_exp(t, ad_const(t, 2.0));
  CHECKF(k.i == 0 && k.i2 == 0, "an op of constants is passive");
  y = ad_mul_vv(t, k, x); /* one active operand */
  CHECKF(y.i == 0 && y.i2 == x.i && y.d2 == exp(2.0), "k * x: x's term with partial k, a passive term beside it");
  s = tape_get_stats(t);
  CHECKF(s.statements == 1, "passive and one-active ops record nothing: %llu", (unsigned long long)s.statements);
  gradient(t, y, &x, 1, g);
  CHECKF(g[0] == exp(2.0), "d/dx k x: %.17g", g[0]);
  w = tape_input(t, -1.3);
  z = ad_add_vv(t, ad_mul_vv(t, x, w), k); /* a pair and a passive operand: one statement, one dead argument */
  s = tape_get_stats(t);
  CHECKF(s.statements == 3 && s.arguments == 3, "x w + k: %llu statements, %llu args", (unsigned long long)s.statements,
         (unsigned long long)s.arguments);
  xs[0] = x, xs[1] = w;
  gradient(t, z, xs, 2, g);
  CHECKF(g[0] == -1.3 && g[1] == 0.7, "d(x w + k): (%g, %g)", g[0], g[1]);
  z = ad_add_vv(t, k, ad_const(t, 1.0));
  CHECKF(z.i == 0 && z.i2 == 0, "an op of two passive operands is passive");
  tape_free(t);
}

/* Every workload: the preaccumulating tape against the per-op tape, and statements per op. */
static void workloads(void) {
  const eng_api *tp = eng_find("tape"), *op = eng_find("tape_op");
  CHECKF(tp && op, "engines tape and tape_op");
  if (!tp || !op) return;
  for (int k = 0; k < WL_COUNT; ++k) {
    const wl_info *w = wl_all[k];
    for (int c = 0; c < 2; ++c) {
      int size = w->check_sizes[c];
      run_case a, b;
      ad_status sa = run_open(&a, w, tp, RUN_GRAD, size, 42), sb = run_open(&b, w, op, RUN_GRAD, size, 42);
      if (sa == AD_OK) sa = run_eval(&a);
      if (sb == AD_OK) sb = run_eval(&b);
      CHECKF(sa == AD_OK && sb == AD_OK, "%s %d: %s, %s", w->name, size, ad_status_str(sa), ad_status_str(sb));
      if (sa == AD_OK && sb == AD_OK) {
        CHECKF(jd_same_bits(a.y, b.y, (size_t)a.n_out), "%s %d: values differ", w->name, size);
        jd_diff d = jd_compare(a.out, b.out, a.n_outbuf);
        CHECKF(d.err <= 1e-14, "%s %d: tape vs tape_op %.1e at entry %zu", w->name, size, d.err, d.worst);
        eng_stats ea = tp->stats(a.s), eb = op->stats(b.s);
        CHECKF(ea.statements <= eb.statements, "%s %d: statements %llu <= %llu", w->name, size,
               (unsigned long long)ea.statements, (unsigned long long)eb.statements);
        if (!strcmp(w->name, "chain"))
          CHECKF(ea.statements == 0, "chain %d: one-operand ops only, %llu statements", size,
                 (unsigned long long)ea.statements);
        /* rosenbrock's m terms: one statement each (a pair and one term); the sum: a pair of two terms, then a
         * statement of the pair and the next term (one per two terms); the output settled if it ends a pair. */
        uint64_t m = (uint64_t)size - 1;
        if (!strcmp(w->name, "rosenbrock") && size > 2)
          CHECKF(ea.statements == m + (m - 1) / 2 + (m % 2 == 0) && eb.statements == 8 * m - 1,
                 "rosenbrock %d: %llu and %llu statements", size, (unsigned long long)ea.statements,
                 (unsigned long long)eb.statements);
      }
      run_close(&a);
      run_close(&b);
    }
  }
}

int main(void) {
  folding();
  workloads();
  return test_report("test_preacc");
}
