/* graph_array.c: the graph engine's array side: one node per array op, its record, and its part of the backward
 * sweep (graph_array.h). */
#include "graph_array.h"

#include <assert.h>
#include <math.h>

/* What a record's backward does. */
enum { GA_EW, GA_STACK, GA_VIEW, GA_GET, GA_GATHER, GA_SUM, GA_SUM_AXIS, GA_MAX, GA_MAX_AXIS, GA_DOT, GA_MV, GA_MM };

_Static_assert((int)GRAPH_OP_ARR + (int)AD_AOP_COUNT <= (int)GRAPH_OP_ARR_EW, "array op codes must fit below GRAPH_OP_ARR_EW");
_Static_assert((int)AD_OP_COUNT <= 64 && (int)AD_OP_COUNT <= (int)GRAPH_OP_ARR, "op codes must fit below GRAPH_OP_ARR");
_Static_assert((int)GRAPH_OP_ARR_EW + (int)AD_OP_COUNT <= (int)GRAPH_OP_CKPT,
               "elementwise array op codes must fit below GRAPH_OP_CKPT and GRAPH_OP_LEAF");

/* An operand: its node (0: none, or it does not require grad) and, for an array operand, its record. */
typedef struct graph_aref {
  uint32_t id;
  uint32_t rec; /* 1-based; 0: a scalar node */
  uint32_t stride;
} graph_aref;

typedef struct graph_arec {
  uint32_t id;   /* its node */
  uint8_t kind;  /* GA_* */
  uint8_t op;    /* elementwise: the ad_op */
  int8_t ta, tb; /* transposes (mv, mm); axis (sum_axis, max_axis) in ta */
  uint32_t n;    /* elements of an array result; 0 for a scalar result */
  graph_aref a, b;
  ad_shape sa, sb;        /* operand shapes */
  double *v;              /* result values (array results) */
  double *g;              /* gradient of an array result: set by each backward's graph__arr_prepare; a view's is its
                           * base's */
  uint32_t gb;            /* 1 + the pool buffer g is (0: none, or a view) */
  uint32_t vsa, vsb;      /* elementwise: strides of av, bv */
  const double *av, *bv;  /* operand values (elementwise (NULL: the constant ka, kb), max, max_axis, dot, mv, mm) */
  double ka, kb;          /* elementwise: constant operands */
  double ca, cb;          /* constant partials (elementwise ops without AD_SAVES); max: the result */
  const uint32_t *si;     /* stack: operand nodes (NULL: consecutive from a.id) */
  const int32_t *idx;     /* gather */
  int64_t k;              /* get: index; view: offset */
} graph_arec;

/* A gradient buffer: records whose gradients are never needed at the same time in a backward pass share one. */
typedef struct graph_gbuf {
  double *p;
  uint32_t cap;  /* doubles */
  uint32_t busy; /* taken in the assignment being made */
} graph_gbuf;

struct graph_arrays {
  ad_arena arena;
  graph_arec *recs;
  uint32_t nrec, caprec;
  graph_gbuf *pool; /* every gradient buffer allocated since the last reset (zero outside a pass) */
  uint32_t npool, cappool;
};

/* The ops whose partials are not constants (AD_SAVES), as a mask over op codes: their grad_fns save tensors. */
static const uint64_t ga_saves_mask = 0
#define AD_OP(name, kind, torch, facts, pre, value, da, db) | (((facts) & AD_SAVES) ? (uint64_t)1 << AD_OP_##name : 0u)
#include "../ad_ops.def"
#undef AD_OP
    ;

AD_INLINE graph_node *ga_node(const graph_ctx *c, uint32_t id) {
  return (graph_node *)adc_chunk_data(c->nodes.dir[id >> GRAPH_CHUNK_SHIFT]) + (id & GRAPH_CHUNK_MASK);
}

static struct graph_arrays *ga_side(graph_ctx *c) {
  if (!c->arrays) c->arrays = (struct graph_arrays *)ad_calloc(sizeof *c->arrays);
  return c->arrays;
}

ad_status graph__arr_status(const graph_ctx *c) {
  if (c->arrays && c->arrays->arena.status != AD_OK) return c->arrays->arena.status;
  return c->status;
}

static void ga_fail(graph_ctx *c, ad_status s) {
  if (s == AD_OK) return;
  struct graph_arrays *A = ga_side(c);
  if (A) ad_arena_fail(&A->arena, s);
  else if (c->status == AD_OK) c->status = AD_ENOMEM; /* no side at all: the arrays' status lives there */
}

ad_arr graph__arr_bad(graph_ctx *c, ad_status s) {
  ga_fail(c, s);
  ad_arr r;
  r.v = NULL;
  r.shape = ad_shape_bad();
  r.node = NULL;
  return r;
}

static graph_node *ga_nan(graph_ctx *c, ad_status s) {
  ga_fail(c, s);
  return graph__const(c, NAN);
}

