/* pairs.c: interleaved timing of two evaluations (pairs.h). */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include "pairs.h"

#include <stdlib.h>
#include <time.h>

enum { PAIRS_MAX = 101, PAIRS_BALANCE = 4 };

const pairs_opts pairs_defaults = {11, 1e-3, 0.2};

static double cpu_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Runs k evaluations of rc; their CPU seconds into *sec. */
static ad_status batch(run_case *rc, int k, double *sec) {
  double t0 = cpu_now();
  for (int i = 0; i < k; ++i) {
    ad_status st = run_eval(rc);
    if (st != AD_OK) return st;
  }
  *sec = cpu_now() - t0;
  return AD_OK;
}

/* The evaluations per batch that last at least min_s: doubles k from 1 until a batch of k does (its seconds into
 * *sec). */
static ad_status calibrate(run_case *rc, double min_s, int *k, double *sec) {
  for (*k = 1;; *k *= 2) {
    ad_status st = batch(rc, *k, sec);
    if (st != AD_OK || *sec >= min_s || *k >= (1 << 24)) return st;
  }
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

double pairs_median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

ad_status pairs_measure(run_case *a, run_case *b, const pairs_opts *o, pairs_ratio *r) {
  if (!o || o->pairs < 1 || !(o->min_batch_s >= 0) || !(o->max_s >= 0)) return AD_EINVAL;
  int ka, kb, n = o->pairs < PAIRS_MAX ? o->pairs : PAIRS_MAX;
  /* b's batches last about as long as a's (up to PAIRS_BALANCE min batches), so both halves of a pair span
   * the same stretch of the machine's state. */
  double sa, sb, want;
  ad_status st = calibrate(a, o->min_batch_s, &ka, &sa);
  want = sa < PAIRS_BALANCE * o->min_batch_s ? sa : PAIRS_BALANCE * o->min_batch_s;
  if (st == AD_OK) st = calibrate(b, want > o->min_batch_s ? want : o->min_batch_s, &kb, &sb);
  if (st != AD_OK) return st;
  double ratio[PAIRS_MAX], spent = 0;
  int done = 0, least = 3; /* pairs to time whatever they cost; 1 where one evaluation of a fills a batch and
                             * one pair alone exceeds max_s (a slow evaluation is not repeated for the ratio) */
  for (; done < n && (done < least || spent < o->max_s); ++done) {
    double ta, tb;
    if (done % 2 == 0) st = batch(a, ka, &ta), st = st == AD_OK ? batch(b, kb, &tb) : st;
    else st = batch(b, kb, &tb), st = st == AD_OK ? batch(a, ka, &ta) : st;
    if (st != AD_OK) return st;
    spent += ta + tb;
    if (done == 0 && ka == 1 && ta + tb > o->max_s) least = 1;
    ratio[done] = (ta / ka) / (tb > 0 ? tb / kb : 1e-300);
  }
  r->pairs = done, r->batch_a = ka, r->batch_b = kb;
  r->min = r->max = ratio[0];
  for (int i = 1; i < done; ++i) {
    if (ratio[i] < r->min) r->min = ratio[i];
    if (ratio[i] > r->max) r->max = ratio[i];
  }
  r->median = pairs_median(ratio, done);
  return AD_OK;
}
