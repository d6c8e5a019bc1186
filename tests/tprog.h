/* tprog.h: test support for random programs (prog.h): every engine's runner (tests/tprog_<engine>.c, each
 * compiling the interpreter prog.c with that engine's inline ops), an independent complex-step reference, a plain
 * interpreter of the non-finite policy, a checker that compares them, and a printer.
 *
 *   double x[PROG_MAX_INPUTS], data[...];
 *   prog_generate(k, n, seed, x, data);                   // or build one with prog_set_header / prog_set
 *   tprog_ref ref;
 *   if (!tprog_reference(data, x, &ref, NULL)) ...       // an op the reference does not know
 *   tprog_tol tol = tprog_tol_default();
 *   int bad = tprog_check(data, x, &ref, &tol, stderr, NULL); // every engine against ref and each other
 *   if (bad) tprog_print(stderr, data, x);                // the program, ready to read and replay
 *
 * The reference evaluates the program in C99 complex arithmetic with glibc's functions and differentiates it by
 * the complex step: f'(x) = Im f(x + i h) / h with h = 1e-200, exact to rounding because no difference is taken.
 * It uses ad_ops.def only for the op names and kinds (its table of complex counterparts is generated from the list,
 * the counterparts themselves are written by hand), never its partials or values, so a wrong rule there makes
 * the engines and the reference disagree. Non-smooth ops are decided on the real part: abs, fmax, fmin and the
 * branches; abs'(0) = 0 and a max/min tie gives half to each operand, the conventions ad_ops.def documents.
 * Where an op leaves its real domain (log or sqrt of a number <= 0, pow of a negative base with a non-integer
 * exponent, or a zero base except 0^b with b > 0) the reference returns NaN, meaning "not comparable here".
 */
#ifndef TPROG_H
#define TPROG_H

#include <stdio.h>

#include "eng.h"
#include "prog.h"

/* One engine running a program held in data (a fresh recording per call; one output). Every call returns AD_OK or
 * the status of the first engine call that failed. */
typedef struct tprog_api {
  const char *name;
  eng_kind kind;
  ad_status (*value)(const double *data, const double *x, double *y);
  /* y and the gradient g[k] (primal: NULL) */
  ad_status (*grad)(const double *data, const double *x, double *y, double *g);
  /* forward engines: y and the directional derivative along v; NULL elsewhere */
  ad_status (*jvp)(const double *data, const double *x, const double *v, double *y, double *jv);
  /* reverse engines: y and w times the gradient by one sweep seeded with w; NULL elsewhere */
  ad_status (*vjp)(const double *data, const double *x, double w, double *y, double *wg);
  /* static-graph engines: record at x_rec, replay at x (no new recording): y and g, or AD_EGUARD; NULL elsewhere */
  ad_status (*replay)(const double *data, const double *x_rec, const double *x, double *y, double *g);
  /* 1: a reverse engine that multiplies some partials forward (the preaccumulating tape folds one-operand ops into
   * the variable, so a path's product is formed partly forward, partly in the sweep). Where values are infinite
   * the association order decides between NaN and +-Inf (0 * Inf * Inf: NaN or Inf), so its gradient entries are
   * held to either policy reference, or to being non-finite where the reverse reference is. */
  int mixed_order;
} tprog_api;

/* The runners, one per engine of ENG_LIST (an engine without tests/tprog_<name>.c does not link). */
#define TPROG__X(name) extern const tprog_api tprog_##name;
ENG_LIST(TPROG__X)
#undef TPROG__X
extern const tprog_api *const tprog_engines[]; /* in ENG_LIST order, the primal engine first */
extern const int tprog_engine_count;

/* The complex-step reference of a program at x. */
typedef struct tprog_ref {
  int k, n;
  double value;                  /* Re f(x): glibc's value */
  double grad[PROG_MAX_INPUTS];  /* df/dx_j by the complex step */
  double mag[PROG_MAX_INPUTS];   /* sum over derivative paths from x_j of |product of local partials| */
  double vmag;                   /* running error scale of the value: rounding errors stay below ~n u vmag */
  /* The non-finite policy of ad_ops.def applied by a plain interpreter (values and partials by the list's rules,
   * reachability by the program's edges, IEEE products at every reached value): */
  int nonfinite;                 /* 1 if an input, a value or a partial of an active value is infinite or NaN */
  double pvalue;                 /* the value by the list's rules (bit-identical to the engines') */
  double pgrad[PROG_MAX_INPUTS]; /* the gradient under the policy, reverse mode */
  double pfwd[PROG_MAX_INPUTS];  /* the same by forward mode, column by column (tangents of unseeded values are
                                  * absent); differs from pgrad only where infinite terms meet: (a + b) Inf in
                                  * forward mode is a Inf + b Inf in reverse mode, NaN when a and b differ in sign */
  double pjv;                    /* forward mode along tprog_dir */
  double pmag[PROG_MAX_INPUTS];  /* sum over the reached paths from x_j of |product of its finite partials|: the
                                  * scale of rounding in pgrad (orders of association differ by a few ulps of it) */
  double pmixed[PROG_MAX_INPUTS]; /* pgrad in the preaccumulating tape's order of association (tape_ops.h): the
                                   * partials multiplied forward into pending terms (at most two per value) until
                                   * an op of more terms records them as one statement, then a reverse sweep over
                                   * the statements. Differs from pgrad only where a product overflows in one
                                   * order and not in the other */
} tprog_ref;

