/* dual_ops.h: forward mode with dual numbers: each variable carries its value and one tangent.
 *
 *   #include "dual/dual_ops.h"
 *   ad_t x = dual_make(2.0, 0.0), w = dual_make(1.0, 1.0);      // seed dw = 1; x has no tangent
 *   ad_t y = ad_mul_vv(NULL, ad_add_vv(NULL, x, w), ad_add_vc(NULL, w, 1.0));
 *   // y.v == 6, dual_tangent(y) == dy/dw == 5
 *
 * One pass gives one directional derivative J v (seed the inputs' tangents with v). A full gradient of
 * f: R^n -> R takes n passes, one per unit vector. Tangents follow the partials of ad_ops.def:
 * d(op(a, b)) = da * a.d + db * b.d, where a term whose operand has NO tangent is left out, not multiplied
 * (the non-finite policy of ad_ops.def: an operand that does not depend on the seeded direction contributes
 * nothing, so d/da of mul_vv(Inf, b) is b, not b + Inf * 0 = NaN).
 *
 * "No tangent" is told apart from "a zero tangent" without a flag: the tangent -0.0 (that bit pattern) means no
 * tangent, and a computed tangent is never -0.0, because each op adds +0.0 to it (-0 + 0 = +0; any other value
 * is unchanged). A constant, and an input seeded with 0, have no tangent; a tangent that comes out 0 from a
 * product with a seeded one (x * 0) is a zero tangent, and 0 * Inf = NaN then follows IEEE. Read a tangent with
 * dual_tangent (which gives +0.0 for none). The context is unused; pass NULL.
 */
#ifndef DUAL_OPS_H
#define DUAL_OPS_H

#include <string.h>

#include "../ad.h"

#define AD_ENGINE_NAME "dual"

typedef struct dual_t { double v, d; } dual_t;
typedef dual_t ad_t;
typedef struct dual_ctx dual_ctx; /* never defined: dual numbers need no state */
typedef dual_ctx ad_ctx;

#define DUAL_NONE (-0.0) /* the tangent of a variable that does not depend on the seeded direction */

/* 1 if tangent d means "no tangent" (the bit pattern of -0.0). */
AD_INLINE int dual_absent(double d) {
  uint64_t b;
  memcpy(&b, &d, sizeof b);
  return b == 0x8000000000000000ull;
}

AD_INLINE ad_t dual__make(double v, double d) { ad_t r; r.v = v; r.d = d; return r; }
/* A variable with value v and tangent d; d == 0 (either sign) means no tangent: a zero seed is no seed. */
AD_INLINE ad_t dual_make(double v, double d) { return dual__make(v, d == 0.0 ? DUAL_NONE : d); }
/* x's tangent, +0.0 when it has none. */
AD_INLINE double dual_tangent(ad_t x) { return x.d + 0.0; }
AD_INLINE ad_t ad_const(ad_ctx *c, double v) { (void)c; return dual__make(v, DUAL_NONE); }
AD_INLINE double ad_val(ad_ctx *c, ad_t x) { (void)c; return x.v; }

/* The tangent term p * d of one operand: nothing (+0.0) when the operand has no tangent. */
AD_INLINE double dual__term(double p, double d) { return dual_absent(d) ? 0.0 : p * d; }

#define DUAL_OP_U(name, pre, value, da, db)                                                                    \
  AD_INLINE ad_t ad_##name(ad_ctx *c, ad_t x) {                                                                \
    (void)c;                                                                                                   \
    double a = x.v, b = 0;                                                                                     \
    ad_m2 t = pre;                                                                                             \
    (void)b, (void)t;                                                                                          \
    double v = value;                                                                                          \
    return dual__make(v, dual_absent(x.d) ? DUAL_NONE : (da) * x.d + 0.0);                                     \
  }
#define DUAL_OP_VV(name, pre, value, da, db)                                                                   \
  AD_INLINE ad_t ad_##name(ad_ctx *c, ad_t x, ad_t y) {                                                        \
    (void)c;                                                                                                   \
    double a = x.v, b = y.v;                                                                                   \
    ad_m2 t = pre;                                                                                             \
    (void)t;                                                                                                   \
    double v = value;                                                                                          \
    if (dual_absent(x.d) && dual_absent(y.d)) return dual__make(v, DUAL_NONE);                                 \
    return dual__make(v, dual__term((da), x.d) + dual__term((db), y.d) + 0.0);                                 \
  }
#define DUAL_OP_VC(name, pre, value, da, db)                                                                   \
  AD_INLINE ad_t ad_##name(ad_ctx *c, ad_t x, double k) {                                                      \
    (void)c;                                                                                                   \
    double a = x.v, b = k;                                                                                     \
    ad_m2 t = pre;                                                                                             \
    (void)t;                                                                                                   \
    double v = value;                                                                                          \
    return dual__make(v, dual_absent(x.d) ? DUAL_NONE : (da) * x.d + 0.0);                                     \
  }
#define DUAL_OP_CV(name, pre, value, da, db)                                                                   \
  AD_INLINE ad_t ad_##name(ad_ctx *c, double k, ad_t y) {                                                      \
    (void)c;                                                                                                   \
    double a = k, b = y.v;                                                                                     \
    ad_m2 t = pre;                                                                                             \
    (void)t;                                                                                                   \
    double v = value;                                                                                          \
    return dual__make(v, dual_absent(y.d) ? DUAL_NONE : (db) * y.d + 0.0);                                     \
  }
#define AD_OP(name, kind, torch, facts, pre, value, da, db) DUAL_OP_##kind(name, pre, value, da, db)
#include "../ad_ops.def"
#undef AD_OP

#define DUAL_CMP(name, op)                                                                                     \
  AD_INLINE int ad_##name##_vv(ad_ctx *c, ad_t x, ad_t y) { (void)c; return x.v op y.v; }                      \
  AD_INLINE int ad_##name##_vc(ad_ctx *c, ad_t x, double k) { (void)c; return x.v op k; }
AD_CMP_LIST(DUAL_CMP)
#undef DUAL_CMP

#endif
