/* ckpt_tape.c: checkpointed time steps on the tape engine (see ckpt_tape.h). */
#include "ckpt_tape.h"

#include <assert.h>
#include <string.h>

/* One AD_STEPS region of the current recording. */
typedef struct ck_region {
  ckpt_tape_fn fn;
  ckpt_tape_while_fn wfn; /* instead of fn for AD_STEPS_WHILE */
  void *env;
  size_t env_size;
  int np, ns, na;      /* parameters, state variables, control values (AD_STEPS_WHILE's q) */
  tape_var *p;         /* the parameters (np) */
  tape_var *s0;        /* the state before step 0 (ns), as recorded */
  uint64_t steps;
  uint32_t border[2];  /* first statement of each block of ns border statements (outputs of a step, push0) */
  uint32_t lo;         /* the main sweep stops above this statement (the last border statement) */
  ckpt_plan plan;
  double *slot;        /* slot_cap checkpoints of ns + na values: the state's, then q */
  uint32_t slot_cap;
  int swept;           /* a reverse sweep ran: the forward sweep's checkpoints are gone */
} ck_region;

typedef struct ck_state {
  ckpt_spec spec;
  ck_region *r;
  size_t n, cap;
  tape_var *wv; /* working variables: state (ns) then passive parameters (np) */
  double *w;    /* the current state's values (ns), then its control values (na) */
  size_t wcap;  /* ns + np + na the work buffers hold */
  ckpt_tape_stats stats;
  ckpt_mem mem; /* bytes held (stats' bytes_now and bytes_peak) */
} ck_state;

static const ckpt_spec *ck_default;
static ckpt_spec ck_default_spec;

void ckpt_tape_set_default(const ckpt_spec *sp) {
  if (sp) ck_default_spec = *sp;
  ck_default = sp ? &ck_default_spec : NULL;
}
const ckpt_spec *ckpt_tape_default(void) { return ck_default; }

/* Values per checkpoint: the state's, then the control values. */
static size_t width(const ck_region *r) { return (size_t)r->ns + (size_t)r->na; }

/* Room for n checkpoints in r->slot (kept on failure). AD_OK or AD_ENOMEM. */
static ad_status slots_reserve(ck_state *ck, ck_region *r, uint32_t n) {
  if (n <= r->slot_cap) return AD_OK;
  size_t w = width(r) * sizeof(double);
  double *ns = (double *)ad_realloc(r->slot, r->slot_cap * w, (size_t)n * w);
  if (!ns) return AD_ENOMEM;
  ckpt_mem_add(&ck->mem, (n - r->slot_cap) * w);
  r->slot = ns;
  r->slot_cap = n;
  return AD_OK;
}

static void region_free(ck_state *ck, ck_region *r) {
  ckpt_mem_free(&ck->mem, r->env, r->env_size);
  ckpt_mem_free(&ck->mem, r->p, (size_t)r->np * sizeof(tape_var));
  ckpt_mem_free(&ck->mem, r->s0, (size_t)r->ns * sizeof(tape_var));
  if (r->slot) {
    ad_free(r->slot, r->slot_cap * width(r) * sizeof(double));
    ck->mem.now -= r->slot_cap * width(r) * sizeof(double);
  }
  ck->mem.now -= r->plan.cap * sizeof *r->plan.act;
  ckpt_plan_free(&r->plan);
  memset(r, 0, sizeof *r);
}

/* tape_reset: the regions belong to the recording being forgotten. */
static void ck_reset(tape_t *t) {
  ck_state *ck = (ck_state *)t->ck;
  for (size_t j = 0; j < ck->n; ++j) region_free(ck, &ck->r[j]);
  ck->n = 0;
  memset(&ck->stats, 0, sizeof ck->stats); /* the bytes held are counted in ck->mem */
  ck->stats.chosen = ck->spec;
}

static ad_status ck_reverse(tape_t *t, uint32_t top);

