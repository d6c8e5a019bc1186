/* test_nonfinite: the one policy for infinite and NaN values (the top of engines/ad_ops.def) on every engine.
 *
 *  - cases:     hand-typed programs with known answers, run through eng_api on every engine (value, Jacobian,
 *               jvp or vjp, replay) and through the policy's plain interpreter (tests/tprog.h):
 *                 x + 0 * sqrt(y) at (1, 0)              -> (1, NaN)   a reached node with adjoint 0, partial Inf
 *                 x * exp(y), unused exp(1000 y), (2, 1) -> (e, 2e)    an unreached node with an infinite value
 *                 x + (sqrt(y) - sqrt(y)) at (1, 0)      -> (1, NaN)   adjoint 0 by cancellation, partial Inf
 *                 x * 3 + 0 * log(y), y = 0 unused twice -> (3, NaN)   log(0): value -Inf, partial Inf, reached
 *                 mul_vv(Inf, -1)                        -> (-1, Inf)  forward mode: the unseeded operand adds nothing
 *                 y unused, x * 2 with exp(1000 y) later -> (2, 0)     a node recorded after the output
 *  - tape:      the same through the tape's own API, full sweep (tape_reverse) and from the output
 *               (tape_reverse_from), so both sweeps and the zero-adjoint skip are covered;
 *  - workloads: gmm, lstm, branchy and ba with one infinite or NaN input: every reverse engine's Jacobian agrees
 *               with the tape's, NaN positions included (tprog_agree). The dual engine agrees too, except that an
 *               entry may be NaN in one mode and infinite in the other: forward mode sums the tangents where paths
 *               meet and then multiplies by an infinite partial, (a + b) Inf, where reverse mode multiplies first,
 *               a Inf + b Inf, which is NaN when a and b differ in sign (ba shows it). The fuzz test checks the dual
 *               engine exactly, against a forward-mode reference.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tape/tape_ops.h"
#include "tprog.h"

#include "testkit.h"

/* Runs the program on every engine and on the policy's interpreter; each must give the value want_y and the
 * gradient want (NaN: any NaN). */
static void check_case(const char *name, const double *data, const double *x, double want_y, const double *want) {
  int k = (int)data[0];
  tprog_ref ref;
  CHECKF(tprog_reference(data, x, &ref, NULL), "%s: the reference cannot run it", name);
  CHECKF(ref.nonfinite, "%s: the reference did not notice a non-finite value", name);
  for (int j = 0; j < k; ++j)
    CHECKF(tprog_agree(ref.pgrad[j], want[j], 0, 0), "%s: policy reference d/dx%d = %.17g, expected %.17g", name, j,
           ref.pgrad[j], want[j]);
  for (int e = 0; e < tprog_engine_count; ++e) {
    const tprog_api *eng = tprog_engines[e];
    tprog_eng out;
    ad_status st = tprog_run(eng, data, x, &out);
    CHECKF(st == AD_OK, "%s on %s: %s", name, eng->name, ad_status_str(st));
    if (st != AD_OK) continue;
    CHECKF(out.y == want_y, "%s on %s: value %.17g, expected %.17g", name, eng->name, out.y, want_y);
    if (eng->kind == ENG_PRIMAL) continue;
    for (int j = 0; j < k; ++j) {
      CHECKF(tprog_agree(out.J[j], want[j], 1e-15, 0), "%s on %s: d/dx%d = %.17g, expected %.17g", name, eng->name,
             j, out.J[j], want[j]);
      if (eng->kind == ENG_REVERSE && eng->vjp)
        CHECKF(tprog_agree(out.wJ[j], want[j], 1e-15, 0), "%s on %s: vjp d/dx%d = %.17g, expected %.17g", name,
               eng->name, j, out.wJ[j], want[j]);
      if (out.has_replay)
        CHECKF(out.replay_same == AD_OK && tprog_agree(out.J_same[j], want[j], 1e-15, 0),
               "%s on %s: replay d/dx%d = %.17g (%s), expected %.17g", name, eng->name, j, out.J_same[j],
               ad_status_str(out.replay_same), want[j]);
    }
  }
  /* The whole check once more, as the fuzz test runs it. */
  tprog_tol tol = tprog_tol_default();
  CHECKF(tprog_check(data, x, &ref, &tol, stderr, NULL) == 0, "%s: tprog_check failed", name);
}

