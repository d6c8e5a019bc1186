/* graph_array.h: arrays for the graph engine: ONE graph node per array op (design of arrays: ad_array.h).
 *
 *   #include "graph/graph_array.h"
 *   graph_ctx *g = graph_new();
 *   for (int i = 0; i < n; ++i) x[i] = graph_leaf(g, xv[i], 1);        // leaves that require grad
 *   ad_arr X = ad_arr_stack(g, x, n);                                   // one node: StackBackward0
 *   ad_t f = ad_arr_sum(g, ad_arr_mul_vc(g, ad_arr_sqr(g, X), 3.0));    // three nodes, whatever n
 *   graph_backward(g, f, 1.0, 0);                                       // graph_grad(g, x[i], &d): d == 6 x_i
 *   printf("%s\n", graph_grad_fn_name(f));                              // "SumBackward0"
 *   graph_reset(g);                                                     // forgets the arrays too, keeps memory
 *
 * An ad_arr holds its values (v), its shape and its node (NULL for a passive array: constant data, a result
 * none of whose operands requires grad, or any result made under no_grad). The node is an ordinary graph node
 * (graph.h) whose op code says which array op made it; its grad_fn is named from the op lists: the ops of
 * ad_array_ops.def by their torch column (StackBackward0, SliceBackward0, SumBackward0, MvBackward0,
 * MmBackward0, DotBackward0, ...), elementwise ops by the scalar op's (SinBackward0, MulBackward0, ...). A
 * scalar result (ad_arr_sum, ad_arr_max, ad_arr_dot, ad_arr_get) is that node itself, an ad_t like any other:
 * scalar and array code mix both ways, and its gradient, hooks and retain_grad work as for scalar nodes.
 *
 * WHAT A NODE KEEPS. The node (48 bytes, in the node arena) and one record in the context's array side
 * (graph_array.c), whose memory comes from the context's own arena (ad_array.h): the result values, and what
 * its backward needs, which is what PyTorch's grad_fn saves: operand references (node, record, stride 0 or 1)
 * and the operand values (pointers to the operands' own values, or a copy of a constant operand), from which
 * the backward recomputes the partials of an elementwise op block by block with the shared kernels (the rules of
 * ad_ops.def; the ops whose partials are constants keep the two constants); the operand values of max, dot, mv
 * and mm; a copy of a gather's indices; a stack's operand nodes (nothing when they are consecutive nodes).
 * Unlike the tape (tape_array.h), no partial array is stored: the graph already keeps every operand's values, so
 * a partial array would be 8 more bytes per element and operand, and recomputing costs one kernel call per
 * elementwise op in the backward. Views (slice, row, reshape) are nodes too (SliceBackward0, ViewBackward0)
 * but copy nothing: their values and their gradient are their base's.
 * GRADIENT ARRAYS. Each backward assigns them before it starts (and fails with AD_ENOMEM, changing nothing, if
 * it cannot): walking the records newest first as the sweep does, a record takes a buffer when its first user is
 * visited and gives it back once visited itself, so records whose gradients are never live at once share a
 * buffer (rosenbrock_t: 4 buffers for 8 array results). Buffers come from the arena, are kept for later passes,
 * and are zero outside a pass (a node zeroes its gradient once it has passed it on), as graph_node.acc is.
 * Measured on rosenbrock_t at 125,001 elements (adbench, graph grad): 148 bytes used per element (48 of them the
 * input leaves), 170 held; the fallback of one scalar node per element held 434.
 *
 * PYTORCH'S RULES that hold for array nodes now (graph.h gives them for scalars): requires_grad propagates
 * (an op with no operand that requires grad, or under no_grad, records nothing and gives a passive array);
 * leaves are the scalar nodes an array is stacked from (graph_leaf): their .grad accumulates over backward
 * calls as for any leaf; grad_fn names as above; backward without retain_graph marks the grad_fns that save
 * tensors (elementwise ops with AD_SAVES, gather, max, max_axis, dot, mv, mm) as freed, and a second backward
 * through them fails with AD_EFREED; the others (stack, get, views, sum, sum_axis, and the elementwise ops with
 * constant partials) can run again. next_functions: graph_arr_next_functions lists every input (a stack has
 * one per element); graph_next_functions gives the first two. Not yet (the next step): array leaves with an
 * array .grad, retain_grad and hooks on array-valued nodes (refused with AD_EINVAL and a message; on scalar
 * results of array ops they work), graph_write_dot edges beyond a node's first two inputs.
 *
 * Memory: graph_reset and graph_shrink forget the array records and reset the arena in O(chunks);
 * graph_release drops the records after the mark, and resets the arena only when no array record is left
 * (array memory of released nodes is otherwise kept until the next reset). graph_get_stats counts the
 * arena's bytes and the records in bytes_used and bytes_held.
 * Errors: a bad shape or index, or a failed allocation, sets the arena's sticky status (ad_arr_status), returns
 * an invalid array or a NaN constant, and never writes out of bounds; an operand of another context or of an
 * earlier generation sets AD_EFOREIGN in graph_status, as for scalar ops.
 */
