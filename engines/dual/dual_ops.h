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
 *
 * Vector mode (SLEEF-style: one source, several builds): compiled with DUAL_LANES = K (2, 4, 8 or 16; default 1),
 * each variable carries one value and K tangents, one per seeded direction, so a Jacobian takes ceil(n / K)
 * passes. The value and the partials are computed once per op (scalars); only the K-wide tangent update
 * `d = da * a.d + db * b.d` runs lane by lane, as a GCC vector (dual_vec). Each lane follows the same rules as the
 * K = 1 build, bit for bit: -0.0 in a lane means "no tangent in that direction", a term whose operand lane has no
 * tangent is left out, and the result lane has no tangent only where every operand lane has none.
 *
 *   #define DUAL_LANES 4
 *   #include "dual/dual_ops.h"
 *   ad_t x = dual_make_unit(2.0, 0), w = dual_make_unit(1.0, 1);  // lane 0 seeds dx, lane 1 seeds dw
 *   ad_t y = ad_mul_vv(NULL, x, w);  // dual_tangent_lane(y, 0) == dy/dx == 1, (y, 1) == dy/dw == 2, lanes 2, 3: none
 *
 * K = 1 keeps the scalar code below unchanged (struct { double v, d; }), so the one-tangent engine costs what it
 * always did.
 */
#ifndef DUAL_OPS_H
#define DUAL_OPS_H

#include <string.h>

#include "../ad.h"

#define AD_ENGINE_NAME "dual"

#ifndef DUAL_LANES
#define DUAL_LANES 1
#endif
#if DUAL_LANES != 1 && DUAL_LANES != 2 && DUAL_LANES != 4 && DUAL_LANES != 8 && DUAL_LANES != 16
#error "DUAL_LANES must be 1, 2, 4, 8 or 16"
#endif

#if DUAL_LANES == 1 /* ---- one tangent: a scalar ---- */

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

#else /* ---- K tangents: a vector ---- */

typedef struct dual_ctx dual_ctx; /* never defined: dual numbers need no state */
typedef dual_ctx ad_ctx;

#define DUAL_NONE (-0.0) /* the tangent of a variable that does not depend on the seeded direction */

/* The K tangents as DUAL_CHUNKS GCC vectors of DUAL_W lanes, DUAL_W the widest the CPU computes in one
 * instruction (4 with AVX, else 2). One vector of all K lanes would be simpler, but GCC lowers comparisons of
 * vectors wider than the hardware's lane by lane (scalar compares and cmov: 630 instructions instead of about
 * 150 on mix at K = 8); chunks of the hardware's width keep every lane operation one instruction per chunk.
 * Alignment 8, so a variable is exactly 8 + 8 K bytes, value first. */
#if defined(__AVX__)
#define DUAL__HW 4
#else
#define DUAL__HW 2
#endif
#define DUAL_W (DUAL_LANES < DUAL__HW ? DUAL_LANES : DUAL__HW)
#define DUAL_CHUNKS (DUAL_LANES / DUAL_W)
typedef double dual_vec __attribute__((vector_size(DUAL_W * sizeof(double)), aligned(8)));
typedef long long dual_mask __attribute__((vector_size(DUAL_W * sizeof(double)), aligned(8)));
typedef struct dual_t { double v; dual_vec d[DUAL_CHUNKS]; } dual_t;
typedef dual_t ad_t;

#define DUAL__SIGN ((long long)0x8000000000000000ull)

/* Every lane DUAL_NONE. */
AD_INLINE dual_vec dual__none(void) { return (dual_vec)((dual_mask){0} + DUAL__SIGN); }
/* Lane mask: all ones where d's lane means "no tangent" (the bit pattern of -0.0), zero elsewhere. */
AD_INLINE dual_mask dual__absent(dual_vec d) { return (dual_mask)d == DUAL__SIGN; }
/* 1 if some lane of mask m is set (one vptest with AVX). */
#if defined(__AVX__) && DUAL_W == 4
#include <immintrin.h>
AD_INLINE int dual__any(dual_mask m) {
  __m256i v;
  memcpy(&v, &m, sizeof v);
  return !_mm256_testz_si256(v, v);
}
#else
AD_INLINE int dual__any(dual_mask m) {
  long long acc = 0;
  for (int l = 0; l < DUAL_W; ++l) acc |= m[l];
  return acc != 0;
}
#endif
/* The terms p * d of one operand, +0.0 in the lanes where it has no tangent (mask none). */
AD_INLINE dual_vec dual__terms(double p, dual_vec d, dual_mask none) { return (dual_vec)((dual_mask)(p * d) & ~none); }
/* s in the lanes outside none, DUAL_NONE in the lanes of none. */
AD_INLINE dual_vec dual__keep(dual_vec s, dual_mask none) {
  return (dual_vec)(((dual_mask)s & ~none) | (none & DUAL__SIGN));
}

