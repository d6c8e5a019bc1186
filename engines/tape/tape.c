/* tape.c: chunked storage and the reverse sweep of the Jacobian tape (see tape.h). */
#include "tape.h"

#include <assert.h>
#include <string.h>
#include <stddef.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

enum { TAPE_FIRST_STATEMENTS = 256, TAPE_SCRATCH = 64 };

/* Scratch space that absorbs writes after an allocation failure, so recording can continue harmlessly until
 * the caller checks tape_status. Its contents are never read. */
static tape_nargs tape__scratch_st[TAPE_SCRATCH];
static double tape__scratch_ap[TAPE_SCRATCH];
static uint32_t tape__scratch_ai[TAPE_SCRATCH];

/* Sets t->st_end from both streams' write cursors: how many statements of up to TAPE_ARGS_MAX arguments fit. */
static void tape__room(tape_t *t) {
  size_t st = t->st.cap - t->st.used, args = (t->args.cap - t->args.used) / TAPE_ARGS_MAX;
  t->st_end = t->st.used + (st < args ? st : args);
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
  adc_sink(&t->st, tape__scratch_st, NULL, TAPE_SCRATCH);
  adc_sink(&t->args, tape__scratch_ap, tape__scratch_ai, TAPE_SCRATCH);
  tape__room(t);
}

void tape_fail(tape_t *t, ad_status s) {
  if (t && s != AD_OK) fail(t, t->status != AD_OK ? t->status : s);
}

tape_t *tape_new(void) {
  tape_t *t = (tape_t *)ad_calloc(sizeof *t);
  if (!t) return NULL;
  const adc_spec st = {{sizeof(tape_nargs), 0}, TAPE_FIRST_STATEMENTS, TAPE_CHUNK_MAX, 0, 1}; /* 0: passive */
  const adc_spec args = {{sizeof(double), sizeof(uint32_t)}, 2 * TAPE_FIRST_STATEMENTS, 2 * TAPE_CHUNK_MAX, 0, 0};
  if (adc_init(&t->args, &args) != AD_OK || adc_init(&t->st, &st) != AD_OK || adc_nest(&t->st, &t->args) != AD_OK) {
    adc_free(&t->args);
    adc_free(&t->st);
    ad_free(t, sizeof *t);
    return NULL;
  }
  tape_reset(t);
  return t;
}

void tape_free(tape_t *t) {
  if (!t) return;
  adc_free(&t->st); /* and the arguments nested in it */
  ad_free(t->adj, t->adj_cap * sizeof(double));
  ad_free(t->reach, t->reach_cap);
  ad_free(t->ladj, t->ladj_cap * sizeof(double));
  ad_free(t->lreach, t->lreach_cap * sizeof(uint16_t));
  tape__arrays_free(t->arrays);
  ad_free(t, sizeof *t);
}

void tape_reset(tape_t *t) {
  if (!t) return;
  t->status = AD_OK;
  t->at_fail.statements = t->at_fail.arguments = 0;
  adc_reset(&t->st); /* index 0 stands for every passive value: the first statement is 1 */
  tape__room(t);
  if (t->ck_reset) t->ck_reset(t);
  tape__arrays_reset(t->arrays);
}

void tape_shrink(tape_t *t) {
  if (!t) return;
  adc_shrink(&t->st);
  ad_free(t->adj, t->adj_cap * sizeof(double));
  t->adj = NULL;
  t->adj_cap = 0;
  ad_free(t->reach, t->reach_cap);
  t->reach = NULL;
  t->reach_cap = 0;
  ad_free(t->ladj, t->ladj_cap * sizeof(double));
  t->ladj = NULL;
  t->ladj_cap = 0;
  t->ladj_lanes = 0;
  ad_free(t->lreach, t->lreach_cap * sizeof(uint16_t));
  t->lreach = NULL;
  t->lreach_cap = 0;
  tape__arrays_free(t->arrays); /* the array side is created again by the next array op */
  t->arrays = NULL;
  tape_reset(t);
}

ad_status tape_status(const tape_t *t) { return t ? t->status : AD_EINVAL; }

void tape__grow(tape_t *t) {
  if (t->status != AD_OK) { /* already failed: keep absorbing writes */
    fail(t, t->status);
    return;
  }
  ad_status s = AD_OK;
  if (t->st.used == t->st.cap) {
    if (t->st.first + t->st.cap + TAPE_CHUNK_MAX >= UINT32_MAX) { /* the next chunk's indices would not fit */
      fail(t, AD_ERANGE);
      return;
    }
    s = adc_grow(&t->st, 1);
  }
  if (s == AD_OK && t->args.cap - t->args.used < TAPE_ARGS_MAX) s = adc_grow(&t->args, TAPE_ARGS_MAX);
  if (s != AD_OK) {
    fail(t, s);
    return;
  }
  tape__room(t);
}

