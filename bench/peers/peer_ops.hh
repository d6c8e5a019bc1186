/* peer_ops.hh: adlab's op interface (engines/ad.h) for a C++ AD tool whose scalar type overloads arithmetic and
 * the elementary functions, so that adlab's workloads compile unchanged for that tool.
 *
 * Every op of ad_ops.def becomes one expression on the tool's own type, written once below (PEER_<op>); the
 * value comes from the tool's own arithmetic and its own elementary functions (std::sin and friends, found by
 * argument-dependent lookup), so peers' values are not bit-identical to adlab's SLEEF values. Operands are taken
 * by const reference, so an op adds nothing to what the tool itself records. An adapter defines, then includes:
 *
 *   typedef ceres::Jet<double, 1> ad_t;                 // the tool's scalar type
 *   typedef struct jet_ctx { int unused; } ad_ctx;       // what the workload passes to every op
 *   #define PEER_VALUE(x) ((x).a)                         // the double value of x
 *   #define PEER_CONST(c, v) ad_t(v)                      // a passive value
 *   #define PEER_NOTE(c, k) ((void)(c))                   // run once per op with k variable operands
 *   template <class A, class B> ad_t peer_fmax(const A &a, const B &b) { ... }  // and peer_fmin
 *   #define PEER_logistic(a, b) sigmoid(a)                // optional: the tool's own function for an op
 *   #define PEER_ARG badouble  #define PEER_RET adub      // optional: operand and result types of the ops
 *                                                         // (default ad_t), for tools with temporaries
 *   #include "peer_ops.hh"
 *   #include "../eng_session.inc"
 *
 * A new op in ad_ops.def without an expression here fails to compile, so the list cannot drift.
 */
#ifndef PEER_OPS_HH
#define PEER_OPS_HH

#include <cmath>
#include <cstring>
#include <new>

#include "../../engines/ad.h"

/* Operands are taken as const PEER_ARG & and results returned as PEER_RET: a tool whose expressions yield a
 * temporary type (ADOL-C's adub) keeps its own temporaries between ops, as in code written for it directly. */
#ifndef PEER_ARG
#define PEER_ARG ad_t
#endif
#ifndef PEER_RET
#define PEER_RET ad_t
#endif

/* One expression per op; an adapter may predefine any of them with the tool's own function. */
#ifndef PEER_add_vv
#define PEER_add_vv(a, b) ((a) + (b))
#endif
#ifndef PEER_sub_vv
#define PEER_sub_vv(a, b) ((a) - (b))
#endif
#ifndef PEER_mul_vv
#define PEER_mul_vv(a, b) ((a) * (b))
#endif
#ifndef PEER_div_vv
#define PEER_div_vv(a, b) ((a) / (b))
#endif
#ifndef PEER_pow_vv
#define PEER_pow_vv(a, b) pow(a, b)
#endif
#ifndef PEER_fmax_vv
#define PEER_fmax_vv(a, b) peer_fmax(a, b)
#endif
#ifndef PEER_fmin_vv
#define PEER_fmin_vv(a, b) peer_fmin(a, b)
#endif
#ifndef PEER_add_vc
#define PEER_add_vc(a, b) ((a) + (b))
#endif
#ifndef PEER_sub_vc
#define PEER_sub_vc(a, b) ((a) - (b))
#endif
#ifndef PEER_mul_vc
#define PEER_mul_vc(a, b) ((a) * (b))
#endif
#ifndef PEER_div_vc
#define PEER_div_vc(a, b) ((a) / (b))
#endif
#ifndef PEER_pow_vc
#define PEER_pow_vc(a, b) pow(a, b)
#endif
#ifndef PEER_fmax_vc
#define PEER_fmax_vc(a, b) peer_fmax(a, b)
#endif
#ifndef PEER_fmin_vc
#define PEER_fmin_vc(a, b) peer_fmin(a, b)
#endif
#ifndef PEER_sub_cv
#define PEER_sub_cv(a, b) ((a) - (b))
#endif
#ifndef PEER_div_cv
#define PEER_div_cv(a, b) ((a) / (b))
#endif
#ifndef PEER_pow_cv
#define PEER_pow_cv(a, b) pow(a, b)
#endif
#ifndef PEER_neg
#define PEER_neg(a, b) (-(a))
#endif
#ifndef PEER_sqr
#define PEER_sqr(a, b) ((a) * (a))
#endif
#ifndef PEER_sqrt
#define PEER_sqrt(a, b) sqrt(a)
#endif
#ifndef PEER_exp
#define PEER_exp(a, b) exp(a)
#endif
#ifndef PEER_log
#define PEER_log(a, b) log(a)
#endif
#ifndef PEER_sin
#define PEER_sin(a, b) sin(a)
#endif
#ifndef PEER_cos
#define PEER_cos(a, b) cos(a)
#endif
#ifndef PEER_tan
#define PEER_tan(a, b) tan(a)
#endif
#ifndef PEER_tanh
#define PEER_tanh(a, b) tanh(a)
#endif
#ifndef PEER_logistic
#define PEER_logistic(a, b) (1.0 / (1.0 + exp(-(a))))
#endif
#ifndef PEER_abs
#define PEER_abs(a, b) fabs(a)
#endif

