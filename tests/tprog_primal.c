/* tprog_primal.c: the prog interpreter compiled with the primal engine's ops, behind tprog_api (tprog.h). */
#include <stdlib.h>

#include "primal/primal_ops.h"

#include "prog.c"
#include "tprog.h"

static ad_status pr_value(const double *data, const double *x, double *y) {
  int k = (int)data[0], n = (int)data[1];
  ad_t *s = (ad_t *)malloc((size_t)(k + n) * sizeof *s);
  if (!s) return AD_ENOMEM;
  for (int j = 0; j < k; ++j) s[j] = x[j];
  *y = prog_eval(NULL, data, s);
  free(s);
  return AD_OK;
}

const tprog_api tprog_primal = {"primal", ENG_PRIMAL, pr_value, NULL, NULL, NULL, NULL, 0};
