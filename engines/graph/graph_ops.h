/* graph_ops.h: the op interface (ad.h) for the graph engine: each op computes its value and partials from
 * ad_ops.def and records one node in the context's arena, inline. See graph.h for the graph and its semantics.
 *
 *   #include "graph/graph_ops.h"
 *   graph_ctx *g = graph_new();
 *   ad_t x = graph_leaf(g, 2.0, 1);
 *   ad_t y = ad_sin(g, ad_mul_vc(g, x, 3.0));      // two nodes: MulBackward0, then SinBackward0
 *   graph_backward(g, y, 1.0, 0);                   // graph_grad(g, x, &d): d == 3 cos(6)
 *
 * An op none of whose inputs requires grad (or any op under no_grad) records a leaf that does not require grad:
 * value only, no grad_fn, no parents. An input that does not require grad gets parent index 0 (None in
 * next_functions) and its partial is not used.
 * Ops take handles the context returned (never NULL) and never return NULL: after an allocation failure they return
 * a placeholder and set the context's sticky status (graph_status), as graph_leaf does. A node from another context,
 * or from before the last graph_reset, is refused the same way with AD_EFOREIGN (one test of the node's tag per
 * operand), so it can neither misroute gradients nor alias a new node.
 */
#ifndef GRAPH_OPS_H
#define GRAPH_OPS_H

#include "graph.h"

#define AD_ENGINE_NAME "graph"

typedef graph_node *ad_t;
typedef graph_ctx ad_ctx;

AD_INLINE ad_t ad_const(ad_ctx *c, double v) { return graph__const(c, v); }
AD_INLINE double ad_val(ad_ctx *c, ad_t x) { (void)c; return x->value; }

#define GRAPH__META(name) ((uint32_t)AD_OP_##name | GRAPH_F_REQ)

#define GRAPH_OP_U(name, pre, val, da, db)                                                                     \
  AD_INLINE ad_t ad_##name(ad_ctx *c, ad_t x) {                                                                \
    double a = x->value, b = 0;                                                                                \
    ad_m2 t = pre;                                                                                             \
    (void)b, (void)t;                                                                                          \
    if (AD_UNLIKELY(!graph__ours(c, x))) return graph__foreign(c);                                             \
    double v = val;                                                                                            \
    if (AD_LIKELY(x->meta & c->grad_mask)) return graph__rec(c, GRAPH__META(name), v, x->id, (da), 0, 0.0);    \
    return graph__const(c, v);                                                                                 \
  }
#define GRAPH_OP_VC(name, pre, val, da, db)                                                                    \
  AD_INLINE ad_t ad_##name(ad_ctx *c, ad_t x, double k) {                                                      \
    double a = x->value, b = k;                                                                                \
    ad_m2 t = pre;                                                                                             \
    (void)t;                                                                                                   \
    if (AD_UNLIKELY(!graph__ours(c, x))) return graph__foreign(c);                                             \
    double v = val;                                                                                            \
    if (AD_LIKELY(x->meta & c->grad_mask)) return graph__rec(c, GRAPH__META(name), v, x->id, (da), 0, 0.0);    \
    return graph__const(c, v);                                                                                 \
  }
/* The variable operand of a CV op is the op's second input: parent b, partial db. */
#define GRAPH_OP_CV(name, pre, val, da, db)                                                                    \
  AD_INLINE ad_t ad_##name(ad_ctx *c, double k, ad_t y) {                                                      \
    double a = k, b = y->value;                                                                                \
    ad_m2 t = pre;                                                                                             \
    (void)t;                                                                                                   \
    if (AD_UNLIKELY(!graph__ours(c, y))) return graph__foreign(c);                                             \
    double v = val;                                                                                            \
    if (AD_LIKELY(y->meta & c->grad_mask)) return graph__rec(c, GRAPH__META(name), v, 0, 0.0, y->id, (db));    \
    return graph__const(c, v);                                                                                 \
  }
/* Both inputs require grad: two parents. One: the other parent is None. None: a leaf without grad_fn. */
#define GRAPH_OP_VV(name, pre, val, da, db)                                                                    \
  AD_INLINE ad_t ad_##name(ad_ctx *c, ad_t x, ad_t y) {                                                        \
    double a = x->value, b = y->value;                                                                         \
    ad_m2 t = pre;                                                                                             \
    (void)t;                                                                                                   \
    if (AD_UNLIKELY(!graph__ours(c, x) || !graph__ours(c, y))) return graph__foreign(c);                       \
    double v = val;                                                                                            \
    uint32_t rx = x->meta & c->grad_mask, ry = y->meta & c->grad_mask;                                         \
    if (AD_LIKELY(rx & ry)) return graph__rec(c, GRAPH__META(name), v, x->id, (da), y->id, (db));              \
    if (rx) return graph__rec(c, GRAPH__META(name), v, x->id, (da), 0, 0.0);                                   \
    if (ry) return graph__rec(c, GRAPH__META(name), v, 0, 0.0, y->id, (db));                                   \
    return graph__const(c, v);                                                                                 \
  }
#define AD_OP(name, kind, torch, facts, pre, value, da, db) GRAPH_OP_##kind(name, pre, value, da, db)
#include "../ad_ops.def"
#undef AD_OP

#define GRAPH_CMP(name, op)                                                                                    \
  AD_INLINE int ad_##name##_vv(ad_ctx *c, ad_t x, ad_t y) { (void)c; return x->value op y->value; }            \
  AD_INLINE int ad_##name##_vc(ad_ctx *c, ad_t x, double k) { (void)c; return x->value op k; }
AD_CMP_LIST(GRAPH_CMP)
#undef GRAPH_CMP

#endif
