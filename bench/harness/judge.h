/* judge.h: how adlab decides that two answers agree: relative errors, bit-identity, finite differences and the
 * tolerance of each check. adcheck, the tests and the side tables all judge through these functions.
 *
 *   jd_diff d = jd_compare(J, Jref, n);             // strict: a NaN on either side is a disagreement
 *   if (!(d.err <= jd_tol(e, JD_ENGINES)))          // NaN never passes a <= test
 *     printf("%s: error %.1e at entry %zu\n", e->name, d.err, d.worst);
 *
 *   int kinks;                                      // columns 0 and 5 of J by finite differences
 *   int idx[2] = {0, 5};
 *   jd_fd_jacobian(w, size, data, x, idx, 2, Jfd, &kinks);   // Jfd: n_out x 2, NaN where not smooth
 *
 * The error of a against a reference b is max |a_i - b_i| / max |b_i| (absolute where b is all zeros): it measures
 * the whole vector, so a wrong partial anywhere in a graph gives an error of order 1, far above rounding.
 */
#ifndef JUDGE_H
#define JUDGE_H

#include <stddef.h>

#include "eng.h"
#include "wl.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The checks, with their tolerances for adlab's own engines (a peer: the larger of its eng_api.tol and these). */
#define JD_CHECK_LIST(X)                                                                                       \
  X(ENGINES, "engines", 1e-12) /* derivative engines against each other */                                     \
  X(MANUAL, "manual", 1e-12)   /* against the workload's hand-written gradient or Jacobian */                  \
  X(FD, "fd", 1e-6)            /* against finite differences (Ridders' extrapolation) */                        \
  X(REPLAY, "replay", 1e-12)   /* a replayed recording against a fresh recording at the same inputs */ \
  X(LANES, "lanes", 1e-14)     /* vector modes: the Jacobian with K lanes against K = 1 (the same arithmetic) */

typedef enum jd_check {
#define JD__X(id, name, tol) JD_##id,
  JD_CHECK_LIST(JD__X)
#undef JD__X
  JD_CHECK_COUNT
} jd_check;

extern const char *const jd_check_name[JD_CHECK_COUNT];

/* The tolerance of check for engine e: the check's, or e->tol where that is larger (a peer's own elementary
 * functions round differently; finite differences keep their own, larger, tolerance). 0 for an unknown check. */
double jd_tol(const eng_api *e, jd_check check);

/* The outcome of a comparison. */
typedef struct jd_diff {
  double err;   /* relative error (see above); NaN when the two disagree on a NaN (always fails a <= test) */
  size_t worst; /* the entry that decided err: the first NaN disagreement, else the largest difference (0 if n
                 * is 0) */
} jd_diff;

/* Strict comparison of a against the reference b over n entries: any NaN, in a or in b, makes err NaN (a NaN in
 * a hand-written reference is as wrong as one in the answer); an infinity equal on both sides agrees, any other
 * infinity makes err Inf. For answers at inputs where every value is finite. */
jd_diff jd_compare(const double *a, const double *b, size_t n);

/* As jd_compare, except that NaN in both a_i and b_i agrees (whatever its sign or payload: C leaves those
 * unspecified). For answers that must be the same computation at any input: two engines under adlab's
 * non-finite policy (ad_ops.def), a replay against a fresh recording. NaN on one side only still gives NaN. */
jd_diff jd_compare_nan(const double *a, const double *b, size_t n);

/* jd_compare(a, b, n).err. */
double jd_rel_err(const double *a, const double *b, size_t n);

/* 1 if a and b are bit for bit the same, except that any NaN equals any NaN; else 0. */
int jd_same_bits(const double *a, const double *b, size_t n);

/* ---- Finite differences ----
 * Central differences at steps h0 / 2^q (h0 = 1e-3 max(1, |x_j|), q < JD_FD_LEVELS), refined by Ridders'
 * extrapolation (Numerical Recipes' dfridr). An entry whose error estimate exceeds 1e-7 of its size (the stencil
 * met a branch or a kink) is a kink: NaN in the result, and counted. */
#define JD_FD_LEVELS 12

/* Ridders' extrapolation of the central differences d[0 .. JD_FD_LEVELS): the estimate with the smallest error
 * estimate, that estimate in *err. */
double jd_ridders(const double *d, double *err);

/* Columns idx[0 .. k) of the Jacobian of w at x (size, data as for w->init) by finite differences through the
 * primal engine, into Jfd (n_out x k, row-major; entry (i, c) is d y_i / d x_{idx[c]}), NaN at kinks. x is
 * restored before return. *kinks (if not NULL) receives the number of NaN entries. Returns AD_OK, AD_ENOMEM, or
 * the primal engine's error. */
ad_status jd_fd_jacobian(const wl_info *w, int size, const double *data, double *x, const int *idx, int k,
                         double *Jfd, int *kinks);

#ifdef __cplusplus
}
#endif
#endif
