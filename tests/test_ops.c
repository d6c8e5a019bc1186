/* test_ops: every op of ad_ops.def on every engine of ENG_LIST, as one-instruction programs (prog.h) run by each
 * engine's runner (tests/tprog_<engine>.c: value, gradient, jvp or vjp, replay), so an op added to ad_ops.def is
 * covered without new test code here (it needs a complex counterpart in tests/tprog.c and rows below).
 *
 * 1. Regular points: each op on a grid of operands, against the complex-step reference (tests/tprog.h): values
 *    bit-identical to the primal engine's and within 1e-13 (of the value's error scale) of glibc's, derivatives
 *    within 1e-10 of the complex step. A wrong rule misses by O(1); the tolerance leaves room for rules that
 *    are computed from the rounded value, as v (1 - v) for logistic, which at a = 10.5 loses u / (1 - v) =
 *    4e-12 relative (plus an absolute floor at the rounding level of the value, see tprog_check). Grid points
 *    outside an op's real domain, or where it has no derivative in one operand (a^b at a < 0 in b), have a NaN
 *    reference and are skipped: the special points cover them. Every op must still be compared at 4 points or
 *    more. Binary ops are also run with one input in both operands.
 * 2. Special points, hand-typed: zeros, infinities, NaN, domain edges and kinks, with the behaviour
 *    ad_ops.def documents (NaN propagates and nothing traps; abs'(0) = 0; a max/min tie gives 1/2 to each
 *    operand; sqrt'(0) = +Inf; log(0) = -Inf with partial +Inf; the pow rules). Values must match exactly
 *    (the sign of zero included); derivatives exactly (up to the sign of zero, which the order of accumulation
 *    may change) or, for rows that involve a transcendental result, within the row's relative tolerance.
 *    Expected derivatives are the partials, on every engine: a reverse engine reports dv/da and dv/db, and a
 *    forward engine's column j leaves out the other operand, which has no tangent in that pass (the non-finite
 *    policy of ad_ops.def): d/da of mul_vv(Inf, -1) is -1 in both modes, not -1 + Inf * 0 = NaN.
 *    ad_op_eval, the same rules evaluated by op code, must give the same values and partials.
 * 3. Coverage: every op has at least one special row.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tprog.h"

#include "testkit.h"

/* ---- One-instruction programs ---- */

/* Builds op(a, b) as a program: its inputs x (returned count) and data. For VC and CV ops b (for CV, a) is the
 * constant. same: a VV op with x0 in both operands. */
static int one_op(int op, int same, double a, double b, double *data, double *x) {
  int k = 1;
  switch (ad_op_kind[op]) {
  case AD_KIND_U: x[0] = a; break;
  case AD_KIND_VC: x[0] = a; break;
  case AD_KIND_CV: x[0] = b; break;
  case AD_KIND_VV:
    x[0] = a;
    if (!same) x[1] = b, k = 2;
    break;
  }
  prog_set_header(data, k, 1);
  double kc = ad_op_kind[op] == AD_KIND_VC ? b : ad_op_kind[op] == AD_KIND_CV ? a : 0.0;
  prog_set(data, 0, op, 0, ad_op_kind[op] == AD_KIND_VV && !same ? 1 : 0, kc);
  return k;
}

/* ---- 1. Regular points against the complex step ---- */