ad_status ckpt_tape_attach(tape_t *t, ckpt_spec sp) {
  if (!t) return AD_EINVAL;
  ckpt_tape_detach(t);
  ck_state *ck = (ck_state *)ad_calloc(sizeof *ck);
  if (!ck) return AD_ENOMEM;
  ck->spec = sp;
  ck->stats.chosen = sp;
  t->ck = ck;
  t->ck_reset = ck_reset;
  t->ck_reverse = ck_reverse;
  return AD_OK;
}

void ckpt_tape_detach(tape_t *t) {
  if (!t || !t->ck) return;
  ck_state *ck = (ck_state *)t->ck;
  ck_reset(t);
  ckpt_mem_free(&ck->mem, ck->wv, ck->wcap * sizeof(tape_var));
  ckpt_mem_free(&ck->mem, ck->w, ck->wcap * sizeof(double));
  ad_free(ck->r, ck->cap * sizeof *ck->r);
  ad_free(ck, sizeof *ck);
  t->ck = NULL;
  t->ck_reset = NULL;
  t->ck_reverse = NULL;
}

ckpt_tape_stats ckpt_tape_get_stats(const tape_t *t) {
  ckpt_tape_stats s;
  memset(&s, 0, sizeof s);
  if (!t || !t->ck) return s;
  const ck_state *ck = (const ck_state *)t->ck;
  s = ck->stats;
  s.bytes_now = ck->mem.now;
  s.bytes_peak = ck->mem.peak;
  s.recomputed = s.evaluations > s.steps ? s.evaluations - s.steps : 0;
  return s;
}

/* ---- steps ---- */

/* The variable standing for output v of a step: a statement of its own (a copy with partial v.d of an active v, an
 * independent-like statement for a passive one), so that every schedule passes states between steps the same way. */
AD_INLINE tape_var boundary(tape_t *t, tape_var v) {
  uint32_t i = v.i2 ? tape__push2(t, v.i, v.d, v.i2, v.d2) : v.i ? tape__push1(t, v.i, v.d) : tape__push0(t);
  return tape__var(v.v, 1.0, i);
}

/* Step k of r on state s and control values q: 1 if a step was taken (always, for AD_STEPS). */
AD_INLINE int call_step(const ck_region *r, tape_t *t, uint64_t k, const tape_var *p, tape_var *s, double *q) {
  if (r->wfn) return r->wfn(t, r->env, (int)k, p, s, q);
  r->fn(t, r->env, (int)k, p, s);
  return 1;
}

/* Records steps [a, b) from vars (ns, updated) and q, each step's outputs passed through boundary statements. A step
 * of a known count that says there is none (its decisions changed) fails the tape with AD_EGUARD. */
static void record_steps(tape_t *t, ck_state *ck, const ck_region *r, uint64_t a, uint64_t b, tape_var *vars,
                         double *q) {
  for (uint64_t k = a; k < b; ++k) {
    if (!call_step(r, t, k, r->p, vars, q)) {
      ck->stats.evaluations += k - a;
      tape_fail(t, AD_EGUARD);
      return;
    }
    for (int i = 0; i < r->ns; ++i) vars[i] = boundary(t, vars[i]);
  }
  ck->stats.evaluations += b - a;
}

/* Passive copies of the parameters into pv and of the state's values w into sv: ops on them record nothing. */
static void passive(const ck_region *r, const double *w, tape_var *sv, tape_var *pv) {
  for (int j = 0; j < r->np; ++j) pv[j] = tape__var(r->p[j].v, 0.0, 0);
  for (int i = 0; i < r->ns; ++i) sv[i] = tape__var(w[i], 0.0, 0);
}

/* Steps [a, b) on values only, from and into ck->w: passive copies of the state and the parameters, so the ops
 * record nothing (anything a misbehaving step records is dropped). AD_EGUARD if a step says there is none. */
static ad_status advance(tape_t *t, ck_state *ck, const ck_region *r, uint64_t a, uint64_t b) {
  tape_var *sv = ck->wv, *pv = ck->wv + r->ns;
  passive(r, ck->w, sv, pv);
  tape_mark m = tape_tell(t);
  ad_status before = tape_status(t), st = AD_OK;
  uint64_t k = a;
  for (; k < b; ++k)
    if (!call_step(r, t, k, pv, sv, ck->w + r->ns)) {
      st = AD_EGUARD;
      break;
    }
  if (before == AD_OK) tape_rewind(t, m);
  for (int i = 0; i < r->ns; ++i) ck->w[i] = sv[i].v;
  ck->stats.evaluations += k - a;
  return st;
}

