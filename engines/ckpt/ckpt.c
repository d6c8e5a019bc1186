/* ckpt.c: checkpointing schedules (see ckpt.h). */
#include "ckpt.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Parsing ---------------------------------------------------------------------------------------------- */

static int parse_u64(const char *s, uint64_t *out, int suffix_ok) {
  if (!s || *s < '0' || *s > '9') return 0;
  char *end = NULL;
  unsigned long long v = strtoull(s, &end, 10);
  unsigned shift = 0;
  if (suffix_ok && *end) {
    if (*end == 'k' || *end == 'K') shift = 10;
    else if (*end == 'M') shift = 20;
    else if (*end == 'G') shift = 30;
    else return 0;
    ++end;
  }
  if (*end || v == 0 || (shift && v > (UINT64_MAX >> shift))) return 0;
  *out = (uint64_t)v << shift;
  return 1;
}

ad_status ckpt_parse(const char *text, ckpt_spec *out) {
  if (!text || !out) return AD_EINVAL;
  ckpt_spec sp = {CKPT_STORE_ALL, 0};
  if (!strcmp(text, "store_all")) {
    *out = sp;
    return AD_OK;
  }
  static const struct { const char *prefix; ckpt_kind kind; int suffix; } forms[] = {
      {"every:", CKPT_EVERY, 0}, {"binomial:", CKPT_BINOMIAL, 0}, {"online:", CKPT_ONLINE, 0},
      {"budget:", CKPT_BUDGET, 1}};
  for (size_t j = 0; j < sizeof forms / sizeof forms[0]; ++j) {
    size_t n = strlen(forms[j].prefix);
    if (strncmp(text, forms[j].prefix, n)) continue;
    if (!parse_u64(text + n, &sp.arg, forms[j].suffix)) return AD_EINVAL;
    if (forms[j].kind != CKPT_BUDGET && sp.arg > UINT32_MAX) return AD_EINVAL;
    sp.kind = forms[j].kind;
    *out = sp;
    return AD_OK;
  }
  return AD_EINVAL;
}

char *ckpt_format(ckpt_spec sp, char *buf, size_t n) {
  static const char *const names[] = {"store_all", "every", "binomial", "online", "budget"};
  if (!buf || !n) return buf;
  if (sp.kind == CKPT_STORE_ALL) snprintf(buf, n, "store_all");
  else if ((unsigned)sp.kind <= CKPT_BUDGET) snprintf(buf, n, "%s:%llu", names[sp.kind], (unsigned long long)sp.arg);
  else snprintf(buf, n, "?");
  return buf;
}

/* ---- Binomial counts ---------------------------------------------------------------------------------------- */

uint64_t ckpt_beta(unsigned s, unsigned t) {
  /* C(s + t, t) built as prod_{j=1..t} (s + j) / j: each partial product is itself a binomial coefficient, so the
   * division is exact; the product is formed in 128 bits. */
  unsigned __int128 b = 1;
  for (unsigned j = 1; j <= t; ++j) {
    b = b * (s + j) / j;
    if (b > UINT64_MAX) return UINT64_MAX;
  }
  return (uint64_t)b;
}

unsigned ckpt_reps(uint64_t l, unsigned s) {
  assert(s >= 1);
  unsigned r = 0;
  unsigned __int128 b = 1; /* beta(s, r) */
  while (b < l) {
    ++r;
    b = b * (s + r) / r;
  }
  return r;
}

uint64_t ckpt_binomial_cost(uint64_t l, unsigned s) {
  if (l <= 1) return 0;
  unsigned r = ckpt_reps(l, s);
  unsigned __int128 c = (unsigned __int128)r * l;
  uint64_t b = ckpt_beta(s + 1, r - 1);
  if (c > UINT64_MAX) return UINT64_MAX;
  return (uint64_t)c - b;
}

/* ---- Plans -------------------------------------------------------------------------------------------------- */

#define CKPT_NONE UINT64_MAX

typedef struct gen {
  ckpt_plan *p;
  ad_status st;
  uint64_t w;     /* the step the current state is at, or CKPT_NONE */
  uint8_t *used;  /* slots in use */
  uint32_t nslots;
  uint32_t low;   /* no slot below it is free */
} gen;

