/* ckpt_graph.c: checkpointed time steps on the graph engine (see ckpt_graph.h). */
#include "ckpt_graph.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

/* One AD_STEPS region of the current recording. */
typedef struct cg_region {
  ckpt_graph_fn fn;
  void *env;
  size_t env_size;
  int np, ns;
  graph_node **p;         /* the parameters (np) */
  graph_node **s0;        /* the state before step 0 (ns), as recorded */
  graph_node **blk;       /* the boundary: the state at the first step recorded in place (ns) */
  uint32_t blk_lo, blk_hi; /* the boundary's node indices lie in [blk_lo, blk_hi] */
  uint64_t steps;
  ckpt_plan plan;
  double *slot;           /* plan.slots * ns values */
  uint8_t *slot_req;      /* plan.slots * ns requires-grad flags */
  int swept;              /* a backward ran: the forward actions' checkpoints are gone */
  int freed;              /* a backward without retain_graph ran: the checkpoints are freed */
} cg_region;

typedef struct cg_state {
  ckpt_spec spec;
  cg_region *r;
  size_t n, cap;
  /* Work buffers, ns each: the step's nodes, a segment's input nodes, the current state's values and flags, the
   * gradients gathered for the current segment's outputs and whether they were reached. */
  graph_node **vars, **inb;
  double *w, *S;
  uint8_t *req, *got;
  size_t wcap;
  int forward;           /* in the forward pass: dropped steps count in nodes_dropped */
  uint64_t dropped_next; /* the next step whose nodes count there */
  int busy;              /* inside a region: an AD_STEPS loop within a step records through */
  ckpt_graph_stats stats;
  ckpt_mem mem; /* bytes held (stats' bytes_now and bytes_peak) */
} cg_state;

static void free_slots(cg_state *ck, cg_region *r) {
  size_t n = (size_t)r->plan.slots * (size_t)r->ns;
  ckpt_mem_free(&ck->mem, r->slot, n * sizeof(double));
  ckpt_mem_free(&ck->mem, r->slot_req, n);
  r->slot = NULL;
  r->slot_req = NULL;
}

static void region_free(cg_state *ck, cg_region *r) {
  ckpt_mem_free(&ck->mem, r->env, r->env_size);
  ckpt_mem_free(&ck->mem, r->p, (size_t)r->np * sizeof(graph_node *));
  ckpt_mem_free(&ck->mem, r->s0, (size_t)r->ns * sizeof(graph_node *));
  ckpt_mem_free(&ck->mem, r->blk, (size_t)r->ns * sizeof(graph_node *));
  free_slots(ck, r);
  ck->mem.now -= r->plan.cap * sizeof *r->plan.act;
  ckpt_plan_free(&r->plan);
  memset(r, 0, sizeof *r);
}

/* The boundary nodes of r that are at or above `from` and still recorded become constants: nothing re-runs them. */
static void neutralize(const graph_ctx *c, cg_region *r, uint32_t from, uint32_t top) {
  for (int i = 0; i < r->ns; ++i) {
    graph_node *b = r->blk[i];
    if (b->id >= from && b->id < top && (b->meta & GRAPH_F_CKPT))
      b->meta = GRAPH_OP_LEAF | GRAPH_F_LEAF | c->tag | (b->meta & GRAPH_F_MARK);
  }
}

/* graph_reset (mark 1) and graph_release: the regions whose boundary is released go. */
static void cg_release_hook(graph_ctx *c, uint32_t mark) {
  cg_state *ck = (cg_state *)c->ck;
  while (ck->n && ck->r[ck->n - 1].blk_hi >= mark) {
    cg_region *r = &ck->r[ck->n - 1];
    if (mark > 1 && r->blk_lo < mark) neutralize(c, r, 0, mark); /* part of the boundary stays */
    region_free(ck, r);
    ck->n--;
  }
  if (mark <= 1) {
    memset(&ck->stats, 0, sizeof ck->stats); /* the bytes held are counted in ck->mem */
    ck->stats.chosen = ck->spec;
  }
}

static cg_region *find_region(cg_state *ck, uint32_t id) {
  size_t lo = 0, hi = ck->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (ck->r[mid].blk_hi < id) lo = mid + 1;
    else hi = mid;
  }
  assert(lo < ck->n && ck->r[lo].blk_lo <= id && "a boundary node without its region");
  return &ck->r[lo];
}