static void test_cases(void) {
  const double e = exp(1.0);
  double data[PROG_HEADER + 8 * PROG_STRIDE];
  {
    double x[2] = {1.0, 0.0}, want[2] = {1.0, NAN};
    prog_set_header(data, 2, 3);
    prog_set(data, 0, AD_OP_sqrt, 1, 0, 0.0);   /* v2 = sqrt(y) = 0, partial +Inf */
    prog_set(data, 1, AD_OP_mul_vc, 2, 0, 0.0); /* v3 = v2 * 0 */
    prog_set(data, 2, AD_OP_add_vv, 0, 3, 0.0); /* v4 = x + v3 */
    check_case("x + 0 * sqrt(y)", data, x, 1.0, want);
  }
  {
    double x[2] = {2.0, 1.0}, want[2] = {e, 2.0 * e};
    prog_set_header(data, 2, 4);
    prog_set(data, 0, AD_OP_mul_vc, 1, 0, 1000.0); /* v2 = 1000 y */
    prog_set(data, 1, AD_OP_exp, 2, 0, 0.0);       /* v3 = exp(1000 y) = Inf, unused */
    prog_set(data, 2, AD_OP_exp, 1, 0, 0.0);       /* v4 = exp(y) */
    prog_set(data, 3, AD_OP_mul_vv, 0, 4, 0.0);    /* v5 = x * exp(y) */
    check_case("x * exp(y), unused exp(1000 y)", data, x, 2.0 * exp(1.0), want);
  }
  {
    double x[2] = {1.0, 0.0}, want[2] = {1.0, NAN};
    prog_set_header(data, 2, 3);
    prog_set(data, 0, AD_OP_sqrt, 1, 0, 0.0);   /* v2 = sqrt(y) */
    prog_set(data, 1, AD_OP_sub_vv, 2, 2, 0.0); /* v3 = v2 - v2: adjoint 1 - 1 = 0 reaches v2 */
    prog_set(data, 2, AD_OP_add_vv, 0, 3, 0.0);
    check_case("x + (sqrt(y) - sqrt(y))", data, x, 1.0, want);
  }
  {
    double x[2] = {1.0, 0.0}, want[2] = {3.0, NAN};
    prog_set_header(data, 2, 4);
    prog_set(data, 0, AD_OP_mul_vc, 0, 0, 3.0); /* v2 = 3 x */
    prog_set(data, 1, AD_OP_log, 1, 0, 0.0);    /* v3 = log(0) = -Inf, partial +Inf */
    prog_set(data, 2, AD_OP_mul_vc, 3, 0, 0.0); /* v4 = -Inf * 0 = NaN: the value is NaN */
    prog_set(data, 3, AD_OP_add_vv, 2, 4, 0.0); /* v5 = NaN */
    /* The value is NaN, which check_case compares with ==: checked here by hand. */
    tprog_ref ref;
    CHECKF(tprog_reference(data, x, &ref, NULL) && isnan(ref.pvalue), "3x + 0 log(y): the value must be NaN");
    for (int e2 = 0; e2 < tprog_engine_count; ++e2) {
      tprog_eng out;
      CHECKF(tprog_run(tprog_engines[e2], data, x, &out) == AD_OK && isnan(out.y), "3x + 0 log(y) on %s: value %g",
             tprog_engines[e2]->name, out.y);
      if (tprog_engines[e2]->kind == ENG_PRIMAL) continue;
      for (int j = 0; j < 2; ++j)
        CHECKF(tprog_agree(out.J[j], want[j], 0, 0), "3x + 0 log(y) on %s: d/dx%d = %.17g, expected %.17g",
               tprog_engines[e2]->name, j, out.J[j], want[j]);
    }
  }
  {
    double x[2] = {INFINITY, -1.0}, want[2] = {-1.0, INFINITY};
    prog_set_header(data, 2, 1);
    prog_set(data, 0, AD_OP_mul_vv, 0, 1, 0.0);
    check_case("mul_vv(Inf, -1)", data, x, -INFINITY, want);
  }
  {
    /* The output is not the last value recorded: what comes after it (an infinite value) is not reached. */
    double x[2] = {1.5, 1.0}, want[2] = {2.0, 0.0};
    prog_set_header(data, 2, 4);
    prog_set(data, 0, AD_OP_mul_vc, 1, 0, 1000.0); /* v2 = 1000 y */
    prog_set(data, 1, AD_OP_exp, 2, 0, 0.0);       /* v3 = Inf */
    prog_set(data, 2, AD_OP_mul_vc, 3, 0, 0.0);    /* v4 = Inf * 0 = NaN, unused */
    prog_set(data, 3, AD_OP_mul_vc, 0, 0, 2.0);    /* v5 = 2 x, the output */
    check_case("2 x beside an unused NaN", data, x, 3.0, want);
  }
}

