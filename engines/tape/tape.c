/* tape.c: chunked storage and the reverse sweep of the Jacobian tape (see tape.h). */
#include "tape.h"

#include <assert.h>
#include <string.h>

/* A chunk of statements (cap argument counts) or of arguments (cap partials, then cap indices). */
struct tape_chunk {
  tape_chunk *prev, *next;
  size_t cap;      /* entries */
  size_t used;     /* entries written; valid once the recording has moved past this chunk */
  size_t bytes;    /* allocation size, header included */
  uint32_t first;  /* statement chunks: index of the chunk's first statement */
  tape_chunk *arg_chunk; /* statement chunks: the argument chunk and offset where the arguments of the chunk's */
  size_t arg_off;        /* first statement go (or, if they do not fit there, the chunk before the next one) */
  double data[];   /* statement chunks use it as bytes */
};

enum { TAPE_FIRST_STATEMENTS = 256, TAPE_SCRATCH = 64 };

/* Scratch space that absorbs writes after an allocation failure, so recording can continue harmlessly until
 * the caller checks tape_status. Its contents are never read. */
static tape_nargs tape__scratch_st[TAPE_SCRATCH];
static double tape__scratch_ap[TAPE_SCRATCH];
static uint32_t tape__scratch_ai[TAPE_SCRATCH];

static tape_nargs *st_data(tape_chunk *c) { return (tape_nargs *)c->data; }
static double *arg_partials(tape_chunk *c) { return c->data; }
static uint32_t *arg_indices(tape_chunk *c) { return (uint32_t *)(c->data + c->cap); }

static tape_chunk *chunk_new(size_t cap, int is_args) {
  size_t payload = is_args ? cap * (sizeof(double) + sizeof(uint32_t)) : cap * sizeof(tape_nargs);
  size_t bytes = sizeof(tape_chunk) + payload;
  tape_chunk *c = (tape_chunk *)ad_malloc(bytes);
  if (!c) return NULL;
  c->prev = c->next = NULL;
  c->cap = cap;
  c->used = 0;
  c->bytes = bytes;
  c->first = 0;
  c->arg_chunk = NULL;
  c->arg_off = 0;
  return c;
}

static void chunks_free(tape_chunk *c) {
  while (c) {
    tape_chunk *n = c->next;
    ad_free(c, c->bytes);
    c = n;
  }
}

static void enter_st_chunk(tape_t *t, tape_chunk *c, uint32_t first) {
  t->st_cur = c;
  c->first = first;
  c->used = 0;
  c->arg_chunk = t->arg_cur;
  c->arg_off = (size_t)(t->ap - t->ap_base);
  t->st = t->st_base = st_data(c);
  t->st_end = t->st + c->cap;
  t->st_first = first;
}

static void enter_arg_chunk(tape_t *t, tape_chunk *c) {
  t->arg_cur = c;
  c->used = 0;
  t->ap = t->ap_base = arg_partials(c);
  t->ai_base = arg_indices(c);
  t->ap_end = t->ap + c->cap;
}

/* After an error, writes go to scratch space; indices handed out from then on are meaningless (the recording
 * is refused by tape_reverse) but stay in range. */
static void fail(tape_t *t, ad_status s) {
  if (t->status == AD_OK) { /* what was recorded before the first error stays countable */
    tape_stats at = tape_get_stats(t);
    t->at_fail.statements = at.statements;
    t->at_fail.arguments = at.arguments;
    t->status = s;
  }
  t->st = t->st_base = tape__scratch_st;
  t->st_end = tape__scratch_st + TAPE_SCRATCH;
  t->ap = t->ap_base = tape__scratch_ap;
  t->ai_base = tape__scratch_ai;
  t->ap_end = tape__scratch_ap + TAPE_SCRATCH;
}

tape_t *tape_new(void) {
  tape_t *t = (tape_t *)ad_calloc(sizeof *t);
  if (!t) return NULL;
  t->st_head = chunk_new(TAPE_FIRST_STATEMENTS, 0);
  t->arg_head = chunk_new(2 * TAPE_FIRST_STATEMENTS, 1);
  if (!t->st_head || !t->arg_head) {
    chunks_free(t->st_head);
    chunks_free(t->arg_head);
    ad_free(t, sizeof *t);
    return NULL;
  }
  tape_reset(t);
  return t;
}

