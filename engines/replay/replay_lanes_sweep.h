/* replay_lanes_sweep.h: the replay engine's reverse sweep with TAPE_LANES adjoint lanes, written once and included
 * by replay.c once per lane count (after replay_reverse, whose operand cursors REV_ARG and REV_CST it shares). No
 * include guard.
 *
 * Per statement the partials are recomputed once from the stored values, as in replay_reverse, and applied to
 * the K lanes at once (tape_lanes_vec.h: hardware vectors, fused multiply-adds as REPLAY_MADD fuses). Reach is
 * tracked per lane (bit l of lreach[s]: a statement reached in lane l took s as an operand): a statement reached
 * in no lane propagates nothing and its partials are not computed; a partial is applied to the lanes that reach
 * the statement, all K lanes at once when that is all of them or when the partial is finite (a zero lane then
 * adds 0 * p: nothing). Defines, with K = TAPE_LANES: static void replay__lanes_K(replay_t *tp). */
#if !defined(TAPE_LANES)
#error "define TAPE_LANES (1, 2, 4, 8 or 16) before including replay_lanes_sweep.h"
#endif

#include "../tape/tape_lanes_vec.h"

#define RL_VISIT()                                                                                             \
  const TL_V w = carry;                                                                                        \
  if (dirty) TL_FN(store)(adj + (size_t)s * TL_K, w);                                                          \
  dirty = 0;                                                                                                   \
  const uint32_t prev = s - 1;                                                                                 \
  carry = TL_FN(load)(adj + (size_t)prev * TL_K);                                                              \
  const unsigned r = TL_FN(bits)(w) | reach[s];                                                                \
  reach[s] = 0;
#define RL_ACC(i, p)                                                                                           \
  do {                                                                                                         \
    const double p_ = (p);                                                                                     \
    const uint32_t i_ = (i);                                                                                   \
    reach[i_] = (uint16_t)(reach[i_] | r);                                                                     \
    if (AD_LIKELY(r == TL_FULL || p_ - p_ == 0.0)) {                                                           \
      if (i_ == prev) carry = TL_FN(madd)(carry, p_, w), dirty = 1;                                            \
      else TL_FN(store)(adj + (size_t)i_ * TL_K, TL_FN(madd)(TL_FN(load)(adj + (size_t)i_ * TL_K), p_, w));    \
    } else { /* an infinite or NaN partial: only into the lanes that reach the statement */                  \
      for (int l = 0; l < TL_K; ++l) {                                                                         \
        if (!(r >> l & 1u)) continue;                                                                          \
        if (i_ == prev) {                                                                                      \
          double c_ = TL_LANE(carry, l);                                                                       \
          REPLAY_MADD(c_, p_, TL_LANE(w, l));                                                                  \
          TL_LANE(carry, l) = c_;                                                                              \
          dirty = 1;                                                                                           \
        } else {                                                                                               \
          REPLAY_MADD(adj[(size_t)i_ * TL_K + l], p_, TL_LANE(w, l));                                          \
        }                                                                                                      \
      }                                                                                                        \
    }                                                                                                          \
  } while (0)
#define RL_PRE(pre)                                                                                            \
  RL_VISIT()                                                                                                   \
  if (!r) {                                                                                                    \
    --s;                                                                                                       \
    break;                                                                                                     \
  }                                                                                                            \
  ad_m2 t = pre;                                                                                               \
  const double v = val[s];                                                                                     \
  (void)t, (void)v, (void)a, (void)b;
#define RL_U(name, pre, value, da, db)                                                                         \
  case AD_OP_##name: {                                                                                         \
    REV_ARG(1);                                                                                                \
    const uint32_t i0 = ap[0];                                                                                 \
    double a = val[i0], b = 0;                                                                                 \
    RL_PRE(pre)                                                                                                \
    RL_ACC(i0, (da));                                                                                          \
    --s;                                                                                                       \
    break;                                                                                                     \
  }
#define RL_VC(name, pre, value, da, db)                                                                        \
  case AD_OP_##name: {                                                                                         \
    REV_ARG(1);                                                                                                \
    REV_CST();                                                                                                 \
    const uint32_t i0 = ap[0];                                                                                 \
    double a = val[i0], b = cp[0];                                                                             \
    RL_PRE(pre)                                                                                                \
    RL_ACC(i0, (da));                                                                                          \
    --s;                                                                                                       \
    break;                                                                                                     \
  }