static void emit(gen *g, ckpt_act_kind kind, uint32_t slot, uint64_t a, uint64_t b) {
  if (g->st != AD_OK) return;
  ckpt_plan *p = g->p;
  if (p->n == p->cap) {
    size_t cap = p->cap ? 2 * p->cap : 64;
    ckpt_action *na = (ckpt_action *)ad_realloc(p->act, p->cap * sizeof *na, cap * sizeof *na);
    if (!na) {
      g->st = AD_ENOMEM;
      return;
    }
    p->act = na;
    p->cap = cap;
  }
  ckpt_action *x = &p->act[p->n++];
  x->kind = kind;
  x->slot = slot;
  x->a = a;
  x->b = b;
  if (kind == CKPT_ADVANCE) p->advances += b - a;
  if (kind == CKPT_REVERSE) {
    if (p->first_reverse == (size_t)-1) p->first_reverse = p->n - 1;
    if (b - a > p->max_tape) p->max_tape = b - a;
  }
  if (slot + 1 > p->slots && kind == CKPT_STORE) p->slots = slot + 1;
}

static void g_restore(gen *g, uint32_t slot, uint64_t a) {
  if (g->w != a) emit(g, CKPT_RESTORE, slot, a, a);
  g->w = a;
}
static void g_advance(gen *g, uint64_t a, uint64_t b) {
  assert(g->w == a);
  if (b > a) emit(g, CKPT_ADVANCE, 0, a, b);
  g->w = b;
}
static void g_store(gen *g, uint32_t slot) { emit(g, CKPT_STORE, slot, g->w, g->w); }
static void g_reverse(gen *g, uint64_t a, uint64_t b) {
  assert(g->w == a);
  emit(g, CKPT_REVERSE, 0, a, b);
  g->w = CKPT_NONE;
}
static uint32_t g_alloc(gen *g) {
  for (uint32_t j = g->low; j < g->nslots; ++j)
    if (!g->used[j]) {
      g->used[j] = 1;
      g->low = j + 1;
      return j;
    }
  assert(0 && "no free slot: the schedule's count is wrong");
  return 0;
}
static void g_give_back(gen *g, uint32_t j) {
  g->used[j] = 0;
  if (j < g->low) g->low = j;
}

/* The split of an interval of L >= 2 steps with s >= 2 checkpoints: the m in [1, L - 1] that minimises the cost of
 * advancing m steps, reversing the right part with s - 1 checkpoints and the left part with s (Revolve's recursion);
 * the smallest such m. */
static uint64_t split(uint64_t L, unsigned s) {
  uint64_t best = 1, best_cost = UINT64_MAX;
  for (uint64_t m = 1; m < L; ++m) {
    uint64_t c = m + ckpt_binomial_cost(L - m, s - 1) + ckpt_binomial_cost(m, s);
    if (c < best_cost) best_cost = c, best = m;
  }
  return best;
}

/* Reverses steps [a, b) from the state at a, held in `slot`, with s checkpoints (slot included). */
static void g_binomial(gen *g, uint64_t a, uint64_t b, unsigned s, uint32_t slot) {
  if (g->st != AD_OK) return;
  uint64_t L = b - a;
  if (L == 1) {
    g_restore(g, slot, a);
    g_reverse(g, a, b);
    return;
  }
  if (s >= L) { /* a checkpoint for every step: advance once, keep each state, reverse from each (L - 1 advances) */
    uint32_t *held = (uint32_t *)ad_malloc((size_t)L * sizeof *held);
    if (!held) {
      g->st = AD_ENOMEM;
      return;
    }
    held[0] = slot;
    g_restore(g, slot, a);
    for (uint64_t k = 1; k < L; ++k) {
      g_advance(g, a + k - 1, a + k);
      held[k] = g_alloc(g);
      g_store(g, held[k]);
    }
    for (uint64_t k = L; k-- > 0;) {
      g_restore(g, held[k], a + k);
      g_reverse(g, a + k, a + k + 1);
      if (k) g_give_back(g, held[k]);
    }
    ad_free(held, (size_t)L * sizeof *held);
    return;
  }
  if (s == 1) {
    for (uint64_t k = b; k-- > a;) {
      g_restore(g, slot, a);
      g_advance(g, a, k);
      g_reverse(g, k, k + 1);
    }
    return;
  }
  uint64_t m = a + split(L, s);
  g_restore(g, slot, a);
  g_advance(g, a, m);
  uint32_t ns = g_alloc(g);
  g_store(g, ns);
  g_binomial(g, m, b, s - 1, ns);
  g_give_back(g, ns);
  g_binomial(g, a, m, s, slot);
}