/* n bytes from the context's arena; NULL (status set) on failure. */
static void *ga_alloc(graph_ctx *c, size_t n) {
  struct graph_arrays *A = ga_side(c);
  if (!A) {
    ga_fail(c, AD_ENOMEM);
    return NULL;
  }
  return ad_arena_alloc(&A->arena, n);
}
static double *ga_doubles(graph_ctx *c, int64_t n) { return (double *)ga_alloc(c, (size_t)n * sizeof(double)); }

/* An operand node that is not this context's (current generation): AD_EFOREIGN as for scalar ops. */
static int ga_foreign(graph_ctx *c, const graph_node *n) { return n && !graph__ours(c, n); }
/* 1 if node n (may be NULL) requires grad in the current grad mode. */
static int ga_req(const graph_ctx *c, const graph_node *n) { return n && (n->meta & c->grad_mask) != 0; }

/* An operand reference to array x (requires grad) or to nothing. */
static graph_aref ga_ref_arr(const graph_ctx *c, ad_arr x, uint32_t stride) {
  graph_aref r = {0, 0, stride};
  if (ga_req(c, x.node)) {
    r.id = x.node->id;
    r.rec = x.node->a;
  }
  return r;
}

/* A new record and its node (op code code, value v): NULL (status set) on failure. */
static graph_arec *ga_push(graph_ctx *c, int kind, uint32_t code, int64_t n, double v, graph_node **node) {
  struct graph_arrays *A = ga_side(c);
  if (!A) {
    ga_fail(c, AD_ENOMEM);
    return NULL;
  }
  if (A->nrec == A->caprec) {
    if (A->caprec >= UINT32_MAX / 2) {
      ga_fail(c, AD_ERANGE);
      return NULL;
    }
    uint32_t cap = A->caprec ? 2 * A->caprec : 64;
    graph_arec *p = (graph_arec *)ad_realloc(A->recs, A->caprec * sizeof *p, cap * sizeof *p);
    if (!p) {
      ga_fail(c, AD_ENOMEM);
      return NULL;
    }
    A->recs = p;
    A->caprec = cap;
  }
  graph_node *nd = graph__rec(c, code | GRAPH_F_REQ, v, A->nrec + 1u, 0.0, 0, 0.0);
  if (c->status != AD_OK || nd->id == 0) { /* the node arena failed: nd is the placeholder */
    ga_fail(c, c->status != AD_OK ? c->status : AD_ENOMEM);
    return NULL;
  }
  graph_arec *r = &A->recs[A->nrec++];
  memset(r, 0, sizeof *r);
  r->id = nd->id;
  r->kind = (uint8_t)kind;
  r->n = (uint32_t)n;
  *node = nd;
  return r;
}

static ad_arr ga_result(double *v, ad_shape s, graph_node *node) {
  ad_arr r;
  r.v = v;
  r.shape = s;
  r.node = node;
  return r;
}

/* ---- recording ---- */

void graph__ew_begin(graph_ctx *c, unsigned facts, ad_shape s, const graph_aopnd *a, const graph_aopnd *b,
                     graph_ew *e) {
  int64_t n = ad_shape_n(s);
  e->shape = s;
  e->ok = 0;
  e->pa = e->pb = NULL;
  if (ga_foreign(c, a->node) || ga_foreign(c, b->node)) {
    graph__foreign(c);
    return;
  }
  e->ra = ga_req(c, a->node);
  e->rb = ga_req(c, b->node);
  (void)facts; /* no partial arrays: the backward recomputes them from the operand values */
  if (!(e->v = ga_doubles(c, n))) return;
  e->ok = 1;
}

ad_arr graph__ew_end(graph_ctx *c, ad_op op, unsigned facts, const graph_aopnd *a, const graph_aopnd *b,
                     graph_ew *e) {
  if (!e->ra && !e->rb) return ga_result(e->v, e->shape, NULL);
  graph_node *nd;
  graph_arec *r = ga_push(c, GA_EW, GRAPH_OP_ARR_EW + (uint32_t)op, ad_shape_n(e->shape), NAN, &nd);
  if (!r) return graph__arr_bad(c, AD_OK);
  r->op = (uint8_t)op;
  r->v = e->v;
  if (e->ra) {
    r->a.id = a->node->id;
    r->a.rec = a->is_arr ? a->node->a : 0;
    r->a.stride = (uint32_t)a->stride;
  }
  if (e->rb) {
    r->b.id = b->node->id;
    r->b.rec = b->is_arr ? b->node->a : 0;
    r->b.stride = (uint32_t)b->stride;
  }
  /* the operand values the backward reads (a constant operand's value is copied: it may be a local) */
  r->vsa = (uint32_t)a->stride;
  r->vsb = (uint32_t)b->stride;
  r->ka = *a->v;
  r->kb = *b->v;
  r->av = a->node || a->is_arr ? a->v : NULL;
  r->bv = b->node || b->is_arr ? b->v : NULL;
  if (!(facts & AD_SAVES)) { /* constant partials: the rule's own, evaluated once */
    double v;
    ad_op_eval(op, 1.0, 1.0, &v, &r->ca, &r->cb);
  }
  return ga_result(e->v, e->shape, nd);
}

