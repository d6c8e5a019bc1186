/* graph.h: reverse mode on a graph of node objects recorded while the program runs (define-by-run), with
 * PyTorch's autograd semantics for scalars: leaves, requires_grad, grad_fn, next_functions, retain_grad,
 * retain_graph, no_grad, detach, hooks.
 *
 *   graph_ctx *g = graph_new();
 *   graph_node *w = graph_leaf(g, 1.0, 1), *x = graph_leaf(g, 2.0, 1);  // leaves that require grad
 *   graph_node *a = ad_add_vv(g, x, w), *b = ad_add_vc(g, w, 1.0);      // ops from graph_ops.h
 *   graph_node *y = ad_mul_vv(g, a, b);                                  // y = (x + w) * (w + 1) = 6
 *   graph_retain_grad(g, a);                                             // keep a's gradient too
 *   graph_backward(g, y, 1.0, 0);                                        // seeds dy/dy = 1, frees saved values
 *   double gw;
 *   if (graph_grad(g, w, &gw)) printf("%g\n", gw);                       // 5; graph_grad(g, b, ...) is 0: None
 *   printf("%s\n", graph_grad_fn_name(y));                               // "MulBackward0"
 *   graph_reset(g);                                                      // O(1): forget every node, keep memory
 *   graph_free(g);
 *
 * The rules, as in PyTorch (torch.autograd, version 1.13 and later):
 *  - A leaf is a node the user created (graph_leaf), or the result of an op none of whose inputs requires grad
 *    (or made under no_grad): is_leaf is true, grad_fn is None (NULL). Any other op result is a non-leaf that
 *    requires grad and has a grad_fn named as PyTorch names it (the torch column of ad_ops.def).
 *  - next_functions of a grad_fn: one entry per tensor input of the PyTorch op; "AccumulateGrad" for a leaf that
 *    requires grad, the input's grad_fn for a non-leaf, None (name NULL) for an input that does not require grad
 *    (a constant, a detached value, the scalar operand of x + 1 or x * 2).
 *  - graph_backward seeds the root with a gradient (1 for PyTorch's default) and accumulates into every leaf that
 *    requires grad: grads add up over calls until graph_zero_grad. A non-leaf has no grad (None) unless
 *    graph_retain_grad was called on it; a retained grad accumulates the same way.
 *  - Without retain_graph, backward frees the values each grad_fn saved (marks them freed); a later backward that
 *    needs them fails with AD_EFREED and PyTorch's message. grad_fns that save nothing (AddBackward0,
 *    SubBackward0, RsubBackward1, NegBackward0: their partials are constants) can be run again, as in PyTorch.
 *    Backward from a node that does not require grad fails with AD_ENOGRAD. A failed backward changes nothing.
 *  - Hooks (graph_register_hook) see a node's total incoming gradient and may replace it; they run before the
 *    gradient is accumulated into a leaf, retained, or passed on (PyTorch 2: retain_grad sees the hooked value).
 *
 * Memory. Nodes live in a chunked bump arena owned by the context: one 48-byte node per op, no malloc per node;
 * graph_reset and graph_release forget nodes in O(1) and keep the chunks for the next graph, so a training loop
 * (build, backward, release) runs with flat memory. Node layout (sizeof(graph_node) == 48, for unary and binary
 * ops alike): the gradient being accumulated, flags and op code, the node's index, its value, two 32-bit parent
 * indices and the two saved partials (a leaf keeps its .grad in the first partial's slot). Node i lives in chunk
 * i >> GRAPH_CHUNK_SHIFT, so a parent index is turned into an address with one shift, one load and one add.
 * Hooks, retained grads and names live in a side table, not in every node.
 * Measured with graph_get_stats on the eng adapter at 10^6 nodes: 48.0 bytes used per node (leaves included) on
 * chain and rosenbrock alike, and 48.7 (chain) and 48.2 (rosenbrock) bytes held per node with the chunks' unused
 * tails and the directory; rosenbrock, whose op nodes are mostly binary, holds 54.3 bytes per op node when its
 * 125,001 input leaves are charged to the ops. The tape engine holds 22.6 and 33.2 bytes per node there.
 *
 * Arrays (graph_array.h): an array op is one node too (op code GRAPH_OP_ARR or GRAPH_OP_ARR_EW plus the op), whose
 * values and what its backward needs live in the context's array side; the sweep hands it to graph_array.c.
 *
 * Backward needs no topological sort: creation order already is one. The sweep visits nodes from the root down
 * to the oldest node it reached, skipping nodes no path from the root reaches, and each visited node adds its
 * partials times its gradient into its parents (ggml's one switch-free loop; micrograd's "+=" that makes
 * fan-out right). It stops as soon as no reached node is left below.
 *
 * Checkpointing (engines/ckpt/ckpt_graph.h): with a schedule attached, the steps of an AD_STEPS loop are dropped in
 * the forward pass and re-recorded when backward reaches them (torch.utils.checkpoint's way), through the hooks at
 * the end of graph_ctx; a graph without them is swept exactly as before.
 *
 * Errors: status codes (ad_status) for what a caller can recover from, with PyTorch's wording available from
 * graph_last_error; asserts for broken invariants. Recording never fails loudly: when the arena cannot grow, ops
 * return a placeholder node, the context's sticky status becomes AD_ENOMEM (graph_status), and every node
 * recorded before stays valid. Functions given NULL return AD_EINVAL (predicates return 0) and never crash.
 * Not thread-safe: one context per thread.
 */