void tape_free(tape_t *t) {
  if (!t) return;
  chunks_free(t->st_head);
  chunks_free(t->arg_head);
  ad_free(t->adj, t->adj_cap * sizeof(double));
  ad_free(t->reach, t->reach_cap);
  ad_free(t, sizeof *t);
}

void tape_reset(tape_t *t) {
  if (!t) return;
  t->status = AD_OK;
  t->at_fail.statements = t->at_fail.arguments = 0;
  enter_arg_chunk(t, t->arg_head);
  enter_st_chunk(t, t->st_head, 1); /* index 0 stands for every passive value */
}

void tape_shrink(tape_t *t) {
  if (!t) return;
  chunks_free(t->st_head->next);
  chunks_free(t->arg_head->next);
  t->st_head->next = t->arg_head->next = NULL;
  ad_free(t->adj, t->adj_cap * sizeof(double));
  t->adj = NULL;
  t->adj_cap = 0;
  ad_free(t->reach, t->reach_cap);
  t->reach = NULL;
  t->reach_cap = 0;
  tape_reset(t);
}

ad_status tape_status(const tape_t *t) { return t ? t->status : AD_EINVAL; }

/* Moves the recording into the chunk after cur, allocating one twice as large (up to the maximum) if none. */
static tape_chunk *next_chunk(tape_chunk *cur, size_t max_cap, int is_args) {
  if (cur->next) return cur->next;
  size_t cap = cur->cap * 2 < max_cap ? cur->cap * 2 : max_cap;
  tape_chunk *c = chunk_new(cap, is_args);
  if (!c) return NULL;
  c->prev = cur;
  cur->next = c;
  return c;
}

void tape__grow(tape_t *t, unsigned k) {
  if (t->status != AD_OK) { /* already failed: keep absorbing writes */
    fail(t, t->status);
    return;
  }
  if (t->st == t->st_end) {
    uint64_t next = (uint64_t)t->st_first + t->st_cur->cap;
    if (next + TAPE_CHUNK_MAX >= UINT32_MAX) { /* the next chunk's indices would not fit in 32 bits */
      fail(t, AD_ERANGE);
      return;
    }
    t->st_cur->used = t->st_cur->cap;
    tape_chunk *c = next_chunk(t->st_cur, TAPE_CHUNK_MAX, 0);
    if (!c) {
      fail(t, AD_ENOMEM);
      return;
    }
    enter_st_chunk(t, c, (uint32_t)next);
  }
  if ((size_t)(t->ap_end - t->ap) < k) {
    tape_chunk *cur = t->arg_cur;
    cur->used = (size_t)(t->ap - arg_partials(cur));
    tape_chunk *c = next_chunk(cur, 2 * TAPE_CHUNK_MAX, 1);
    if (!c) {
      fail(t, AD_ENOMEM);
      return;
    }
    enter_arg_chunk(t, c);
  }
}

tape_stats tape_get_stats(const tape_t *t) {
  tape_stats s;
  memset(&s, 0, sizeof s);
  if (!t) return s;
  uint64_t args = 0;
  if (t->status == AD_OK) {
    s.statements = tape__next(t) - 1u;
    for (tape_chunk *c = t->arg_head; c; c = c->next) {
      if (c == t->arg_cur) {
        args += (uint64_t)(t->ap - arg_partials(c));
        break;
      }
      args += c->used;
    }
  } else { /* the cursors point into scratch space: report what the recording held when it failed */
    s.statements = t->at_fail.statements;
    args = t->at_fail.arguments;
  }
  s.arguments = args;
  s.bytes_used = s.statements + args * (sizeof(double) + sizeof(uint32_t));
  uint64_t held = sizeof *t;
  for (tape_chunk *c = t->st_head; c; c = c->next) held += c->bytes;
  for (tape_chunk *c = t->arg_head; c; c = c->next) held += c->bytes;
  s.adjoint_bytes = t->adj_cap * sizeof(double);
  s.bytes_held = held + s.adjoint_bytes + t->reach_cap;
  return s;
}

double *tape_adjoints(tape_t *t) {
  if (!t) return NULL;
  size_t need = tape__next(t);
  if (t->adj_cap < need) {
    size_t cap = need; /* exact: re-recording the same graph reuses it, a larger one reallocates */
    ad_free(t->adj, t->adj_cap * sizeof(double));
    t->adj = (double *)ad_malloc(cap * sizeof(double));
    t->adj_cap = t->adj ? cap : 0;
    if (!t->adj) {
      if (t->status == AD_OK) t->status = AD_ENOMEM;
      return NULL;
    }
  }
  memset(t->adj, 0, need * sizeof(double));
  return t->adj;
}