static ad_status cg_visit(graph_ctx *c, graph_node *n, double g, uint32_t *pending, int free_saved);
static uint32_t cg_mark_inputs(graph_ctx *c, graph_node *n);

ad_status ckpt_graph_attach(graph_ctx *c, ckpt_spec sp) {
  if (!c) return AD_EINVAL;
  if (c->in_backward) return AD_ESTATE;
  ckpt_graph_detach(c);
  cg_state *ck = (cg_state *)ad_calloc(sizeof *ck);
  if (!ck) return AD_ENOMEM;
  ck->spec = sp;
  ck->stats.chosen = sp;
  c->ck = ck;
  c->ck_visit = cg_visit;
  c->ck_mark_inputs = cg_mark_inputs;
  c->ck_release = cg_release_hook;
  return AD_OK;
}

static void work_free(cg_state *ck) {
  size_t n = ck->wcap;
  ckpt_mem_free(&ck->mem, ck->vars, n * sizeof(graph_node *));
  ckpt_mem_free(&ck->mem, ck->inb, n * sizeof(graph_node *));
  ckpt_mem_free(&ck->mem, ck->w, n * sizeof(double));
  ckpt_mem_free(&ck->mem, ck->S, n * sizeof(double));
  ckpt_mem_free(&ck->mem, ck->req, n);
  ckpt_mem_free(&ck->mem, ck->got, n);
  ck->vars = ck->inb = NULL;
  ck->w = ck->S = NULL;
  ck->req = ck->got = NULL;
  ck->wcap = 0;
}

void ckpt_graph_detach(graph_ctx *c) {
  if (!c || !c->ck) return;
  cg_state *ck = (cg_state *)c->ck;
  uint32_t top = graph_mark(c);
  for (size_t j = 0; j < ck->n; ++j) {
    neutralize(c, &ck->r[j], 0, top);
    region_free(ck, &ck->r[j]);
  }
  work_free(ck);
  ad_free(ck->r, ck->cap * sizeof *ck->r);
  ad_free(ck, sizeof *ck);
  c->ck = NULL;
  c->ck_visit = NULL;
  c->ck_mark_inputs = NULL;
  c->ck_release = NULL;
}

ckpt_graph_stats ckpt_graph_get_stats(const graph_ctx *c) {
  ckpt_graph_stats s;
  memset(&s, 0, sizeof s);
  if (!c || !c->ck) return s;
  const cg_state *ck = (const cg_state *)c->ck;
  s = ck->stats;
  s.bytes_now = ck->mem.now;
  s.bytes_peak = ck->mem.peak;
  s.recomputed = s.evaluations > s.steps ? s.evaluations - s.steps : 0;
  return s;
}

/* ---- steps ---- */

/* The sticky status of a recording that checkpointing could not carry out, with a message. */
static void cg_fail(graph_ctx *c, ad_status st, const char *msg) {
  if (c->status != AD_OK) return;
  c->status = st;
  snprintf(c->err, sizeof c->err, "checkpointing: %s", msg);
}

/* A node standing for a state variable with value v: a boundary node (grad_fn CheckpointFunctionBackward, no
 * parents) if it requires grad, else a constant. */
static graph_node *boundary(graph_ctx *c, double v, int req, uint32_t flag) {
  return req ? graph__rec(c, GRAPH_OP_CKPT | GRAPH_F_REQ | flag, v, 0, 0.0, 0, 0.0) : graph__const(c, v);
}

/* Nodes recorded between two marks of the arena (chunk tails skipped). */
static uint64_t nodes_between(const graph_ctx *c, uint32_t m1, uint32_t m2) {
  uint32_t k1 = m1 >> GRAPH_CHUNK_SHIFT, k2 = m2 >> GRAPH_CHUNK_SHIFT;
  if (k1 == k2) return m2 - m1;
  uint64_t used1 = c->nodes.dir[k1]->used, off1 = m1 & GRAPH_CHUNK_MASK;
  uint64_t n = used1 > off1 ? used1 - off1 : 0;
  for (uint32_t k = k1 + 1; k < k2; ++k) n += c->nodes.dir[k]->used;
  return n + (m2 & GRAPH_CHUNK_MASK);
}