ad_arr graph__arr_data(graph_ctx *c, const double *d, int64_t n) {
  if (!d || n < 1 || n > AD_ARR_MAX_N) return graph__arr_bad(c, AD_EINVAL);
  return ga_result((double *)d, ad_shape_1((int32_t)n), NULL); /* never written: only op results are */
}

ad_arr graph__arr_stack(graph_ctx *c, graph_node *const *x, int64_t n) {
  if (!x || n < 1 || n > AD_ARR_MAX_N) return graph__arr_bad(c, AD_EINVAL);
  for (int64_t j = 0; j < n; ++j)
    if (!x[j]) return graph__arr_bad(c, AD_EINVAL);
    else if (ga_foreign(c, x[j])) return graph__foreign(c), graph__arr_bad(c, AD_OK);
  double *v = ga_doubles(c, n);
  if (!v) return graph__arr_bad(c, AD_OK);
  int active = 0, run = ga_req(c, x[0]);
  for (int64_t j = 0; j < n; ++j) {
    int req = ga_req(c, x[j]);
    v[j] = x[j]->value;
    active |= req;
    run = run && req && x[j]->id == x[0]->id + (uint32_t)j;
  }
  if (!active) return ga_result(v, ad_shape_1((int32_t)n), NULL);
  uint32_t *si = NULL;
  if (!run) {
    if (!(si = (uint32_t *)ga_alloc(c, (size_t)n * sizeof *si))) return graph__arr_bad(c, AD_OK);
    for (int64_t j = 0; j < n; ++j) si[j] = ga_req(c, x[j]) ? x[j]->id : 0;
  }
  graph_node *nd;
  graph_arec *r = ga_push(c, GA_STACK, GRAPH_OP_ARR + AD_AOP_stack, n, NAN, &nd);
  if (!r) return graph__arr_bad(c, AD_OK);
  r->a.id = si ? 0 : x[0]->id;
  r->si = si;
  r->v = v;
  return ga_result(v, ad_shape_1((int32_t)n), nd);
}

ad_arr graph__arr_view(graph_ctx *c, ad_arr x, int kind, int64_t p, int64_t q) {
  int64_t off = 0;
  ad_shape s;
  ad_status st = kind == GRAPH__VIEW_SLICE ? ad_v_slice(x.shape, p, q, &off, &s)
                 : kind == GRAPH__VIEW_ROW ? ad_v_row(x.shape, p, &off, &s)
                                           : ad_v_reshape(x.shape, p, q, &s);
  if (st != AD_OK) return graph__arr_bad(c, st);
  if (ga_foreign(c, x.node)) return graph__foreign(c), graph__arr_bad(c, AD_OK);
  if (!ga_req(c, x.node)) return ga_result(x.v + off, s, NULL);
  graph_node *nd;
  uint32_t code = GRAPH_OP_ARR + (kind == GRAPH__VIEW_RESHAPE ? AD_AOP_reshape : AD_AOP_slice);
  graph_arec *r = ga_push(c, GA_VIEW, code, ad_shape_n(s), NAN, &nd);
  if (!r) return graph__arr_bad(c, AD_OK);
  r->a = ga_ref_arr(c, x, 1);
  r->k = off;
  r->v = x.v + off;
  return ga_result(x.v + off, s, nd);
}

graph_node *graph__arr_get(graph_ctx *c, ad_arr x, int64_t i) {
  if (x.shape.ndim == 0) return ga_nan(c, AD_EINVAL);
  if (i < 0 || i >= ad_shape_n(x.shape)) return ga_nan(c, AD_ERANGE);
  if (ga_foreign(c, x.node)) return graph__foreign(c);
  if (!ga_req(c, x.node)) return graph__const(c, x.v[i]);
  graph_node *nd;
  graph_arec *r = ga_push(c, GA_GET, GRAPH_OP_ARR + AD_AOP_get, 0, x.v[i], &nd);
  if (!r) return ga_nan(c, AD_OK);
  r->a = ga_ref_arr(c, x, 1);
  r->k = i;
  return nd;
}

ad_arr graph__arr_gather(graph_ctx *c, ad_arr x, const int32_t *idx, int64_t n) {
  ad_status st = ad_v_gather_check(x.shape, idx, n);
  if (st != AD_OK) return graph__arr_bad(c, st);
  if (ga_foreign(c, x.node)) return graph__foreign(c), graph__arr_bad(c, AD_OK);
  double *v = ga_doubles(c, n);
  if (!v) return graph__arr_bad(c, AD_OK);
  for (int64_t j = 0; j < n; ++j) v[j] = x.v[idx[j]];
  if (!ga_req(c, x.node)) return ga_result(v, ad_shape_1((int32_t)n), NULL);
  int32_t *ic = (int32_t *)ga_alloc(c, (size_t)n * sizeof *ic);
  if (!ic) return graph__arr_bad(c, AD_OK);
  memcpy(ic, idx, (size_t)n * sizeof *ic);
  graph_node *nd;
  graph_arec *r = ga_push(c, GA_GATHER, GRAPH_OP_ARR + AD_AOP_gather, n, NAN, &nd);
  if (!r) return graph__arr_bad(c, AD_OK);
  r->a = ga_ref_arr(c, x, 1);
  r->sa = x.shape;
  r->idx = ic;
  r->v = v;
  return ga_result(v, ad_shape_1((int32_t)n), nd);
}

