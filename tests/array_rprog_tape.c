/* array_rprog_tape.c: the random array programs (array_random.inc) on the tape engine. */
#include <math.h>

#include "../engines/tape/tape_array.h"
#include "array_rprog.h"
#include "array_op_cases.inc"
#include "array_random.inc"

ad_status rprog_tape(uint64_t seed, const double *x, double *f, double *g) {
  int n = rprog_inputs(seed);
  tape_t *t = tape_new();
  if (!t) return AD_ENOMEM;
  tape_var xs[RP_MAXN + 1];
  for (int i = 0; i < n; ++i) xs[i] = tape_input(t, x[i]);
  tape_var y = rprog_run(t, seed, xs);
  *f = y.v;
  ad_status st = tape_status(t);
  if (st == AD_OK && !tape_adjoints(t)) st = AD_ENOMEM;
  if (st == AD_OK) {
    double *adj = tape_adjoints(t);
    tape_seed(t, y, 1.0);
    st = tape_reverse(t);
    for (int i = 0; i < n; ++i) g[i] = adj[xs[i].i];
  }
  tape_free(t);
  return st;
}