/* Runs a non-REVERSE action. */
static ad_status act(tape_t *t, ck_state *ck, ck_region *r, const ckpt_action *x) {
  size_t w = width(r);
  switch (x->kind) {
  case CKPT_ADVANCE: return advance(t, ck, r, x->a, x->b);
  case CKPT_STORE: memcpy(r->slot + x->slot * w, ck->w, w * sizeof(double)); break;
  case CKPT_RESTORE: memcpy(ck->w, r->slot + x->slot * w, w * sizeof(double)); break;
  default: assert(0 && "REVERSE is not run here");
  }
  return AD_OK;
}

/* The step's input variables for a segment starting at a: the region's own inputs at step 0, else the current values
 * standing for border block `blk`. */
static void segment_inputs(const ck_state *ck, const ck_region *r, uint64_t a, int blk, tape_var *vars) {
  for (int i = 0; i < r->ns; ++i) {
    if (a == 0) {
      vars[i] = r->s0[i];
    } else {
      vars[i] = tape__var(ck->w[i], 1.0, r->border[blk] + (uint32_t)i);
    }
  }
}

static ad_status work_buffers(ck_state *ck, size_t need) {
  if (ck->wcap >= need) return AD_OK;
  ckpt_mem_free(&ck->mem, ck->wv, ck->wcap * sizeof(tape_var));
  ckpt_mem_free(&ck->mem, ck->w, ck->wcap * sizeof(double));
  ck->wv = (tape_var *)ckpt_mem_alloc(&ck->mem, need * sizeof(tape_var));
  ck->w = (double *)ckpt_mem_alloc(&ck->mem, need * sizeof(double));
  ck->wcap = need;
  if (!ck->wv || !ck->w) {
    ckpt_mem_free(&ck->mem, ck->wv, ck->wv ? need * sizeof(tape_var) : 0);
    ckpt_mem_free(&ck->mem, ck->w, ck->w ? need * sizeof(double) : 0);
    ck->wv = NULL, ck->w = NULL, ck->wcap = 0;
    return AD_ENOMEM;
  }
  return AD_OK;
}

/* The bytes one step's tape takes, measured by recording step 0 from s and dropping it: statements (1 byte and an
 * 8-byte adjoint each) and arguments (12 bytes each), boundary statements included. */
static uint64_t measure_step(tape_t *t, ck_state *ck, const ck_region *r, const tape_var *s, const double *q) {
  tape_var *vars = ck->wv;
  memcpy(vars, s, (size_t)r->ns * sizeof *vars);
  if (r->na) memcpy(ck->w, q, (size_t)r->na * sizeof(double)); /* the step may change q: on a copy */
  tape_stats a = tape_get_stats(t);
  tape_mark m = tape_tell(t);
  int took = call_step(r, t, 0, r->p, vars, ck->w);
  for (int i = 0; took && i < r->ns; ++i) vars[i] = boundary(t, vars[i]);
  tape_stats b = tape_get_stats(t);
  tape_rewind(t, m);
  ck->stats.evaluations += (uint64_t)took;
  return (b.statements - a.statements) * (1 + sizeof(double)) + (b.arguments - a.arguments) * 12;
}

/* A new region of the current recording, ck->r[ck->n - 1], with copies of env, p and s; no plan or checkpoints yet.
 * NULL after tape_fail(t, AD_ENOMEM). */