/* Steps [a, b) on values: each step recorded from fresh nodes holding ck->w (those that required grad still do, so
 * that the flags follow the store-all graph's) and dropped at once. Leaves the state's values and flags in ck->w
 * and ck->req. On failure: in the forward pass the recording stays failed (sticky, as any failed recording); in
 * backward the step is dropped and the status cleared, and the failure is returned. */
static ad_status advance(graph_ctx *c, cg_state *ck, const cg_region *r, uint64_t a, uint64_t b) {
  graph_node **v = ck->vars;
  for (uint64_t k = a; k < b; ++k) {
    uint32_t m = graph_mark(c);
    for (int i = 0; i < r->ns; ++i) v[i] = boundary(c, ck->w[i], ck->req[i], 0);
    uint32_t m1 = graph_mark(c);
    r->fn(c, r->env, (int)k, (graph_node *const *)r->p, v);
    ck->stats.evaluations += 1;
    if (c->status != AD_OK) {
      ad_status st = c->status;
      if (!ck->forward) {
        graph__rewind(c, m);
        c->status = AD_OK;
      }
      return st;
    }
    if (ck->forward && k == ck->dropped_next && k < r->plan.act[r->plan.first_reverse].a) { /* first time only */
      ck->stats.nodes_dropped += nodes_between(c, m1, graph_mark(c));
      ck->dropped_next = k + 1;
    }
    for (int i = 0; i < r->ns; ++i) {
      ck->w[i] = v[i]->value;
      ck->req[i] = (v[i]->meta & GRAPH_F_REQ) != 0;
    }
    graph__rewind(c, m);
  }
  return AD_OK;
}

/* Runs a non-REVERSE action: AD_OK, or advance's failure. */
static ad_status act(graph_ctx *c, cg_state *ck, cg_region *r, const ckpt_action *x) {
  size_t ns = (size_t)r->ns;
  switch (x->kind) {
  case CKPT_ADVANCE: return advance(c, ck, r, x->a, x->b);
  case CKPT_STORE:
    memcpy(r->slot + x->slot * ns, ck->w, ns * sizeof(double));
    memcpy(r->slot_req + x->slot * ns, ck->req, ns);
    break;
  case CKPT_RESTORE:
    memcpy(ck->w, r->slot + x->slot * ns, ns * sizeof(double));
    memcpy(ck->req, r->slot_req + x->slot * ns, ns);
    break;
  default: assert(0 && "REVERSE is not run here");
  }
  return AD_OK;
}

static ad_status work_buffers(cg_state *ck, size_t need) {
  if (ck->wcap >= need) return AD_OK;
  work_free(ck);
  ck->vars = (graph_node **)ckpt_mem_alloc(&ck->mem, need * sizeof(graph_node *));
  ck->inb = (graph_node **)ckpt_mem_alloc(&ck->mem, need * sizeof(graph_node *));
  ck->w = (double *)ckpt_mem_alloc(&ck->mem, need * sizeof(double));
  ck->S = (double *)ckpt_mem_alloc(&ck->mem, need * sizeof(double));
  ck->req = (uint8_t *)ckpt_mem_alloc(&ck->mem, need);
  ck->got = (uint8_t *)ckpt_mem_alloc(&ck->mem, need);
  ck->wcap = need;
  if (!ck->vars || !ck->inb || !ck->w || !ck->S || !ck->req || !ck->got) {
    work_free(ck);
    return AD_ENOMEM;
  }
  return AD_OK;
}

/* The bytes one step's nodes take with the boundary, measured by recording step 0 from s and dropping it. */
static uint64_t measure_step(graph_ctx *c, cg_state *ck, ckpt_graph_fn fn, const void *env, graph_node *const *p,
                             int ns, graph_node *const *s) {
  graph_node **v = ck->vars;
  memcpy(v, s, (size_t)ns * sizeof *v);
  uint32_t m = graph_mark(c);
  fn(c, env, 0, p, v);
  uint64_t n = nodes_between(c, m, graph_mark(c));
  if (c->status == AD_OK) graph__rewind(c, m);
  ck->stats.evaluations += 1;
  return (n + (uint64_t)ns) * sizeof(graph_node);
}