#ifndef GRAPH_H
#define GRAPH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../ad.h"
#include "../ad_chunk.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Nodes --------------------------------------------------------------------------------------------------- */

/* A scalar with its place in the graph. Read it through the functions below; the fields are public only so that
 * the inline ops (graph_ops.h) can record without a call. */
typedef struct graph_node {
  double acc;    /* gradient accumulated by the backward pass in progress; 0 outside a pass */
  uint32_t meta; /* op code (bits 0-7, GRAPH_OP_LEAF for leaves) and GRAPH_F_* flags */
  uint32_t id;   /* the node's index in its context (0: a placeholder) */
  double value;
  uint32_t a, b; /* parents' indices; 0 for none (an input that does not require grad) */
  double da, db; /* saved partials d value / d parent; a leaf keeps its .grad in da */
} graph_node;

/* Flags in graph_node.meta. */
enum {
  GRAPH_OP_MASK = 0xffu,
  GRAPH_OP_LEAF = 0xffu,         /* op code of a leaf */
  GRAPH_F_REQ = 1u << 8,         /* requires grad */
  GRAPH_F_LEAF = 1u << 9,        /* is_leaf */
  GRAPH_F_MARK = 1u << 10,       /* reached by the sweep in progress */
  GRAPH_F_HASGRAD = 1u << 11,    /* a leaf's .grad is defined (not None) */
  GRAPH_F_FREED = 1u << 12,      /* backward without retain_graph freed this grad_fn's saved values */
  GRAPH_F_RETAIN = 1u << 13,     /* retain_grad was called (side table) */
  GRAPH_F_HOOK = 1u << 14,       /* has hooks (side table) */
  GRAPH_F_CKPT = 1u << 15,       /* an output of a checkpointed region (engines/ckpt/ckpt_graph.h) */
  GRAPH_TAG_SHIFT = 16           /* bits 16-31: the tag of the context and generation that recorded the node */
};

/* Op code of a checkpointed region's boundary node: its grad_fn is "CheckpointFunctionBackward", with no
 * next_functions listed (engines/ckpt/ckpt_graph.h). */
#define GRAPH_OP_CKPT 0xfeu

/* Node i is in chunk i >> GRAPH_CHUNK_SHIFT of the node stream, at offset i & GRAPH_CHUNK_MASK. */
#define GRAPH_CHUNK_SHIFT 14
#define GRAPH_CHUNK_MASK ((1u << GRAPH_CHUNK_SHIFT) - 1u)

typedef struct graph_side graph_side;
typedef struct graph_hook graph_hook;

/* The context: the arena and the state of recording. The first fields are read by the inline ops; treat the
 * struct as opaque. */