static graph_node *ga_reduce(graph_ctx *c, ad_arr x, int kind) {
  if (x.shape.ndim == 0) return ga_nan(c, AD_EINVAL);
  if (ga_foreign(c, x.node)) return graph__foreign(c);
  int64_t n = ad_shape_n(x.shape);
  double v = kind == GA_SUM ? ad_v_sum(x.v, n) : ad_v_max(x.v, n);
  if (!ga_req(c, x.node)) return graph__const(c, v);
  graph_node *nd;
  graph_arec *r = ga_push(c, kind, GRAPH_OP_ARR + (kind == GA_SUM ? AD_AOP_sum : AD_AOP_max), 0, v, &nd);
  if (!r) return ga_nan(c, AD_OK);
  r->a = ga_ref_arr(c, x, 1);
  r->sa = x.shape;
  r->av = x.v;
  r->ca = v;
  return nd;
}
graph_node *graph__arr_sum(graph_ctx *c, ad_arr x) { return ga_reduce(c, x, GA_SUM); }
graph_node *graph__arr_max(graph_ctx *c, ad_arr x) { return ga_reduce(c, x, GA_MAX); }

static ad_arr ga_reduce_axis(graph_ctx *c, ad_arr x, int axis, int kind) {
  ad_shape s;
  ad_status st = ad_v_axis_shape(x.shape, axis, &s);
  if (st != AD_OK) return graph__arr_bad(c, st);
  if (ga_foreign(c, x.node)) return graph__foreign(c), graph__arr_bad(c, AD_OK);
  double *v = ga_doubles(c, ad_shape_n(s));
  if (!v) return graph__arr_bad(c, AD_OK);
  if (kind == GA_SUM_AXIS) ad_v_sum_axis(x.v, x.shape, axis, v);
  else ad_v_max_axis(x.v, x.shape, axis, v);
  if (!ga_req(c, x.node)) return ga_result(v, s, NULL);
  graph_node *nd;
  uint32_t code = GRAPH_OP_ARR + (kind == GA_SUM_AXIS ? AD_AOP_sum_axis : AD_AOP_max_axis);
  graph_arec *r = ga_push(c, kind, code, ad_shape_n(s), NAN, &nd);
  if (!r) return graph__arr_bad(c, AD_OK);
  r->a = ga_ref_arr(c, x, 1);
  r->sa = x.shape;
  r->ta = (int8_t)axis;
  r->av = x.v;
  r->v = v;
  return ga_result(v, s, nd);
}
ad_arr graph__arr_sum_axis(graph_ctx *c, ad_arr x, int axis) { return ga_reduce_axis(c, x, axis, GA_SUM_AXIS); }
ad_arr graph__arr_max_axis(graph_ctx *c, ad_arr x, int axis) { return ga_reduce_axis(c, x, axis, GA_MAX_AXIS); }

graph_node *graph__arr_dot(graph_ctx *c, ad_arr x, ad_arr y) {
  if (x.shape.ndim != 1 || !ad_shape_eq(x.shape, y.shape)) return ga_nan(c, AD_EINVAL);
  if (ga_foreign(c, x.node) || ga_foreign(c, y.node)) return graph__foreign(c);
  double v = ad_v_dot(x.v, 1, y.v, 1, x.shape.cols);
  if (!ga_req(c, x.node) && !ga_req(c, y.node)) return graph__const(c, v);
  graph_node *nd;
  graph_arec *r = ga_push(c, GA_DOT, GRAPH_OP_ARR + AD_AOP_dot, 0, v, &nd);
  if (!r) return ga_nan(c, AD_OK);
  r->a = ga_ref_arr(c, x, 1);
  r->b = ga_ref_arr(c, y, 1);
  r->sa = x.shape;
  r->av = x.v;
  r->bv = y.v;
  return nd;
}