void tape_inputs(tape_t *t, size_t n, const double *restrict x, tape_var *restrict out) {
  for (size_t j = 0; j < n;) {
    if (t->st.used >= t->st_end) tape__grow(t); /* then st.used < st_end, into scratch space after a failure */
    size_t m = t->st_end - t->st.used;
    assert(m > 0);
    if (m > n - j) m = n - j;
    const size_t so = adc_push(&t->st, m);
    const uint32_t id = (uint32_t)t->st.first + (uint32_t)so;
    memset(ADC_LANE(&t->st, tape_nargs) + so, 0, m * sizeof(tape_nargs));
#if defined(__SSE2__)
    /* Two 16-byte stores per variable ({v, d}, {d2, i | i2 << 32}) instead of five (the variables are written
     * once and read by the program: at 10^6 nodes the stores are what this loop waits on). */
    _Static_assert(sizeof(tape_var) == 32 && offsetof(tape_var, i) == 24 && offsetof(tape_var, i2) == 28,
                   "tape_var layout");
    const __m128d one = _mm_set_sd(1.0);
    const __m128i zero_i = _mm_setzero_si128();
    for (size_t q = 0; q < m; ++q) {
      __m128d vd = _mm_unpacklo_pd(_mm_load_sd(x + j + q), one);
      __m128i ii = _mm_unpacklo_epi64(zero_i, _mm_cvtsi32_si128((int)(id + (uint32_t)q)));
      _mm_storeu_pd((double *)(void *)(out + j + q), vd);
      _mm_storeu_si128((__m128i *)(void *)((char *)(out + j + q) + 16), ii);
    }
#else
    for (size_t q = 0; q < m; ++q) out[j + q] = tape__var(x[j + q], 1.0, id + (uint32_t)q);
#endif
    j += m;
  }
}

