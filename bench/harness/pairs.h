/* pairs.h: a ratio of two evaluations' times that holds still on a busy machine: the two are timed in alternating
 * batches, the ratio taken per pair of neighbouring batches, and the median of those ratios reported with its
 * spread. Drift in the machine's speed (other processes, frequency changes) hits both halves of a pair alike,
 * so it cancels in the pair's ratio; separate timings minutes apart do not cancel it.
 *
 *   run_case a, b;                        // the engine's gradient and the primal, same workload, size and seed
 *   run_open(&a, w, eng_find("tape"), RUN_GRAD, size, 42);
 *   run_open(&b, w, &eng_primal, RUN_VALUE, size, 42);
 *   pairs_ratio r;
 *   if (pairs_measure(&a, &b, &pairs_defaults, &r) == AD_OK)
 *     printf("%.3g (%.3g .. %.3g, %d pairs)\n", r.median, r.min, r.max, r.pairs);
 */
#ifndef PAIRS_H
#define PAIRS_H

#include "run.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pairs_opts {
  int pairs;          /* pairs of batches to time (at least 1) */
  double min_batch_s; /* a batch repeats the evaluation until it lasts at least this long (CPU seconds) */
  double max_s;       /* after this many CPU seconds of timed batches, stop once 3 pairs are done (1 pair if one
                       * evaluation of a fills its batch and that pair alone took longer: slow evaluations are
                       * not repeated for the ratio) */
} pairs_opts;

/* 11 pairs of batches of at least 1 ms, at most about 0.2 s of batches (see max_s for the least). */
extern const pairs_opts pairs_defaults;

typedef struct pairs_ratio {
  double median, min, max; /* of the per-pair ratios time(a) / time(b), per evaluation */
  int pairs;               /* how many pairs were timed */
  int batch_a, batch_b;    /* evaluations per batch of a and of b */
} pairs_ratio;

/* Times a and b (both opened by run_open) in alternating batches of run_eval, a first in even pairs and b first
 * in odd ones, after one calibration that sizes a's batches to at least o->min_batch_s and b's to about as long
 * as a's (between o->min_batch_s and 4 times it), and writes the ratio's median, min,
 * max and the counts into *r. Returns AD_OK, AD_EINVAL for a bad o, or the first failing evaluation's status
 * (then *r is unspecified). CPU time of the process, so time spent by other processes does not count. */
ad_status pairs_measure(run_case *a, run_case *b, const pairs_opts *o, pairs_ratio *r);

/* The median of v[0 .. n) (n >= 1; v is reordered). */
double pairs_median(double *v, int n);

#ifdef __cplusplus
}
#endif
#endif
