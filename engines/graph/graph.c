/* graph.c: the node arena, the backward sweep, PyTorch's rules and the DOT export of the graph engine (graph.h). */
#include "graph.h"

#include <assert.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>

/* ---- PyTorch facts about each op ------------------------------------------------------------------------------- */

_Static_assert((int)AD_OP_COUNT <= 64 && (int)AD_OP_COUNT < (int)GRAPH_OP_LEAF, "op codes must fit the 64-bit masks and 8 bits");
_Static_assert(sizeof(graph_node) == 48, "a node is 48 bytes");

/* The ops whose facts (ad_ops.def) include flag f, as a bit mask over op codes. */
#define GRAPH__MASK_BIT(name, f, facts) | (((facts) & (f)) ? (uint64_t)1 << AD_OP_##name : 0u)

/* grad_fns that save tensors for backward (AD_SAVES): a backward without retain_graph frees them, and running them
 * again fails as in PyTorch. The others (add, sub, rsub, neg: constant partials) can run again. */
static const uint64_t graph__saves = 0
#define AD_OP(name, kind, torch, facts, pre, value, da, db) GRAPH__MASK_BIT(name, AD_SAVES, facts)
#include "../ad_ops.def"
#undef AD_OP
    ;

/* PyTorch ops with one tensor input (so one next_functions entry) besides the unary ones (AD_TORCH1): x ** k
 * (pow.Tensor_Scalar), k - x (rsub.Scalar), k ** x (pow.Scalar). Every other op with a constant operand takes it as
 * a wrapped-number tensor, whose next_functions entry is None. */
static const uint64_t graph__one_input = 0
#define AD_OP(name, kind, torch, facts, pre, value, da, db) GRAPH__MASK_BIT(name, AD_TORCH1, facts)
#include "../ad_ops.def"
#undef AD_OP
    ;

#define GRAPH_MSG_FREED                                                                                        \
  "Trying to backward through the graph a second time (or directly access saved tensors after they have "      \
  "already been freed). Saved intermediate values of the graph are freed when you call .backward() or "        \
  "autograd.grad(). Specify retain_graph=True if you need to backward through the graph a second time or if "  \
  "you need to access saved tensors after calling backward."
#define GRAPH_MSG_NOGRAD "element %d of tensors does not require grad and does not have a grad_fn"
#define GRAPH_MSG_LEAF_FLAG                                                                                    \
  "you can only change requires_grad flags of leaf variables. If you want to use a computed variable in a "    \
  "subgraph that doesn't require differentiation use var_no_grad = var.detach()."
#define GRAPH_MSG_RETAIN "can't retain_grad on Tensor that has requires_grad=False"
#define GRAPH_MSG_HOOK "cannot register a hook on a tensor that doesn't require gradient"
#define GRAPH_MSG_CKPT "retain_grad and hooks are not supported on the outputs of a checkpointed region"

/* ---- Side table: retained grads, hooks, names ------------------------------------------------------------------ */

struct graph_side {
  uint32_t id;
  uint32_t has_grad;   /* retained grad defined */
  double grad;         /* retained grad */
  uint32_t hook_first; /* 1 + index of the first hook in c->hooks; 0: none */
  uint32_t hook_last;
  char name[32];
};

struct graph_hook {
  graph_hook_fn fn;
  void *user;
  uint32_t id;   /* the node it belongs to */
  uint32_t next; /* 1 + index of the node's next hook; 0: last */
};

enum { GRAPH_FIRST_CHUNK = 256 };
#define GRAPH_MAX_CHUNKS ((uint32_t)1 << (32 - GRAPH_CHUNK_SHIFT))

/* Chunk k's nodes; ch is the node stream's chunk directory. */
AD_INLINE graph_node *chunk_nodes(adc_chunk *const *ch, uint32_t k) { return (graph_node *)adc_chunk_data(ch[k]); }

AD_INLINE graph_node *node_at(adc_chunk *const *ch, uint32_t i) {
  return chunk_nodes(ch, i >> GRAPH_CHUNK_SHIFT) + (i & GRAPH_CHUNK_MASK);
}

static void set_err(graph_ctx *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->err, sizeof c->err, fmt, ap);
  va_end(ap);
}

/* Index the next real node receives (valid after an allocation failure too). */
static uint32_t real_next(const graph_ctx *c) {
  if (c->status == AD_OK) return c->next;
  return (uint32_t)adc_next_number(&c->nodes);
}

/* Nodes written in chunk k (at most the current one). */
static uint32_t chunk_count(const graph_ctx *c, uint32_t k) {
  adc_pos p = adc_tell(&c->nodes);
  return (uint32_t)(k == p.chunk->seq ? p.off : c->nodes.dir[k]->used);
}

/* A node of this context recorded since the last reset and not released (placeholders excluded). */
static int is_live(const graph_ctx *c, const graph_node *n) {
  return n->id != 0 && n->id < real_next(c) && graph__ours(c, n);
}

