/* tprog_graph.c: the prog interpreter compiled with the graph engine's ops, behind tprog_api (tprog.h): leaves
 * that require grad, one backward from the output. */
#include <stdlib.h>

#include "graph/graph_ops.h"

#include "prog.c"
#include "tprog.h"

/* Records the program at x; with g, runs backward from the output seeded with w and reads the leaves' grads. */
static ad_status gr_run(const double *data, const double *x, double w, double *y, double *g) {
  int k = (int)data[0], n = (int)data[1];
  graph_ctx *c = graph_new();
  ad_t *s = (ad_t *)malloc((size_t)(k + n) * sizeof *s);
  ad_status st = c && s ? AD_OK : AD_ENOMEM;
  if (st == AD_OK) {
    for (int j = 0; j < k; ++j) s[j] = graph_leaf(c, x[j], 1);
    ad_t out = prog_eval(c, data, s);
    *y = graph_value(out);
    st = graph_status(c);
    if (st == AD_OK && g) {
      if (graph_requires_grad(out)) st = graph_backward(c, out, w, 0);
      for (int j = 0; j < k; ++j) g[j] = graph__leaf_grad(s[j]);
    }
  }
  free(s);
  graph_free(c);
  return st;
}

static ad_status gr_value(const double *data, const double *x, double *y) { return gr_run(data, x, 0, y, NULL); }
static ad_status gr_grad(const double *data, const double *x, double *y, double *g) {
  return gr_run(data, x, 1.0, y, g);
}
static ad_status gr_vjp(const double *data, const double *x, double w, double *y, double *wg) {
  return gr_run(data, x, w, y, wg);
}

const tprog_api tprog_graph = {"graph", ENG_REVERSE, gr_value, gr_grad, NULL, gr_vjp, NULL, 0};