static void regular_points(void) {
  static const double grid[] = {-2.5, -1.3, -0.7, -0.2, 0.1, 0.45, 1.0, 1.7, 3.2, 10.5};
  static const double consts[] = {-2.0, -0.5, 0.5, 1.0, 2.0, 3.0, 1.5, -1.0};
  enum { NG = sizeof grid / sizeof grid[0], NC = sizeof consts / sizeof consts[0] };
  tprog_tol tol = tprog_tol_default();
  tol.ref_value = 1e-13;
  tol.ref_grad = 1e-10;
  long programs = 0;
  for (int op = 0; op < AD_OP_COUNT; ++op) {
    tprog_errs errs;
    memset(&errs, 0, sizeof errs);
    double data[PROG_HEADER + PROG_STRIDE], x[2];
    int kind = ad_op_kind[op];
    int n1 = NG, n2 = kind == AD_KIND_U ? 1 : kind == AD_KIND_VV ? NG + 1 : NC; /* VV: + op(x, x) */
    for (int i = 0; i < n1; ++i)
      for (int j = 0; j < n2; ++j) {
        double a = grid[i], b = 0;
        int same = 0;
        if (kind == AD_KIND_VV) {
          same = j == NG;
          b = same ? a : grid[j];
        } else if (kind == AD_KIND_VC) {
          b = consts[j];
        } else if (kind == AD_KIND_CV) {
          a = consts[j], b = grid[i];
        }
        one_op(op, same, a, b, data, x);
        tprog_ref ref;
        if (!tprog_reference(data, x, &ref, NULL)) {
          CHECKF(0, "op %s: no complex-step reference", ad_op_name[op]);
          goto next_op;
        }
        int smooth = isfinite(ref.value);
        for (int q = 0; q < ad_op_arity[op] && !same; ++q) smooth &= !isnan(ref.grad[q]);
        if (!smooth) { /* outside the domain, or not differentiable in one operand: special points cover it */
          errs.skipped += tprog_engine_count - 1;
          continue;
        }
        int bad = tprog_check(data, x, &ref, &tol, stderr, &errs);
        CHECKF(!bad, "op %s at (%.17g, %.17g)%s: %d failed check(s) (above)", ad_op_name[op], a, b,
               same ? " with one input in both operands" : "", bad);
        programs++;
      }
    CHECKF(errs.compared >= 4 * (tprog_engine_count - 1), "op %s: compared at only %ld engine-points", ad_op_name[op],
           errs.compared);
    printf("  %-9s %4ld derivatives compared, %3ld outside the domain; largest error %.1e (value %.1e)\n",
           ad_op_name[op], errs.compared, errs.skipped, errs.grad, errs.value);
  next_op:;
  }
  printf("regular points: %ld one-op programs on %d engines\n", programs, tprog_engine_count);
}

/* ---- 2. Special points, hand-typed ---- */

typedef struct special {
  int op;
  int same;          /* VV op with one input in both operands: pa is the total derivative, pb unused */
  double a, b;       /* operands as ad_ops.def names them; for VC b and for CV a is the constant */
  double v, pa, pb;  /* expected value and partials (the partial for a constant operand is not checked) */
  double tol;        /* 0: exact; else relative tolerance for v, pa, pb */
} special;

#define INF INFINITY
#define LN2 0.69314718055994530942
#define LN4 1.3862943611198906188
#define TAN_PI2 16331239353195370.0 /* tan of the double nearest pi/2 */

