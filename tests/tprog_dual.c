/* tprog_dual.c: the prog interpreter compiled with the dual engine's ops, behind tprog_api (tprog.h): one forward
 * pass per input for the gradient, one along v for jvp. */
#include <stdlib.h>

#include "dual/dual_ops.h"

#include "prog.c"
#include "tprog.h"

/* One pass with tangents v (NULL: input `unit` seeded with 1, the others none). */
static ad_status du_pass(const double *data, const double *x, const double *v, int unit, double *y, double *d) {
  int k = (int)data[0], n = (int)data[1];
  ad_t *s = (ad_t *)malloc((size_t)(k + n) * sizeof *s);
  if (!s) return AD_ENOMEM;
  for (int j = 0; j < k; ++j) s[j] = dual_make(x[j], v ? v[j] : j == unit ? 1.0 : 0.0);
  ad_t out = prog_eval(NULL, data, s);
  *y = out.v;
  if (d) *d = dual_tangent(out);
  free(s);
  return AD_OK;
}

static ad_status du_value(const double *data, const double *x, double *y) {
  return du_pass(data, x, NULL, -1, y, NULL);
}

static ad_status du_grad(const double *data, const double *x, double *y, double *g) {
  ad_status st = AD_OK;
  for (int j = 0; j < (int)data[0] && st == AD_OK; ++j) st = du_pass(data, x, NULL, j, y, &g[j]);
  return st;
}

static ad_status du_jvp(const double *data, const double *x, const double *v, double *y, double *jv) {
  return du_pass(data, x, v, -1, y, jv);
}

const tprog_api tprog_dual = {"dual", ENG_FORWARD, du_value, du_grad, du_jvp, NULL, NULL, 0};
