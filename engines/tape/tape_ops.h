/* tape_ops.h: the op interface (ad.h) for the tape engine: each op computes its value and partials from
 * ad_ops.def and records one statement on the tape. See tape.h for the tape itself.
 *
 *   #include "tape/tape_ops.h"
 *   ad_t x = tape_input(t, 2.0);
 *   ad_t y = ad_sin(t, ad_mul_vc(t, x, 3.0));     // two statements, one argument each
 *
 * A result whose operands are all passive (constants) is passive too and records nothing.
 */
#ifndef TAPE_OPS_H
#define TAPE_OPS_H

#include "tape.h"

#define AD_ENGINE_NAME "tape"

typedef tape_var ad_t;
typedef tape_t ad_ctx;

AD_INLINE ad_t tape__var(double v, uint32_t i) {
  ad_t r;
  r.v = v;
  r.i = i;
  return r;
}

AD_INLINE ad_t ad_const(ad_ctx *c, double v) { (void)c; return tape__var(v, 0); }
AD_INLINE double ad_val(ad_ctx *c, ad_t x) { (void)c; return x.v; }

/* Records a statement with one argument, or nothing when the argument is passive. */
AD_INLINE ad_t tape__rec1(tape_t *c, double v, uint32_t i, double p) {
  return tape__var(v, AD_LIKELY(i) ? tape__push1(c, i, p) : 0);
}

#define TAPE_OP_U(name, pre, value, da, db)                                                                    \
  AD_INLINE ad_t ad_##name(ad_ctx *c, ad_t x) {                                                                \
    double a = x.v, b = 0;                                                                                     \
    ad_m2 t = pre;                                                                                             \
    (void)b, (void)t;                                                                                          \
    double v = value;                                                                                          \
    return tape__rec1(c, v, x.i, (da));                                                                        \
  }
#define TAPE_OP_VC(name, pre, value, da, db)                                                                   \
  AD_INLINE ad_t ad_##name(ad_ctx *c, ad_t x, double k) {                                                      \
    double a = x.v, b = k;                                                                                     \
    ad_m2 t = pre;                                                                                             \
    (void)t;                                                                                                   \
    double v = value;                                                                                          \
    return tape__rec1(c, v, x.i, (da));                                                                        \
  }
#define TAPE_OP_CV(name, pre, value, da, db)                                                                   \
  AD_INLINE ad_t ad_##name(ad_ctx *c, double k, ad_t y) {                                                      \
    double a = k, b = y.v;                                                                                     \
    ad_m2 t = pre;                                                                                             \
    (void)t;                                                                                                   \
    double v = value;                                                                                          \
    return tape__rec1(c, v, y.i, (db));                                                                        \
  }
/* Both active: two arguments. One active: one argument. None: passive result. */
#define TAPE_OP_VV(name, pre, value, da, db)                                                                   \
  AD_INLINE ad_t ad_##name(ad_ctx *c, ad_t x, ad_t y) {                                                        \
    double a = x.v, b = y.v;                                                                                   \
    ad_m2 t = pre;                                                                                             \
    (void)t;                                                                                                   \
    double v = value;                                                                                          \
    if (AD_LIKELY(x.i && y.i)) return tape__var(v, tape__push2(c, x.i, (da), y.i, (db)));                      \
    if (x.i) return tape__var(v, tape__push1(c, x.i, (da)));                                                   \
    if (y.i) return tape__var(v, tape__push1(c, y.i, (db)));                                                   \
    return tape__var(v, 0);                                                                                    \
  }
#define AD_OP(name, kind, torch, facts, pre, value, da, db) TAPE_OP_##kind(name, pre, value, da, db)
#include "../ad_ops.def"
#undef AD_OP

#define TAPE_CMP(name, op)                                                                                     \
  AD_INLINE int ad_##name##_vv(ad_ctx *c, ad_t x, ad_t y) { (void)c; return x.v op y.v; }                      \
  AD_INLINE int ad_##name##_vc(ad_ctx *c, ad_t x, double k) { (void)c; return x.v op k; }
AD_CMP_LIST(TAPE_CMP)
#undef TAPE_CMP

#endif
