/* primal_ops.h: the primal engine, plain doubles with no derivatives: the baseline every cost is divided by.
 *
 *   #include "primal/primal_ops.h"
 *   ad_t x = 2.0, w = 1.0;
 *   ad_t y = ad_mul_vv(NULL, ad_add_vv(NULL, x, w), ad_add_vc(NULL, w, 1.0));   // 6.0
 *
 * Values come from the same rules (ad_ops.def) and the same elementary functions (ad_math.h) as every other
 * engine, so a workload's primal value here is bit-identical to the value the AD engines compute.
 * The context is unused; pass NULL.
 */
#ifndef PRIMAL_OPS_H
#define PRIMAL_OPS_H

#include "../ad.h"

#define AD_ENGINE_NAME "primal"

typedef double ad_t;
typedef struct primal_ctx primal_ctx; /* never defined: the primal engine keeps no state */
typedef primal_ctx ad_ctx;

AD_INLINE ad_t ad_const(ad_ctx *c, double v) { (void)c; return v; }
AD_INLINE double ad_val(ad_ctx *c, ad_t x) { (void)c; return x; }

#define PRIMAL_OP_U(name, pre, value)                                                                          \
  AD_INLINE ad_t ad_##name(ad_ctx *c, ad_t x) {                                                                \
    (void)c;                                                                                                   \
    double a = x, b = 0;                                                                                       \
    ad_m2 t = pre;                                                                                             \
    (void)b, (void)t;                                                                                          \
    return value;                                                                                              \
  }
#define PRIMAL_OP_VV(name, pre, value)                                                                         \
  AD_INLINE ad_t ad_##name(ad_ctx *c, ad_t x, ad_t y) {                                                        \
    (void)c;                                                                                                   \
    double a = x, b = y;                                                                                       \
    ad_m2 t = pre;                                                                                             \
    (void)t;                                                                                                   \
    return value;                                                                                              \
  }
#define PRIMAL_OP_VC(name, pre, value)                                                                         \
  AD_INLINE ad_t ad_##name(ad_ctx *c, ad_t x, double k) {                                                      \
    (void)c;                                                                                                   \
    double a = x, b = k;                                                                                       \
    ad_m2 t = pre;                                                                                             \
    (void)t;                                                                                                   \
    return value;                                                                                              \
  }
#define PRIMAL_OP_CV(name, pre, value)                                                                         \
  AD_INLINE ad_t ad_##name(ad_ctx *c, double k, ad_t y) {                                                      \
    (void)c;                                                                                                   \
    double a = k, b = y;                                                                                       \
    ad_m2 t = pre;                                                                                             \
    (void)t;                                                                                                   \
    return value;                                                                                              \
  }
#define AD_OP(name, kind, torch, facts, pre, value, da, db) PRIMAL_OP_##kind(name, pre, value)
#include "../ad_ops.def"
#undef AD_OP

#define PRIMAL_CMP(name, op)                                                                                   \
  AD_INLINE int ad_##name##_vv(ad_ctx *c, ad_t x, ad_t y) { (void)c; return x op y; }                          \
  AD_INLINE int ad_##name##_vc(ad_ctx *c, ad_t x, double k) { (void)c; return x op k; }
AD_CMP_LIST(PRIMAL_CMP)
#undef PRIMAL_CMP

#endif