ad_arr graph__arr_mv(graph_ctx *c, ad_arr a, int ta, ad_arr x) {
  ad_shape s;
  if (ad_v_mv_shape(a.shape, ta, x.shape, &s) != AD_OK) return graph__arr_bad(c, AD_EINVAL);
  if (ga_foreign(c, a.node) || ga_foreign(c, x.node)) return graph__foreign(c), graph__arr_bad(c, AD_OK);
  double *v = ga_doubles(c, ad_shape_n(s));
  if (!v) return graph__arr_bad(c, AD_OK);
  ad_v_mv(a.v, a.shape, ta, x.v, v);
  if (!ga_req(c, a.node) && !ga_req(c, x.node)) return ga_result(v, s, NULL);
  graph_node *nd;
  graph_arec *r = ga_push(c, GA_MV, GRAPH_OP_ARR + AD_AOP_mv, ad_shape_n(s), NAN, &nd);
  if (!r) return graph__arr_bad(c, AD_OK);
  r->a = ga_ref_arr(c, a, 1);
  r->b = ga_ref_arr(c, x, 1);
  r->sa = a.shape;
  r->sb = x.shape;
  r->ta = (int8_t)(ta != 0);
  r->av = a.v;
  r->bv = x.v;
  r->v = v;
  return ga_result(v, s, nd);
}

ad_arr graph__arr_mm(graph_ctx *c, ad_arr a, int ta, ad_arr b, int tb) {
  ad_shape s;
  if (ad_v_mm_shape(a.shape, ta, b.shape, tb, &s) != AD_OK) return graph__arr_bad(c, AD_EINVAL);
  if (ga_foreign(c, a.node) || ga_foreign(c, b.node)) return graph__foreign(c), graph__arr_bad(c, AD_OK);
  double *v = ga_doubles(c, ad_shape_n(s));
  if (!v) return graph__arr_bad(c, AD_OK);
  ad_v_mm(a.v, a.shape, ta, b.v, b.shape, tb, v);
  if (!ga_req(c, a.node) && !ga_req(c, b.node)) return ga_result(v, s, NULL);
  graph_node *nd;
  graph_arec *r = ga_push(c, GA_MM, GRAPH_OP_ARR + AD_AOP_mm, ad_shape_n(s), NAN, &nd);
  if (!r) return graph__arr_bad(c, AD_OK);
  r->a = ga_ref_arr(c, a, 1);
  r->b = ga_ref_arr(c, b, 1);
  r->sa = a.shape;
  r->sb = b.shape;
  r->ta = (int8_t)(ta != 0);
  r->tb = (int8_t)(tb != 0);
  r->av = a.v;
  r->bv = b.v;
  r->v = v;
  return ga_result(v, s, nd);
}

/* ---- the graph's hooks (graph.h) ---- */

void graph__arr_free(graph_ctx *c) {
  struct graph_arrays *A = c->arrays;
  if (!A) return;
  ad_arena_free(&A->arena);
  ad_free(A->recs, A->caprec * sizeof *A->recs);
  ad_free(A->pool, A->cappool * sizeof *A->pool);
  ad_free(A, sizeof *A);
  c->arrays = NULL;
}

void graph__arr_reset(graph_ctx *c) {
  struct graph_arrays *A = c->arrays;
  if (!A) return;
  ad_arena_reset(&A->arena);
  A->nrec = A->npool = 0;
}

void graph__arr_release(graph_ctx *c, uint32_t mark) {
  struct graph_arrays *A = c->arrays;
  if (!A) return;
  while (A->nrec && A->recs[A->nrec - 1].id >= mark) A->nrec--;
  if (!A->nrec) {
    ad_arena_reset(&A->arena);
    A->npool = 0;
  }
  else A->arena.status = AD_OK; /* release clears the sticky error, as for the graph */
}

const char *graph__arr_torch(uint32_t op) {
  if (op >= GRAPH_OP_ARR_EW && op < GRAPH_OP_ARR_EW + AD_OP_COUNT) return ad_op_torch[op - GRAPH_OP_ARR_EW];
  if (op >= GRAPH_OP_ARR && op < GRAPH_OP_ARR + AD_AOP_COUNT) return ad_aop_torch[op - GRAPH_OP_ARR];
  return NULL;
}

uint64_t graph__arr_bytes_used(const graph_ctx *c) {
  const struct graph_arrays *A = c->arrays;
  return A ? (uint64_t)A->arena.used + (uint64_t)A->nrec * sizeof(graph_arec) : 0;
}
uint64_t graph__arr_bytes_held(const graph_ctx *c) {
  const struct graph_arrays *A = c->arrays;
  return A ? sizeof *A + A->arena.held + (uint64_t)A->caprec * sizeof(graph_arec) + A->cappool * sizeof(graph_gbuf) : 0;
}

static const graph_arec *ga_rec_of(const graph_ctx *c, const graph_node *n) {
  assert(graph__is_arr_op(n->meta) && c->arrays && n->a >= 1 && n->a <= c->arrays->nrec && "an array node without its record");
  return &c->arrays->recs[n->a - 1];
}

uint32_t graph__arr_edges(const graph_ctx *c, const graph_node *n) {
  const graph_arec *r = ga_rec_of(c, n);
  if (r->kind != GA_STACK) return (r->a.id != 0) + (r->b.id != 0);
  if (!r->si) return r->n;
  uint32_t e = 0;
  for (uint32_t j = 0; j < r->n; ++j) e += r->si[j] != 0;
  return e;
}