#define RL_CV(name, pre, value, da, db)                                                                        \
  case AD_OP_##name: {                                                                                         \
    REV_ARG(1);                                                                                                \
    REV_CST();                                                                                                 \
    const uint32_t i0 = ap[0];                                                                                 \
    double a = cp[0], b = val[i0];                                                                             \
    RL_PRE(pre)                                                                                                \
    RL_ACC(i0, (db));                                                                                          \
    --s;                                                                                                       \
    break;                                                                                                     \
  }
#define RL_VV(name, pre, value, da, db)                                                                        \
  case AD_OP_##name: {                                                                                         \
    REV_ARG(2);                                                                                                \
    const uint32_t i0 = ap[0], i1 = ap[1];                                                                     \
    double a = val[i0], b = val[i1];                                                                           \
    RL_PRE(pre)                                                                                                \
    RL_ACC(i0, (da));                                                                                          \
    RL_ACC(i1, (db));                                                                                          \
    --s;                                                                                                       \
    break;                                                                                                     \
  }                                                                                                            \
  case REPLAY_CODE_VK + AD_OP_##name: {                                                                        \
    REV_ARG(1);                                                                                                \
    REV_CST();                                                                                                 \
    const uint32_t i0 = ap[0];                                                                                 \
    double a = val[i0], b = cp[0];                                                                             \
    RL_PRE(pre)                                                                                                \
    RL_ACC(i0, (da));                                                                                          \
    --s;                                                                                                       \
    break;                                                                                                     \
  }                                                                                                            \
  case REPLAY_CODE_KV + AD_OP_##name: {                                                                        \
    REV_ARG(1);                                                                                                \
    REV_CST();                                                                                                 \
    const uint32_t i0 = ap[0];                                                                                 \
    double a = cp[0], b = val[i0];                                                                             \
    RL_PRE(pre)                                                                                                \
    RL_ACC(i0, (db));                                                                                          \
    --s;                                                                                                       \
    break;                                                                                                     \
  }

/* The sweep over the whole recording (replay_reverse_lanes has checked the state). The lane adjoints of statement
 * s - 1 ride in registers as replay_reverse's carry does, and go back to memory only if a statement added into
 * them. */
static void TL_CAT(replay__lanes, TL_K)(replay_t *tp) {
  replay__seal(tp);
  const double *restrict val = tp->val;
  double *restrict adj = tp->ladj;
  uint16_t *restrict reach = tp->lreach; /* cleared on visit */
  uint32_t s = tp->next - 1;
  TL_V carry = TL_FN(load)(adj + (size_t)s * TL_K);
  int dirty = 0;
  adc_reader ar = adc_reader_end(&tp->args), cr = adc_reader_end(&tp->csts);
  const uint32_t *ab = ADC_RLANE(&ar, const uint32_t), *ap = ab + ar.off;
  const double *cb = ADC_RLANE(&cr, const double), *cp = cb + cr.off;
  for (adc_chunk *oc = tp->ops.cur; oc; oc = oc->prev) {
    const uint8_t *o0 = (const uint8_t *)oc->lane[0];
    for (const uint8_t *o = o0 + oc->used; o != o0;) {
      const unsigned code = *--o;
      switch (code) {
#define AD_OP(name, kind, torch, facts, pre, value, da, db) RL_##kind(name, pre, value, da, db)
#include "../ad_ops.def"
#undef AD_OP
      case REPLAY_CODE_INPUT: {
        RL_VISIT()
        (void)r;
        --s;
        break;
      }
      default: { /* a guard: skip its operands */
        guard_family f = family_of(code);
        assert(f != GF_NONE && "bad code on the tape");
        REV_ARG(family_args[f]);
        if (family_csts[f]) {
          REV_CST();
        }
        break;
      }
      }
    }
  }
  assert(s == 0);
}

#undef RL_VISIT
#undef RL_ACC
#undef RL_PRE
#undef RL_U
#undef RL_VC
#undef RL_CV
#undef RL_VV
#include "../tape/tape_lanes_vec_end.h"