static void run_through(graph_ctx *c, ckpt_graph_fn fn, const void *env, int n_steps, graph_node *const *p,
                        graph_node **s) {
  for (int k = 0; k < n_steps; ++k) fn(c, env, k, p, s);
}

static void region_steps(graph_ctx *c, cg_state *ck, ckpt_graph_fn fn, const void *env, size_t env_size, int n_steps,
                         int np, graph_node *const *p, int ns, graph_node **s);

void ckpt_graph_steps(graph_ctx *c, ckpt_graph_fn fn, const void *env, size_t env_size, int n_steps, int np,
                      graph_node *const *p, int ns, graph_node **s) {
  cg_state *ck = (cg_state *)c->ck;
  if (!ck || ck->busy || c->status != AD_OK || !c->grad_mask || c->in_backward) { /* record through */
    run_through(c, fn, env, n_steps, p, s);
    return;
  }
  ck->busy = 1;
  region_steps(c, ck, fn, env, env_size, n_steps, np, p, ns, s);
  ck->busy = 0;
}

/* ckpt_graph_steps with a schedule. */
static void region_steps(graph_ctx *c, cg_state *ck, ckpt_graph_fn fn, const void *env, size_t env_size, int n_steps,
                         int np, graph_node *const *p, int ns, graph_node **s) {
  if (n_steps <= 0) return;
  ad_status st = work_buffers(ck, (size_t)ns);
  if (st != AD_OK) {
    cg_fail(c, st, "out of memory for the work buffers");
    return;
  }
  ckpt_spec sp = ck->spec;
  ck->stats.steps += (uint64_t)n_steps;
  ck->stats.regions += 1;
  if (sp.kind == CKPT_BUDGET) {
    uint64_t T = measure_step(c, ck, fn, env, p, ns, s);
    ck->stats.step_bytes = T;
    if (c->status != AD_OK) return;
    /* Two steps' nodes at once: the steps recorded in place stay while a segment is re-recorded above them. */
    st = ckpt_choose(sp.arg, (uint64_t)ns * (sizeof(double) + 1), 2 * T, (uint64_t)n_steps, &sp);
    if (st != AD_OK) {
      char msg[200];
      snprintf(msg, sizeof msg,
               "a budget of %llu bytes is too small for one checkpoint (%llu bytes) and two steps' nodes (%llu bytes)",
               (unsigned long long)ck->spec.arg, (unsigned long long)((uint64_t)ns * (sizeof(double) + 1)),
               (unsigned long long)(2 * T));
      cg_fail(c, st, msg);
      return;
    }
  }
  ck->stats.chosen = sp;
  if (sp.kind == CKPT_STORE_ALL || n_steps == 1) { /* everything in place: the graph of the loop as written */
    run_through(c, fn, env, n_steps, p, s);
    ck->stats.evaluations += (uint64_t)n_steps;
    return;
  }
  /* A checkpointed region. */
  if (ck->n == ck->cap) {
    size_t cap = ck->cap ? 2 * ck->cap : 4;
    cg_region *nr = (cg_region *)ad_realloc(ck->r, ck->cap * sizeof *nr, cap * sizeof *nr);
    if (!nr) {
      cg_fail(c, AD_ENOMEM, "out of memory for the region table");
      return;
    }
    ck->r = nr;
    ck->cap = cap;
  }
  cg_region *r = &ck->r[ck->n];
  memset(r, 0, sizeof *r);
  r->fn = fn;
  r->np = np;
  r->ns = ns;
  r->steps = (uint64_t)n_steps;
  st = ckpt_plan_make(&r->plan, sp, r->steps);
  if (st == AD_OK) {
    ckpt_mem_add(&ck->mem, r->plan.cap * sizeof *r->plan.act);
    size_t nslot = (size_t)r->plan.slots * (size_t)ns;
    r->env_size = env_size;
    r->env = ckpt_mem_alloc(&ck->mem, env_size);
    r->p = (graph_node **)ckpt_mem_alloc(&ck->mem, (size_t)np * sizeof(graph_node *));
    r->s0 = (graph_node **)ckpt_mem_alloc(&ck->mem, (size_t)ns * sizeof(graph_node *));
    r->blk = (graph_node **)ckpt_mem_alloc(&ck->mem, (size_t)ns * sizeof(graph_node *));
    r->slot = (double *)ckpt_mem_alloc(&ck->mem, nslot * sizeof(double));
    r->slot_req = (uint8_t *)ckpt_mem_alloc(&ck->mem, nslot);
    if (!r->env || !r->p || !r->s0 || !r->blk || !r->slot || !r->slot_req) st = AD_ENOMEM;
  }
  if (st != AD_OK) {
    region_free(ck, r);
    cg_fail(c, st, st == AD_ENOMEM ? "out of memory for a region" : "no plan for the schedule");
    return;
  }
  memcpy(r->env, env, env_size);
  memcpy(r->p, p, (size_t)np * sizeof(graph_node *));
  memcpy(r->s0, s, (size_t)ns * sizeof(graph_node *));
  ck->stats.slots = r->plan.slots;
  ck->stats.slot_bytes = (uint64_t)r->plan.slots * ns * (sizeof(double) + 1);
  /* The forward pass: the plan's actions up to its first REVERSE, on values. */
  for (int i = 0; i < ns; ++i) {
    ck->w[i] = s[i]->value;
    ck->req[i] = (s[i]->meta & GRAPH_F_REQ) != 0;
  }
  ck->forward = 1;
  ck->dropped_next = 0;
  for (size_t j = 0; j < r->plan.first_reverse && c->status == AD_OK; ++j) act(c, ck, r, &r->plan.act[j]);
  ck->forward = 0;
  const ckpt_action *fr = &r->plan.act[r->plan.first_reverse];
  assert(fr->kind == CKPT_REVERSE && fr->b == r->steps);
  if (c->status != AD_OK || fr->a == 0) { /* failed while advancing (values only from here), or one segment */
    region_free(ck, r);
    run_through(c, fn, env, n_steps, p, s);
    ck->stats.evaluations += (uint64_t)n_steps;
    return;
  }
  /* The boundary, then the first REVERSE's steps (the last ones) in place. */
  r->blk_lo = graph_mark(c);
  for (int i = 0; i < ns; ++i) r->blk[i] = s[i] = boundary(c, ck->w[i], ck->req[i], GRAPH_F_CKPT);
  r->blk_hi = graph_mark(c) - 1;
  if (c->status != AD_OK) {
    memcpy(s, r->s0, (size_t)ns * sizeof(graph_node *));
    region_free(ck, r);
    return;
  }
  ++ck->n;
  ck->stats.nodes_added += (uint64_t)ns;
  for (uint64_t k = fr->a; k < fr->b; ++k) fn(c, env, (int)k, p, s);
  ck->stats.evaluations += fr->b - fr->a;
}

