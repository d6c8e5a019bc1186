/* tape_lanes_sweep.h: the vector reverse sweep of the Jacobian tape, written once for TAPE_LANES adjoint lanes and
 * included by tape_lanes.c once per lane count (SLEEF-style: one source, several builds). No include guard.
 *
 * A statement's K = TAPE_LANES adjoints are K / 4 AVX vectors (tape_lanes_vec.h; SSE2 or scalars elsewhere) held
 * in registers; a multiply-add is one broadcast partial times those vectors, fused lane by lane exactly as the
 * one-adjoint sweep fuses it (tape.c's TAPE_MADD), so each lane gives the one-adjoint sweep's result bit for bit
 * (a zero may differ in sign: a lane with adjoint 0 at a statement other lanes reach adds 0 * p).
 * Defines, with K = TAPE_LANES: static ad_status tape__lanes_K(tape_t *t, tape_pos p). */
#if !defined(TAPE_LANES)
#error "define TAPE_LANES (1, 2, 4, 8 or 16) before including tape_lanes_sweep.h"
#endif

#include "tape_lanes_vec.h"

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
      while (AD_UNLIKELY(ap == abase)) {
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
        /* p - p is 0 for finite p, NaN for Inf and NaN */
        double z = 0.0;
        for (unsigned j = 0; j < k; ++j) z += ap[j] - ap[j];
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
      while (AD_UNLIKELY(ap == abase)) {
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

#include "tape_lanes_vec_end.h"