/* Why n is not live: AD_EFOREIGN for a node of another context or generation (with a message), else AD_EINVAL. */
static ad_status bad_node(graph_ctx *c, const graph_node *n) {
  if (!c || !n || graph__ours(c, n)) return AD_EINVAL;
  set_err(c, "a node of another context, or from before the last graph_reset or graph_shrink");
  return AD_EFOREIGN;
}

static void fail(graph_ctx *c, ad_status s) {
  if (c->status == AD_OK) c->status = s;
  adc_sink(&c->nodes, &c->scratch, NULL, 1);
  c->next = 0; /* placeholders have index 0 */
}

void graph__grow(graph_ctx *c) {
  if (c->status != AD_OK) { /* already failed: hand out the placeholder again */
    fail(c, c->status);
    return;
  }
  if (c->nodes.cur->seq + 1 >= GRAPH_MAX_CHUNKS) {
    set_err(c, "graph: more than 2^32 nodes");
    fail(c, AD_ERANGE);
    return;
  }
  ad_status s = adc_grow(&c->nodes, 1);
  if (s != AD_OK) fail(c, s);
  else c->next = (uint32_t)c->nodes.first; /* chunk k's nodes are numbered from k << GRAPH_CHUNK_SHIFT */
}

/* ---- Context --------------------------------------------------------------------------------------------------- */

graph_ctx *graph_new(void) {
  graph_ctx *c = (graph_ctx *)ad_calloc(sizeof *c);
  if (!c) return NULL;
  const adc_spec spec = {{sizeof(graph_node), 0}, GRAPH_FIRST_CHUNK, (size_t)1 << GRAPH_CHUNK_SHIFT, GRAPH_CHUNK_SHIFT, 0};
  if (adc_init(&c->nodes, &spec) != AD_OK) {
    ad_free(c, sizeof *c);
    return NULL;
  }
  c->no_grad_depth = 0;
  c->grad_mask = GRAPH_F_REQ;
  graph_reset(c);
  return c;
}

void graph_free(graph_ctx *c) {
  if (!c) return;
  graph__arr_free(c);
  adc_free(&c->nodes);
  ad_free(c->side, c->side_cap * sizeof *c->side);
  ad_free(c->hooks, c->hook_cap * sizeof *c->hooks);
  ad_free(c, sizeof *c);
}

/* The tag of c's current generation, in bits 16-31: a hash of the context's address and its generation, so that
 * nodes of two contexts, or of two generations of one, differ (up to one chance in 65536). */
static uint32_t graph__tag_of(const graph_ctx *c) {
  uint64_t h = ((uint64_t)(uintptr_t)c >> 4) * 0x9E3779B97F4A7C15ull + (uint64_t)c->generation * 0xBF58476D1CE4E5B9ull;
  return (uint32_t)(h >> 48) << GRAPH_TAG_SHIFT;
}

graph_node *graph__foreign(graph_ctx *c) {
  if (c->status == AD_OK)
    set_err(c, "an op was given a node of another context, or from before the last graph_reset or graph_shrink");
  fail(c, AD_EFOREIGN);
  return graph__const(c, NAN);
}

ad_status graph_reset(graph_ctx *c) {
  if (!c) return AD_EINVAL;
  if (c->in_backward) {
    set_err(c, "graph_reset called from a hook during backward");
    return AD_ESTATE;
  }
  if (c->ck_release) c->ck_release(c, 1);
  c->generation++;
  c->tag = graph__tag_of(c);
  c->status = AD_OK;
  c->n_side = 0;
  c->n_hooks = 0;
  c->freed_lo = UINT32_MAX;
  c->err[0] = '\0';
  graph__arr_reset(c);
  /* Node 0 stands for every input that does not require grad: the sweep adds their (zero) partials into it.
   * It stays marked, so reaching it never counts as reaching a new node. */
  adc_reset(&c->nodes);
  graph_node *s = ADC_LANE(&c->nodes, graph_node) + adc_push(&c->nodes, 1);
  memset(s, 0, sizeof *s);
  s->meta = GRAPH_OP_LEAF | GRAPH_F_LEAF | GRAPH_F_MARK;
  c->next = 1;
  memset(&c->scratch, 0, sizeof c->scratch);
  c->scratch.meta = GRAPH_OP_LEAF | GRAPH_F_LEAF | c->tag;
  return AD_OK;
}

ad_status graph_shrink(graph_ctx *c) {
  if (!c) return AD_EINVAL;
  if (c->in_backward) { /* freeing the arena under the sweep would be a use after free */
    set_err(c, "graph_shrink called from a hook during backward");
    return AD_ESTATE;
  }
  adc_shrink(&c->nodes);
  graph__arr_free(c);
  ad_free(c->side, c->side_cap * sizeof *c->side);
  ad_free(c->hooks, c->hook_cap * sizeof *c->hooks);
  c->side = NULL;
  c->hooks = NULL;
  c->side_cap = c->hook_cap = 0;
  return graph_reset(c);
}

graph_mark_t graph_mark(const graph_ctx *c) { return c ? real_next(c) : 0; }