void tape_clear_adjoints(tape_t *t) {
  if (!t || !t->adj) return;
  size_t n = tape__next(t);
  memset(t->adj, 0, (t->adj_cap < n ? t->adj_cap : n) * sizeof(double));
}

/* adj[i] += p * a, fused where the CPU has FMA (adjoints may differ from a separate multiply-add in the last bit;
 * values never do: they are computed while recording). */
#if defined(__FMA__)
#define TAPE_MADD(acc, p, a) ((acc) = __builtin_fma((p), (a), (acc)))
#else
#define TAPE_MADD(acc, p, a) ((acc) += (p) * (a))
#endif

/* Where a sweep stands: the cnt first statements of statement chunk sc (and all chunks before it) are still to be
 * visited, last to first; ac/ap/ai point just past the arguments of the last of those statements. */
typedef struct tape_pos {
  tape_chunk *sc;
  size_t cnt;
  tape_chunk *ac;
  const double *ap;
  const uint32_t *ai;
} tape_pos;

/* Sweeps from *p.
 * reach NULL, the fast sweep: a statement with a zero adjoint is skipped, which changes nothing as long as its
 * partials are finite (0 * p = 0). At the first zero-adjoint statement with an infinite or NaN partial, where the
 * policy of ad_ops.def needs to know whether the statement is reached, it stops and returns that statement's
 * index (its adjoint is written). Only zero-adjoint statements pay for that test (two subtractions of their
 * partials), and the hot loop keeps nothing more live than before.
 * reach non-NULL, the careful sweep: a statement is reached when its adjoint is nonzero (a seed, or contributions)
 * or a reached statement took it as an argument; reached statements propagate p * a even when a is 0
 * (0 * Inf = NaN), the others nothing. Each visited slot of reach is cleared. Returns 0 when done. */
AD_INLINE uint32_t tape__sweep_impl(double *restrict adj, uint8_t *restrict reach, const tape_pos *p) {
  tape_chunk *sc = p->sc, *ac = p->ac;
  size_t cnt = p->cnt;
  const double *ap = p->ap;
  const uint32_t *ai = p->ai;
  const double *abase = arg_partials(ac);
  /* Most statements feed the statement right after them (chains of ops). The adjoint of statement s - 1 is
   * carried in a register (loaded from memory before statement s adds its share), so a chain costs one
   * fused multiply-add per statement and never waits for a store to be forwarded to the next load. */
  double carry = adj[sc->first + cnt - 1];
  for (; sc; sc = sc->prev, cnt = sc ? sc->used : 0) {
    const tape_nargs *n = st_data(sc);
    uint32_t s = sc->first + (uint32_t)cnt;
    while (cnt) {
      --cnt;
      --s;
      const double a = carry; /* the adjoint of s is complete: every consumer of s comes after it */
      adj[s] = a;
      const uint32_t prev = s - 1; /* s >= 1, and slot 0 exists */
      carry = adj[prev];
      unsigned k = n[cnt].n;
      if (!k) {
        if (reach) reach[s] = 0;
        continue;
      }
      while (ap == abase) { /* this statement's arguments are at the end of the previous argument chunk */
        ac = ac->prev;
        assert(ac && "argument chunks out of step with statements");
        abase = arg_partials(ac);
        ap = abase + ac->used;
        ai = arg_indices(ac) + ac->used;
      }
      ap -= k;
      ai -= k;
      if (reach) {
        const int reached = a != 0.0 || reach[s];
        reach[s] = 0;
        if (!reached) continue; /* not reached: propagates nothing, Inf partials included */
        for (unsigned j = 0; j < k; ++j) reach[ai[j]] = 1;
      } else if (a == 0.0) { /* statements an output does not reach cost no arithmetic */
        /* p - p is 0 for finite p, NaN for Inf and NaN; a statement has one or two arguments */
        const double z = (ap[0] - ap[0]) + (ap[k - 1] - ap[k - 1]);
        if (AD_LIKELY(z == 0.0)) continue;
        return s; /* the careful sweep takes over at s (tape__sweep) */
      }
      for (unsigned j = 0; j < k; ++j) {
        uint32_t i = ai[j];
        if (i == prev) TAPE_MADD(carry, ap[j], a);
        else TAPE_MADD(adj[i], ap[j], a);
      }
    }
  }
  return 0;
}

