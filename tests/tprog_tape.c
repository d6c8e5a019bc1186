/* tprog_tape.c: the prog interpreter compiled with the tape engine's ops, behind tprog_api (tprog.h): one
 * recording, one reverse sweep from the output. Compiled twice: as `tape` (preaccumulating) and, from
 * tprog_tape_op.c, as `tape_op` (one statement per op). */
#include <stdlib.h>

#ifndef TPROG_TAPE_API
#define TPROG_TAPE_API tprog_tape
#define TPROG_TAPE_NAME "tape"
#endif

#include "tape/tape_ops.h"

#include "prog.c"
#include "tprog.h"

/* Records the program at x; with g, sweeps from the output seeded with w into g. */
static ad_status tp_run(const double *data, const double *x, double w, double *y, double *g) {
  int k = (int)data[0], n = (int)data[1];
  tape_t *t = tape_new();
  ad_t *s = (ad_t *)malloc((size_t)(k + n) * sizeof *s);
  ad_status st = t && s ? AD_OK : AD_ENOMEM;
  if (st == AD_OK) {
    for (int j = 0; j < k; ++j) s[j] = tape_input(t, x[j]);
    ad_t out = tape_output(t, prog_eval(t, data, s)); /* seeded as the engine's adapter seeds it */
    *y = out.v;
    st = tape_status(t);
    if (st == AD_OK && g) {
      double *adj = tape_adjoints(t);
      if (!adj) st = tape_status(t) != AD_OK ? tape_status(t) : AD_ENOMEM;
      if (adj && tape_top(out)) {
        tape_seed(t, out, w); /* out.d times its statement, plus out.d2 times the second */
        st = tape_reverse_from(t, tape_top(out));
      }
      for (int j = 0; j < k; ++j) g[j] = adj && tape_top(out) ? adj[s[j].i] : 0.0;
    }
  }
  free(s);
  tape_free(t);
  return st;
}

static ad_status tp_value(const double *data, const double *x, double *y) { return tp_run(data, x, 0, y, NULL); }
static ad_status tp_grad(const double *data, const double *x, double *y, double *g) {
  return tp_run(data, x, 1.0, y, g);
}
static ad_status tp_vjp(const double *data, const double *x, double w, double *y, double *wg) {
  return tp_run(data, x, w, y, wg);
}

const tprog_api TPROG_TAPE_API = {TPROG_TAPE_NAME, ENG_REVERSE, tp_value, tp_grad, NULL, tp_vjp, NULL, TAPE_PREACC};