static ad_status g_begin(gen *g, ckpt_plan *p, uint64_t steps, uint32_t nslots) {
  memset(p, 0, sizeof *p);
  memset(g, 0, sizeof *g);
  p->first_reverse = (size_t)-1;
  p->steps = steps;
  g->p = p;
  g->st = AD_OK;
  g->nslots = nslots;
  g->used = (uint8_t *)ad_calloc(nslots);
  if (!g->used) return g->st = AD_ENOMEM;
  g->used[0] = 1;
  g->w = 0;
  g_store(g, 0);
  return g->st;
}

static ad_status g_end(gen *g) {
  ad_free(g->used, g->nslots);
  if (g->st != AD_OK) ckpt_plan_free(g->p);
  return g->st;
}

ad_status ckpt_plan_make(ckpt_plan *p, ckpt_spec sp, uint64_t steps) {
  if (!p) return AD_EINVAL;
  memset(p, 0, sizeof *p);
  if (steps == 0 || sp.arg == 0 || sp.arg > UINT32_MAX) return AD_EINVAL;
  if (sp.kind == CKPT_ONLINE) {
    ckpt_online o;
    ad_status st = ckpt_online_init(&o, (uint32_t)sp.arg);
    if (st == AD_OK) st = ckpt_online_finish(&o, steps, p);
    ckpt_online_free(&o);
    return st;
  }
  gen g;
  if (sp.kind == CKPT_BINOMIAL) {
    unsigned s = sp.arg > steps ? (unsigned)steps : (unsigned)sp.arg;
    if (g_begin(&g, p, steps, s) == AD_OK) g_binomial(&g, 0, steps, s, 0);
    return g_end(&g);
  }
  if (sp.kind == CKPT_EVERY) {
    uint64_t K = sp.arg, n = (steps + K - 1) / K; /* checkpoints at 0, K, ..., (n - 1) K */
    if (n > UINT32_MAX) return AD_ERANGE;
    if (g_begin(&g, p, steps, (uint32_t)n) == AD_OK) {
      for (uint64_t j = 1; j < n; ++j) {
        g_advance(&g, (j - 1) * K, j * K);
        g_store(&g, (uint32_t)j);
      }
      for (uint64_t j = n; j-- > 0;) {
        g_restore(&g, (uint32_t)j, j * K);
        g_reverse(&g, j * K, (j + 1) * K < steps ? (j + 1) * K : steps);
      }
    }
    return g_end(&g);
  }
  return AD_EINVAL;
}

void ckpt_plan_free(ckpt_plan *p) {
  if (!p) return;
  ad_free(p->act, p->cap * sizeof *p->act);
  memset(p, 0, sizeof *p);
}

/* ---- Online ------------------------------------------------------------------------------------------------- */

ad_status ckpt_online_init(ckpt_online *o, uint32_t c) {
  if (!o) return AD_EINVAL;
  memset(o, 0, sizeof *o);
  if (c == 0) return AD_EINVAL;
  o->at = (uint64_t *)ad_malloc((size_t)c * sizeof *o->at);
  if (!o->at) return AD_ENOMEM;
  o->slots = c;
  o->stride = 1;
  o->at[0] = 0;
  for (uint32_t j = 1; j < c; ++j) o->at[j] = CKPT_NONE;
  return AD_OK;
}

static long online_free_slot(const ckpt_online *o) {
  for (uint32_t j = 0; j < o->slots; ++j)
    if (o->at[j] == CKPT_NONE) return (long)j;
  return -1;
}