typedef struct graph_ctx {
  adc_stream nodes;      /* the arena: a chunked stream of graph_node (ad_chunk.h), chunk k numbered from k << 14 */
  uint32_t next;         /* index the next node receives */
  uint32_t grad_mask;    /* GRAPH_F_REQ when grad mode is enabled, 0 under no_grad */
  uint32_t tag;          /* this context's tag in bits 16-31 (a hash of its address and generation), else 0 */
  ad_status status;      /* sticky: first error while recording */
  int no_grad_depth;
  int in_backward;
  uint32_t freed_lo;     /* lowest index a backward without retain_graph went through (UINT32_MAX: none) */
  uint32_t generation;   /* graph_reset and graph_shrink count up: handles from before them are stale */
  graph_side *side;      /* side table sorted by node index: retained grads, hooks, names */
  uint32_t n_side, side_cap;
  graph_hook *hooks;
  uint32_t n_hooks, hook_cap;
  graph_node scratch;    /* placeholder handed out after an allocation failure */
  struct graph_arrays *arrays; /* array nodes' records and arena (graph_array.h); NULL until an array op records */
  char err[512];
  /* Checkpointing (engines/ckpt/ckpt_graph.h), all NULL without it: the backward sweep hands each GRAPH_F_CKPT node
   * it reaches to ck_visit (which re-runs the region and may fail: the pass then stops with that status), the
   * freed-values check asks ck_mark_inputs for a region's inputs, graph_reset and graph_release call ck_release
   * with the first index released (1 for all). */
  void *ck;
  ad_status (*ck_visit)(struct graph_ctx *c, graph_node *n, double g, uint32_t *pending, int free_saved);
  uint32_t (*ck_mark_inputs)(struct graph_ctx *c, graph_node *n);
  void (*ck_release)(struct graph_ctx *c, uint32_t mark);
  ad_status ck_status; /* why the last pass stopped in a region */
} graph_ctx;

typedef struct graph_stats {
  uint64_t nodes;          /* nodes recorded since the last reset: leaves, constants and op results */
  uint64_t edges;          /* parent links (next_functions entries that are not None); counted by a pass */
  uint64_t bytes_used;     /* nodes * bytes_per_node */
  uint64_t bytes_held;     /* all the context holds: chunks, chunk directory, side table, hooks, the context */
  uint32_t bytes_per_node; /* sizeof(graph_node): 48 */
} graph_stats;

/* One entry of next_functions: name "AccumulateGrad" (node: the leaf), a grad_fn name (node: the non-leaf
 * that owns it), or None (name and node NULL). */
typedef struct graph_edge {
  const char *name;
  graph_node *node;
} graph_edge;

/* A gradient hook: receives the node's total incoming gradient and returns the gradient to use instead (return
 * grad unchanged to only observe it). It may read any node; it must not record ops, reset or release the context
 * (graph_backward and graph_release called from a hook return AD_ESTATE). */
typedef double (*graph_hook_fn)(void *user, graph_node *node, double grad);

/* A position in the arena (graph_mark), to release every node created after it (graph_release). */
typedef uint32_t graph_mark_t;

/* ---- Context --------------------------------------------------------------------------------------------------- */

/* A new, empty context (grad mode enabled); NULL if memory is exhausted. Free with graph_free. */
graph_ctx *graph_new(void);
/* Frees the context and every node. NULL is ignored. */
void graph_free(graph_ctx *c);
/* Forgets every node, hook, retained grad and the sticky error; keeps the chunks for the next graph; grad mode
 * is unchanged. O(1) in the number of nodes. Handles from before the reset become stale: ops and graph_* calls
 * refuse them (AD_EFOREIGN; the tag is 16 bits, so one stale handle in 65536 resets may go unnoticed) until a new
 * node is recorded in the same slot: a handle is a pointer into the arena, so from then on it is that node. Keep
 * nodes across iterations with graph_mark and graph_release, which keep the nodes before the mark.
 * Returns AD_OK; AD_ESTATE (and changes nothing) when called from a hook during backward; AD_EINVAL for NULL. */
ad_status graph_reset(graph_ctx *c);
/* Frees every chunk but the first, the side tables and the grown chunk directory, then resets: the context
 * holds what graph_new allocated. Returns as graph_reset (AD_ESTATE from a hook: nothing is freed). */