#ifndef GRAPH_ARRAY_H
#define GRAPH_ARRAY_H

#include <string.h>

#include "../ad_array.h"
#include "../ad_array_vals.h"
#include "graph_ops.h"

#define AD_ARR_ENGINE "graph"

typedef struct ad_arr {
  double *v;
  ad_shape shape;
  graph_node *node; /* the node of the op that made it; NULL: passive */
} ad_arr;

/* One operand of an elementwise op: an array, a scalar node or a constant; v and stride say where the kernel
 * reads it; node is the node it comes from (NULL for a constant). */
typedef struct graph_aopnd {
  const double *v;
  size_t stride;
  graph_node *node;
  int is_arr;
} graph_aopnd;

/* An elementwise op in progress: its result and partial arrays. */
typedef struct graph_ew {
  ad_shape shape;
  double *v, *pa, *pb;
  int ok;
  int ra, rb; /* operand requires grad */
} graph_ew;

/* ---- out of line (graph_array.c) ---- */
ad_arr graph__arr_bad(graph_ctx *c, ad_status s);
void graph__ew_begin(graph_ctx *c, unsigned facts, ad_shape s, const graph_aopnd *a, const graph_aopnd *b,
                     graph_ew *e);
ad_arr graph__ew_end(graph_ctx *c, ad_op op, unsigned facts, const graph_aopnd *a, const graph_aopnd *b,
                     graph_ew *e);
ad_arr graph__arr_stack(graph_ctx *c, graph_node *const *x, int64_t n);
ad_arr graph__arr_data(graph_ctx *c, const double *d, int64_t n);
ad_arr graph__arr_view(graph_ctx *c, ad_arr x, int kind, int64_t a, int64_t b);
graph_node *graph__arr_get(graph_ctx *c, ad_arr x, int64_t i);
ad_arr graph__arr_gather(graph_ctx *c, ad_arr x, const int32_t *idx, int64_t n);
graph_node *graph__arr_sum(graph_ctx *c, ad_arr x);
graph_node *graph__arr_max(graph_ctx *c, ad_arr x);
ad_arr graph__arr_sum_axis(graph_ctx *c, ad_arr x, int axis);
ad_arr graph__arr_max_axis(graph_ctx *c, ad_arr x, int axis);
graph_node *graph__arr_dot(graph_ctx *c, ad_arr x, ad_arr y);
ad_arr graph__arr_mv(graph_ctx *c, ad_arr a, int ta, ad_arr x);
ad_arr graph__arr_mm(graph_ctx *c, ad_arr a, int ta, ad_arr b, int tb);
ad_status graph__arr_status(const graph_ctx *c);

enum { GRAPH__VIEW_SLICE, GRAPH__VIEW_ROW, GRAPH__VIEW_RESHAPE };