/* What the reference executed: instructions by code, and branch outcomes. Accumulates across calls. */
typedef struct tprog_cover {
  long code[PROG_CODE_COUNT];
  long taken[2]; /* [0]: else branches, [1]: then branches */
} tprog_cover;

/* Evaluates the program held in data at x. Returns 1, or 0 if the program holds a code the reference cannot
 * evaluate (an op added to ad_ops.def without a complex counterpart here), after printing which to stderr.
 * If cover is not NULL, adds what was executed to it. */
int tprog_reference(const double *data, const double *x, tprog_ref *ref, tprog_cover *cover);

/* One engine's results on one program (filled by tprog_run). */
typedef struct tprog_eng {
  const tprog_api *e;
  ad_status st;                 /* AD_OK, or the status of the first failing call */
  double y;                     /* value() */
  double y_jac;                 /* the value jacobian() wrote (primal: y) */
  double J[PROG_MAX_INPUTS];    /* jacobian(); primal: zeros */
  double jv;                    /* forward engines: jvp() along tprog_dir */
  double wJ[PROG_MAX_INPUTS];   /* reverse engines: vjp() with w = 1 after value() */
  /* Static-graph engines (eng_api.replay): the recording made by jacobian() at x, replayed at x and at a point
   * moved by about 1e-8 relative (tprog_moved), where a fresh jacobian() follows for comparison. */
  int has_replay;
  ad_status replay_same, replay_moved; /* AD_EGUARD for the moved point means refused by a guard */
  double y_same, J_same[PROG_MAX_INPUTS];
  double y_moved, J_moved[PROG_MAX_INPUTS], y_fresh, J_fresh[PROG_MAX_INPUTS];
} tprog_eng;

/* The point near x that replays are checked at: x_j (1 + 1e-8 (j + 1)). */
void tprog_moved(const double *x, int k, double *out);

/* The direction jvp is checked along: component j is 1 + j / 4. */
double tprog_dir(int j);

/* Runs engine e on the program: value, gradient, then jvp (forward) or vjp (reverse), replays (static graphs).
 * Returns out->st. */
ad_status tprog_run(const tprog_api *e, const double *data, const double *x, tprog_eng *out);

/* Tolerances of tprog_check; see tprog_tol_default for their values and why. */
typedef struct tprog_tol {
  double ref_value; /* |y - ref.value| <= ref_value * vmag */
  double ref_grad;  /* |J_j - ref.grad_j| <= ref_grad * max_j mag_j + 8 (n + 1) u vmag */
  double engines;   /* between engines: max_j |J_j - K_j| <= engines * max(max_j |ref.grad_j|, tiny) */
} tprog_tol;

tprog_tol tprog_tol_default(void);

/* The largest errors seen, each divided by its scale (vmag, max mag, gradient norm), and how many gradient
 * components were compared with the reference or skipped (NaN reference). Accumulates across calls. */
typedef struct tprog_errs {
  double value, grad, engines;
  long compared, skipped;
  long replays, replays_refused; /* replays at the moved point: accepted and checked, or refused by a guard */
  long nonfinite_programs;       /* programs that met an infinite or NaN value, checked under the policy */
  long policy_compared, policy_nan; /* their gradient components compared, and of those NaN by the policy */
  long order_dependent; /* of those, components of an engine with another association (tprog_api.mixed_order) that
                         * went through a product beyond the double range (pmag infinite), left uncompared */
} tprog_errs;

/* a and b agree under the non-finite policy: both NaN, or equal infinities (or an infinity and a finite number
 * beyond 1e290 of the same sign: a product that overflows in one order of association only), or finite and
 * within tol of max(|a|, |b|, scale). */
int tprog_agree(double a, double b, double tol, double scale);

/* Checks every engine of tprog_engines on the program. One that meets an infinite or NaN value (ref->nonfinite) is
 * checked against the policy's reference (ref->pgrad; NaN positions must agree, see tprog_agree). Otherwise:
 * values bit-identical to the primal engine's (any NaN matching any
 * NaN: C leaves their sign unspecified) and close to the reference; gradients close to the reference and to each
 * other; jvp = J v and vjp = J; a replay at x reproduces the recording, and one accepted at a moved point equals
 * a fresh recording there (value bit for bit, gradient within tol->engines). Comparisons with a NaN reference
 * are skipped. Prints each failure to log (if not
 * NULL) and adds to errs (if not NULL). Returns the number of failed checks; a failed engine call counts as one. */
int tprog_check(const double *data, const double *x, const tprog_ref *ref, const tprog_tol *tol, FILE *log,
                tprog_errs *errs);

/* Prints the program and its inputs, one instruction a line ("v3 = sin(v1)", "v4 = if v2 > 0.5 ..."), with
 * every number in full precision. */
void tprog_print(FILE *f, const double *data, const double *x);

#endif