int graph_arr_is_array_node(const graph_node *n) {
  if (!n || !graph__is_arr_op(n->meta)) return 0;
  uint32_t op = n->meta & GRAPH_OP_MASK;
  return op >= GRAPH_OP_ARR_EW || !(op == GRAPH_OP_ARR + AD_AOP_get || op == GRAPH_OP_ARR + AD_AOP_sum ||
                                    op == GRAPH_OP_ARR + AD_AOP_max || op == GRAPH_OP_ARR + AD_AOP_dot);
}

static graph_edge ga_edge(const graph_ctx *c, uint32_t id) {
  graph_edge e = {NULL, NULL};
  if (!id) return e;
  e.node = ga_node(c, id);
  e.name = (e.node->meta & GRAPH_F_LEAF) ? "AccumulateGrad" : graph_grad_fn_name(e.node);
  return e;
}

ad_status graph_arr_next_functions(const graph_ctx *c, const graph_node *n, graph_edge *out, int cap, int *count) {
  if (count) *count = 0;
  if (!c || !n || !count || (cap > 0 && !out) || cap < 0) return AD_EINVAL;
  if (!graph__is_arr_op(n->meta) || (n->meta & GRAPH_F_LEAF)) { /* a scalar node: at most two inputs */
    graph_edge two[2];
    ad_status st = graph_next_functions(c, n, two, count);
    for (int k = 0; k < *count && k < cap; ++k) out[k] = two[k];
    return st;
  }
  if (!graph__ours(c, n) || n->id == 0 || !c->arrays || n->a < 1 || n->a > c->arrays->nrec) return AD_EINVAL;
  const graph_arec *r = ga_rec_of(c, n);
  int k = 0;
  if (r->kind == GA_STACK) {
    for (uint32_t j = 0; j < r->n; ++j, ++k)
      if (k < cap) out[k] = ga_edge(c, r->si ? r->si[j] : r->a.id + j);
  } else {
    /* elementwise ops as for scalars (graph.c): one entry for unary ops and the ops whose PyTorch form takes one
     * tensor (AD_TORCH1: the variable operand), else two, None for a constant operand */
    int one = r->kind == GA_EW && (ad_op_kind[r->op] == AD_KIND_U || (ad_op_facts[r->op] & AD_TORCH1));
    int two = r->kind == GA_EW ? !one : r->kind == GA_DOT || r->kind == GA_MV || r->kind == GA_MM;
    if (k < cap) out[k] = ga_edge(c, one && ad_op_kind[r->op] == AD_KIND_CV ? r->b.id : r->a.id);
    k++;
    if (two) {
      if (k < cap) out[k] = ga_edge(c, r->b.id);
      k++;
    }
  }
  *count = k;
  return AD_OK;
}

/* A zeroed buffer of at least n doubles not taken in this assignment: the smallest free one, or a new one. */
static uint32_t ga_take(struct graph_arrays *A, uint32_t n) {
  uint32_t best = UINT32_MAX;
  for (uint32_t k = 0; k < A->npool; ++k)
    if (!A->pool[k].busy && A->pool[k].cap >= n && (best == UINT32_MAX || A->pool[k].cap < A->pool[best].cap)) best = k;
  if (best == UINT32_MAX) {
    if (A->npool == A->cappool) {
      uint32_t cap = A->cappool ? 2 * A->cappool : 16;
      graph_gbuf *p = (graph_gbuf *)ad_realloc(A->pool, A->cappool * sizeof *p, cap * sizeof *p);
      if (!p) return 0;
      A->pool = p;
      A->cappool = cap;
    }
    ad_status keep = A->arena.status;
    double *g = (double *)ad_arena_alloc(&A->arena, (size_t)n * sizeof(double));
    if (!g) {
      A->arena.status = keep; /* a failed backward leaves the recording's status alone */
      return 0;
    }
    memset(g, 0, (size_t)n * sizeof(double));
    best = A->npool++;
    A->pool[best].p = g;
    A->pool[best].cap = n;
  }
  A->pool[best].busy = 1;
  return best + 1;
}

/* Gives record ri (1-based) its gradient array, a view its base's; 0 if memory is exhausted. */
static int ga_ensure(struct graph_arrays *A, uint32_t ri) {
  graph_arec *r = &A->recs[ri - 1];
  if (r->g || !r->n) return 1;
  if (r->kind == GA_VIEW) {
    if (!ga_ensure(A, r->a.rec)) return 0;
    r->g = A->recs[r->a.rec - 1].g + r->k;
    return 1;
  }
  uint32_t b = ga_take(A, r->n);
  if (!b) return 0;
  r->gb = b;
  r->g = A->pool[b - 1].p;
  return 1;
}