/* The status of the array ops since the last graph_reset: the arena's first error, else graph_status. */
AD_INLINE ad_status ad_arr_status(ad_ctx *c) { return graph__arr_status(c); }
AD_INLINE int64_t ad_arr_n(ad_arr x) { return ad_shape_n(x.shape); }

/* n scalar variables as a 1-D array: one node (none if no element requires grad). */
AD_INLINE ad_arr ad_arr_stack(ad_ctx *c, const ad_t *x, int64_t n) { return graph__arr_stack(c, x, n); }
/* Constant data d[0..n) as a passive 1-D array (not copied: d must outlive the graph). */
AD_INLINE ad_arr ad_arr_data(ad_ctx *c, const double *d, int64_t n) { return graph__arr_data(c, d, n); }
AD_INLINE ad_t ad_arr_get(ad_ctx *c, ad_arr x, int64_t i) { return graph__arr_get(c, x, i); }
AD_INLINE ad_arr ad_arr_slice(ad_ctx *c, ad_arr x, int64_t lo, int64_t hi) {
  return graph__arr_view(c, x, GRAPH__VIEW_SLICE, lo, hi);
}
AD_INLINE ad_arr ad_arr_row(ad_ctx *c, ad_arr x, int64_t r) { return graph__arr_view(c, x, GRAPH__VIEW_ROW, r, 0); }
AD_INLINE ad_arr ad_arr_reshape(ad_ctx *c, ad_arr x, int64_t rows, int64_t cols) {
  return graph__arr_view(c, x, GRAPH__VIEW_RESHAPE, rows, cols);
}
AD_INLINE ad_arr ad_arr_gather(ad_ctx *c, ad_arr x, const int32_t *idx, int64_t n) { return graph__arr_gather(c, x, idx, n); }
AD_INLINE ad_t ad_arr_sum(ad_ctx *c, ad_arr x) { return graph__arr_sum(c, x); }
AD_INLINE ad_t ad_arr_max(ad_ctx *c, ad_arr x) { return graph__arr_max(c, x); }
AD_INLINE ad_arr ad_arr_sum_axis(ad_ctx *c, ad_arr x, int axis) { return graph__arr_sum_axis(c, x, axis); }
AD_INLINE ad_arr ad_arr_max_axis(ad_ctx *c, ad_arr x, int axis) { return graph__arr_max_axis(c, x, axis); }
AD_INLINE ad_t ad_arr_dot(ad_ctx *c, ad_arr x, ad_arr y) { return graph__arr_dot(c, x, y); }
AD_INLINE ad_arr ad_arr_mv(ad_ctx *c, ad_arr a, int ta, ad_arr x) { return graph__arr_mv(c, a, ta, x); }
AD_INLINE ad_arr ad_arr_mm(ad_ctx *c, ad_arr a, int ta, ad_arr b, int tb) { return graph__arr_mm(c, a, ta, b, tb); }

/* ---- elementwise ops: the kernel computes values and partials, then one node ---- */

AD_INLINE graph_aopnd graph__opnd_arr(ad_arr x, size_t stride) {
  graph_aopnd o;
  o.v = x.v;
  o.stride = stride;
  o.node = x.node;
  o.is_arr = 1;
  return o;
}
AD_INLINE graph_aopnd graph__opnd_var(ad_t k) {
  graph_aopnd o;
  o.v = &k->value;
  o.stride = 0;
  o.node = k;
  o.is_arr = 0;
  return o;
}
AD_INLINE graph_aopnd graph__opnd_const(const double *k) {
  graph_aopnd o;
  o.v = k;
  o.stride = 0;
  o.node = NULL;
  o.is_arr = 0;
  return o;
}