/* ---- backward ---- */

/* Re-records steps [a, b) of r at the top of the arena from the current state (the region's input nodes at step 0),
 * seeds their outputs with the gradients gathered in ck->S, sweeps them and drops them. Leaves the gradients of the
 * state at step a in ck->S (ck->got: reached) and adds to *pending the nodes below the segment it marked. */
static ad_status segment(graph_ctx *c, cg_state *ck, cg_region *r, uint64_t a, uint64_t b, uint32_t *pending) {
  const int ns = r->ns;
  graph_node **v = ck->vars, **inb = ck->inb;
  uint32_t m = graph_mark(c);
  for (int i = 0; i < ns; ++i) inb[i] = v[i] = a ? boundary(c, ck->w[i], ck->req[i], 0) : r->s0[i];
  uint32_t lo = graph_mark(c);
  for (uint64_t k = a; k < b; ++k) r->fn(c, r->env, (int)k, (graph_node *const *)r->p, v);
  ck->stats.evaluations += b - a;
  if (c->status != AD_OK) {
    ad_status st = c->status;
    graph__rewind(c, m);
    c->status = AD_OK;
    return st;
  }
  uint32_t local = 0;
  for (int i = 0; i < ns; ++i) {
    graph_node *o = v[i];
    if (!ck->got[i] || !(o->meta & GRAPH_F_REQ)) continue;
    o->acc += ck->S[i];
    local += !(o->meta & GRAPH_F_MARK);
    o->meta |= GRAPH_F_MARK;
  }
  uint32_t hi = graph_mark(c) - 1;
  if (local && hi >= lo) graph__sweep_range(c, hi, lo, &local);
  /* Left marked below the segment: its input nodes (gathered here) and nodes of the main graph. */
  for (int i = 0; i < ns; ++i) {
    graph_node *q = inb[i];
    ck->got[i] = 0;
    ck->S[i] = 0.0;
    if (!a || !(q->meta & GRAPH_F_MARK)) continue;
    ck->got[i] = 1;
    ck->S[i] = q->acc;
    q->acc = 0.0;
    q->meta &= ~(uint32_t)GRAPH_F_MARK;
    local--;
  }
  *pending += local;
  graph__rewind(c, m);
  return AD_OK;
}