/* Assigns gradient buffers for one backward pass, walking the records as the sweep will (newest first): a record
 * takes a buffer when the first of its users is visited and gives it back once it has been visited itself, so
 * records whose gradients are never live at the same time share one (on rosenbrock_t: 4 buffers for 8 array
 * results). Buffers are zero outside a pass, so the assignment can change from one pass to the next. */
ad_status graph__arr_prepare(graph_ctx *c) {
  struct graph_arrays *A = c->arrays;
  if (!A || !A->nrec) return AD_OK;
  for (uint32_t k = 0; k < A->npool; ++k) A->pool[k].busy = 0;
  for (uint32_t i = 0; i < A->nrec; ++i) A->recs[i].g = NULL, A->recs[i].gb = 0;
  for (uint32_t i = A->nrec; i-- > 0;) {
    graph_arec *r = &A->recs[i];
    if (r->a.rec && !ga_ensure(A, r->a.rec)) return AD_ENOMEM;
    if (r->b.rec && !ga_ensure(A, r->b.rec)) return AD_ENOMEM;
    if (r->gb) A->pool[r->gb - 1].busy = 0; /* visited: its buffer is zero again and free for older records */
  }
  return AD_OK;
}

/* Marks node id (an input of a visited node); returns 1 if it was not marked yet. */
AD_INLINE uint32_t ga_mark(graph_ctx *c, uint32_t id) {
  if (!id) return 0;
  graph_node *p = ga_node(c, id);
  uint32_t m = p->meta;
  p->meta = m | GRAPH_F_MARK;
  return !(m & GRAPH_F_MARK);
}

/* The gradient array of an array operand. */
AD_INLINE double *ga_grad(struct graph_arrays *A, const graph_aref *o) { return A->recs[o->rec - 1].g; }

enum { GA_BLOCK = 256 };

/* The elementwise kernel of op (ad_kernels.h), for the backward's recomputed partials. */
static void ga_kernel(unsigned op, size_t n, const double *a, size_t sa, const double *b, size_t sb, double *v,
                      double *pa, double *pb) {
  switch (op) {
#define AD_OP(name, kind, torch, facts, pre, value, da, db)                                                    \
  case AD_OP_##name: ad_k_##name(n, a, sa, b, sb, v, pa, pb); break;
#include "../ad_ops.def"
#undef AD_OP
  default: assert(0 && "bad op in an array record");
  }
}

/* Operand o += sum_i p_i * ybar_i over the block of n elements from i0 (p the block's partials, or the constant
 * cp). */
static void ga_ew_back(graph_ctx *c, const graph_aref *o, const double *p, double cp, const double *ybar, uint32_t i0,
                       uint32_t n) {
  if (!o->id) return;
  if (o->rec && o->stride) {
    double *ob = ga_grad(c->arrays, o) + i0;
    if (p)
      for (uint32_t i = 0; i < n; ++i) ob[i] += p[i] * ybar[i];
    else
      for (uint32_t i = 0; i < n; ++i) ob[i] += cp * ybar[i];
    return;
  }
  double acc = 0.0;
  if (p)
    for (uint32_t i = 0; i < n; ++i) acc += p[i] * ybar[i];
  else
    for (uint32_t i = 0; i < n; ++i) acc += cp * ybar[i];
  if (o->rec) ga_grad(c->arrays, o)[0] += acc;
  else ga_node(c, o->id)->acc += acc;
}

/* The gradient share of element x of a max whose result is m: 1/ties at the largest elements (NaN: at NaNs). */
static int ga_is_max(double x, double m) { return x == m || (m != m && x != x); }

/* 1 if the grad_fn of record r saves tensors (PyTorch frees them after a backward without retain_graph). */
static int ga_saves(const graph_arec *r) {
  switch (r->kind) {
  case GA_EW: return (int)((ga_saves_mask >> r->op) & 1u);
  case GA_GATHER: case GA_MAX: case GA_MAX_AXIS: case GA_DOT: case GA_MV: case GA_MM: return 1;
  default: return 0;
  }
}

