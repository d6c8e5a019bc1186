/* eng_graph.c: the graph engine behind eng.h: build the graph once (inputs are leaves that require grad), then
 * one backward pass per output, each with retain_graph so the same graph can be swept again. With a schedule set
 * (ckpt_tape_default: adbench --ckpt) the workloads' AD_STEPS regions are checkpointed (ckpt_graph.h). */
#include "../../engines/graph/graph_ops.h"
#include "../../engines/ckpt/ckpt_graph_ops.h" /* AD_STEPS: checkpointed when a schedule is attached */
#include "../../engines/ckpt/ckpt_tape.h"      /* ckpt_tape_default: the process-wide schedule */
#include "../../engines/graph/graph_array.h"

#define ENG_SESSION_FIELDS                                                                                     \
  graph_ctx *g;                                                                                                \
  graph_node **roots; /* vjp's roots and seeds, n_out each */                                                  \
  double *seeds;                                                                                               \
  int recorded; /* value() or jacobian() built a graph since open */
#include "eng_session.inc"

static void eg_close(eng_session *s) {
  if (!s) return;
  ckpt_graph_detach(s->g);
  graph_free(s->g);
  ad_free(s->roots, (size_t)s->n_out * sizeof *s->roots);
  ad_free(s->seeds, (size_t)s->n_out * sizeof *s->seeds);
  sess_close(s);
}

static eng_session *eg_open(const wl_info *w, int size, const double *data) {
  eng_session *s = sess_open(w, size, data);
  if (!s) return NULL;
  s->g = graph_new();
  s->roots = (graph_node **)ad_malloc((size_t)s->n_out * sizeof *s->roots);
  s->seeds = (double *)ad_malloc((size_t)s->n_out * sizeof *s->seeds);
  const ckpt_spec *sp = ckpt_tape_default();
  if (!s->g || !s->roots || !s->seeds || (sp && ckpt_graph_attach(s->g, *sp) != AD_OK)) {
    eg_close(s);
    return NULL;
  }
  return s;
}

/* Builds the graph of f at x in a reset context. */
static ad_status eg_value(eng_session *s, const double *x, double *y) {
  graph_ctx *g = s->g;
  graph_reset(g);
  for (int i = 0; i < s->n_in; ++i) s->x[i] = graph_leaf(g, x[i], 1);
  ad_status st = sess_run(s, g);
  s->recorded = 1;
  if (y)
    for (int i = 0; i < s->n_out; ++i) y[i] = s->y[i]->value;
  return graph_status(g) != AD_OK ? graph_status(g) : st;
}

/* Clears the inputs' grads to None, so a pass leaves exactly its own gradient in them. */
static void eg_clear_inputs(eng_session *s) {
  for (int j = 0; j < s->n_in; ++j) graph__leaf_grad_none(s->x[j]);
}

static void eg_read_inputs(eng_session *s, double *row) {
  for (int j = 0; j < s->n_in; ++j) row[j] = graph__leaf_grad(s->x[j]); /* None (not reached) reads as 0 */
}

/* One pass seeded with w on every output that requires grad (an output that does not contributes nothing). */
static ad_status eg_vjp(eng_session *s, const double *w, double *wJ) {
  if (!s->recorded) return AD_ESTATE;
  ad_status st = graph_status(s->g);
  if (st != AD_OK) return st;
  int n = 0;
  for (int i = 0; i < s->n_out; ++i)
    if (graph_requires_grad(s->y[i])) {
      s->roots[n] = s->y[i];
      s->seeds[n++] = w[i];
    }
  eg_clear_inputs(s);
  if (n) st = graph_backward_many(s->g, n, s->roots, s->seeds, 1);
  if (st == AD_OK) eg_read_inputs(s, wJ);
  return st;
}

/* Row by row: one graph, then pass i seeds output i and yields row i of J. */
static ad_status eg_jacobian(eng_session *s, const double *x, double *y, double *J) {
  ad_status st = eg_value(s, x, y);
  if (st != AD_OK) return st;
  for (int i = 0; i < s->n_out; ++i) {
    double *row = J + (size_t)i * s->n_in;
    eg_clear_inputs(s);
    if (graph_requires_grad(s->y[i]) && (st = graph_backward(s->g, s->y[i], 1.0, 1)) != AD_OK) return st;
    eg_read_inputs(s, row);
  }
  return AD_OK;
}

static eng_stats eg_stats(eng_session *s) {
  eng_stats st;
  memset(&st, 0, sizeof st);
  if (!s) return st;
  graph_stats gs = graph_get_stats(s->g);
  ckpt_graph_stats cs = ckpt_graph_get_stats(s->g);
  /* Every node but the input leaves: op results and the constants the workload made (ad_const); with
   * checkpointing, as many as the store-all graph holds (the dropped steps' nodes in, the boundary's out). */
  uint64_t nodes = gs.nodes + cs.nodes_dropped - cs.nodes_added;
  st.nodes = nodes > (uint64_t)s->n_in ? nodes - (uint64_t)s->n_in : 0;
  st.statements = st.nodes;
  if (wl_is_tensor(s->w)) /* one node per array op: ops counted as the workload counts them, as the tape does */
    st.nodes = (uint64_t)(s->w->nodes(s->size) + 0.5);
  st.args = gs.edges;
  st.bytes_used = gs.bytes_used;
  st.bytes_held = gs.bytes_held;
  st.peak_bytes = gs.bytes_held + cs.bytes_peak; /* the arena's chunks only grow (rewinds keep them) */
  st.ckpt_steps = cs.steps;
  st.recomputed = cs.recomputed;
  return st;
}

const eng_api eng_graph = {
    .name = "graph",
    .kind = ENG_REVERSE,
    .open = eg_open,
    .close = eg_close,
    .value = eg_value,
    .jacobian = eg_jacobian,
    .vjp = eg_vjp,
    .stats = eg_stats,
};
