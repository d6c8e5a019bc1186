/* ckpt_grad.h: the checkpointing tests' gradient runner (test_ckpt_tape, test_ckpt_graph), for one test file each.
 *
 *   grad g = ckpt_gradient("tape", "ode", 3, "binomial:4");   // "" for no schedule
 *   CHECKF(ckpt_same_bits(&g, &all), ...);
 *
 * Runs the registered engine's full gradient through the harness (run.h) with the schedule set process-wide
 * (ckpt_tape_set_default: eng_tape.c and eng_graph.c attach it), and measures the allocator's high-water mark over
 * the evaluation. A spec that does not parse gives st = AD_EINVAL. g is malloc'd (never freed: test processes).
 */
#ifndef ADLAB_TESTS_CKPT_GRAD_H
#define ADLAB_TESTS_CKPT_GRAD_H

#include <stdlib.h>
#include <string.h>

#include "../engines/ckpt/ckpt_tape.h"
#include "eng.h"
#include "run.h"
#include "wl.h"

typedef struct grad {
  ad_status st;
  int n;
  double *g;
  double f;
  eng_stats es;
  int64_t peak; /* the allocator's high-water mark above what was held before the evaluation */
} grad;

static grad ckpt_gradient(const char *engine, const char *wname, int size, const char *spec) {
  grad r;
  memset(&r, 0, sizeof r);
  ckpt_spec sp;
  if (*spec) {
    if (ckpt_parse(spec, &sp) != AD_OK) {
      r.st = AD_EINVAL;
      return r;
    }
    ckpt_tape_set_default(&sp);
  } else {
    ckpt_tape_set_default(NULL);
  }
  run_case rc;
  ad_alloc_reset_stats();
  int64_t before = ad_alloc_get_stats().bytes_now;
  r.st = run_open(&rc, wl_find(wname), eng_find(engine), RUN_GRAD, size, 42);
  if (r.st == AD_OK) r.st = run_eval(&rc);
  r.peak = ad_alloc_get_stats().bytes_peak - before;
  if (r.st == AD_OK) {
    r.n = rc.n_in;
    r.g = (double *)malloc((size_t)r.n * sizeof(double));
    memcpy(r.g, rc.out, (size_t)r.n * sizeof(double));
    r.f = rc.y[0];
    r.es = rc.e->stats(rc.s);
  }
  run_close(&rc);
  ckpt_tape_set_default(NULL);
  return r;
}

/* 1 if both ran and their gradients and values are the same bits. */
static int ckpt_same_bits(const grad *a, const grad *b) {
  return a->st == AD_OK && b->st == AD_OK && a->n == b->n && !memcmp(a->g, b->g, (size_t)a->n * sizeof(double)) &&
         !memcmp(&a->f, &b->f, sizeof a->f);
}

#endif
