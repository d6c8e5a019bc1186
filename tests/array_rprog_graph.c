/* array_rprog_graph.c: the random array programs (array_random.inc) on the graph engine (native array nodes). */
#include <math.h>

#include "../engines/graph/graph_array.h"
#include "array_rprog.h"
#include "array_op_cases.inc"
#include "array_random.inc"

ad_status rprog_graph(uint64_t seed, const double *x, double *f, double *g) {
  int n = rprog_inputs(seed);
  graph_ctx *c = graph_new();
  if (!c) return AD_ENOMEM;
  graph_node *xs[RP_MAXN + 1];
  for (int i = 0; i < n; ++i) xs[i] = graph_leaf(c, x[i], 1);
  graph_node *y = rprog_run(c, seed, xs);
  *f = graph_value(y);
  ad_status st = ad_arr_status(c);
  if (st == AD_OK) st = graph_backward(c, y, 1.0, 0);
  for (int i = 0; i < n; ++i) graph_grad(c, xs[i], &g[i]);
  graph_free(c);
  return st;
}