/* The reach marks of the statements from position *p down to, not including, statement stop, after the fast sweep
 * visited them: a statement is reached if its (final) adjoint is nonzero or a reached statement took it as an
 * argument, as in the careful sweep. Leaves in *p the position just above stop (stop is the next to visit). */
static void tape__mark(const double *adj, uint8_t *reach, tape_pos *p, uint32_t stop) {
  tape_chunk *sc = p->sc, *ac = p->ac;
  size_t cnt = p->cnt;
  const double *ap = p->ap;
  const uint32_t *ai = p->ai;
  const double *abase = arg_partials(ac);
  for (; sc; sc = sc->prev, cnt = sc ? sc->used : 0) {
    const tape_nargs *n = st_data(sc);
    uint32_t s = sc->first + (uint32_t)cnt;
    while (cnt) {
      if (s - 1 == stop) {
        p->sc = sc, p->cnt = cnt, p->ac = ac, p->ap = ap, p->ai = ai;
        return;
      }
      --cnt;
      --s;
      unsigned k = n[cnt].n;
      const int reached = adj[s] != 0.0 || reach[s];
      reach[s] = 0;
      if (!k) continue;
      while (ap == abase) {
        ac = ac->prev;
        abase = arg_partials(ac);
        ap = abase + ac->used;
        ai = arg_indices(ac) + ac->used;
      }
      ap -= k;
      ai -= k;
      if (reached)
        for (unsigned j = 0; j < k; ++j) reach[ai[j]] = 1;
    }
  }
  assert(0 && "the statement to stop at is not below the start");
}

/* The fast sweep from p; if it meets a zero-adjoint statement with a non-finite partial, the reach marks of the
 * statements above it, then the careful sweep from it. AD_ENOMEM if the marks (one byte per statement, kept for
 * later sweeps) cannot be allocated. */
static ad_status tape__sweep(tape_t *t, tape_pos p) {
  uint32_t at = tape__sweep_impl(t->adj, NULL, &p);
  if (AD_LIKELY(!at)) return AD_OK;
  size_t need = tape__next(t);
  if (t->reach_cap < need) {
    ad_free(t->reach, t->reach_cap);
    t->reach = (uint8_t *)ad_calloc(need);
    t->reach_cap = t->reach ? need : 0;
    if (!t->reach) return AD_ENOMEM;
  }
  tape__mark(t->adj, t->reach, &p, at);
  tape__sweep_impl(t->adj, t->reach, &p);
  return AD_OK;
}

static int tape__ready(const tape_t *t) { return t->status == AD_OK && t->adj && t->adj_cap >= tape__next(t); }

ad_status tape_reverse(tape_t *t) {
  if (!t) return AD_EINVAL;
  if (!tape__ready(t)) return AD_ESTATE;
  tape_pos p = {t->st_cur, (size_t)(t->st - t->st_base), t->arg_cur, t->ap, t->ai_base + (t->ap - t->ap_base)};
  return tape__sweep(t, p);
}

ad_status tape_reverse_from(tape_t *t, uint32_t top) {
  if (!t) return AD_EINVAL;
  if (!tape__ready(t)) return AD_ESTATE;
  if (top == 0 || top >= tape__next(t)) return AD_EINVAL;
  tape_chunk *sc = t->st_cur;
  while (sc->first > top) sc = sc->prev;
  size_t cnt = top - sc->first + 1;
  /* Find where the arguments of statement top end: replay the chunk's argument placement from its start
   * (a statement's arguments move to the next argument chunk exactly when they do not fit). */
  tape_chunk *ac = sc->arg_chunk;
  size_t off = sc->arg_off;
  const tape_nargs *n = st_data(sc);
  for (size_t j = 0; j < cnt; ++j) {
    unsigned k = n[j].n;
    if (k && ac->cap - off < k) {
      ac = ac->next;
      off = 0;
    }
    off += k;
  }
  tape_pos p = {sc, cnt, ac, arg_partials(ac) + off, arg_indices(ac) + off};
  return tape__sweep(t, p);
}