uint32_t graph__arr_visit(graph_ctx *c, graph_node *nd, double g, int propagate, int free_saved) {
  struct graph_arrays *A = c->arrays;
  const graph_arec *r = ga_rec_of(c, nd);
  if (free_saved && ga_saves(r)) nd->meta |= GRAPH_F_FREED;
  uint32_t marked = 0;
  if (r->kind == GA_STACK)
    for (uint32_t j = 0; j < r->n; ++j) marked += ga_mark(c, r->si ? r->si[j] : r->a.id + j);
  else
    marked = ga_mark(c, r->a.id) + ga_mark(c, r->b.id);
  if (!propagate) return marked;
  const double *ybar = r->g; /* array results */
  if (r->n && !ybar) return marked; /* no user: nothing reached it */
  double *xb = r->a.rec ? ga_grad(A, &r->a) : NULL;
  switch (r->kind) {
  case GA_EW: {
    const double *as = r->av ? r->av : &r->ka, *bs = r->bv ? r->bv : &r->kb;
    const int saves = (int)((ga_saves_mask >> r->op) & 1u);
    double vb[GA_BLOCK], pa[GA_BLOCK], pb[GA_BLOCK];
    for (uint32_t i0 = 0; i0 < r->n; i0 += GA_BLOCK) {
      uint32_t m = r->n - i0 < GA_BLOCK ? r->n - i0 : GA_BLOCK;
      if (saves) /* this block's partials, recomputed by the op's kernel from the operand values */
        ga_kernel(r->op, m, as + (size_t)i0 * r->vsa, r->vsa, bs + (size_t)i0 * r->vsb, r->vsb, vb,
                  r->a.id ? pa : NULL, r->b.id ? pb : NULL);
      ga_ew_back(c, &r->a, saves ? pa : NULL, r->ca, ybar + i0, i0, m);
      ga_ew_back(c, &r->b, saves ? pb : NULL, r->cb, ybar + i0, i0, m);
    }
    break;
  }
  case GA_STACK:
    for (uint32_t j = 0; j < r->n; ++j) {
      uint32_t id = r->si ? r->si[j] : r->a.id + j;
      if (id) ga_node(c, id)->acc += ybar[j];
    }
    break;
  case GA_VIEW: return marked; /* its gradient is its base's: nothing to pass on, nothing to zero */
  case GA_GET: xb[r->k] += g; break;
  case GA_GATHER:
    for (uint32_t j = 0; j < r->n; ++j) xb[r->idx[j]] += ybar[j];
    break;
  case GA_SUM:
    for (int64_t i = 0, n = ad_shape_n(r->sa); i < n; ++i) xb[i] += g;
    break;
  case GA_MAX: {
    int64_t n = ad_shape_n(r->sa), ties = 0;
    for (int64_t i = 0; i < n; ++i) ties += ga_is_max(r->av[i], r->ca);
    double share = g / (double)ties;
    for (int64_t i = 0; i < n; ++i)
      if (ga_is_max(r->av[i], r->ca)) xb[i] += share;
    break;
  }
  case GA_SUM_AXIS:
  case GA_MAX_AXIS: {
    int axis = r->ta;
    int64_t len = ad_v_axis_len(r->sa, axis);
    for (uint32_t j = 0; j < r->n; ++j) {
      if (r->kind == GA_SUM_AXIS) {
        for (int64_t k = 0; k < len; ++k) xb[ad_v_axis_at(r->sa, axis, j, k)] += ybar[j];
        continue;
      }
      int64_t ties = 0;
      for (int64_t k = 0; k < len; ++k) ties += ga_is_max(r->av[ad_v_axis_at(r->sa, axis, j, k)], r->v[j]);
      double share = ybar[j] / (double)ties;
      for (int64_t k = 0; k < len; ++k)
        if (ga_is_max(r->av[ad_v_axis_at(r->sa, axis, j, k)], r->v[j])) xb[ad_v_axis_at(r->sa, axis, j, k)] += share;
    }
    break;
  }
  case GA_DOT: {
    int64_t n = r->sa.cols;
    if (r->a.rec)
      for (int64_t k = 0; k < n; ++k) xb[k] += g * r->bv[k];
    if (r->b.rec) {
      double *yb = ga_grad(A, &r->b);
      for (int64_t k = 0; k < n; ++k) yb[k] += g * r->av[k];
    }
    break;
  }
  case GA_MV: {
    int ta = r->ta;
    int32_t rows = ad_mat_rows(r->sa, ta), kk = ad_mat_cols(r->sa, ta);
    double *bb = r->b.rec ? ga_grad(A, &r->b) : NULL;
    for (int32_t i = 0; i < rows; ++i) {
      double yb = ybar[i];
      for (int32_t k = 0; k < kk; ++k) {
        size_t at = ad_mat_at(r->sa, ta, i, k);
        if (xb) xb[at] += yb * r->bv[k];
        if (bb) bb[k] += r->av[at] * yb;
      }
    }
    break;
  }
  case GA_MM: {
    int ta = r->ta, tb = r->tb;
    int32_t rows = ad_mat_rows(r->sa, ta), kk = ad_mat_cols(r->sa, ta), m = ad_mat_cols(r->sb, tb);
    double *bb = r->b.rec ? ga_grad(A, &r->b) : NULL;
    for (int32_t i = 0; i < rows; ++i)
      for (int32_t j = 0; j < m; ++j) {
        double cb = ybar[(size_t)i * m + j];
        for (int32_t k = 0; k < kk; ++k) {
          size_t ai = ad_mat_at(r->sa, ta, i, k), bi = ad_mat_at(r->sb, tb, k, j);
          if (xb) xb[ai] += cb * r->bv[bi];
          if (bb) bb[bi] += r->av[ai] * cb;
        }
      }
    break;
  }
  default: assert(0 && "unknown array record");
  }
  if (r->n) memset(r->g, 0, (size_t)r->n * sizeof(double)); /* passed on: zero again outside a pass */
  return marked;
}
