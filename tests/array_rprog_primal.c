/* array_rprog_primal.c: the random array programs (array_random.inc) on the primal engine. */
#include <math.h>

#include "../engines/primal/primal_array.h"
#include "array_rprog.h"
#include "array_op_cases.inc"
#include "array_random.inc"

ad_status rprog_primal(uint64_t seed, const double *x, double *f) {
  int n = rprog_inputs(seed);
  ad_t xs[RP_MAXN + 1];
  for (int i = 0; i < n; ++i) xs[i] = x[i];
  ad_arena_reset(ad_arena_default());
  ad_t y = rprog_run(NULL, seed, xs);
  *f = ad_val(NULL, y);
  return ad_arr_status(NULL);
}
