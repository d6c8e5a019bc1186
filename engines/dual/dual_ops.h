/* dual_ops.h: forward mode with dual numbers: each variable carries its value and one tangent.
 *
 *   #include "dual/dual_ops.h"
 *   ad_t x = dual_make(2.0, 0.0), w = dual_make(1.0, 1.0);      // seed dw = 1
 *   ad_t y = ad_mul_vv(NULL, ad_add_vv(NULL, x, w), ad_add_vc(NULL, w, 1.0));
 *   // y.v == 6, y.d == dy/dw == 5
 *
 * One pass gives one directional derivative J v (seed the inputs' tangents with v). A full gradient of
 * f: R^n -> R takes n passes, one per unit vector. Tangents follow the partials of ad_ops.def exactly:
 * d(op(a, b)) = da * a.d + db * b.d. The context is unused; pass NULL.
 */
#ifndef DUAL_OPS_H
#define DUAL_OPS_H

#include "../ad.h"

#define AD_ENGINE_NAME "dual"

typedef struct dual_t { double v, d; } dual_t;
typedef dual_t ad_t;
typedef struct dual_ctx dual_ctx; /* never defined: dual numbers need no state */
typedef dual_ctx ad_ctx;

AD_INLINE ad_t dual_make(double v, double d) { ad_t r; r.v = v; r.d = d; return r; }
AD_INLINE ad_t ad_const(ad_ctx *c, double v) { (void)c; return dual_make(v, 0.0); }
AD_INLINE double ad_val(ad_ctx *c, ad_t x) { (void)c; return x.v; }

#define DUAL_OP_U(name, pre, value, da, db)                                                                    \
  AD_INLINE ad_t ad_##name(ad_ctx *c, ad_t x) {                                                                \
    (void)c;                                                                                                   \
    double a = x.v, b = 0;                                                                                     \
    ad_m2 t = pre;                                                                                             \
    (void)b, (void)t;                                                                                          \
    double v = value;                                                                                          \
    return dual_make(v, (da) * x.d);                                                                           \
  }
#define DUAL_OP_VV(name, pre, value, da, db)                                                                   \
  AD_INLINE ad_t ad_##name(ad_ctx *c, ad_t x, ad_t y) {                                                        \
    (void)c;                                                                                                   \
    double a = x.v, b = y.v;                                                                                   \
    ad_m2 t = pre;                                                                                             \
    (void)t;                                                                                                   \
    double v = value;                                                                                          \
    return dual_make(v, (da) * x.d + (db) * y.d);                                                              \
  }
#define DUAL_OP_VC(name, pre, value, da, db)                                                                   \
  AD_INLINE ad_t ad_##name(ad_ctx *c, ad_t x, double k) {                                                      \
    (void)c;                                                                                                   \
    double a = x.v, b = k;                                                                                     \
    ad_m2 t = pre;                                                                                             \
    (void)t;                                                                                                   \
    double v = value;                                                                                          \
    return dual_make(v, (da) * x.d);                                                                           \
  }
#define DUAL_OP_CV(name, pre, value, da, db)                                                                   \
  AD_INLINE ad_t ad_##name(ad_ctx *c, double k, ad_t y) {                                                      \
    (void)c;                                                                                                   \
    double a = k, b = y.v;                                                                                     \
    ad_m2 t = pre;                                                                                             \
    (void)t;                                                                                                   \
    double v = value;                                                                                          \
    return dual_make(v, (db) * y.d);                                                                           \
  }
#define AD_OP(name, kind, torch, pre, value, da, db) DUAL_OP_##kind(name, pre, value, da, db)
#include "../ad_ops.def"
#undef AD_OP

#define DUAL_CMP(name, op)                                                                                     \
  AD_INLINE int ad_##name##_vv(ad_ctx *c, ad_t x, ad_t y) { (void)c; return x.v op y.v; }                      \
  AD_INLINE int ad_##name##_vc(ad_ctx *c, ad_t x, double k) { (void)c; return x.v op k; }
AD_CMP_LIST(DUAL_CMP)
#undef DUAL_CMP

#endif