ad_status graph_shrink(graph_ctx *c);
/* The current top of the arena. Nodes created before it survive graph_release(c, mark). 0 for NULL. */
graph_mark_t graph_mark(const graph_ctx *c);
/* Releases every node created after mark (with its hooks, retained grad and name) and clears the sticky error;
 * nodes created before it keep their values and grads: the "release" step of a training loop whose parameters
 * are leaves created once, before the mark. AD_EINVAL for NULL or a mark above the current top. */
ad_status graph_release(graph_ctx *c, graph_mark_t mark);
/* AD_OK, or the first error met while recording (AD_ENOMEM, AD_ERANGE). NULL gives AD_EINVAL. */
ad_status graph_status(const graph_ctx *c);
/* PyTorch's wording of the last error a graph_* call returned on c ("" if none). Never NULL. */
const char *graph_last_error(const graph_ctx *c);
/* Sizes of the graph and of the memory held. NULL gives zeros. */
graph_stats graph_get_stats(const graph_ctx *c);

/* ---- Nodes the user creates ------------------------------------------------------------------------------------- */

/* A leaf with the given value; requires_grad 0 or 1. Never NULL for a non-NULL c: after an allocation failure
 * it returns a placeholder (see graph_status). NULL for NULL c. */
graph_node *graph_leaf(graph_ctx *c, double value, int requires_grad);
/* detach(): a new leaf with n's value that does not require grad; no gradient flows through it back to n.
 * NULL for NULL arguments; a placeholder after an allocation failure. */
graph_node *graph_detach(graph_ctx *c, const graph_node *n);

/* ---- Inspecting a node ------------------------------------------------------------------------------------------ */

/* n's value; NaN for NULL. */
double graph_value(const graph_node *n);
/* is_leaf and requires_grad; 0 for NULL. */
int graph_is_leaf(const graph_node *n);
int graph_requires_grad(const graph_node *n);
/* n.grad: returns 1 and stores it in *out if n has one, 0 if it is None (*out is then set to 0). A leaf has a
 * grad once a backward reached it; a non-leaf only if retained. 0 for NULL c or n; out may be NULL. */
int graph_grad(const graph_ctx *c, const graph_node *n, double *out);
/* grad_fn's name ("MulBackward0", ...), or NULL for a leaf (None) or NULL n. Static storage. */
const char *graph_grad_fn_name(const graph_node *n);
/* grad_fn.next_functions: writes up to 2 entries into out and their number into *count (0 for a leaf).
 * AD_EINVAL for NULL arguments or a placeholder. */
ad_status graph_next_functions(const graph_ctx *c, const graph_node *n, graph_edge out[2], int *count);
/* grad_fn.next_functions of any node, array nodes (graph_array.h) included: writes up to cap entries into out and
 * the number of inputs into *count (which may exceed cap: the entries beyond cap are not written). A stack has
 * one input per element. AD_EINVAL for NULL arguments or a node that is not live. */
ad_status graph_arr_next_functions(const graph_ctx *c, const graph_node *n, graph_edge *out, int cap, int *count);
/* 1 if n is the node of an array op with an array result (graph_array.h): its gradient is an array, so
 * graph_grad gives None and retain_grad and hooks are refused. 0 for scalar nodes and NULL. */
int graph_arr_is_array_node(const graph_node *n);
/* The node with index id (graph_node.id) recorded since the last reset, or NULL. */
graph_node *graph_node_at(const graph_ctx *c, uint32_t id);

/* ---- Changing a node --------------------------------------------------------------------------------------------- */

/* requires_grad_(flag): on a leaf, sets requires_grad; ops recorded before keep what they saw. On a non-leaf,
 * flag 1 changes nothing and flag 0 fails with AD_ESTATE (PyTorch: only leaves' flags can change). */
ad_status graph_requires_grad_(graph_ctx *c, graph_node *n, int flag);
/* retain_grad(): n keeps the gradient later backward passes compute for it (accumulating). A no-op on a leaf;
 * AD_ESTATE if n does not require grad; AD_ENOMEM if the side table cannot grow. */
