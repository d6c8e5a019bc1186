/* replay_ops.h: the op interface (ad.h) for the replay engine: each op computes its value from ad_ops.def and
 * records its code, operands and value on the replayable tape; comparisons, kinks and value reads record
 * guards. See replay.h for the tape, replays and guards.
 *
 *   #include "replay/replay_ops.h"
 *   ad_t x = replay_input(t, 2.0);
 *   ad_t y = ad_sin(t, ad_mul_vc(t, x, 3.0));          // two statements: mul_vc (with constant 3), sin
 *   if (ad_gt_vc(t, y, 0.0)) y = ad_sqrt(t, y);        // a guard "gt_vc was true", then sqrt
 *   ad_t z = ad_abs(t, y);                             // a guard on the sign of y, then abs
 *
 * A result whose operands are all passive (constants) is passive too and records nothing; a comparison of
 * passive values records no guard (its outcome cannot change on replay).
 */
#ifndef REPLAY_OPS_H
#define REPLAY_OPS_H

#include "replay.h"

#define AD_ENGINE_NAME "replay"

typedef replay_var ad_t;
typedef replay_t ad_ctx;

/* A variable of tape c (passive when i is 0). */
AD_INLINE ad_t replay__var(const ad_ctx *c, double v, uint32_t i) {
  ad_t r;
  r.v = v;
  r.i = i;
  r.g = i ? c->tag : 0;
  return r;
}

/* Order of a and b, the outcome of kink guards. */
AD_INLINE int replay_order(double a, double b) {
  return a < b ? REPLAY_ORDER_LT : a == b ? REPLAY_ORDER_EQ : a > b ? REPLAY_ORDER_GT : REPLAY_ORDER_UNORDERED;
}

AD_INLINE ad_t ad_const(ad_ctx *c, double v) { (void)c; return replay__var(c, v, 0); }

/* Reading the value of an active variable records a guard on that value: what the program does with the double
 * is invisible to the tape, so a replay is only trusted where the value read is the same, bit for bit. */
AD_INLINE double ad_val(ad_ctx *c, ad_t x) {
  if (AD_UNLIKELY(!replay__ours(c, x))) return replay__foreign(c).v;
  if (x.i) replay__guard(c, REPLAY_G_VALUE, 1, x.i, 0, 1, x.v);
  return x.v;
}

/* Kinks: the ops of ad_ops.def whose derivative rule switches inside their domain, from their facts column:
 * AD_KINK_SIGN (at a == 0: a guard on the sign of a) and AD_KINK_ORDER (where a == b: a guard on their order).
 * `facts` is a constant in every caller, so each test folds away. */
AD_INLINE void replay__kink1(ad_ctx *c, unsigned facts, uint32_t i, double a) {
  if (facts & AD_KINK_SIGN) replay__guard(c, REPLAY_G_SIGN + (unsigned)replay_order(a, 0.0), 1, i, 0, 0, 0.0);
}
AD_INLINE void replay__kink_vv(ad_ctx *c, unsigned facts, uint32_t i, uint32_t j, double a, double b) {
  if (facts & AD_KINK_ORDER) replay__guard(c, REPLAY_G_ORDER_VV + (unsigned)replay_order(a, b), 2, i, j, 0, 0.0);
}
/* Variable a (index i) against constant k; for a CV op or a VV op with passive a, the variable is b. */
AD_INLINE void replay__kink_vk(ad_ctx *c, unsigned facts, uint32_t i, double a, double k) {
  if (facts & AD_KINK_ORDER) replay__guard(c, REPLAY_G_ORDER_VC + (unsigned)replay_order(a, k), 1, i, 0, 1, k);
}