#define GRAPH_AOP_RUN(name, facts, shp, A, B)                                                                \
  do {                                                                                                         \
    graph__ew_begin(c, (facts), (shp), &(A), &(B), &e);                                                      \
    if (!e.ok) return graph__arr_bad(c, AD_OK);                                                                \
    ad_k_##name((size_t)ad_shape_n(e.shape), (A).v, (A).stride, (B).v, (B).stride, e.v, e.pa, e.pb);          \
    return graph__ew_end(c, AD_OP_##name, (facts), &(A), &(B), &e);                                            \
  } while (0)

#define GRAPH_AOP_U(name, facts)                                                                               \
  AD_INLINE ad_arr ad_arr_##name(ad_ctx *c, ad_arr x) {                                                        \
    graph_ew e;                                                                                                \
    if (x.shape.ndim == 0) return graph__arr_bad(c, AD_EINVAL);                                                \
    graph_aopnd A = graph__opnd_arr(x, 1), B = graph__opnd_const(x.v);                                         \
    GRAPH_AOP_RUN(name, facts, x.shape, A, B);                                                                 \
  }
#define GRAPH_AOP_VV(name, facts)                                                                              \
  AD_INLINE ad_arr ad_arr_##name(ad_ctx *c, ad_arr x, ad_arr y) {                                              \
    graph_ew e;                                                                                                \
    ad_shape s;                                                                                                \
    size_t sa, sb;                                                                                             \
    if (ad_shape_ew(x.shape, y.shape, &s, &sa, &sb) != AD_OK) return graph__arr_bad(c, AD_EINVAL);            \
    graph_aopnd A = graph__opnd_arr(x, sa), B = graph__opnd_arr(y, sb);                                        \
    GRAPH_AOP_RUN(name, facts, s, A, B);                                                                       \
  }                                                                                                            \
  AD_INLINE ad_arr ad_arr_##name##_bs(ad_ctx *c, ad_arr x, ad_t k) {                                           \
    graph_ew e;                                                                                                \
    if (x.shape.ndim == 0) return graph__arr_bad(c, AD_EINVAL);                                                \
    graph_aopnd A = graph__opnd_arr(x, 1), B = graph__opnd_var(k);                                             \
    GRAPH_AOP_RUN(name, facts, x.shape, A, B);                                                                 \
  }                                                                                                            \
  AD_INLINE ad_arr ad_arr_##name##_as(ad_ctx *c, ad_t k, ad_arr y) {                                           \
    graph_ew e;                                                                                                \
    if (y.shape.ndim == 0) return graph__arr_bad(c, AD_EINVAL);                                                \
    graph_aopnd A = graph__opnd_var(k), B = graph__opnd_arr(y, 1);                                             \
    GRAPH_AOP_RUN(name, facts, y.shape, A, B);                                                                 \
  }
#define GRAPH_AOP_VC(name, facts)                                                                              \
  AD_INLINE ad_arr ad_arr_##name(ad_ctx *c, ad_arr x, double k) {                                              \
    graph_ew e;                                                                                                \
    if (x.shape.ndim == 0) return graph__arr_bad(c, AD_EINVAL);                                                \
    graph_aopnd A = graph__opnd_arr(x, 1), B = graph__opnd_const(&k);                                          \
    GRAPH_AOP_RUN(name, facts, x.shape, A, B);                                                                 \
  }
#define GRAPH_AOP_CV(name, facts)                                                                              \
  AD_INLINE ad_arr ad_arr_##name(ad_ctx *c, double k, ad_arr y) {                                              \
    graph_ew e;                                                                                                \
    if (y.shape.ndim == 0) return graph__arr_bad(c, AD_EINVAL);                                                \
    graph_aopnd A = graph__opnd_const(&k), B = graph__opnd_arr(y, 1);                                          \
    GRAPH_AOP_RUN(name, facts, y.shape, A, B);                                                                 \
  }
#define AD_OP(name, kind, torch, facts, pre, value, da, db) GRAPH_AOP_##kind(name, facts)
#include "../ad_ops.def"
#undef AD_OP

#endif
