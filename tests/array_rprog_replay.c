/* array_rprog_replay.c: the random array programs (array_random.inc) on the replay engine (native array
 * statements): recorded at x0, replayed at x. */
#include <math.h>

#include "../engines/replay/replay_array.h"
#include "array_rprog.h"
#include "array_op_cases.inc"
#include "array_random.inc"

ad_status rprog_replay(uint64_t seed, const double *x0, const double *x, double *f, double *g) {
  int n = rprog_inputs(seed);
  replay_t *t = replay_new();
  if (!t) return AD_ENOMEM;
  replay_var xs[RP_MAXN + 1];
  for (int i = 0; i < n; ++i) xs[i] = replay_input(t, x0 ? x0[i] : x[i]);
  replay_var y = rprog_run(t, seed, xs);
  ad_status st = ad_arr_status(t);
  if (st == AD_OK && x0) st = replay_forward(t, x, (size_t)n);
  *f = replay_value(t, y);
  double *adj = st == AD_OK ? replay_adjoints(t) : NULL;
  if (st == AD_OK && !adj) st = AD_ENOMEM;
  if (st == AD_OK) {
    adj[y.i] = 1.0;
    st = replay_reverse(t);
    for (int i = 0; i < n; ++i) g[i] = adj[xs[i].i];
  }
  replay_free(t);
  return st;
}