static ck_region *region_open(tape_t *t, ck_state *ck, const void *env, size_t env_size, int np, const tape_var *p,
                              int ns, const tape_var *s, int na) {
  if (ck->n == ck->cap) {
    size_t cap = ck->cap ? 2 * ck->cap : 4;
    ck_region *nr = (ck_region *)ad_realloc(ck->r, ck->cap * sizeof *nr, cap * sizeof *nr);
    if (!nr) {
      tape_fail(t, AD_ENOMEM);
      return NULL;
    }
    ck->r = nr;
    ck->cap = cap;
  }
  ck_region *r = &ck->r[ck->n];
  memset(r, 0, sizeof *r);
  r->np = np;
  r->ns = ns;
  r->na = na;
  r->env_size = env_size;
  r->env = ckpt_mem_alloc(&ck->mem, env_size);
  r->p = (tape_var *)ckpt_mem_alloc(&ck->mem, (size_t)np * sizeof(tape_var));
  r->s0 = (tape_var *)ckpt_mem_alloc(&ck->mem, (size_t)ns * sizeof(tape_var));
  if (!r->env || !r->p || !r->s0) {
    region_free(ck, r);
    tape_fail(t, AD_ENOMEM);
    return NULL;
  }
  ++ck->n;
  memcpy(r->env, env, env_size);
  memcpy(r->p, p, (size_t)np * sizeof(tape_var));
  memcpy(r->s0, s, (size_t)ns * sizeof(tape_var));
  return r;
}

/* Frees the newest region and fails the tape with st (AD_OK: drops it quietly). */
static void region_drop(tape_t *t, ck_state *ck, ad_status st) {
  region_free(ck, &ck->r[--ck->n]);
  if (st != AD_OK) tape_fail(t, st);
}

/* Two blocks of border statements: the inputs of the segment recorded in place read block 0. */
static void region_borders(tape_t *t, ck_region *r) {
  for (int blk = 0; blk < 2; ++blk) {
    r->border[blk] = tape__next(t);
    for (int i = 0; i < r->ns; ++i) tape__push0(t);
  }
  r->lo = tape__next(t) - 1;
}

void ckpt_tape_steps(tape_t *t, ckpt_tape_fn fn, const void *env, size_t env_size, int n_steps, int np,
                     const tape_var *p, int ns, tape_var *s) {
  ck_state *ck = (ck_state *)t->ck;
  if (!ck) { /* no schedule: record through, each step's outputs one statement each as the schedules have them */
    for (int k = 0; k < n_steps; ++k) {
      fn(t, env, k, p, s);
      for (int i = 0; i < ns; ++i) s[i] = tape_settle(t, s[i]);
    }
    return;
  }
  if (n_steps <= 0) return;
  if (tape_status(t) != AD_OK) { /* the recording failed already: keep the values right, record nothing */
    for (int k = 0; k < n_steps; ++k) fn(t, env, k, p, s);
    return;
  }
  ad_status st = work_buffers(ck, (size_t)ns + (size_t)np);
  if (st != AD_OK) {
    tape_fail(t, st);
    return;
  }
  ckpt_spec sp = ck->spec;
  ck->stats.steps += (uint64_t)n_steps;
  ck->stats.regions += 1;
  if (sp.kind == CKPT_BUDGET) {
    ck_region tmp;
    memset(&tmp, 0, sizeof tmp);
    tmp.fn = fn, tmp.env = (void *)(uintptr_t)env, tmp.p = (tape_var *)(uintptr_t)p, tmp.ns = ns;
    uint64_t T = measure_step(t, ck, &tmp, s, NULL);
    ck->stats.step_bytes = T;
    /* Two step tapes at once: the steps recorded in place stay while a segment is re-recorded above them. */
    st = ckpt_choose(sp.arg, (uint64_t)ns * sizeof(double), 2 * T, (uint64_t)n_steps, &sp);
    if (st != AD_OK) {
      tape_fail(t, st);
      return;
    }
  }
  ck->stats.chosen = sp;
  if (sp.kind == CKPT_STORE_ALL || n_steps == 1) { /* everything in place, through the same boundary statements */
    ck_region tmp;
    memset(&tmp, 0, sizeof tmp);
    tmp.fn = fn, tmp.env = (void *)(uintptr_t)env, tmp.p = (tape_var *)(uintptr_t)p, tmp.ns = ns;
    record_steps(t, ck, &tmp, 0, (uint64_t)n_steps, s, NULL);
    return;
  }
  /* A checkpointed region. */
  ck_region *r = region_open(t, ck, env, env_size, np, p, ns, s, 0);
  if (!r) return;
  r->fn = fn;
  r->steps = (uint64_t)n_steps;
  st = ckpt_plan_make(&r->plan, sp, r->steps);
  if (st == AD_OK) {
    ckpt_mem_add(&ck->mem, r->plan.cap * sizeof *r->plan.act);
    st = slots_reserve(ck, r, r->plan.slots);
  }
  if (st != AD_OK) {
    region_drop(t, ck, st);
    return;
  }
  ck->stats.slots = r->plan.slots;
  ck->stats.slot_bytes = (uint64_t)r->plan.slots * width(r) * sizeof(double);
  region_borders(t, r);
  /* The forward sweep: the plan's actions up to its first REVERSE, then that one in place. */
  for (int i = 0; i < ns; ++i) ck->w[i] = s[i].v;
  for (size_t j = 0; j < r->plan.first_reverse; ++j) (void)act(t, ck, r, &r->plan.act[j]); /* AD_STEPS: no guard */
  const ckpt_action *fr = &r->plan.act[r->plan.first_reverse];
  assert(fr->kind == CKPT_REVERSE && fr->b == r->steps);
  segment_inputs(ck, r, fr->a, 0, s);
  record_steps(t, ck, r, fr->a, fr->b, s, NULL);
}

