/* run.c: running an engine on a workload in a mode (run.h). */
#include "run.h"

#include <stdlib.h>
#include <string.h>

const char *const run_mode_name[RUN_MODE_COUNT] = {
#define RUN__X(id, name) name,
    RUN_MODE_LIST(RUN__X)
#undef RUN__X
};

int run_mode_find(const char *name) {
  for (int m = 0; name && m < RUN_MODE_COUNT; ++m)
    if (strcmp(run_mode_name[m], name) == 0) return m;
  return -1;
}

int run_mode_applies(const eng_api *e, run_mode m) {
  if (!e) return 0;
  switch (m) {
  case RUN_VALUE: return e->kind == ENG_PRIMAL;
  case RUN_JVP: return e->kind == ENG_FORWARD && e->jvp != NULL;
  case RUN_GRAD: return e->kind != ENG_PRIMAL;
  case RUN_REVERSE: return e->vjp != NULL;
  case RUN_REPLAY: return e->replay != NULL;
  default: return 0;
  }
}

void run_close(run_case *rc) {
  if (!rc) return;
  if (rc->e && rc->s) rc->e->close(rc->s);
  free(rc->x), free(rc->data), free(rc->dir), free(rc->y), free(rc->out);
  memset(rc, 0, sizeof *rc);
}

ad_status run_open(run_case *rc, const wl_info *w, const eng_api *e, run_mode mode, int size, uint64_t seed) {
  memset(rc, 0, sizeof *rc);
  if (!w || !e || !run_mode_applies(e, mode) || size < 1 || size > w->max_size) return AD_EINVAL;
  rc->w = w, rc->e = e, rc->mode = mode, rc->size = size, rc->seed = seed;
  int n = rc->n_in = w->n_in(size), m = rc->n_out = w->n_out(size);
  size_t n_dir = mode == RUN_REVERSE ? (size_t)m : (size_t)n;
  rc->n_outbuf = mode == RUN_GRAD || mode == RUN_REPLAY ? (size_t)n * m
                 : mode == RUN_REVERSE                  ? (size_t)n
                                                        : (size_t)m;
  rc->x = (double *)malloc(((size_t)n + 1) * sizeof(double));
  rc->data = (double *)malloc(((size_t)w->n_data(size) + 1) * sizeof(double));
  rc->dir = (double *)malloc((n_dir + 1) * sizeof(double));
  rc->y = (double *)malloc(((size_t)m + 1) * sizeof(double));
  rc->out = (double *)calloc(rc->n_outbuf + 1, sizeof(double));
  if (!rc->x || !rc->data || !rc->dir || !rc->y || !rc->out) {
    run_close(rc);
    return AD_ENOMEM;
  }
  w->init(size, seed, rc->x, rc->data);
  wl_rng r = {seed + 1};
  for (size_t i = 0; i < n_dir; ++i) rc->dir[i] = mode == RUN_REVERSE ? 1.0 : wl_rng_uniform(&r, -1.0, 1.0);
  rc->s = e->open(w, size, rc->data);
  if (!rc->s) {
    run_close(rc);
    return AD_ENOMEM;
  }
  if (mode == RUN_REVERSE || mode == RUN_REPLAY) { /* the recording the mode works on */
    ad_status st = e->value(rc->s, rc->x, rc->y);
    if (st != AD_OK) {
      run_close(rc);
      return st;
    }
  }
  return AD_OK;
}

ad_status run_eval(run_case *rc) {
  const eng_api *e = rc->e;
  switch (rc->mode) {
  case RUN_VALUE: return e->value(rc->s, rc->x, rc->y);
  case RUN_JVP: return e->jvp(rc->s, rc->x, rc->dir, rc->y, rc->out);
  case RUN_GRAD:
    if (rc->lanes) return e->jacobian_lanes ? e->jacobian_lanes(rc->s, rc->lanes, rc->x, rc->y, rc->out) : AD_EINVAL;
    return e->jacobian(rc->s, rc->x, rc->y, rc->out);
  case RUN_REVERSE: return e->vjp(rc->s, rc->dir, rc->out);
  case RUN_REPLAY: return e->replay(rc->s, rc->x, rc->y, rc->out);
  default: return AD_EINVAL;
  }
}