#define PEER_OP_U(name)                                                                                        \
  static inline PEER_RET ad_##name(ad_ctx *c, const PEER_ARG &a) {                                             \
    PEER_NOTE(c, 1);                                                                                           \
    return PEER_##name(a, 0);                                                                                  \
  }
#define PEER_OP_VV(name)                                                                                       \
  static inline PEER_RET ad_##name(ad_ctx *c, const PEER_ARG &a, const PEER_ARG &b) {                          \
    PEER_NOTE(c, 2);                                                                                           \
    return PEER_##name(a, b);                                                                                  \
  }
#define PEER_OP_VC(name)                                                                                       \
  static inline PEER_RET ad_##name(ad_ctx *c, const PEER_ARG &a, double b) {                                   \
    PEER_NOTE(c, 1);                                                                                           \
    return PEER_##name(a, b);                                                                                  \
  }
#define PEER_OP_CV(name)                                                                                       \
  static inline PEER_RET ad_##name(ad_ctx *c, double a, const PEER_ARG &b) {                                   \
    PEER_NOTE(c, 1);                                                                                           \
    return PEER_##name(a, b);                                                                                  \
  }
#define AD_OP(name, kind, torch, facts, pre, value, da, db) PEER_OP_##kind(name)
#include "../../engines/ad_ops.def"
#undef AD_OP

static inline ad_t ad_const(ad_ctx *c, double v) { (void)c; return PEER_CONST(c, v); }
static inline double ad_val(ad_ctx *c, const PEER_ARG &x) { (void)c; return PEER_VALUE(x); }

/* Comparisons steer control flow on values; an adapter whose tool records guards defines PEER_CMP itself. */
#ifndef PEER_CMP
#define PEER_CMP(name, op)                                                                                     \
  static inline int ad_##name##_vv(ad_ctx *c, const PEER_ARG &x, const PEER_ARG &y) {                          \
    (void)c;                                                                                                   \
    return PEER_VALUE(x) op PEER_VALUE(y);                                                                     \
  }                                                                                                            \
  static inline int ad_##name##_vc(ad_ctx *c, const PEER_ARG &x, double k) { (void)c; return PEER_VALUE(x) op k; }
#endif
AD_CMP_LIST(PEER_CMP)

/* The session arrays (eng_session.inc) are raw ad_malloc storage: tools whose scalars own resources (a tape
 * location, a reference count) need them constructed before use and destroyed before the storage is freed. */
template <class T> static void peer_construct(T *p, int n) {
  for (int i = 0; i < n; ++i) new (p + i) T();
}
template <class T> static void peer_destroy(T *p, int n) {
  for (int i = 0; i < n; ++i) p[i].~T();
}

#endif