static const special rows[] = {
    /* add, sub: IEEE sums; partials constant even where the value is NaN */
    {AD_OP_add_vv, 0, 1, 2, 3, 1, 1, 0},
    {AD_OP_add_vv, 0, INF, -INF, NAN, 1, 1, 0},
    {AD_OP_add_vv, 0, NAN, 1, NAN, 1, 1, 0},
    {AD_OP_add_vv, 1, 2.5, 2.5, 5, 2, 0, 0},
    {AD_OP_sub_vv, 0, 1, 2, -1, 1, -1, 0},
    {AD_OP_sub_vv, 0, INF, INF, NAN, 1, -1, 0},
    {AD_OP_sub_vv, 1, 5, 5, 0, 0, 0, 0},
    {AD_OP_add_vc, 0, INF, -INF, NAN, 1, 0, 0},
    {AD_OP_add_vc, 0, NAN, 1, NAN, 1, 0, 0},
    {AD_OP_sub_vc, 0, 1, 1, 0, 1, 0, 0},
    {AD_OP_sub_cv, 0, 5, 2, 3, 0, -1, 0},
    {AD_OP_sub_cv, 0, 1, INF, -INF, 0, -1, 0},
    {AD_OP_sub_cv, 0, 1, NAN, NAN, 0, -1, 0},
    /* mul, div */
    {AD_OP_mul_vv, 0, 2, 3, 6, 3, 2, 0},
    {AD_OP_mul_vv, 0, 0, INF, NAN, INF, 0, 0},
    {AD_OP_mul_vv, 0, NAN, 0, NAN, 0, NAN, 0},
    {AD_OP_mul_vv, 1, 3, 3, 9, 6, 0, 0},
    {AD_OP_mul_vc, 0, 2, 3, 6, 3, 0, 0},
    {AD_OP_mul_vc, 0, INF, 0, NAN, 0, 0, 0},
    {AD_OP_div_vv, 0, 6, 3, 2, 1.0 / 3.0, -2.0 / 3.0, 0},
    {AD_OP_div_vv, 0, 1, 0, INF, INF, -INF, 0},  /* dv/db = -v / b = -Inf / 0 */
    {AD_OP_div_vv, 0, -1, 0, -INF, INF, INF, 0},
    {AD_OP_div_vv, 0, 0, 0, NAN, INF, NAN, 0},
    {AD_OP_div_vv, 0, 1, INF, 0, 0, 0, 0},      /* -0 / Inf: a zero */
    {AD_OP_div_vv, 1, 2, 2, 1, 0, 0, 0},        /* 1/a - (a/a)/a = 0 exactly */
    {AD_OP_div_vc, 0, 6, 3, 2, 1.0 / 3.0, 0, 0},
    {AD_OP_div_vc, 0, 1, 0, INF, INF, 0, 0},
    {AD_OP_div_vc, 0, 0, 0, NAN, INF, 0, 0},
    {AD_OP_div_cv, 0, 6, 3, 2, 0, -2.0 / 3.0, 0},
    {AD_OP_div_cv, 0, 1, 0, INF, 0, -INF, 0},
    {AD_OP_div_cv, 0, 0, 0, NAN, 0, NAN, 0},
    {AD_OP_div_cv, 0, 1, INF, 0, 0, 0, 0},
    /* pow: C's pow for values; d/da = b a^(b-1), 0 when b == 0; d/db = v log a, 0 where a == 0 and b >= 0 */
    {AD_OP_pow_vv, 0, 2, 3, 8, 12, 8 * LN2, 1e-15},
    {AD_OP_pow_vv, 0, 4, 0.5, 2, 0.25, 2 * LN4, 1e-15},
    {AD_OP_pow_vv, 0, 0, 2, 0, 0, 0, 0},        /* d/da = 2 * 0^1 = 0; d/db masked */
    {AD_OP_pow_vv, 0, 0, 1, 0, 1, 0, 0},        /* d/da = 1 * 0^0 = 1 */
    {AD_OP_pow_vv, 0, 0, 0, 1, 0, 0, 0},        /* 0^0 = 1, both partials masked */
    {AD_OP_pow_vv, 0, 0, 0.5, 0, INF, 0, 0},    /* d/da = 0.5 * 0^-0.5 */
    {AD_OP_pow_vv, 0, 0, -1, INF, -INF, -INF, 0}, /* d/db = Inf * log 0 = Inf * -Inf */
    {AD_OP_pow_vv, 0, -2, 3, -8, 12, NAN, 0},   /* log of a negative base */
    {AD_OP_pow_vv, 0, -2, 0.5, NAN, NAN, NAN, 0},
    {AD_OP_pow_vv, 0, 1, NAN, 1, NAN, 0, 0},    /* C: pow(1, NaN) = 1; d/db = 1 * log 1 = 0 */
    {AD_OP_pow_vv, 0, NAN, 0, 1, 0, NAN, 0},    /* C: pow(NaN, 0) = 1; d/da masked */
    {AD_OP_pow_vv, 1, 2, 2, 4, 4 + 4 * LN2, 0, 1e-15}, /* x^x: x^x (1 + log x) */
    {AD_OP_pow_vc, 0, 3, 2, 9, 6, 0, 0},
    {AD_OP_pow_vc, 0, 0, 2, 0, 0, 0, 0},
    {AD_OP_pow_vc, 0, 0, 1, 0, 1, 0, 0},
    {AD_OP_pow_vc, 0, 0, 0.5, 0, INF, 0, 0},
    {AD_OP_pow_vc, 0, 0, -1, INF, -INF, 0, 0},
    {AD_OP_pow_vc, 0, -0.0, -1, -INF, -INF, 0, 0}, /* pow(-0, -1) = -Inf; -1 * pow(-0, -2) = -Inf */
    {AD_OP_pow_vc, 0, -2, 3, -8, 12, 0, 0},
    {AD_OP_pow_vc, 0, -8, 1.0 / 3.0, NAN, NAN, 0, 0},
    {AD_OP_pow_vc, 0, NAN, 0, 1, 0, 0, 0},
    {AD_OP_pow_vc, 0, INF, -1, 0, -0.0, 0, 0},  /* -1 * pow(Inf, -2) */
    {AD_OP_pow_cv, 0, 2, 3, 8, 0, 8 * LN2, 1e-15},
    {AD_OP_pow_cv, 0, 0, 2, 0, 0, 0, 0},
    {AD_OP_pow_cv, 0, 0, 0, 1, 0, 0, 0},
    {AD_OP_pow_cv, 0, 0, -1, INF, 0, -INF, 0},
    {AD_OP_pow_cv, 0, -2, 3, -8, 0, NAN, 0},
    {AD_OP_pow_cv, 0, 1, NAN, 1, 0, 0, 0},
    /* fmax, fmin: NaN if either is NaN, then both partials 1; a tie gives 1/2 to each and returns a */
    {AD_OP_fmax_vv, 0, 2, 1, 2, 1, 0, 0},
    {AD_OP_fmax_vv, 0, 1, 2, 2, 0, 1, 0},
    {AD_OP_fmax_vv, 0, 1, 1, 1, 0.5, 0.5, 0},
    {AD_OP_fmax_vv, 0, INF, INF, INF, 0.5, 0.5, 0},
    {AD_OP_fmax_vv, 0, -0.0, 0.0, -0.0, 0.5, 0.5, 0},
    {AD_OP_fmax_vv, 0, NAN, 1, NAN, 1, 1, 0},
    {AD_OP_fmax_vv, 0, 1, NAN, NAN, 1, 1, 0},
    {AD_OP_fmax_vv, 1, 3, 3, 3, 1, 0, 0},       /* both halves reach x */
    {AD_OP_fmin_vv, 0, 2, 1, 1, 0, 1, 0},
    {AD_OP_fmin_vv, 0, 1, 2, 1, 1, 0, 0},
    {AD_OP_fmin_vv, 0, 1, 1, 1, 0.5, 0.5, 0},
    {AD_OP_fmin_vv, 0, -INF, -INF, -INF, 0.5, 0.5, 0},
    {AD_OP_fmin_vv, 0, NAN, 1, NAN, 1, 1, 0},
    {AD_OP_fmin_vv, 1, -3, -3, -3, 1, 0, 0},
    {AD_OP_fmax_vc, 0, 2, 1, 2, 1, 0, 0},
    {AD_OP_fmax_vc, 0, 0, 1, 1, 0, 0, 0},
    {AD_OP_fmax_vc, 0, 1, 1, 1, 0.5, 0, 0},
    {AD_OP_fmax_vc, 0, NAN, 1, NAN, 1, 0, 0},
    {AD_OP_fmin_vc, 0, 2, 1, 1, 0, 0, 0},
    {AD_OP_fmin_vc, 0, 0, 1, 0, 1, 0, 0},
    {AD_OP_fmin_vc, 0, 1, 1, 1, 0.5, 0, 0},
    {AD_OP_fmin_vc, 0, NAN, 1, NAN, 1, 0, 0},
    /* unary */
    {AD_OP_neg, 0, 0, 0, -0.0, -1, 0, 0},
    {AD_OP_neg, 0, INF, 0, -INF, -1, 0, 0},
    {AD_OP_neg, 0, NAN, 0, NAN, -1, 0, 0},
    {AD_OP_sqr, 0, -3, 0, 9, -6, 0, 0},
    {AD_OP_sqr, 0, 0, 0, 0, 0, 0, 0},
    {AD_OP_sqr, 0, -INF, 0, INF, -INF, 0, 0},
    {AD_OP_sqr, 0, NAN, 0, NAN, NAN, 0, 0},
    {AD_OP_sqrt, 0, 4, 0, 2, 0.25, 0, 0},
    {AD_OP_sqrt, 0, 0, 0, 0, INF, 0, 0},        /* sqrt'(0) = +Inf, as PyTorch's grad / (2 result) */
    {AD_OP_sqrt, 0, -0.0, 0, -0.0, -INF, 0, 0}, /* IEEE sqrt(-0) = -0, so 0.5 / -0 */
    {AD_OP_sqrt, 0, -1, 0, NAN, NAN, 0, 0},
    {AD_OP_sqrt, 0, INF, 0, INF, 0, 0, 0},
    {AD_OP_sqrt, 0, NAN, 0, NAN, NAN, 0, 0},
    {AD_OP_exp, 0, 0, 0, 1, 1, 0, 0},
    {AD_OP_exp, 0, -INF, 0, 0, 0, 0, 0},
    {AD_OP_exp, 0, INF, 0, INF, INF, 0, 0},
    {AD_OP_exp, 0, 800, 0, INF, INF, 0, 0},     /* overflow */
    {AD_OP_exp, 0, -800, 0, 0, 0, 0, 0},        /* underflow */
    {AD_OP_exp, 0, NAN, 0, NAN, NAN, 0, 0},
    {AD_OP_log, 0, 1, 0, 0, 1, 0, 0},
    {AD_OP_log, 0, 0, 0, -INF, INF, 0, 0},      /* log(0) = -Inf, partial 1/0 = +Inf */
    {AD_OP_log, 0, -1, 0, NAN, -1, 0, 0},       /* NaN value; the partial 1/a is still -1 */
    {AD_OP_log, 0, INF, 0, INF, 0, 0, 0},
    {AD_OP_log, 0, NAN, 0, NAN, NAN, 0, 0},
    {AD_OP_sin, 0, 0, 0, 0, 1, 0, 0},
    {AD_OP_sin, 0, -0.0, 0, -0.0, 1, 0, 0},
    {AD_OP_sin, 0, INF, 0, NAN, NAN, 0, 0},
    {AD_OP_sin, 0, NAN, 0, NAN, NAN, 0, 0},
    {AD_OP_cos, 0, 0, 0, 1, 0, 0, 0},
    {AD_OP_cos, 0, -INF, 0, NAN, NAN, 0, 0},
    {AD_OP_cos, 0, NAN, 0, NAN, NAN, 0, 0},
    {AD_OP_tan, 0, 0, 0, 0, 1, 0, 0},
    {AD_OP_tan, 0, 1.5707963267948966, 0, TAN_PI2, 1 + TAN_PI2 * TAN_PI2, 0, 1e-15}, /* no pole in doubles */
    {AD_OP_tan, 0, INF, 0, NAN, NAN, 0, 0},
    {AD_OP_tan, 0, NAN, 0, NAN, NAN, 0, 0},
    {AD_OP_tanh, 0, 0, 0, 0, 1, 0, 0},
    {AD_OP_tanh, 0, INF, 0, 1, 0, 0, 0},
    {AD_OP_tanh, 0, -INF, 0, -1, 0, 0, 0},
    {AD_OP_tanh, 0, NAN, 0, NAN, NAN, 0, 0},
    {AD_OP_logistic, 0, 0, 0, 0.5, 0.25, 0, 0},
    {AD_OP_logistic, 0, INF, 0, 1, 0, 0, 0},
    {AD_OP_logistic, 0, -INF, 0, 0, 0, 0, 0},
    {AD_OP_logistic, 0, 800, 0, 1, 0, 0, 0},    /* exactly 1 in the tail */
    {AD_OP_logistic, 0, -800, 0, 0, 0, 0, 0},   /* exp(800) = Inf, 1 / Inf = 0 */
    {AD_OP_logistic, 0, NAN, 0, NAN, NAN, 0, 0},
    {AD_OP_abs, 0, 3, 0, 3, 1, 0, 0},
    {AD_OP_abs, 0, -2, 0, 2, -1, 0, 0},
    {AD_OP_abs, 0, 0, 0, 0, 0, 0, 0},           /* abs'(0) = 0 (sgn) */
    {AD_OP_abs, 0, -0.0, 0, 0, 0, 0, 0},
    {AD_OP_abs, 0, -INF, 0, INF, -1, 0, 0},
    {AD_OP_abs, 0, NAN, 0, NAN, NAN, 0, 0},
};