ad_status graph_retain_grad(graph_ctx *c, graph_node *n);
/* Zeroes n's grad (x.grad.zero_()), or sets it to None when set_to_none (x.grad = None). Works on leaves and
 * retained non-leaves; nothing to do (AD_OK) when the grad is None already. */
ad_status graph_zero_grad(graph_ctx *c, graph_node *n, int set_to_none);
/* register_hook(fn): fn(user, n, grad) runs when a backward pass reaches n, in registration order, before the
 * gradient is accumulated, retained or passed on; its return value replaces the gradient. AD_ESTATE if n does not
 * require grad, AD_ENOMEM if the hook table cannot grow. Hooks live until reset or release. */
ad_status graph_register_hook(graph_ctx *c, graph_node *n, graph_hook_fn fn, void *user);
/* Gives n a name for graph_write_dot (copied; up to 31 bytes are kept). AD_ENOMEM if the side table cannot
 * grow. */
ad_status graph_set_name(graph_ctx *c, graph_node *n, const char *name);
/* n's name, or NULL if it has none. Valid until the node is released or renamed. */
const char *graph_name(const graph_ctx *c, const graph_node *n);

/* ---- Grad mode -------------------------------------------------------------------------------------------------- */

/* torch.no_grad(): between begin and end, ops record nothing (results are leaves that do not require grad).
 * Scopes nest. end without a matching begin: AD_ESTATE. */
ad_status graph_no_grad_begin(graph_ctx *c);
ad_status graph_no_grad_end(graph_ctx *c);
/* 1 if ops record (no no_grad scope is open), 0 otherwise or for NULL. */
int graph_is_grad_enabled(const graph_ctx *c);

/* ---- Backward --------------------------------------------------------------------------------------------------- */

/* root.backward(gradient=grad, retain_graph=retain_graph): propagates grad (1.0 for PyTorch's default) from root
 * to every leaf that requires grad and that root depends on, adding into their grads; retained non-leaves get
 * theirs; hooks run. Without retain_graph, marks the saved values of every grad_fn it ran as freed.
 * Returns AD_OK; AD_EINVAL for NULL or a placeholder root; AD_ENOGRAD if root does not require grad; AD_EFREED
 * if a grad_fn it must run had its saved values freed; AD_ESTATE if called from a hook. On error nothing changes
 * and graph_last_error gives PyTorch's message. */
ad_status graph_backward(graph_ctx *c, graph_node *root, double grad, int retain_graph);
/* torch.autograd.backward(roots, grads): one pass for n roots seeded with grads[i] (NULL: all 1). The same
 * rules and errors; a root that does not require grad fails the whole call with AD_ENOGRAD ("element i ..."). */
ad_status graph_backward_many(graph_ctx *c, int n, graph_node *const *roots, const double *grads,
                              int retain_graph);

/* ---- Seeing the graph ------------------------------------------------------------------------------------------- */

/* Writes the graph root depends on as Graphviz DOT: one node per graph node (grad_fn name or "leaf", value, grad
 * if any, name if any; leaves drawn as boxes, the root doubled), one edge per next_functions entry that is not
 * None, from a node to its input, labelled "AccumulateGrad" when the input is a leaf. AD_EINVAL for NULL
 * arguments or a placeholder; AD_EFOREIGN for a root from another context or generation; AD_ESTATE from a hook;
 * AD_EIO if writing (or flushing) f fails, as on a full disk. */
ad_status graph_write_dot(graph_ctx *c, graph_node *root, FILE *f);

/* ---- Internals used by the inline ops ---------------------------------------------------------------------------- */

/* Moves to the next chunk (allocating it if need be). On failure sets the sticky status and points the free range
 * at the placeholder, so recording goes on harmlessly. */
void graph__grow(graph_ctx *c);
/* An op was given a node of another context, or one recorded before the last reset: sets the sticky status to
 * AD_EFOREIGN (with a message) and returns a placeholder, as after an allocation failure. */
