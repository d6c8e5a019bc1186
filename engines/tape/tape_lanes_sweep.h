/* tape_lanes_sweep.h: the vector reverse sweep of the Jacobian tape, written once for TAPE_LANES adjoint lanes and
 * included by tape_lanes.c once per lane count (SLEEF-style: one source, several builds). No include guard.
 *
 * A statement's TAPE_LANES adjoints are one GCC vector (vector_size, aligned to 8 so that they load and store
 * unaligned from the lane array); a multiply-add is one broadcast partial times the vector, fused lane by lane
 * exactly as the one-adjoint sweep fuses it (tape.c's TAPE_MADD), so each lane is bit for bit that sweep.
 * Defines, with K = TAPE_LANES: static ad_status tape__lanes_K(tape_t *t, tape_pos p). */
#if !defined(TAPE_LANES)
#error "define TAPE_LANES (1, 2, 4, 8 or 16) before including tape_lanes_sweep.h"
#endif

#define TL_CAT2(a, b) a##b
#define TL_CAT(a, b) TL_CAT2(a, b)
#define TL_K TAPE_LANES
#define TL_V TL_CAT(tape__vec, TL_K)   /* TL_K doubles */
#define TL_FN(name) TL_CAT(TL_CAT(tape__, name), TL_K)
#define TL_FULL ((uint16_t)((1u << TL_K) - 1u))

/* One hardware vector (may_alias: it loads and stores lanes of a double array): 4 doubles with AVX, 2 with SSE2 (fewer when K is smaller), and K lanes as TL_NV of them,
 * so that a statement's lanes live in registers (a single GCC vector wider than the hardware's lives in memory). */
#if defined(__AVX__)
#define TL_W0 4
#elif defined(__SSE2__)
#define TL_W0 2
#else
#define TL_W0 1
#endif
#define TL_W (TL_K < TL_W0 ? TL_K : TL_W0)
#define TL_NV (TL_K / TL_W)
#define TL_N TL_CAT(tape__hw, TL_K)
typedef double TL_N __attribute__((vector_size(TL_W * sizeof(double)), aligned(sizeof(double)), may_alias));
typedef struct TL_V {
  TL_N v[TL_NV];
} TL_V;

/* Lane l of a. */
#define TL_LANE(a, l) ((a).v[(l) / TL_W][(l) % TL_W])

AD_INLINE TL_V TL_FN(load)(const double *p) {
  TL_V r;
#pragma GCC unroll 4
  for (int c = 0; c < TL_NV; ++c) r.v[c] = *(const TL_N *)(p + c * TL_W);
  return r;
}
AD_INLINE void TL_FN(store)(double *p, TL_V a) {
#pragma GCC unroll 4
  for (int c = 0; c < TL_NV; ++c) *(TL_N *)(p + c * TL_W) = a.v[c];
}

/* acc + p * a in every lane, fused where the CPU has FMA, exactly as tape.c's TAPE_MADD (a fused multiply-add per
 * lane, or a separate multiply and add), so each lane is bit for bit the one-adjoint sweep. Written out, not left
 * to contraction: the compiler fuses a * b + c only where the product has no other use. */
AD_INLINE TL_V TL_FN(madd)(TL_V acc, double p, TL_V a) {
#pragma GCC unroll 4
  for (int c = 0; c < TL_NV; ++c) {
#if defined(__FMA__) && TL_W == 4
    acc.v[c] = (TL_N)_mm256_fmadd_pd(_mm256_set1_pd(p), (__m256d)a.v[c], (__m256d)acc.v[c]);
#elif defined(__FMA__) && TL_W == 2
    acc.v[c] = (TL_N)_mm_fmadd_pd(_mm_set1_pd(p), (__m128d)a.v[c], (__m128d)acc.v[c]);
#elif defined(__FMA__)
    acc.v[c][0] = __builtin_fma(p, a.v[c][0], acc.v[c][0]);
#else
    acc.v[c] = acc.v[c] + p * a.v[c];
#endif
  }
  return acc;
}