/* The tape's own API: full and partial sweeps of x + 0 * sqrt(y) and of x * exp(y) beside exp(1000 y). */
static void test_tape_sweeps(void) {
  tape_t *t = tape_new();
  CHECKF(t != NULL, "tape_new");
  if (!t) return;
  for (int from = 0; from < 2; ++from) {
    tape_reset(t);
    ad_t x = tape_input(t, 1.0), y = tape_input(t, 0.0);
    ad_t out = tape_settle(t, ad_add_vv(t, x, ad_mul_vc(t, ad_sqrt(t, y), 0.0))); /* one statement */
    ad_t later = ad_exp(t, ad_mul_vc(t, x, 1000.0)); /* recorded after the output, Inf, never reached */
    (void)later;
    double *adj = tape_adjoints(t);
    CHECKF(adj != NULL, "tape_adjoints");
    if (!adj) break;
    adj[out.i] = 1.0;
    ad_status st = from ? tape_reverse_from(t, out.i) : tape_reverse(t);
    CHECKF(st == AD_OK, "sweep: %s", ad_status_str(st));
    CHECKF(adj[x.i] == 1.0 && isnan(adj[y.i]), "%s: x + 0 sqrt(y) at (1, 0) gives (%g, %g), expected (1, NaN)",
           from ? "tape_reverse_from" : "tape_reverse", adj[x.i], adj[y.i]);
    /* A second sweep on the same recording: the reach marks were cleared by the first. */
    tape_clear_adjoints(t);
    adj[x.i] = 1.0; /* seeding an input reaches nothing else */
    st = tape_reverse(t);
    CHECKF(st == AD_OK && adj[x.i] == 1.0 && adj[y.i] == 0.0, "second sweep seeded at x: adj y %g, expected 0",
           adj[y.i]);
  }
  for (int from = 0; from < 2; ++from) {
    tape_reset(t);
    ad_t x = tape_input(t, 2.0), y = tape_input(t, 1.0);
    ad_t unused = ad_exp(t, ad_mul_vc(t, y, 1000.0));
    (void)unused;
    ad_t out = tape_settle(t, ad_mul_vv(t, x, ad_exp(t, y))); /* one statement */
    double *adj = tape_adjoints(t);
    CHECKF(adj != NULL, "tape_adjoints");
    if (!adj) break;
    adj[out.i] = 1.0;
    ad_status st = from ? tape_reverse_from(t, out.i) : tape_reverse(t);
    CHECKF(st == AD_OK && adj[y.i] == 2.0 * exp(1.0) && adj[x.i] == exp(1.0),
           "x exp(y) beside exp(1000 y): (%.17g, %.17g), expected (e, 2e)", adj[x.i], adj[y.i]);
  }
  tape_free(t);
}