long ckpt_online_before(ckpt_online *o, uint64_t k) {
  if (!o || !o->at || k == 0) return -1;
  for (;;) {
    if (k % o->stride) return -1;
    long j = online_free_slot(o);
    if (j >= 0) {
      o->at[j] = k;
      return j;
    }
    o->stride *= 2; /* full: keep only the multiples of the doubled stride (step 0 always) */
    for (uint32_t i = 0; i < o->slots; ++i)
      if (o->at[i] != CKPT_NONE && o->at[i] % o->stride) o->at[i] = CKPT_NONE;
  }
}

ad_status ckpt_online_finish(ckpt_online *o, uint64_t l, ckpt_plan *p) {
  if (!o || !o->at || !p) return AD_EINVAL;
  memset(p, 0, sizeof *p);
  if (l == 0) return AD_EINVAL;
  /* Replay the forward sweep's decisions (deterministic in k), as the actions it took. */
  ckpt_online f;
  ad_status st = ckpt_online_init(&f, o->slots);
  if (st != AD_OK) return st;
  gen g;
  if (g_begin(&g, p, l, o->slots) != AD_OK) {
    ckpt_online_free(&f);
    return g_end(&g);
  }
  for (uint64_t k = 1; k < l; ++k) {
    long j = ckpt_online_before(&f, k);
    if (j < 0) continue;
    g_advance(&g, g.w, k);
    g_store(&g, (uint32_t)j);
  }
  g_advance(&g, g.w, l); /* the forward sweep ends at step l, where the length became known */
  for (uint32_t j = 0; j < f.slots; ++j) g.used[j] = f.at[j] != CKPT_NONE;
  g.low = 0;
  /* Intervals between the kept checkpoints, last first; each with the slots free at that time. */
  uint64_t hi = l;
  for (;;) {
    uint32_t top = 0, held = 0;
    for (uint32_t j = 0; j < f.slots; ++j)
      if (f.at[j] != CKPT_NONE) {
        ++held;
        if (f.at[j] < hi && (f.at[top] == CKPT_NONE || f.at[top] >= hi || f.at[j] > f.at[top])) top = j;
      }
    uint64_t lo = f.at[top];
    assert(lo < hi);
    g_binomial(&g, lo, hi, f.slots - held + 1, top);
    if (lo == 0) break;
    f.at[top] = CKPT_NONE;
    g_give_back(&g, top);
    hi = lo;
  }
  ckpt_online_free(&f);
  return g_end(&g);
}

void ckpt_online_free(ckpt_online *o) {
  if (!o) return;
  ad_free(o->at, (size_t)o->slots * sizeof *o->at);
  memset(o, 0, sizeof *o);
}

/* ---- Budgets ------------------------------------------------------------------------------------------------ */

ad_status ckpt_choose(uint64_t budget, uint64_t state_bytes, uint64_t step_bytes, uint64_t steps, ckpt_spec *out) {
  if (!out || state_bytes == 0) return AD_EINVAL;
  if (steps && (step_bytes == 0 || steps <= budget / step_bytes)) {
    out->kind = CKPT_STORE_ALL;
    out->arg = 0;
    return AD_OK;
  }
  if (budget < step_bytes || budget - step_bytes < state_bytes) return AD_EBUDGET;
  uint64_t c = (budget - step_bytes) / state_bytes;
  if (steps && c > steps) c = steps;
  if (c > UINT32_MAX) c = UINT32_MAX;
  out->kind = steps ? CKPT_BINOMIAL : CKPT_ONLINE;
  out->arg = c;
  return AD_OK;
}

/* ---- Accounting ---------------------------------------------------------------------------------------------- */

void ckpt_mem_add(ckpt_mem *m, uint64_t n) {
  m->now += n;
  if (m->now > m->peak) m->peak = m->now;
}

void *ckpt_mem_alloc(ckpt_mem *m, size_t n) {
  void *p = ad_malloc(n ? n : 1);
  if (p) ckpt_mem_add(m, n);
  return p;
}

void ckpt_mem_free(ckpt_mem *m, void *p, size_t n) {
  if (!p) return;
  ad_free(p, n ? n : 1);
  m->now -= n;
}