/* Bit l set where lane l of a is nonzero (NaN included, as a != 0.0): a vector compare and a move-mask per
 * hardware vector. */
AD_INLINE unsigned TL_FN(bits)(TL_V a) {
  unsigned r = 0;
#pragma GCC unroll 4
  for (int c = 0; c < TL_NV; ++c) {
#if TL_W == 4
    r |= (unsigned)_mm256_movemask_pd(_mm256_cmp_pd((__m256d)a.v[c], _mm256_setzero_pd(), _CMP_NEQ_UQ)) << (4 * c);
#elif TL_W == 2
    r |= (unsigned)_mm_movemask_pd(_mm_cmpneq_pd((__m128d)a.v[c], _mm_setzero_pd())) << (2 * c);
#else
    r |= (unsigned)(a.v[c][0] != 0.0) << c;
#endif
  }
  return r;
}
/* 1 if some lane of a is nonzero; 1 if every lane is. */
AD_INLINE int TL_FN(any)(TL_V a) { return TL_FN(bits)(a) != 0; }
AD_INLINE int TL_FN(all)(TL_V a) { return TL_FN(bits)(a) == TL_FULL; }

/* The vector form of tape.c's tape__sweep_impl, from *p. adj: TL_K doubles per statement.
 * reach NULL, the fast sweep: a statement whose lanes are all zero is skipped, which is exact while its partials
 * are finite; a statement with finite partials propagates every lane (a zero lane adds 0 * p = +0: nothing). At the
 * first statement with an infinite or NaN partial and some zero lane, where the policy needs to know which lanes
 * reach it, it stops and returns that statement's index (its adjoints are written).
 * reach non-NULL, the careful sweep: bit l of reach[s] marks s reached in lane l (a nonzero lane-l adjoint, or a
 * statement reached in lane l took it as an argument); a statement propagates p * a into exactly the lanes that
 * reach it, 0 * Inf = NaN included, and nothing into the others. Each visited slot of reach is cleared. Returns 0
 * when done. */
AD_INLINE uint32_t TL_FN(lsweep_impl)(double *restrict adj, uint16_t *restrict reach, const tape_pos *p) {
  adc_reader sr = p->sr, ar = p->ar;
  /* As in the one-adjoint sweep: the adjoints of statement s - 1 ride in registers (chains of ops). They go back
   * to memory only if a statement added into them (dirty): K lanes are K times the bytes, and most statements of
   * a Jacobian's sweep are skipped. */
  TL_V carry = TL_FN(load)(adj + (size_t)(adc_reader_number(&sr) - 1) * TL_K);
  int dirty = 0;
  const double *abase = ADC_RLANE(&ar, const double), *ap = abase + ar.off;
  const uint32_t *ai = ADC_RLANE1(&ar, const uint32_t) + ar.off;
  for (;;) {
    const tape_nargs *n = ADC_RLANE(&sr, tape_nargs);
    size_t cnt = sr.off;
    uint32_t s = (uint32_t)adc_reader_number(&sr);
    while (cnt) {
      --cnt;
      --s;
      const TL_V a = carry; /* the adjoints of s are complete */
      if (dirty) TL_FN(store)(adj + (size_t)s * TL_K, a);
      dirty = 0;
      const uint32_t prev = s - 1;
      carry = TL_FN(load)(adj + (size_t)prev * TL_K);
      unsigned k = n[cnt].n;
      if (!k) {
        if (reach) reach[s] = 0;
        continue;
      }
      while (ap == abase) {
        adc__step_back(&ar);
        abase = ADC_RLANE(&ar, const double);
        ap = abase + ar.off;
        ai = ADC_RLANE1(&ar, const uint32_t) + ar.off;
      }
      ap -= k;
      ai -= k;
      if (reach) {
        const uint16_t r = (uint16_t)(TL_FN(bits)(a) | reach[s]);
        reach[s] = 0;
        if (!r) continue; /* reached in no lane */
        for (unsigned j = 0; j < k; ++j) reach[ai[j]] |= r;
        if (r != TL_FULL) { /* lane by lane: only the lanes that reach s */
          for (unsigned j = 0; j < k; ++j) {
            uint32_t i = ai[j];
            double *dst = adj + (size_t)i * TL_K;
            for (int l = 0; l < TL_K; ++l) {
              if (!(r >> l & 1u)) continue;
              if (i == prev) {
                double c = TL_LANE(carry, l);
                TAPE_MADD(c, ap[j], TL_LANE(a, l));
                TL_LANE(carry, l) = c;
                dirty = 1;
              } else {
                TAPE_MADD(dst[l], ap[j], TL_LANE(a, l));
              }
            }
          }
          continue;
        }
      } else if (!TL_FN(all)(a)) { /* some lane is zero */
        /* p - p is 0 for finite p, NaN for Inf and NaN; a statement has one or two arguments */
        const double z = (ap[0] - ap[0]) + (ap[k - 1] - ap[k - 1]);
        if (AD_UNLIKELY(z != 0.0)) return s; /* the careful sweep takes over at s */
        if (!TL_FN(any)(a)) continue;       /* reached in no lane: costs no arithmetic */
      }
      for (unsigned j = 0; j < k; ++j) {
        uint32_t i = ai[j];
        if (i == prev) carry = TL_FN(madd)(carry, ap[j], a), dirty = 1;
        else TL_FN(store)(adj + (size_t)i * TL_K, TL_FN(madd)(TL_FN(load)(adj + (size_t)i * TL_K), ap[j], a));
      }
    }
    if (!sr.chunk->prev) break;
    adc__step_back(&sr);
  }
  return 0;
}