tape_stats tape_get_stats(const tape_t *t) {
  tape_stats s;
  memset(&s, 0, sizeof s);
  if (!t) return s;
  if (t->status == AD_OK) {
    s.statements = tape__next(t) - 1u;
    s.arguments = adc_count(&t->args);
  } else { /* the cursors point into scratch space: report what the recording held when it failed */
    s.statements = t->at_fail.statements;
    s.arguments = t->at_fail.arguments;
  }
  s.bytes_used = s.statements + s.arguments * (sizeof(double) + sizeof(uint32_t)) + tape__arrays_bytes_used(t->arrays);
  s.adjoint_bytes = t->adj_cap * sizeof(double);
  s.adjoint_bytes += t->ladj_cap * sizeof(double);
  s.bytes_held = sizeof *t + adc_bytes_held(&t->st) + adc_bytes_held(&t->args) + s.adjoint_bytes + t->reach_cap +
                 t->lreach_cap * sizeof(uint16_t) + tape__arrays_bytes_held(t->arrays);
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

/* Sweeps from *p.
 * reach NULL, the fast sweep: a statement with a zero adjoint is skipped, which changes nothing as long as its
 * partials are finite (0 * p = 0). At the first zero-adjoint statement with an infinite or NaN partial, where the
 * policy of ad_ops.def needs to know whether the statement is reached, it stops and returns that statement's
 * index (its adjoint is written). Only zero-adjoint statements pay for that test (two subtractions of their
 * partials), and the hot loop keeps nothing more live than before.
 * reach non-NULL, the careful sweep: a statement is reached when its adjoint is nonzero (a seed, or contributions)
 * or a reached statement took it as an argument; reached statements propagate p * a even when a is 0
 * (0 * Inf = NaN), the others nothing. Each visited slot of reach is cleared. Returns 0 when done. */
/* The sweep stops above statement `stop` (0: sweeps to the first statement) and then leaves *p just above it, with
 * stop's adjoint written (the carried register); a sweep that returns a statement to go on from leaves *p as it was.
 * Array ops' statements (argument count TAPE_NARGS_ARRAY) are handed to tape_array.c. */
AD_INLINE uint32_t tape__sweep_impl(double *restrict adj, uint8_t *restrict reach, tape_pos *p, uint32_t stop,
                                    struct tape_arrays *arrays) {
  adc_reader sr = p->sr, ar = p->ar;
  /* Most statements feed the statement right after them (chains of ops). The adjoint of statement s - 1 is
   * carried in a register (loaded from memory before statement s adds its share), so a chain costs one
   * fused multiply-add per statement and never waits for a store to be forwarded to the next load. */
  double carry = adj[adc_reader_number(&sr) - 1];
  /* The arguments are read through a pointer range of ar's current chunk (as fast as it gets: two pointer
   * decrements per statement); ar steps into the previous chunk when the range is used up. */
  const double *abase = ADC_RLANE(&ar, const double), *ap = abase + ar.off;
  const uint32_t *ai = ADC_RLANE1(&ar, const uint32_t) + ar.off;
  for (;;) {
    /* This chunk's statements from the cursor down to offset lo, visited through pointers: nc at the next argument
     * count to read, as at the slot of the statement after it (its adjoint slot is as[-1] once nc is decremented). */
    const tape_nargs *const n = ADC_RLANE(&sr, tape_nargs);
    const uint64_t cfirst = sr.chunk->first; /* statements numbered from cfirst: visit offsets [lo, sr.off) */
    const size_t lo = (uint64_t)stop + 1 > cfirst ? (size_t)((uint64_t)stop + 1 - cfirst) : 0;
    const tape_nargs *nc = n + sr.off, *const nlo = n + lo;
    double *as = adj + adc_reader_number(&sr);
    while (nc > nlo) {
      --nc;
      --as; /* statement s = as - adj */
      const double a = carry; /* the adjoint of s is complete: every consumer of s comes after it */
      *as = a;
      double *const aprev = as - 1; /* s >= 1, and slot 0 exists */
      carry = *aprev;
      unsigned k = nc->n;
      /* Statements of three arguments (most of them under preaccumulation: a pending pair and one more term) and
       * of two: straight-line code, arguments in recording order. */
#define TAPE__SWEEP_FIXED(K)                                                                                     \
  {                                                                                                              \
    while (AD_UNLIKELY(ap == abase)) { /* its arguments are at the end of the previous argument chunk */          \
      adc__step_back(&ar);                                                                                       \
      abase = ADC_RLANE(&ar, const double);                                                                      \
      ap = abase + ar.off;                                                                                       \
      ai = ADC_RLANE1(&ar, const uint32_t) + ar.off;                                                             \
    }                                                                                                            \
    ap -= K;                                                                                                     \
    ai -= K;                                                                                                     \
    if (reach) {                                                                                                 \
      const uint32_t s = (uint32_t)(as - adj);                                                                   \
      const int reached = a != 0.0 || reach[s];                                                                  \
      reach[s] = 0;                                                                                              \
      if (!reached) continue; /* not reached: propagates nothing, Inf partials included */                       \
      for (unsigned j = 0; j < K; ++j) reach[ai[j]] = 1;                                                         \
    } else if (a == 0.0) { /* statements an output does not reach cost no arithmetic */                         \
      /* p - p is 0 for finite p, NaN for Inf and NaN */                                                         \
      double z = 0.0;                                                                                            \
      for (unsigned j = 0; j < K; ++j) z += ap[j] - ap[j];                                                       \
      if (AD_LIKELY(z == 0.0)) continue;                                                                         \
      return (uint32_t)(as - adj); /* the careful sweep takes over at s (tape__sweep) */                         \
    }                                                                                                            \
    for (unsigned j = 0; j < K; ++j) {                                                                           \
      double *const q = adj + ai[j];                                                                             \
      if (q == aprev) TAPE_MADD(carry, ap[j], a);                                                                \
      else TAPE_MADD(*q, ap[j], a);                                                                              \
    }                                                                                                            \
    continue;                                                                                                    \
  }
      if (AD_LIKELY(k == 3)) TAPE__SWEEP_FIXED(3)
      if (AD_LIKELY(k == 2)) TAPE__SWEEP_FIXED(2)
      if (k == 4) TAPE__SWEEP_FIXED(4)
#undef TAPE__SWEEP_FIXED
      const uint32_t s = (uint32_t)(as - adj);
      if (!k) {
        if (reach) {
          reach[s] = 0;
          continue;
        }
        /* A run of statements without arguments (inputs): their adjoints are complete in memory already (no
         * statement below them adds to them), so the sweep writes only the first and steps over the rest. */
        const tape_nargs *const nrun = nc;
        while (nc > nlo && nc[-1].n == 0) --nc;
        as -= nrun - nc;
        carry = as[-1];
        continue;
      }
      if (AD_UNLIKELY(k == TAPE_NARGS_ARRAY)) { /* an array op: its record propagates (tape_array.c) */
        if (tape__arrays_stmt(arrays, adj, reach, s, 1)) return s; /* the careful sweep takes over at s */
        carry = *aprev;
        continue;
      }
      while (AD_UNLIKELY(ap == abase)) { /* its arguments are at the end of the previous argument chunk */
        adc__step_back(&ar);
        abase = ADC_RLANE(&ar, const double);
        ap = abase + ar.off;
        ai = ADC_RLANE1(&ar, const uint32_t) + ar.off;
      }
      ap -= k;
      ai -= k;
      if (reach) {
        const int reached = a != 0.0 || reach[s];
        reach[s] = 0;
        if (!reached) continue; /* not reached: propagates nothing, Inf partials included */
        for (unsigned j = 0; j < k; ++j) reach[ai[j]] = 1;
      } else if (a == 0.0) { /* statements an output does not reach cost no arithmetic */
        /* p - p is 0 for finite p, NaN for Inf and NaN */
        double z = 0.0;
        for (unsigned j = 0; j < k; ++j) z += ap[j] - ap[j];
        if (AD_LIKELY(z == 0.0)) continue;
        return s; /* the careful sweep takes over at s (tape__sweep) */
      }
      for (unsigned j = 0; j < k; ++j) {
        double *const q = adj + ai[j];
        if (q == aprev) TAPE_MADD(carry, ap[j], a);
        else TAPE_MADD(*q, ap[j], a);
      }
    }
    if (lo) { /* stopped above `stop`, which is in this chunk */
      adj[stop] = carry;
      sr.off = lo;
      ar.off = (size_t)(ap - abase);
      p->sr = sr;
      p->ar = ar;
      return 0;
    }
    if (!sr.chunk->prev) break;
    adc__step_back(&sr);
  }
  return 0;
}

/* The reach marks of the statements from position *p down to, not including, statement stop, after the fast sweep
 * visited them: a statement is reached if its (final) adjoint is nonzero or a reached statement took it as an
 * argument, as in the careful sweep. Leaves in *p the position just above stop (stop is the next to visit). */
static void tape__mark(const double *adj, uint8_t *reach, tape_pos *p, uint32_t stop, struct tape_arrays *arrays) {
  adc_reader sr = p->sr, ar = p->ar;
  const double *abase = ADC_RLANE(&ar, const double), *ap = abase + ar.off;
  for (;;) {
    const tape_nargs *n = ADC_RLANE(&sr, tape_nargs);
    size_t cnt = sr.off;
    uint32_t s = (uint32_t)adc_reader_number(&sr);
    while (cnt) {
      if (s - 1 == stop) {
        sr.off = cnt;
        ar.off = (size_t)(ap - abase);
        p->sr = sr, p->ar = ar;
        return;
      }
      --cnt;
      --s;
      unsigned k = n[cnt].n;
      if (k == TAPE_NARGS_ARRAY) {
        tape__arrays_stmt(arrays, (double *)adj, reach, s, 0); /* marks only: writes no adjoint */
        continue;
      }
      const int reached = adj[s] != 0.0 || reach[s];
      reach[s] = 0;
      if (!k) continue;
      while (ap == abase) {
        adc__step_back(&ar);
        abase = ADC_RLANE(&ar, const double);
        ap = abase + ar.off;
      }
      ap -= k;
      if (reached) {
        const uint32_t *ai = ADC_RLANE1(&ar, const uint32_t) + (ap - abase);
        for (unsigned j = 0; j < k; ++j) reach[ai[j]] = 1;
      }
    }
    if (!sr.chunk->prev) break;
    adc__step_back(&sr);
  }
  assert(0 && "the statement to stop at is not below the start");
}

/* The fast sweep from p; if it meets a zero-adjoint statement with a non-finite partial, the reach marks of the
 * statements above it, then the careful sweep from it. AD_ENOMEM if the marks (one byte per statement, kept for
 * later sweeps) cannot be allocated. */
static ad_status tape__sweep(tape_t *t, tape_pos *p, uint32_t stop) {
  if (AD_UNLIKELY(t->arrays != NULL)) {
    /* The array side clears its adjoints here: a sweep in pieces (checkpointing's segments) would lose them. */
    if (stop || t->ck_reverse) return AD_ESTATE;
    ad_status st = tape__arrays_begin(t->arrays);
    if (st != AD_OK) return st;
  }
  uint32_t at = tape__sweep_impl(t->adj, NULL, p, stop, t->arrays);
  if (AD_LIKELY(!at)) return AD_OK;
  size_t need = tape__next(t);
  if (t->reach_cap < need) {
    ad_free(t->reach, t->reach_cap);
    t->reach = (uint8_t *)ad_calloc(need);
    t->reach_cap = t->reach ? need : 0;
    if (!t->reach) return AD_ENOMEM;
  }
  tape__mark(t->adj, t->reach, p, at, t->arrays);
  tape__sweep_impl(t->adj, t->reach, p, stop, t->arrays);
  return AD_OK;
}

static int tape__ready(const tape_t *t) { return t->status == AD_OK && t->adj && t->adj_cap >= tape__next(t); }

ad_status tape_reverse(tape_t *t) {
  if (!t) return AD_EINVAL;
  if (!tape__ready(t)) return AD_ESTATE;
  if (t->ck_reverse) return tape__next(t) > 1 ? t->ck_reverse(t, tape__next(t) - 1) : AD_OK;
  tape_pos p = tape_cursor_end(t);
  return tape__sweep(t, &p, 0);
}

tape_pos tape__pos_at(const tape_t *t, uint32_t top) {
  tape_pos p;
  ad_status st = tape_cursor_at(t, top, &p);
  assert(st == AD_OK);
  (void)st;
  return p;
}

ad_status tape_reverse_from(tape_t *t, uint32_t top) {
  if (!t) return AD_EINVAL;
  if (!tape__ready(t)) return AD_ESTATE;
  if (top == 0 || top >= tape__next(t)) return AD_EINVAL;
  if (t->ck_reverse) return t->ck_reverse(t, top);
  tape_pos p;
  tape_cursor_at(t, top, &p);
  return tape__sweep(t, &p, 0);
}

tape_cursor tape_cursor_end(const tape_t *t) {
  tape_cursor c = {adc_reader_end(&t->st), adc_reader_end(&t->args)};
  return c;
}

ad_status tape_cursor_at(const tape_t *t, uint32_t top, tape_cursor *c) {
  if (!t || !c) return AD_EINVAL;
  if (top == 0 || top >= tape__next(t)) return AD_EINVAL;
  if (top == tape__next(t) - 1u) { /* the last statement: start from the cursors */
    *c = tape_cursor_end(t);
    return AD_OK;
  }
  adc_pos sp = adc_tell(&t->st);
  while (sp.chunk->first > top) sp.chunk = sp.chunk->prev;
  sp.off = top - sp.chunk->first + 1;
  /* Find where the arguments of statement top end: the statement chunk recorded where the arguments stood when
   * it began; replay the placement from there (a push moves the arguments to the next argument chunk exactly
   * when fewer than TAPE_ARGS_MAX slots are left, whatever its own count: tape__grow). */
  adc_pos ap = sp.chunk->nested[0];
  const tape_nargs *n = (const tape_nargs *)sp.chunk->lane[0];
  for (size_t j = 0; j < sp.off; ++j) {
    unsigned k = n[j].n;
    if (k == TAPE_NARGS_ARRAY) k = 0; /* an array op's statement has no arguments */
    if (ap.chunk->cap - ap.off < TAPE_ARGS_MAX) { /* tape__grow moved on before this statement */
      ap.chunk = ap.chunk->next;
      ap.off = 0;
    }
    ap.off += k;
  }
  c->sr = adc_reader_at(sp);
  c->ar = adc_reader_at(ap);
  return AD_OK;
}

ad_status tape_sweep_down(tape_t *t, tape_cursor *c, uint32_t stop) {
  if (!t || !c) return AD_EINVAL;
  if (!tape__ready(t)) return AD_ESTATE;
  return tape__sweep(t, c, stop);
}

tape_mark tape_tell(const tape_t *t) {
  tape_mark m = {adc_tell(&t->st), adc_tell(&t->args)};
  return m;
}

void tape_rewind(tape_t *t, tape_mark m) {
  adc_rewind(&t->st, m.st);
  adc_rewind(&t->args, m.args);
  tape__room(t);
  t->status = AD_OK;
  t->at_fail.statements = t->at_fail.arguments = 0;
}

ad_status tape_adjoints_cover(tape_t *t) {
  if (!t) return AD_EINVAL;
  if (!t->adj) return AD_ESTATE;
  size_t need = tape__next(t);
  if (t->adj_cap >= need) return AD_OK;
  size_t cap = need + need / 4; /* segments of varying length: grow with room */
  double *a = (double *)ad_realloc(t->adj, t->adj_cap * sizeof(double), cap * sizeof(double));
  if (!a) return AD_ENOMEM;
  memset(a + t->adj_cap, 0, (cap - t->adj_cap) * sizeof(double));
  t->adj = a;
  t->adj_cap = cap;
  return AD_OK;
}