/* A variable with value v and no tangent in any lane. */
AD_INLINE ad_t dual_make_none(double v) {
  ad_t r;
  r.v = v;
  for (int q = 0; q < DUAL_CHUNKS; ++q) r.d[q] = dual__none();
  return r;
}
/* A variable with value v, tangent 1 in lane `lane` and none in the others (lane outside [0, K): none at all). */
AD_INLINE ad_t dual_make_unit(double v, int lane) {
  ad_t r = dual_make_none(v);
  if (lane >= 0 && lane < DUAL_LANES) r.d[lane / DUAL_W][lane % DUAL_W] = 1.0;
  return r;
}
/* x's raw tangent in lane l: -0.0 when it has none (as the K = 1 engine's x.d). */
AD_INLINE double dual_lane(ad_t x, int l) { return x.d[l / DUAL_W][l % DUAL_W]; }
/* x's tangent in lane l, +0.0 when it has none. */
AD_INLINE double dual_tangent_lane(ad_t x, int l) { return dual_lane(x, l) + 0.0; }
AD_INLINE ad_t ad_const(ad_ctx *c, double v) { (void)c; return dual_make_none(v); }
AD_INLINE double ad_val(ad_ctx *c, ad_t x) { (void)c; return x.v; }

/* One operand: d = p * x.d + 0.0 lane by lane, none where x has none. The +0.0 (as in K = 1) keeps a computed
 * tangent from being -0.0. */
AD_INLINE ad_t dual__one(double v, double p, const ad_t *x) {
  ad_t r;
  r.v = v;
  for (int q = 0; q < DUAL_CHUNKS; ++q) r.d[q] = dual__keep(p * x->d[q] + 0.0, dual__absent(x->d[q]));
  return r;
}

#define DUAL_OP_U(name, pre, value, da, db)                                                                    \
  AD_INLINE ad_t ad_##name(ad_ctx *c, ad_t x) {                                                                \
    (void)c;                                                                                                   \
    double a = x.v, b = 0;                                                                                     \
    ad_m2 t = pre;                                                                                             \
    (void)b, (void)t;                                                                                          \
    double v = value;                                                                                          \
    return dual__one(v, (da), &x);                                                                             \
  }
/* Two operands: each term where its operand lane has a tangent, summed (+0.0 as in K = 1); none where both
 * operand lanes have none. A partial is evaluated only if some lane of its operand has a tangent (else its terms
 * are all masked to +0.0 whatever it is). */
#define DUAL_OP_VV(name, pre, value, da, db)                                                                   \
  AD_INLINE ad_t ad_##name(ad_ctx *c, ad_t x, ad_t y) {                                                        \
    (void)c;                                                                                                   \
    double a = x.v, b = y.v;                                                                                   \
    ad_m2 t = pre;                                                                                             \
    (void)t;                                                                                                   \
    double v = value;                                                                                          \
    dual_mask nx[DUAL_CHUNKS], ny[DUAL_CHUNKS], hx = {0}, hy = {0};                                            \
    for (int q = 0; q < DUAL_CHUNKS; ++q) {                                                                    \
      nx[q] = dual__absent(x.d[q]), ny[q] = dual__absent(y.d[q]);                                              \
      hx |= ~nx[q], hy |= ~ny[q];                                                                              \
    }                                                                                                          \
    double pa = dual__any(hx) ? (da) : 0.0, pb = dual__any(hy) ? (db) : 0.0;                                   \
    ad_t r;                                                                                                    \
    r.v = v;                                                                                                   \
    for (int q = 0; q < DUAL_CHUNKS; ++q)                                                                      \
      r.d[q] = dual__keep(dual__terms(pa, x.d[q], nx[q]) + dual__terms(pb, y.d[q], ny[q]) + 0.0, nx[q] & ny[q]); \
    return r;                                                                                                  \
  }
#define DUAL_OP_VC(name, pre, value, da, db)                                                                   \
  AD_INLINE ad_t ad_##name(ad_ctx *c, ad_t x, double k) {                                                      \
    (void)c;                                                                                                   \
    double a = x.v, b = k;                                                                                     \
    ad_m2 t = pre;                                                                                             \
    (void)t;                                                                                                   \
    double v = value;                                                                                          \
    return dual__one(v, (da), &x);                                                                             \
  }
#define DUAL_OP_CV(name, pre, value, da, db)                                                                   \
  AD_INLINE ad_t ad_##name(ad_ctx *c, double k, ad_t y) {                                                      \
    (void)c;                                                                                                   \
    double a = k, b = y.v;                                                                                     \
    ad_m2 t = pre;                                                                                             \
    (void)t;                                                                                                   \
    double v = value;                                                                                          \
    return dual__one(v, (db), &y);                                                                             \
  }
#define AD_OP(name, kind, torch, facts, pre, value, da, db) DUAL_OP_##kind(name, pre, value, da, db)
#include "../ad_ops.def"
#undef AD_OP

#endif

#define DUAL_CMP(name, op)                                                                                     \
  AD_INLINE int ad_##name##_vv(ad_ctx *c, ad_t x, ad_t y) { (void)c; return x.v op y.v; }                      \
  AD_INLINE int ad_##name##_vc(ad_ctx *c, ad_t x, double k) { (void)c; return x.v op k; }
AD_CMP_LIST(DUAL_CMP)
#undef DUAL_CMP

#endif