/* The guards exist for these kinds only: a sign guard has one operand, an order guard two. */
#define REPLAY__KINK_KIND(name, kind, facts)                                                                   \
  _Static_assert(!((facts) & AD_KINK_SIGN) || AD_KIND_##kind == AD_KIND_U,                                     \
                 "AD_KINK_SIGN on a binary op (" #name "): the sign guard takes one operand");                 \
  _Static_assert(!((facts) & AD_KINK_ORDER) || AD_KIND_##kind != AD_KIND_U,                                    \
                 "AD_KINK_ORDER on a unary op (" #name "): the order guard takes two operands");
#define AD_OP(name, kind, torch, facts, pre, value, da, db) REPLAY__KINK_KIND(name, kind, facts)
#include "../ad_ops.def"
#undef AD_OP
#undef REPLAY__KINK_KIND

#define REPLAY_OP_U(name, facts, pre, value)                                                                   \
  AD_INLINE ad_t ad_##name(ad_ctx *c, ad_t x) {                                                                \
    double a = x.v, b = 0;                                                                                     \
    ad_m2 t = pre;                                                                                             \
    (void)b, (void)t;                                                                                          \
    double v = value;                                                                                          \
    if (AD_UNLIKELY(!x.i)) return replay__var(c, v, 0);                                                           \
    if (AD_UNLIKELY(x.g != c->tag)) return replay__foreign(c);                                                 \
    replay__kink1(c, (facts), x.i, a);                                                                         \
    return replay__var(c, v, replay__push(c, AD_OP_##name, 1, x.i, 0, 0, 0.0, v));                                \
  }
#define REPLAY_OP_VC(name, facts, pre, value)                                                                  \
  AD_INLINE ad_t ad_##name(ad_ctx *c, ad_t x, double k) {                                                      \
    double a = x.v, b = k;                                                                                     \
    ad_m2 t = pre;                                                                                             \
    (void)t;                                                                                                   \
    double v = value;                                                                                          \
    if (AD_UNLIKELY(!x.i)) return replay__var(c, v, 0);                                                           \
    if (AD_UNLIKELY(x.g != c->tag)) return replay__foreign(c);                                                 \
    replay__kink_vk(c, (facts), x.i, a, k);                                                                    \
    return replay__var(c, v, replay__push(c, AD_OP_##name, 1, x.i, 0, 1, k, v));                                  \
  }
#define REPLAY_OP_CV(name, facts, pre, value)                                                                  \
  AD_INLINE ad_t ad_##name(ad_ctx *c, double k, ad_t y) {                                                      \
    double a = k, b = y.v;                                                                                     \
    ad_m2 t = pre;                                                                                             \
    (void)t;                                                                                                   \
    double v = value;                                                                                          \
    if (AD_UNLIKELY(!y.i)) return replay__var(c, v, 0);                                                           \
    if (AD_UNLIKELY(y.g != c->tag)) return replay__foreign(c);                                                 \
    replay__kink_vk(c, (facts), y.i, b, k);                                                                    \
    return replay__var(c, v, replay__push(c, AD_OP_##name, 1, y.i, 0, 1, k, v));                                  \
  }
/* Both active: two indices. One active: the passive operand's value is stored as a constant. */
#define REPLAY_OP_VV(name, facts, pre, value)                                                                  \
  AD_INLINE ad_t ad_##name(ad_ctx *c, ad_t x, ad_t y) {                                                        \
    double a = x.v, b = y.v;                                                                                   \
    ad_m2 t = pre;                                                                                             \
    (void)t;                                                                                                   \
    double v = value;                                                                                          \
    if (AD_UNLIKELY(!replay__ours(c, x) || !replay__ours(c, y))) return replay__foreign(c);                    \
    if (AD_LIKELY(x.i && y.i)) {                                                                               \
      replay__kink_vv(c, (facts), x.i, y.i, a, b);                                                             \
      return replay__var(c, v, replay__push(c, AD_OP_##name, 2, x.i, y.i, 0, 0.0, v));                            \
    }                                                                                                          \
    if (x.i) {                                                                                                 \
      replay__kink_vk(c, (facts), x.i, a, b);                                                                  \
      return replay__var(c, v, replay__push(c, REPLAY_CODE_VK + AD_OP_##name, 1, x.i, 0, 1, b, v));               \
    }                                                                                                          \
    if (y.i) {                                                                                                 \
      replay__kink_vk(c, (facts), y.i, b, a);                                                                  \
      return replay__var(c, v, replay__push(c, REPLAY_CODE_KV + AD_OP_##name, 1, y.i, 0, 1, a, v));               \
    }                                                                                                          \
    return replay__var(c, v, 0);                                                                                  \
  }
#define AD_OP(name, kind, torch, facts, pre, value, da, db) REPLAY_OP_##kind(name, facts, pre, value)
#include "../ad_ops.def"
#undef AD_OP

/* Comparisons record their outcome as a guard. A comparison of a constant k with a variable y is recorded as
 * the mirrored comparison of y with k (k < y is y > k), which has the same outcome for every double, NaN
 * included. */
AD_INLINE replay_cmp replay__cmp_mirror(replay_cmp cmp) {
  return cmp == REPLAY_CMP_lt ? REPLAY_CMP_gt
         : cmp == REPLAY_CMP_gt ? REPLAY_CMP_lt
         : cmp == REPLAY_CMP_le ? REPLAY_CMP_ge
                                : REPLAY_CMP_le;
}
AD_INLINE int replay__cmp_vv(ad_ctx *c, replay_cmp cmp, int r, ad_t x, ad_t y) {
  if (AD_UNLIKELY(!replay__ours(c, x) || !replay__ours(c, y))) {
    replay__foreign(c);
    return r;
  }
  if (x.i && y.i) replay__guard(c, REPLAY_G_CMP_VV + 2u * cmp + (unsigned)r, 2, x.i, y.i, 0, 0.0);
  else if (x.i) replay__guard(c, REPLAY_G_CMP_VC + 2u * cmp + (unsigned)r, 1, x.i, 0, 1, y.v);
  else if (y.i) replay__guard(c, REPLAY_G_CMP_VC + 2u * replay__cmp_mirror(cmp) + (unsigned)r, 1, y.i, 0, 1, x.v);
  return r;
}
AD_INLINE int replay__cmp_vc(ad_ctx *c, replay_cmp cmp, int r, ad_t x, double k) {
  if (AD_UNLIKELY(!replay__ours(c, x))) {
    replay__foreign(c);
    return r;
  }
  if (x.i) replay__guard(c, REPLAY_G_CMP_VC + 2u * cmp + (unsigned)r, 1, x.i, 0, 1, k);
  return r;
}
#define REPLAY_CMP(name, op)                                                                                   \
  AD_INLINE int ad_##name##_vv(ad_ctx *c, ad_t x, ad_t y) {                                                    \
    return replay__cmp_vv(c, REPLAY_CMP_##name, x.v op y.v, x, y);                                             \
  }                                                                                                            \
  AD_INLINE int ad_##name##_vc(ad_ctx *c, ad_t x, double k) {                                                  \
    return replay__cmp_vc(c, REPLAY_CMP_##name, x.v op k, x, k);                                               \
  }
AD_CMP_LIST(REPLAY_CMP)
#undef REPLAY_CMP

#endif