/* The reverse of r's steps below the ones recorded in place, from the gradients of its boundary in ck->S. */
static ad_status region_reverse(graph_ctx *c, cg_state *ck, cg_region *r, uint32_t *pending) {
  const ckpt_plan *pl = &r->plan;
  if (r->swept) { /* the forward actions' checkpoints: again from the state at step 0 */
    for (int i = 0; i < r->ns; ++i) {
      ck->w[i] = r->s0[i]->value;
      ck->req[i] = (r->s0[i]->meta & GRAPH_F_REQ) != 0;
    }
    for (size_t j = 0; j < pl->first_reverse; ++j) {
      ad_status st = act(c, ck, r, &pl->act[j]);
      if (st != AD_OK) return st;
    }
  }
  r->swept = 1;
  for (size_t j = pl->first_reverse + 1; j < pl->n; ++j) {
    const ckpt_action *x = &pl->act[j];
    ad_status st = x->kind == CKPT_REVERSE ? segment(c, ck, r, x->a, x->b, pending) : act(c, ck, r, x);
    if (st != AD_OK) return st;
  }
  return AD_OK;
}

/* The sweep reached boundary node n of a region (the newest of its boundary nodes it reaches, with gradient g): every
 * gradient of the boundary is complete. */
static ad_status cg_visit(graph_ctx *c, graph_node *n, double g, uint32_t *pending, int free_saved) {
  cg_state *ck = (cg_state *)c->ck;
  cg_region *r = find_region(ck, n->id);
  if (c->status != AD_OK) return c->status; /* the recording failed: nothing can be re-recorded */
  assert(!r->freed && "reaches_freed let a freed region through");
  if (work_buffers(ck, (size_t)r->ns) != AD_OK) return AD_ENOMEM;
  for (int i = 0; i < r->ns; ++i) {
    graph_node *b = r->blk[i];
    ck->got[i] = 0;
    ck->S[i] = 0.0;
    if (b == n) {
      ck->got[i] = 1;
      ck->S[i] = g;
    } else if ((b->meta & GRAPH_F_CKPT) && (b->meta & GRAPH_F_MARK)) {
      ck->got[i] = 1;
      ck->S[i] = b->acc;
      b->acc = 0.0;
    } else {
      continue;
    }
    b->meta &= ~(uint32_t)GRAPH_F_MARK;
    --*pending;
  }
  uint32_t grad_mask = c->grad_mask; /* the region re-runs with grad enabled, as torch.utils.checkpoint does */
  c->grad_mask = GRAPH_F_REQ;
  ad_status st = region_reverse(c, ck, r, pending);
  c->grad_mask = grad_mask;
  if (st == AD_OK && free_saved) { /* backward without retain_graph: the region's saved state goes */
    for (int i = 0; i < r->ns; ++i)
      if (r->blk[i]->meta & GRAPH_F_CKPT) r->blk[i]->meta |= GRAPH_F_FREED;
    free_slots(ck, r);
    r->freed = 1;
  }
  return st;
}

/* The freed-values check crosses region n's boundary: marks the region's inputs that require grad. */
static uint32_t cg_mark_inputs(graph_ctx *c, graph_node *n) {
  cg_region *r = find_region((cg_state *)c->ck, n->id);
  uint32_t added = 0;
  for (int k = 0; k < r->ns + r->np; ++k) {
    graph_node *q = k < r->ns ? r->s0[k] : r->p[k - r->ns];
    if (q->id == 0 || !(q->meta & GRAPH_F_REQ) || (q->meta & GRAPH_F_MARK)) continue;
    q->meta |= GRAPH_F_MARK;
    added++;
  }
  return added;
}
