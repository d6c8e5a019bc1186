/* run.h: one way to run an engine on a workload in a mode, for adbench, adcheck, the tests and the side tables.
 *
 *   run_case rc;
 *   ad_status st = run_open(&rc, wl_find("rosenbrock"), eng_find("tape"), RUN_GRAD, 1000, 42);
 *   if (st == AD_OK) st = run_eval(&rc);            // rc.y: f(x); rc.out: the gradient (n_out x n_in)
 *   ...                                              // run_eval again: the same evaluation (a timed loop)
 *   run_close(&rc);
 *
 * run_open draws the inputs and data from the seed (w->init), draws the mode's direction and opens the engine's
 * session; for the modes that work on a recording (reverse, replay) it records once at x. It evaluates nothing
 * else, so a benchmark times exactly run_eval.
 */
#ifndef RUN_H
#define RUN_H

#include <stddef.h>
#include <stdint.h>

#include "eng.h"
#include "wl.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The modes: name, and what one evaluation computes into out. */
#define RUN_MODE_LIST(X)                                                                                       \
  X(VALUE, "value")     /* the primal engine: f(x) alone, the baseline of every ratio; out unused */           \
  X(JVP, "jvp")         /* forward engines: f(x) and one directional derivative J v (out: n_out) */             \
  X(GRAD, "grad")       /* the full gradient or Jacobian (out: n_out x n_in): n_in forward passes, or one       \
                         * recording and n_out reverse sweeps */                                               \
  X(REVERSE, "reverse") /* reverse engines: one reverse sweep w^T J on the recording made at open (out: n_in) */ \
  X(REPLAY, "replay")   /* static-graph engines: f(x) and J by replaying the recording made at open, without    \
                         * recording again (out: n_out x n_in) */

typedef enum run_mode {
#define RUN__X(id, name) RUN_##id,
  RUN_MODE_LIST(RUN__X)
#undef RUN__X
  RUN_MODE_COUNT
} run_mode;

extern const char *const run_mode_name[RUN_MODE_COUNT];

/* The mode named name, or -1. */
int run_mode_find(const char *name);

/* 1 if engine e runs mode m: value on the primal engine, jvp on forward engines, grad on every engine that
 * differentiates, reverse on engines with vjp, replay on engines with replay. */
int run_mode_applies(const eng_api *e, run_mode m);

typedef struct run_case {
  const wl_info *w;
  const eng_api *e;
  run_mode mode;
  int size, n_in, n_out;
  uint64_t seed;
  double *x;    /* inputs, n_in, from w->init */
  double *data; /* constant data, n_data, from w->init */
  double *dir;  /* jvp: the tangent (n_in, uniform in [-1, 1) from seed + 1); reverse: output weights (n_out, ones) */
  double *y;    /* f(x), n_out */
  double *out;  /* the mode's derivative (see RUN_MODE_LIST) */
  size_t n_outbuf;
  eng_session *s;
  int lanes;    /* grad mode only: 0, the engine's jacobian; K (1, 2, 4, 8, 16), its jacobian_lanes with K lanes (set
                 * it after run_open; the engine must have jacobian_lanes) */
} run_case;

/* Prepares rc for mode at size with inputs from seed, and, in reverse and replay modes, records at x. Returns
 * AD_OK; AD_EINVAL if e does not run mode or size is outside [1, w->max_size]; AD_ENOMEM; or the recording's
 * error. On any error rc holds nothing (run_close is still allowed). */
ad_status run_open(run_case *rc, const wl_info *w, const eng_api *e, run_mode mode, int size, uint64_t seed);

/* One evaluation in rc's mode at rc->x, into rc->y and rc->out. Returns the engine's status. */
ad_status run_eval(run_case *rc);

/* Frees what run_open allocated; rc may be zeroed or half-opened. */
void run_close(run_case *rc);

#ifdef __cplusplus
}
#endif
#endif