/* Workloads with one non-finite input: every derivative engine agrees with the tape (NaN positions too). */
static void test_workloads(void) {
  static const char *const names[] = {"gmm", "lstm", "branchy", "ba"};
  static const double bad[] = {INFINITY, -INFINITY, NAN};
  const eng_api *tape = eng_find("tape");
  for (size_t w = 0; w < sizeof names / sizeof names[0]; ++w) {
    const wl_info *wl = wl_find(names[w]);
    CHECKF(wl != NULL, "no workload %s", names[w]);
    if (!wl) continue;
    int size = wl->check_sizes[0], n_in = wl->n_in(size), n_out = wl->n_out(size);
    double *x = (double *)malloc((size_t)n_in * sizeof *x);
    double *data = (double *)malloc(((size_t)wl->n_data(size) + 1) * sizeof *data);
    double *ref = (double *)malloc((size_t)n_in * n_out * sizeof *ref);
    double *J = (double *)malloc((size_t)n_in * n_out * sizeof *J);
    double *y = (double *)malloc((size_t)n_out * sizeof *y), *y2 = (double *)malloc((size_t)n_out * sizeof *y2);
    CHECKF(x && data && ref && J && y && y2, "out of memory");
    if (!(x && data && ref && J && y && y2)) return;
    long nan_entries = 0, mode_diffs = 0;
    for (size_t b = 0; b < sizeof bad / sizeof bad[0]; ++b) {
      for (int at = 0; at < n_in; at += n_in > 3 ? n_in / 3 : 1) {
        wl->init(size, 42, x, data);
        x[at] = bad[b];
        eng_session *s = tape->open(wl, size, data);
        ad_status st = s ? tape->jacobian(s, x, y, ref) : AD_ENOMEM;
        tape->close(s);
        CHECKF(st == AD_OK, "%s tape: %s", names[w], ad_status_str(st));
        for (size_t i = 0; i < (size_t)n_in * n_out; ++i) nan_entries += isnan(ref[i]) != 0;
        for (int e = 0; e < eng_own_count; ++e) {
          const eng_api *eng = eng_all[e];
          if (eng->kind == ENG_PRIMAL || eng == tape) continue;
          s = eng->open(wl, size, data);
          st = s ? eng->jacobian(s, x, y2, J) : AD_ENOMEM;
          eng->close(s);
          CHECKF(st == AD_OK, "%s %s: %s", names[w], eng->name, ad_status_str(st));
          int bad_at = -1;
          for (size_t i = 0; i < (size_t)n_in * n_out && bad_at < 0; ++i) {
            int ok = tprog_agree(J[i], ref[i], 1e-9, 1.0);
            if (eng->kind == ENG_FORWARD && (isinf(J[i]) || isinf(ref[i])) && (isnan(J[i]) || isnan(ref[i]))) {
              ok = 1; /* (a + b) Inf against a Inf + b Inf: see the top of the file */
              mode_diffs++;
            }
            if (!ok) bad_at = (int)i;
          }
          CHECKF(bad_at < 0, "%s (input %d = %g) %s: J[%d] = %.17g, tape %.17g", names[w], at, bad[b], eng->name,
                 bad_at, bad_at >= 0 ? J[bad_at] : 0.0, bad_at >= 0 ? ref[bad_at] : 0.0);
        }
      }
    }
    printf("%s: size %d, %d inputs: %ld NaN Jacobian entries in the tape's, all engines agree (%ld entries NaN in "
           "one mode and infinite in the other)\n", names[w], size, n_in, nan_entries, mode_diffs);
    free(x), free(data), free(ref), free(J), free(y), free(y2);
  }
}

int main(void) {
  test_cases();
  test_tape_sweeps();
  test_workloads();
  return test_report("test_nonfinite");
}