graph_node *graph__foreign(graph_ctx *c);
/* For checkpointing (engines/ckpt/ckpt_graph.c), during a backward pass: runs the sweep over the marked nodes from
 * index hi down to index lo (nodes below lo are not visited; a contribution to lo - 1 lands in its acc), keeping
 * saved values. *pending: the marked nodes at or below hi on entry; on return, those left below lo. */
void graph__sweep_range(graph_ctx *c, uint32_t hi, uint32_t lo, uint32_t *pending);
/* Forgets the nodes from index mark on (mark >= 1, at most the next index), ending a sink; the sticky status is
 * unchanged. For nodes recorded and dropped inside the library: no side entry, hook or region may be among them. */
void graph__rewind(graph_ctx *c, uint32_t mark);

/* 1 if node n carries context c's current tag (so it was recorded by c since its last reset). */
AD_INLINE int graph__ours(const graph_ctx *c, const graph_node *n) {
  return ((n->meta ^ c->tag) >> GRAPH_TAG_SHIFT) == 0;
}

AD_INLINE graph_node *graph__new(graph_ctx *c) {
  if (AD_UNLIKELY(c->nodes.used == c->nodes.cap)) graph__grow(c);
  graph_node *n = ADC_LANE(&c->nodes, graph_node) + adc_push(&c->nodes, 1);
  n->id = c->next++;
  return n;
}

/* Records a node with its op code and flags, value, parents and partials. */
AD_INLINE graph_node *graph__rec(graph_ctx *c, uint32_t meta, double v, uint32_t a, double da, uint32_t b,
                                 double db) {
  graph_node *n = graph__new(c);
  n->acc = 0.0;
  n->meta = meta | c->tag;
  n->value = v;
  n->a = a;
  n->b = b;
  n->da = da;
  n->db = db;
  return n;
}

/* A leaf that does not require grad (constants, results that need no grad_fn). */
AD_INLINE graph_node *graph__const(graph_ctx *c, double v) {
  return graph__rec(c, GRAPH_OP_LEAF | GRAPH_F_LEAF, v, 0, 0.0, 0, 0.0);
}

/* Array nodes (graph_array.h): op code GRAPH_OP_ARR + k for op k of ad_array_ops.def, GRAPH_OP_ARR_EW + op for
 * an elementwise op of ad_ops.def; their field a is their record in the array side, b is 0. */
enum { GRAPH_OP_ARR = 0x40u, GRAPH_OP_ARR_EW = 0x80u };
AD_INLINE int graph__is_arr_op(uint32_t meta) {
  uint32_t op = meta & GRAPH_OP_MASK;
  return op >= GRAPH_OP_ARR && op < GRAPH_OP_CKPT; /* the checkpoint boundary and leaves are not array ops */
}
/* Hooks of the array side (graph_array.c), called by graph.c. */
struct graph_arrays;
void graph__arr_free(graph_ctx *c);
void graph__arr_reset(graph_ctx *c);
void graph__arr_release(graph_ctx *c, uint32_t mark);          /* drops the records of nodes >= mark */
const char *graph__arr_torch(uint32_t op);                      /* grad_fn name of an array op code */
uint64_t graph__arr_bytes_used(const graph_ctx *c);
uint64_t graph__arr_bytes_held(const graph_ctx *c);
uint32_t graph__arr_edges(const graph_ctx *c, const graph_node *n); /* inputs that require grad */
ad_status graph__arr_prepare(graph_ctx *c);                     /* before a sweep: every gradient array exists */
/* Visits array node n in a sweep with gradient g (propagate 1) or only marks its inputs (propagate 0); sets
 * its freed flag when free_saved and it saves tensors. Returns the number of inputs newly marked. */
uint32_t graph__arr_visit(graph_ctx *c, graph_node *n, double g, int propagate, int free_saved);

/* For drivers that created the leaf themselves (no checks, no side table): its grad, 0 for None; and setting it
 * back to None. */
AD_INLINE double graph__leaf_grad(const graph_node *leaf) { return (leaf->meta & GRAPH_F_HASGRAD) ? leaf->da : 0.0; }
AD_INLINE void graph__leaf_grad_none(graph_node *leaf) { leaf->meta &= ~(uint32_t)GRAPH_F_HASGRAD; }

#ifdef __cplusplus
}
#endif
#endif