/* The per-lane reach marks of the statements from *p down to, not including, statement stop, after the fast sweep
 * visited them (tape.c's tape__mark, lane by lane). Leaves in *p the position just above stop. */
static void TL_FN(lmark)(const double *adj, uint16_t *reach, tape_pos *p, uint32_t stop) {
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
      const uint16_t r = (uint16_t)(TL_FN(bits)(TL_FN(load)(adj + (size_t)s * TL_K)) | reach[s]);
      reach[s] = 0;
      if (!k) continue;
      while (ap == abase) {
        adc__step_back(&ar);
        abase = ADC_RLANE(&ar, const double);
        ap = abase + ar.off;
      }
      ap -= k;
      if (r) {
        const uint32_t *ai = ADC_RLANE1(&ar, const uint32_t) + (ap - abase);
        for (unsigned j = 0; j < k; ++j) reach[ai[j]] |= r;
      }
    }
    if (!sr.chunk->prev) break;
    adc__step_back(&sr);
  }
  assert(0 && "the statement to stop at is not below the start");
}

__attribute__((noinline)) static uint32_t TL_FN(lsweep_fast)(double *restrict adj, const tape_pos *p) { return TL_FN(lsweep_impl)(adj, NULL, p); }
__attribute__((noinline)) static void TL_FN(lsweep_careful)(double *restrict adj, uint16_t *restrict reach, const tape_pos *p) {
  TL_FN(lsweep_impl)(adj, reach, p);
}

/* The fast sweep from p; if it stops at a non-finite partial, the reach marks above that statement, then the
 * careful sweep from it. AD_ENOMEM if the marks cannot be allocated. */
static ad_status TL_FN(lanes)(tape_t *t, tape_pos p) {
  uint32_t at = TL_FN(lsweep_fast)(t->ladj, &p);
  if (AD_LIKELY(!at)) return AD_OK;
  ad_status st = tape__lreach(t);
  if (st != AD_OK) return st;
  TL_FN(lmark)(t->ladj, t->lreach, &p, at);
  TL_FN(lsweep_careful)(t->ladj, t->lreach, &p);
  return AD_OK;
}

#undef TL_CAT2
#undef TL_CAT
#undef TL_K
#undef TL_V
#undef TL_FN
#undef TL_FULL
#undef TL_W0
#undef TL_W
#undef TL_NV
#undef TL_N
#undef TL_LANE