/* ---- loops of unknown length ---- */

/* Whether the schedule (online or every) might keep the state at step k >= 1 of the forward sweep (asked before
 * step k runs, so the state is worth copying), and, once step k turned out to exist, where it keeps it: a slot, or
 * -1 (online: thinning frees slots as it goes). */
static int keeps(ckpt_spec sp, const ckpt_online *o, uint64_t k) {
  return sp.kind == CKPT_ONLINE ? k % o->stride == 0 : k % sp.arg == 0;
}
static long keep_slot(ckpt_spec sp, ckpt_online *o, uint64_t k) {
  if (sp.kind == CKPT_ONLINE) return ckpt_online_before(o, k);
  return k % sp.arg ? -1 : (long)(k / sp.arg);
}

void ckpt_tape_steps_while(tape_t *t, ckpt_tape_while_fn fn, const void *env, size_t env_size, int max_steps, int np,
                           const tape_var *p, int ns, tape_var *s, int na, double *q) {
  ck_state *ck = (ck_state *)t->ck;
  if (!ck || tape_status(t) != AD_OK) { /* record through (each step's outputs settled, as above); or the
                                         * recording failed already: values only */
    for (int k = 0; k < max_steps && fn(t, env, k, p, s, q); ++k)
      for (int i = 0; i < ns; ++i) s[i] = tape_settle(t, s[i]);
    return;
  }
  if (max_steps <= 0) return;
  ad_status st = work_buffers(ck, (size_t)ns + (size_t)np + (size_t)na);
  if (st != AD_OK) {
    tape_fail(t, st);
    return;
  }
  ckpt_spec sp = ck->spec;
  ck->stats.regions += 1;
  if (sp.kind == CKPT_BUDGET) {
    ck_region tmp;
    memset(&tmp, 0, sizeof tmp);
    tmp.wfn = fn, tmp.env = (void *)(uintptr_t)env, tmp.p = (tape_var *)(uintptr_t)p, tmp.ns = ns, tmp.na = na;
    uint64_t T = measure_step(t, ck, &tmp, s, q);
    ck->stats.step_bytes = T;
    /* The length is unknown: online, with as many checkpoints as fit beside two step tapes. */
    st = ckpt_choose(sp.arg, ((uint64_t)ns + (uint64_t)na) * sizeof(double), 2 * T, 0, &sp);
    if (st != AD_OK) {
      tape_fail(t, st);
      return;
    }
  }
  if (sp.kind == CKPT_BINOMIAL) sp.kind = CKPT_ONLINE; /* Revolve needs the length in advance */
  if (sp.kind == CKPT_ONLINE && sp.arg > (uint64_t)max_steps) sp.arg = (uint64_t)max_steps;
  ck->stats.chosen = sp;
  if (sp.kind == CKPT_STORE_ALL) { /* everything in place, through the same boundary statements */
    uint64_t k = 0;
    for (; k < (uint64_t)max_steps && fn(t, env, (int)k, p, s, q); ++k)
      for (int i = 0; i < ns; ++i) s[i] = boundary(t, s[i]);
    ck->stats.steps += k;
    ck->stats.evaluations += k;
    return;
  }
  ck_region *r = region_open(t, ck, env, env_size, np, p, ns, s, na);
  if (!r) return;
  r->wfn = fn;
  ckpt_online o;
  memset(&o, 0, sizeof o);
  uint32_t cap = sp.kind == CKPT_ONLINE ? (uint32_t)sp.arg : (uint32_t)(((uint64_t)max_steps - 1) / sp.arg + 1);
  if (sp.kind == CKPT_ONLINE) st = ckpt_online_init(&o, (uint32_t)sp.arg);
  if (st == AD_OK) st = slots_reserve(ck, r, cap < 4 ? cap : 4);
  if (st != AD_OK) {
    ckpt_online_free(&o);
    region_drop(t, ck, st);
    return;
  }
  /* The forward sweep on values (passive copies: nothing recorded), the state at step k in w while step k runs on
   * sv and q, so that it can be kept once the step turned out to exist. */
  size_t wd = width(r);
  double *w = ck->w;
  tape_var *sv = ck->wv, *pv = ck->wv + ns;
  for (int i = 0; i < ns; ++i) w[i] = s[i].v;
  if (na) memcpy(w + ns, q, (size_t)na * sizeof(double));
  memcpy(r->slot, w, wd * sizeof(double));
  passive(r, w, sv, pv);
  tape_mark m = tape_tell(t);
  uint64_t l = 0;
  for (; st == AD_OK && l < (uint64_t)max_steps; ++l) {
    int may = l && keeps(sp, &o, l);
    if (may) {
      for (int i = 0; i < ns; ++i) w[i] = sv[i].v;
      if (na) memcpy(w + ns, q, (size_t)na * sizeof(double));
    }
    if (!fn(t, r->env, (int)l, pv, sv, q)) break;
    long j = may ? keep_slot(sp, &o, l) : -1;
    if (j < 0) continue;
    if ((uint32_t)j >= r->slot_cap) {
      uint32_t want = 2 * r->slot_cap > (uint32_t)j + 1 ? 2 * r->slot_cap : (uint32_t)j + 1;
      st = slots_reserve(ck, r, want < cap ? want : cap);
      if (st != AD_OK) break;
    }
    memcpy(r->slot + (size_t)j * wd, w, wd * sizeof(double));
  }
  tape_rewind(t, m); /* anything a misbehaving step recorded */
  ck->stats.evaluations += l;
  ck->stats.steps += l;
  for (int i = 0; i < ns; ++i) w[i] = sv[i].v; /* the state at step l */
  if (na) memcpy(w + ns, q, (size_t)na * sizeof(double));
  if (st == AD_OK && l == 0) { /* no step: nothing to record, s and q as they were */
    ckpt_online_free(&o);
    region_drop(t, ck, AD_OK);
    return;
  }
  /* The length is known: the plan, whose forward actions are the ones just taken. */
  r->steps = l;
  if (st == AD_OK) st = sp.kind == CKPT_ONLINE ? ckpt_online_finish(&o, l, &r->plan) : ckpt_plan_make(&r->plan, sp, l);
  ckpt_online_free(&o);
  if (st == AD_OK) {
    ckpt_mem_add(&ck->mem, r->plan.cap * sizeof *r->plan.act);
    st = slots_reserve(ck, r, r->plan.slots);
  }
  if (st != AD_OK) {
    region_drop(t, ck, st);
    return;
  }
  ck->stats.slots = r->plan.slots;
  ck->stats.slot_bytes = (uint64_t)r->plan.slots * wd * sizeof(double);
  region_borders(t, r);
  const ckpt_plan *pl = &r->plan;
  size_t j = 0; /* the plan's leading STOREs and ADVANCEs happened above */
  while (j < pl->first_reverse && (pl->act[j].kind == CKPT_STORE || pl->act[j].kind == CKPT_ADVANCE)) ++j;
  assert(j > 0);
  if (pl->act[j - 1].kind == CKPT_STORE) { /* every: the plan's forward sweep stops at the last checkpoint */
    ckpt_action x = pl->act[j - 1];
    x.kind = CKPT_RESTORE;
    (void)act(t, ck, r, &x);
  }
  for (; j < pl->first_reverse; ++j)
    if ((st = act(t, ck, r, &pl->act[j])) != AD_OK) {
      tape_fail(t, st);
      return;
    }
  const ckpt_action *fr = &pl->act[pl->first_reverse];
  assert(fr->kind == CKPT_REVERSE && fr->b == r->steps);
  segment_inputs(ck, r, fr->a, 0, s);
  if (na) memcpy(q, w + ns, (size_t)na * sizeof(double));
  record_steps(t, ck, r, fr->a, fr->b, s, q);
}