static uint32_t side_lower_bound(const graph_ctx *c, uint32_t id) {
  uint32_t lo = 0, hi = c->n_side;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (c->side[mid].id < id) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

static graph_side *side_find(const graph_ctx *c, uint32_t id) {
  uint32_t i = side_lower_bound(c, id);
  return i < c->n_side && c->side[i].id == id ? &c->side[i] : NULL;
}

ad_status graph_release(graph_ctx *c, graph_mark_t mark) {
  if (!c) return AD_EINVAL;
  uint32_t top = real_next(c);
  if (mark < 1 || mark > top) {
    set_err(c, "graph_release: mark %u is not between 1 and the current top %u", (unsigned)mark, (unsigned)top);
    return AD_EINVAL;
  }
  if (c->in_backward) {
    set_err(c, "graph_release called from a hook during backward");
    return AD_ESTATE;
  }
  uint32_t k = mark >> GRAPH_CHUNK_SHIFT, off = mark & GRAPH_CHUNK_MASK;
  if (off == 0) { /* the end of a full chunk k - 1 (a new chunk is entered only to write a node into it) */
    k -= 1;
    off = 1u << GRAPH_CHUNK_SHIFT;
  }
  adc_chunk *ck = adc_chunk_at(&c->nodes, k);
  if (!ck || off > ck->cap) { /* an index in the gap after a small chunk: no mark */
    set_err(c, "graph_release: %u is not a mark", (unsigned)mark);
    return AD_EINVAL;
  }
  if (c->ck_release) c->ck_release(c, mark);
  /* Later chunks are kept for reuse; `used` of chunks below k is unchanged. */
  c->status = AD_OK;
  adc_pos p = {ck, off};
  adc_rewind(&c->nodes, p);
  c->next = mark;
  /* Side entries and hooks of released nodes go; the hooks that stay are relinked in registration order. */
  c->n_side = side_lower_bound(c, mark);
  for (uint32_t i = 0; i < c->n_side; ++i) c->side[i].hook_first = c->side[i].hook_last = 0;
  uint32_t kept = 0;
  for (uint32_t i = 0; i < c->n_hooks; ++i) {
    graph_hook h = c->hooks[i];
    if (h.id >= mark) continue;
    graph_side *e = side_find(c, h.id);
    assert(e && "a hook without a side entry");
    h.next = 0;
    c->hooks[kept] = h;
    if (e->hook_last) c->hooks[e->hook_last - 1].next = kept + 1;
    else e->hook_first = kept + 1;
    e->hook_last = kept + 1;
    kept++;
  }
  c->n_hooks = kept;
  if (c->freed_lo >= mark) c->freed_lo = UINT32_MAX;
  graph__arr_release(c, mark);
  return AD_OK;
}

ad_status graph_status(const graph_ctx *c) { return c ? c->status : AD_EINVAL; }

const char *graph_last_error(const graph_ctx *c) { return c ? c->err : "invalid argument: NULL context"; }

graph_stats graph_get_stats(const graph_ctx *c) {
  graph_stats s;
  memset(&s, 0, sizeof s);
  s.bytes_per_node = (uint32_t)sizeof(graph_node);
  if (!c) return s;
  uint64_t nodes = 0, edges = 0, held = sizeof *c;
  for (uint32_t k = 0; k <= c->nodes.cur->seq; ++k) {
    uint32_t cnt = chunk_count(c, k);
    const graph_node *nd = chunk_nodes(c->nodes.dir, k);
    nodes += cnt;
    for (uint32_t j = k == 0 ? 1 : 0; j < cnt; ++j)
      edges += graph__is_arr_op(nd[j].meta) ? graph__arr_edges(c, &nd[j]) : (uint32_t)(nd[j].a != 0) + (nd[j].b != 0);
  }
  held += adc_bytes_held(&c->nodes) + (uint64_t)c->side_cap * sizeof(graph_side) +
          (uint64_t)c->hook_cap * sizeof(graph_hook);
  s.nodes = nodes - 1; /* node 0 is not a graph node */
  s.edges = edges;
  s.bytes_used = s.nodes * sizeof(graph_node) + graph__arr_bytes_used(c);
  s.bytes_held = held + graph__arr_bytes_held(c);
  return s;
}

/* ---- Nodes the user creates -------------------------------------------------------------------------------------- */

graph_node *graph_leaf(graph_ctx *c, double value, int requires_grad) {
  if (!c) return NULL;
  uint32_t meta = GRAPH_OP_LEAF | GRAPH_F_LEAF | (requires_grad ? GRAPH_F_REQ : 0u);
  return graph__rec(c, meta, value, 0, 0.0, 0, 0.0);
}

graph_node *graph_detach(graph_ctx *c, const graph_node *n) {
  if (!c || !n) return NULL;
  if (!graph__ours(c, n)) return graph__foreign(c);
  return graph__const(c, n->value);
}

/* ---- Inspecting a node ------------------------------------------------------------------------------------------- */

double graph_value(const graph_node *n) { return n ? n->value : NAN; }
int graph_is_leaf(const graph_node *n) { return n && (n->meta & GRAPH_F_LEAF) != 0; }
int graph_requires_grad(const graph_node *n) { return n && (n->meta & GRAPH_F_REQ) != 0; }

int graph_grad(const graph_ctx *c, const graph_node *n, double *out) {
  double g = 0.0;
  int has = 0;
  if (c && n && graph__ours(c, n)) {
    if (n->meta & GRAPH_F_LEAF) {
      has = (n->meta & GRAPH_F_HASGRAD) != 0;
      g = has ? n->da : 0.0;
    } else if (n->meta & GRAPH_F_RETAIN) {
      const graph_side *e = side_find(c, n->id);
      has = e && e->has_grad;
      g = has ? e->grad : 0.0;
    }
  }
  if (out) *out = g;
  return has;
}

const char *graph_grad_fn_name(const graph_node *n) {
  if (!n || (n->meta & GRAPH_F_LEAF)) return NULL;
  if ((n->meta & GRAPH_OP_MASK) == GRAPH_OP_CKPT) return "CheckpointFunctionBackward";
  if (graph__is_arr_op(n->meta)) return graph__arr_torch(n->meta & GRAPH_OP_MASK);
  return ad_op_torch[n->meta & GRAPH_OP_MASK];
}

static graph_edge edge_to(const graph_ctx *c, uint32_t id) {
  graph_edge e = {NULL, NULL};
  if (!id) return e;
  e.node = node_at(c->nodes.dir, id);
  e.name = (e.node->meta & GRAPH_F_LEAF) ? "AccumulateGrad" : graph_grad_fn_name(e.node);
  return e;
}

ad_status graph_next_functions(const graph_ctx *c, const graph_node *n, graph_edge out[2], int *count) {
  if (count) *count = 0;
  if (!c || !n || !out || !count) return AD_EINVAL;
  if (!is_live(c, n)) return bad_node((graph_ctx *)c, n); /* the message buffer is not part of the graph */
  if (n->meta & GRAPH_F_LEAF) return AD_OK;
  if (graph__is_arr_op(n->meta)) { /* graph_array.c: an array node's first two inputs */
    ad_status st = graph_arr_next_functions(c, n, out, 2, count);
    if (*count > 2) *count = 2;
    return st;
  }
  uint32_t op = n->meta & GRAPH_OP_MASK;
  if (op == GRAPH_OP_CKPT) return AD_OK; /* a checkpointed region's inputs are not listed */
  ad_kind kind = ad_op_kind[op];
  int one = kind == AD_KIND_U || ((graph__one_input >> op) & 1u);
  if (one) { /* the variable operand: a for U and VC, b for CV */
    out[0] = edge_to(c, kind == AD_KIND_CV ? n->b : n->a);
    *count = 1;
  } else { /* (a, b); a constant operand's entry is None */
    out[0] = edge_to(c, n->a);
    out[1] = edge_to(c, n->b);
    *count = 2;
  }
  return AD_OK;
}

graph_node *graph_node_at(const graph_ctx *c, uint32_t id) {
  if (!c || id == 0 || id >= real_next(c)) return NULL;
  uint32_t k = id >> GRAPH_CHUNK_SHIFT, j = id & GRAPH_CHUNK_MASK;
  if (k > c->nodes.cur->seq || j >= chunk_count(c, k)) return NULL; /* in the gap at the end of a small chunk */
  return node_at(c->nodes.dir, id);
}

/* ---- Changing a node --------------------------------------------------------------------------------------------- */

/* The side entry of n, created if need be; NULL if the table cannot grow. */
static graph_side *side_get(graph_ctx *c, const graph_node *n) {
  uint32_t i = side_lower_bound(c, n->id);
  if (i < c->n_side && c->side[i].id == n->id) return &c->side[i];
  if (c->n_side == c->side_cap) {
    uint32_t cap = c->side_cap ? c->side_cap * 2 : 16;
    graph_side *s = (graph_side *)ad_realloc(c->side, c->side_cap * sizeof *s, cap * sizeof *s);
    if (!s) {
      set_err(c, "out of memory: side table of %u entries", (unsigned)c->side_cap);
      return NULL;
    }
    c->side = s;
    c->side_cap = cap;
  }
  memmove(&c->side[i + 1], &c->side[i], (c->n_side - i) * sizeof *c->side);
  c->n_side++;
  graph_side *e = &c->side[i];
  memset(e, 0, sizeof *e);
  e->id = n->id;
  return e;
}

ad_status graph_requires_grad_(graph_ctx *c, graph_node *n, int flag) {
  if (!c || !n || !is_live(c, n)) return bad_node(c, n);
  if (!(n->meta & GRAPH_F_LEAF)) {
    if (flag) return AD_OK;
    set_err(c, GRAPH_MSG_LEAF_FLAG);
    return AD_ESTATE;
  }
  if (flag) n->meta |= GRAPH_F_REQ;
  else n->meta &= ~(uint32_t)GRAPH_F_REQ;
  return AD_OK;
}

ad_status graph_retain_grad(graph_ctx *c, graph_node *n) {
  if (!c || !n || !is_live(c, n)) return bad_node(c, n);
  if (!(n->meta & GRAPH_F_REQ)) {
    set_err(c, GRAPH_MSG_RETAIN);
    return AD_ESTATE;
  }
  if (n->meta & GRAPH_F_CKPT) {
    set_err(c, GRAPH_MSG_CKPT);
    return AD_ESTATE;
  }
  if (graph_arr_is_array_node(n)) {
    set_err(c, "retain_grad on an array-valued node is not supported yet");
    return AD_EINVAL;
  }
  if (n->meta & GRAPH_F_LEAF) return AD_OK; /* a leaf keeps its grad anyway */
  if (!side_get(c, n)) return AD_ENOMEM;
  n->meta |= GRAPH_F_RETAIN;
  return AD_OK;
}

ad_status graph_zero_grad(graph_ctx *c, graph_node *n, int set_to_none) {
  if (!c || !n || !is_live(c, n)) return bad_node(c, n);
  if (n->meta & GRAPH_F_LEAF) {
    if (set_to_none) n->meta &= ~(uint32_t)GRAPH_F_HASGRAD;
    n->da = 0.0;
  } else if (n->meta & GRAPH_F_RETAIN) {
    graph_side *e = side_find(c, n->id);
    if (e) {
      if (set_to_none) e->has_grad = 0;
      e->grad = 0.0;
    }
  }
  return AD_OK;
}

ad_status graph_register_hook(graph_ctx *c, graph_node *n, graph_hook_fn fn, void *user) {
  if (!c || !n || !fn || !is_live(c, n)) return fn ? bad_node(c, n) : AD_EINVAL;
  if (!(n->meta & GRAPH_F_REQ)) {
    set_err(c, GRAPH_MSG_HOOK);
    return AD_ESTATE;
  }
  if (n->meta & GRAPH_F_CKPT) {
    set_err(c, GRAPH_MSG_CKPT);
    return AD_ESTATE;
  }
  if (graph_arr_is_array_node(n)) {
    set_err(c, "hooks on an array-valued node are not supported yet");
    return AD_EINVAL;
  }
  if (c->n_hooks == c->hook_cap) {
    uint32_t cap = c->hook_cap ? c->hook_cap * 2 : 16;
    graph_hook *h = (graph_hook *)ad_realloc(c->hooks, c->hook_cap * sizeof *h, cap * sizeof *h);
    if (!h) {
      set_err(c, "out of memory: hook table of %u entries", (unsigned)c->hook_cap);
      return AD_ENOMEM;
    }
    c->hooks = h;
    c->hook_cap = cap;
  }
  graph_side *e = side_get(c, n);
  if (!e) return AD_ENOMEM;
  uint32_t i = c->n_hooks++;
  c->hooks[i].fn = fn;
  c->hooks[i].user = user;
  c->hooks[i].id = n->id;
  c->hooks[i].next = 0;
  if (e->hook_last) c->hooks[e->hook_last - 1].next = i + 1;
  else e->hook_first = i + 1;
  e->hook_last = i + 1;
  n->meta |= GRAPH_F_HOOK;
  return AD_OK;
}

ad_status graph_set_name(graph_ctx *c, graph_node *n, const char *name) {
  if (!c || !n || !name || !is_live(c, n)) return name ? bad_node(c, n) : AD_EINVAL;
  graph_side *e = side_get(c, n);
  if (!e) return AD_ENOMEM;
  size_t len = strlen(name);
  if (len >= sizeof e->name) len = sizeof e->name - 1;
  memcpy(e->name, name, len);
  e->name[len] = '\0';
  return AD_OK;
}

const char *graph_name(const graph_ctx *c, const graph_node *n) {
  if (!c || !n || !is_live(c, n)) return NULL;
  const graph_side *e = side_find(c, n->id);
  return e && e->name[0] ? e->name : NULL;
}

/* ---- Grad mode -------------------------------------------------------------------------------------------------- */

ad_status graph_no_grad_begin(graph_ctx *c) {
  if (!c) return AD_EINVAL;
  c->no_grad_depth++;
  c->grad_mask = 0;
  return AD_OK;
}

ad_status graph_no_grad_end(graph_ctx *c) {
  if (!c) return AD_EINVAL;
  if (c->no_grad_depth == 0) {
    set_err(c, "graph_no_grad_end without graph_no_grad_begin");
    return AD_ESTATE;
  }
  if (--c->no_grad_depth == 0) c->grad_mask = GRAPH_F_REQ;
  return AD_OK;
}

int graph_is_grad_enabled(const graph_ctx *c) { return c && c->grad_mask != 0; }

/* ---- Backward --------------------------------------------------------------------------------------------------- */

/* What a node reached by the sweep receives, after its hooks ran; retained grads and leaves' grads are updated
 * here. Returns the gradient to pass on. */
static double visit_special(graph_ctx *c, graph_node *n, double g) {
  uint32_t meta = n->meta;
  if (meta & (GRAPH_F_HOOK | GRAPH_F_RETAIN)) {
    graph_side *e = side_find(c, n->id);
    assert(e && "a hook or retained grad without a side entry");
    for (uint32_t h = e->hook_first; h; h = c->hooks[h - 1].next) {
      graph_hook hk = c->hooks[h - 1];
      g = hk.fn(hk.user, n, g);
      e = side_find(c, n->id); /* the hook may have grown the side table */
    }
    if ((meta & GRAPH_F_RETAIN) && !(meta & GRAPH_F_LEAF)) {
      e->grad = e->has_grad ? e->grad + g : g;
      e->has_grad = 1;
    }
  }
  /* AccumulateGrad: a leaf whose flag was cleared after recording gets nothing, as in PyTorch. */
  if ((meta & (GRAPH_F_LEAF | GRAPH_F_REQ)) == (GRAPH_F_LEAF | GRAPH_F_REQ)) {
    n->da = (meta & GRAPH_F_HASGRAD) ? n->da + g : g;
    n->meta |= GRAPH_F_HASGRAD;
  }
  return g;
}

/* Marks the roots and seeds their gradients (grads NULL: mark only). Returns the number of nodes newly marked. */
static uint32_t mark_roots(graph_node *const *roots, int n, const double *grads, int seed) {
  uint32_t pending = 0;
  for (int i = 0; i < n; ++i) {
    graph_node *r = roots[i];
    pending += !(r->meta & GRAPH_F_MARK);
    r->meta |= GRAPH_F_MARK;
    if (seed) r->acc += grads ? grads[i] : 1.0;
  }
  return pending;
}

/* A marking sweep from index hi that runs no grad_fn: returns 1 if it reaches a grad_fn whose saved values were
 * freed. Leaves no mark behind. */
static int reaches_freed(graph_ctx *c, uint32_t hi, uint32_t pending) {
  adc_chunk *const *ch = c->nodes.dir;
  int found = 0;
  uint32_t k = hi >> GRAPH_CHUNK_SHIFT, j = (hi & GRAPH_CHUNK_MASK) + 1;
  for (;;) {
    graph_node *base = chunk_nodes(ch, k);
    for (uint32_t stop = k == 0; j > stop;) {
      graph_node *nd = base + --j;
      uint32_t meta = nd->meta;
      if (!(meta & GRAPH_F_MARK)) continue;
      nd->meta = meta & ~(uint32_t)GRAPH_F_MARK;
      if (!(meta & GRAPH_F_LEAF)) {
        if (meta & GRAPH_F_FREED) found = 1;
        if (!found && (meta & GRAPH_F_CKPT)) { /* a checkpointed region: its inputs */
          pending += c->ck_mark_inputs(c, nd);
          ch = c->nodes.dir;
        } else if (!found && graph__is_arr_op(meta)) {
          pending += graph__arr_visit(c, nd, 0.0, 0, 0);
        } else if (!found) { /* once found, only clear the marks already set */
          graph_node *pa = node_at(ch, nd->a), *pb = node_at(ch, nd->b);
          pending += !(pa->meta & GRAPH_F_MARK);
          pa->meta |= GRAPH_F_MARK;
          pending += !(pb->meta & GRAPH_F_MARK);
          pb->meta |= GRAPH_F_MARK;
        }
      }
      if (--pending == 0) return found;
    }
    if (k == 0) return found;
    j = (uint32_t)ch[--k]->used;
  }
}

/* The backward sweep from index hi down to index lo (1: the whole graph), with *pendingp marked nodes at or below
 * hi (on return: those left below lo). Visits marked nodes in reverse creation order: a node's gradient is complete
 * when the sweep reaches it, because every node that uses it was created later. Returns the lowest index visited,
 * or 0 when a checkpointed region failed (c->ck_visit's status is then in c->ck_status).
 * Most nodes feed the node created just before them (chains of ops): a contribution to index id - 1, which is
 * always the next index visited (chunk gaps hold no nodes), is carried in a register instead of memory, so a chain
 * costs one multiply-add per node and never waits for a store to reach the next load. */
AD_INLINE uint32_t sweep(graph_ctx *c, uint32_t hi, uint32_t lo, uint32_t *pendingp, const int free_saved) {
  const uint64_t saves = free_saved ? graph__saves : 0;
  adc_chunk *const *ch = c->nodes.dir;
  uint32_t k = hi >> GRAPH_CHUNK_SHIFT, j = (hi & GRAPH_CHUNK_MASK) + 1;
  const uint32_t klo = lo >> GRAPH_CHUNK_SHIFT, jlo = lo & GRAPH_CHUNK_MASK;
  uint32_t pending = *pendingp;
  double carry = 0.0; /* contributions to the next index visited */
  for (;;) {
    graph_node *base = chunk_nodes(ch, k);
    const uint32_t first = k << GRAPH_CHUNK_SHIFT;
    for (uint32_t stop = k == klo ? jlo : k == 0; j > stop;) {
      graph_node *nd = base + --j;
      uint32_t meta = nd->meta;
      if (!(meta & GRAPH_F_MARK)) continue; /* unreached: carry is 0 (a carried contribution marks its node) */
      const uint32_t id = first + j, prev = id - 1;
      double g = nd->acc + carry;
      carry = 0.0;
      nd->acc = 0.0;
      if (AD_UNLIKELY(meta & (GRAPH_F_LEAF | GRAPH_F_HOOK | GRAPH_F_RETAIN | GRAPH_F_CKPT))) {
        if (meta & GRAPH_F_CKPT) { /* a checkpointed region's output: the region re-runs and sweeps its nodes */
          ad_status st = c->ck_visit(c, nd, g, &pending, free_saved);
          ch = c->nodes.dir;
          *pendingp = pending;
          if (st != AD_OK) {
            c->ck_status = st;
            return 0;
          }
          if (pending == 0) return id;
          continue;
        }
        g = visit_special(c, nd, g);
        ch = c->nodes.dir;
        meta = nd->meta;
        if (meta & GRAPH_F_LEAF) {
          nd->meta = meta & ~(uint32_t)GRAPH_F_MARK;
          if (--pending == 0) {
            *pendingp = 0;
            return id;
          }
          continue;
        }
      }
      assert(!(meta & GRAPH_F_FREED) && "reaches_freed let a freed grad_fn through");
      if (AD_UNLIKELY(graph__is_arr_op(meta))) { /* an array node (graph_array.c) */
        nd->meta = meta & ~(uint32_t)GRAPH_F_MARK;
        pending += graph__arr_visit(c, nd, g, 1, free_saved);
        if (--pending == 0) return id;
        continue;
      }
      uint32_t op = meta & GRAPH_OP_MASK;
      nd->meta = free_saved ? (meta & ~(uint32_t)GRAPH_F_MARK) | ((uint32_t)((saves >> op) & 1u) * GRAPH_F_FREED)
                            : meta & ~(uint32_t)GRAPH_F_MARK;
      const uint32_t a = nd->a, b = nd->b; /* 0: no parent (an input that does not require grad) */
      if (a) {
        graph_node *pa = node_at(ch, a);
        uint32_t ma = pa->meta;
        pa->meta = ma | GRAPH_F_MARK;
        pending += !(ma & GRAPH_F_MARK);
        if (a == prev) carry += nd->da * g;
        else pa->acc += nd->da * g;
      }
      if (b) {
        graph_node *pb = node_at(ch, b);
        uint32_t mb = pb->meta;
        pb->meta = mb | GRAPH_F_MARK;
        pending += !(mb & GRAPH_F_MARK);
        if (b == prev) carry += nd->db * g;
        else pb->acc += nd->db * g;
      }
      if (--pending == 0) {
        *pendingp = 0;
        return id;
      }
    }
    if (k == klo) { /* stopped at lo: what was carried belongs to lo - 1 */
      if (carry != 0.0) node_at(ch, lo - 1)->acc += carry;
      *pendingp = pending;
      return lo;
    }
    j = (uint32_t)ch[--k]->used;
  }
}

/* After a failed pass: every node at or below hi unmarked, with no gradient in progress (node 0 stays marked). */
static void clear_pass(graph_ctx *c, uint32_t hi) {
  adc_chunk *const *ch = c->nodes.dir;
  for (uint32_t k = 0; k <= (hi >> GRAPH_CHUNK_SHIFT); ++k) {
    graph_node *nd = chunk_nodes(ch, k);
    for (uint32_t j = k == 0, cnt = chunk_count(c, k); j < cnt; ++j) {
      nd[j].meta &= ~(uint32_t)GRAPH_F_MARK;
      nd[j].acc = 0.0;
    }
  }
}

void graph__sweep_range(graph_ctx *c, uint32_t hi, uint32_t lo, uint32_t *pending) {
  assert(lo >= 1 && hi >= lo && *pending > 0);
  sweep(c, hi, lo, pending, 0);
}

void graph__rewind(graph_ctx *c, uint32_t mark) {
  uint32_t k = mark >> GRAPH_CHUNK_SHIFT, off = mark & GRAPH_CHUNK_MASK;
  if (off == 0) { /* the end of a full chunk k - 1 */
    k -= 1;
    off = 1u << GRAPH_CHUNK_SHIFT;
  }
  adc_chunk *ck = adc_chunk_at(&c->nodes, k);
  assert(ck && off <= ck->cap && mark >= 1 && "graph__rewind: a mark of this context");
  adc_pos p = {ck, off};
  adc_rewind(&c->nodes, p);
  c->next = mark;
}

ad_status graph_backward_many(graph_ctx *c, int n, graph_node *const *roots, const double *grads,
                              int retain_graph) {
  if (!c) return AD_EINVAL;
  if (n < 1 || !roots) {
    set_err(c, "graph_backward: no roots");
    return AD_EINVAL;
  }
  if (c->in_backward) {
    set_err(c, "graph_backward called from a hook during backward");
    return AD_ESTATE;
  }
  uint32_t hi = 0;
  for (int i = 0; i < n; ++i) {
    const graph_node *r = roots[i];
    if (r && !graph__ours(c, r)) {
      set_err(c, "graph_backward: root %d is a node of another context, or from before the last graph_reset", i);
      return AD_EFOREIGN;
    }
    if (!r || !is_live(c, r)) {
      set_err(c, "graph_backward: root %d is NULL, a placeholder or released", i);
      return AD_EINVAL;
    }
    if (!(r->meta & GRAPH_F_REQ)) {
      set_err(c, GRAPH_MSG_NOGRAD, i);
      return AD_ENOGRAD;
    }
    if (r->id > hi) hi = r->id;
  }
  if (c->freed_lo <= hi && reaches_freed(c, hi, mark_roots(roots, n, NULL, 0))) {
    set_err(c, GRAPH_MSG_FREED);
    return AD_EFREED;
  }
  if (graph__arr_prepare(c) != AD_OK) {
    set_err(c, "graph_backward: out of memory for the gradient arrays of array nodes");
    return AD_ENOMEM;
  }
  c->in_backward = 1;
  uint32_t pending = mark_roots(roots, n, grads, 1);
  uint32_t lo = retain_graph ? sweep(c, hi, 1, &pending, 0) : sweep(c, hi, 1, &pending, 1); /* specialised copies */
  c->in_backward = 0;
  if (lo == 0) { /* a checkpointed region failed: no marks or pending gradients stay behind */
    clear_pass(c, hi);
    if (!retain_graph) c->freed_lo = 1; /* it may have freed grad_fns above the region: check from now on */
    set_err(c, "backward: re-running a checkpointed region failed: %s", ad_status_str(c->ck_status));
    return c->ck_status;
  }
  if (!retain_graph && lo < c->freed_lo) c->freed_lo = lo;
  return AD_OK;
}

ad_status graph_backward(graph_ctx *c, graph_node *root, double grad, int retain_graph) {
  return graph_backward_many(c, 1, &root, &grad, retain_graph);
}

/* ---- Seeing the graph ------------------------------------------------------------------------------------------- */

static void dot_string(FILE *f, const char *s) {
  for (; *s; ++s) {
    if (*s == '"' || *s == '\\') fputc('\\', f);
    fputc(*s, f);
  }
}

static void dot_node(const graph_ctx *c, const graph_node *n, int is_root, FILE *f) {
  const char *name = graph_name(c, n);
  const char *fn = graph_grad_fn_name(n);
  double g;
  int has = graph_grad(c, n, &g);
  fprintf(f, "  n%u [label=\"", (unsigned)n->id);
  if (name) {
    dot_string(f, name);
    fputs("\\n", f);
  }
  fprintf(f, "%s\\nvalue %.6g", fn ? fn : "leaf", n->value);
  if (has) fprintf(f, "\\ngrad %.6g", g);
  fprintf(f, "\"%s%s];\n", (n->meta & GRAPH_F_LEAF) ? ", shape=box, style=filled, fillcolor=\"#dde8f6\"" : "",
          is_root ? ", peripheries=2" : "");
}

ad_status graph_write_dot(graph_ctx *c, graph_node *root, FILE *f) {
  if (!c || !root || !f || !is_live(c, root)) return f ? bad_node(c, root) : AD_EINVAL;
  if (c->in_backward) return AD_ESTATE;
  fputs("digraph autograd {\n  rankdir=TB;\n  node [fontname=\"Helvetica\", fontsize=10];\n"
        "  edge [fontname=\"Helvetica\", fontsize=9];\n",
        f);
  /* The same sweep as backward, printing instead of propagating: every node root depends on, newest first. */
  adc_chunk *const *ch = c->nodes.dir;
  uint32_t hi = root->id, pending = 1;
  root->meta |= GRAPH_F_MARK;
  uint32_t k = hi >> GRAPH_CHUNK_SHIFT, j = (hi & GRAPH_CHUNK_MASK) + 1;
  for (;;) {
    graph_node *base = chunk_nodes(ch, k);
    for (uint32_t stop = k == 0; pending && j > stop;) {
      graph_node *nd = base + --j;
      if (!(nd->meta & GRAPH_F_MARK)) continue;
      nd->meta &= ~(uint32_t)GRAPH_F_MARK;
      pending--;
      dot_node(c, nd, nd == root, f);
      graph_edge e[2];
      int cnt = 0;
      graph_next_functions(c, nd, e, &cnt);
      for (int i = 0; i < cnt; ++i) {
        if (!e[i].node) continue;
        fprintf(f, "  n%u -> n%u", (unsigned)nd->id, (unsigned)e[i].node->id);
        if (e[i].node->meta & GRAPH_F_LEAF) fputs(" [label=\"AccumulateGrad\"]", f);
        fputs(";\n", f);
        pending += !(e[i].node->meta & GRAPH_F_MARK);
        e[i].node->meta |= GRAPH_F_MARK;
      }
    }
    if (!pending || k == 0) break;
    j = (uint32_t)ch[--k]->used;
  }
  fputs("}\n", f);
  if (fflush(f) != 0 || ferror(f)) { /* a full disk shows at the flush */
    set_err(c, "graph_write_dot: writing failed");
    return AD_EIO;
  }
  return AD_OK;
}