/* Values: same number, NaN for NaN, and the same sign of zero. */
static int same_value(double got, double want, double tol) {
  if (isnan(want)) return isnan(got);
  if (tol > 0 && isfinite(want)) return fabs(got - want) <= tol * fabs(want);
  return got == want && signbit(got) == signbit(want);
}
/* Derivatives: the same up to the sign of zero. */
static int same_deriv(double got, double want, double tol) {
  if (isnan(want)) return isnan(got);
  if (tol > 0 && isfinite(want)) return fabs(got - want) <= tol * fabs(want);
  return got == want;
}

static void special_points(void) {
  int n_rows = (int)(sizeof rows / sizeof rows[0]), per_op[AD_OP_COUNT];
  memset(per_op, 0, sizeof per_op);
  long checks = 0;
  for (int r = 0; r < n_rows; ++r) {
    const special *s = &rows[r];
    int kind = ad_op_kind[s->op], vv = kind == AD_KIND_VV;
    per_op[s->op]++;
    CHECKF(!s->same || vv, "row %d: one input in both operands needs a VV op", r);
    /* The rules by op code. */
    if (!s->same) {
      double v, da, db;
      ad_op_eval((ad_op)s->op, s->a, s->b, &v, &da, &db);
      CHECKF(same_value(v, s->v, s->tol), "ad_op_eval %s(%g, %g): value %.17g, expected %.17g",
             ad_op_name[s->op], s->a, s->b, v, s->v);
      if (kind != AD_KIND_CV)
        CHECKF(same_deriv(da, s->pa, s->tol), "ad_op_eval %s(%g, %g): dv/da %.17g, expected %.17g",
               ad_op_name[s->op], s->a, s->b, da, s->pa);
      if (kind == AD_KIND_VV || kind == AD_KIND_CV)
        CHECKF(same_deriv(db, s->pb, s->tol), "ad_op_eval %s(%g, %g): dv/db %.17g, expected %.17g",
               ad_op_name[s->op], s->a, s->b, db, s->pb);
    }
    /* Every engine. */
    double data[PROG_HEADER + PROG_STRIDE], x[2];
    int k = one_op(s->op, s->same, s->a, s->b, data, x);
    double p_var = kind == AD_KIND_CV ? s->pb : s->pa; /* the partial of the single variable operand */
    for (int e = 0; e < tprog_engine_count; ++e) {
      const tprog_api *eng = tprog_engines[e];
      tprog_eng out;
      ad_status st = tprog_run(eng, data, x, &out);
      checks++;
      CHECKF(st == AD_OK, "%s %s(%g, %g): %s", eng->name, ad_op_name[s->op], s->a, s->b, ad_status_str(st));
      if (st != AD_OK) continue;
      CHECKF(same_value(out.y, s->v, s->tol) && same_value(out.y_jac, s->v, s->tol),
             "%s %s(%g, %g): value %.17g (jacobian's %.17g), expected %.17g", eng->name, ad_op_name[s->op], s->a,
             s->b, out.y, out.y_jac, s->v);
      if (eng->kind == ENG_PRIMAL) continue;
      double want[2];
      if (vv && s->same) {
        want[0] = s->pa;
      } else if (vv) { /* forward: the unseeded operand contributes nothing, so column j is the partial too */
        want[0] = s->pa, want[1] = s->pb;
      } else {
        want[0] = p_var;
      }
      for (int j = 0; j < k; ++j)
        CHECKF(same_deriv(out.J[j], want[j], s->tol), "%s %s(%g, %g)%s: d/dx%d = %.17g, expected %.17g",
               eng->name, ad_op_name[s->op], s->a, s->b, s->same ? " (one input in both)" : "", j, out.J[j],
               want[j]);
    }
  }
  for (int op = 0; op < AD_OP_COUNT; ++op)
    CHECKF(per_op[op] > 0, "op %s has no special-point row: add its zeros, infinities, NaN and edges",
           ad_op_name[op]);
  printf("special points: %d hand-typed rows, %ld engine runs\n", n_rows, checks);
}

int main(void) {
  printf("test_ops: %d ops, engines:", AD_OP_COUNT);
  for (int e = 0; e < tprog_engine_count; ++e) printf(" %s", tprog_engines[e]->name);
  printf("\n");
  regular_points();
  special_points();
  return test_report("test_ops");
}