/* ---- the reverse sweep ---- */

/* The reverse sweep of region r's steps below the ones recorded in place, after the main sweep gathered the adjoints
 * of their inputs in border block 0. */
static ad_status region_reverse(tape_t *t, ck_state *ck, ck_region *r) {
  const ckpt_plan *pl = &r->plan;
  ad_status st = AD_OK;
  if (r->swept) { /* the checkpoints of the forward sweep: again from the first one, held in slot 0 throughout */
    memcpy(ck->w, r->slot, width(r) * sizeof(double));
    for (size_t j = 0; st == AD_OK && j < pl->first_reverse; ++j) st = act(t, ck, r, &pl->act[j]);
  }
  if (st != AD_OK) return st;
  r->swept = 1;
  tape_var *vars = ck->wv;
  int cur = 0; /* the block holding the adjoints of the next segment's outputs */
  for (size_t j = pl->first_reverse + 1; j < pl->n; ++j) {
    const ckpt_action *x = &pl->act[j];
    if (x->kind != CKPT_REVERSE) {
      if ((st = act(t, ck, r, x)) != AD_OK) return st;
      continue;
    }
    int other = cur ^ 1;
    tape_mark m = tape_tell(t);
    uint32_t base = tape__next(t);
    segment_inputs(ck, r, x->a, other, vars);
    record_steps(t, ck, r, x->a, x->b, vars, ck->w + r->ns); /* q from the restored checkpoint */
    st = tape_status(t);
    if (st == AD_OK) st = tape_adjoints_cover(t);
    if (st != AD_OK) {
      tape_rewind(t, m);
      return st;
    }
    double *adj = t->adj;
    uint32_t top = tape__next(t) - 1;
    memset(adj + base, 0, ((size_t)top + 1 - base) * sizeof(double));
    for (int i = r->ns; i-- > 0;) { /* seed the outputs' copies (fresh statements: = is +=) */
      adj[vars[i].i] = adj[r->border[cur] + (uint32_t)i];
      adj[r->border[cur] + (uint32_t)i] = 0.0;
    }
    if (x->a) memset(adj + r->border[other], 0, (size_t)r->ns * sizeof(double));
    tape_cursor c = tape_cursor_end(t);
    st = tape_sweep_down(t, &c, base - 1);
    tape_rewind(t, m);
    if (st != AD_OK) return st;
    cur = other;
  }
  return AD_OK;
}

static ad_status ck_reverse(tape_t *t, uint32_t top) {
  ck_state *ck = (ck_state *)t->ck;
  tape_cursor c;
  ad_status st = tape_cursor_at(t, top, &c);
  for (size_t j = ck->n; st == AD_OK && j-- > 0;) {
    ck_region *r = &ck->r[j];
    if (r->lo >= top) continue; /* above the outputs swept: nothing of it is reached */
    st = tape_sweep_down(t, &c, r->lo);
    if (st == AD_OK) st = region_reverse(t, ck, r);
  }
  if (st == AD_OK) st = tape_sweep_down(t, &c, 0);
  if (t->reach) memset(t->reach, 0, t->reach_cap); /* marks left on statements below a segment's start */
  return st;
}
