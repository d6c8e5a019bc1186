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
 * `d = da * a.d + db * b.d` runs lane by lane, as GCC vectors (dual_vec). Each lane follows the same rules as the
 * K = 1 build, bit for bit: a lane either has a tangent or not (a bit per lane), a term whose operand lane has no
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
 * instruction (4 with AVX, else 2): GCC lowers comparisons of vectors wider than the hardware's lane by lane
 * (scalar compares and cmov), so one vector of all K lanes cost 630 instructions on mix at K = 8, chunks 170.
 *
 * "No tangent" is a bit per lane (m, bit l for lane l: 1 = has a tangent), not the -0.0 pattern of K = 1: a lane
 * without a tangent holds +0.0, so a finite partial p gives p * 0 = 0 there and the tangent update is plain
 * vector arithmetic, `d = pa * a.d + pb * b.d + 0.0`, with no per-lane select. Only a partial that is infinite or
 * NaN (where p * 0 would be NaN) takes the masked path, which leaves such lanes out exactly as K = 1 does. Each
 * lane's bits equal the K = 1 engine's (dual_lane gives -0.0 for a lane without a tangent, as K = 1's x.d). The
 * -0.0 pattern per lane cost a compare and a blend per chunk and operand: K = 8 was 1.3 to 9 times slower than
 * Sacado's SFad<double, 8> across the workloads. */
#if defined(__AVX__)
#define DUAL__HW 4
#else
#define DUAL__HW 2
#endif
#define DUAL_W (DUAL_LANES < DUAL__HW ? DUAL_LANES : DUAL__HW)
#define DUAL_CHUNKS (DUAL_LANES / DUAL_W)
typedef double dual_vec __attribute__((vector_size(DUAL_W * sizeof(double)), aligned(8)));
typedef long long dual_mask __attribute__((vector_size(DUAL_W * sizeof(double)), aligned(8)));
typedef struct dual_t {
  double v;
  unsigned m;                /* bit l: lane l has a tangent */
  dual_vec d[DUAL_CHUNKS];   /* the tangents, +0.0 in lanes without one */
} dual_t;
typedef dual_t ad_t;

/* A variable with value v and no tangent in any lane. */
AD_INLINE ad_t dual_make_none(double v) {
  ad_t r;
  r.v = v, r.m = 0;
  for (int q = 0; q < DUAL_CHUNKS; ++q) r.d[q] = (dual_vec){0};
  return r;
}
/* A variable with value v, tangent 1 in lane `lane` and none in the others (lane outside [0, K): none at all). */
AD_INLINE ad_t dual_make_unit(double v, int lane) {
  ad_t r = dual_make_none(v);
  if (lane >= 0 && lane < DUAL_LANES) r.d[lane / DUAL_W][lane % DUAL_W] = 1.0, r.m = 1u << lane;
  return r;
}
/* x's raw tangent in lane l: -0.0 when it has none (as the K = 1 engine's x.d). */
AD_INLINE double dual_lane(ad_t x, int l) { return (x.m >> l & 1u) ? x.d[l / DUAL_W][l % DUAL_W] : DUAL_NONE; }
/* x's tangent in lane l, +0.0 when it has none. */
AD_INLINE double dual_tangent_lane(ad_t x, int l) { return (x.m >> l & 1u) ? x.d[l / DUAL_W][l % DUAL_W] + 0.0 : 0.0; }
AD_INLINE ad_t ad_const(ad_ctx *c, double v) { (void)c; return dual_make_none(v); }
AD_INLINE double ad_val(ad_ctx *c, ad_t x) { (void)c; return x.v; }

/* Lane mask of chunk q of bit set m: all ones in the lanes whose bit is set. */
AD_INLINE dual_mask dual__lanes(unsigned m, int q) {
  dual_mask bit;
  for (int l = 0; l < DUAL_W; ++l) bit[l] = 1ll << (q * DUAL_W + l);
  return (((dual_mask){0} + (long long)m) & bit) != 0;
}
/* Chunk q of the terms p * x.d: plain when p is finite (lanes without a tangent hold 0, and p * 0 = 0); else
 * +0.0 in the lanes without a tangent, as K = 1 leaves their term out. */
AD_INLINE dual_vec dual__terms(double p, const ad_t *x, int q) {
  if (AD_LIKELY(__builtin_isfinite(p))) return p * x->d[q];
  return (dual_vec)((dual_mask)(p * x->d[q]) & dual__lanes(x->m, q));
}

/* One operand: d = p * x.d + 0.0 where x has a tangent (+0.0 keeps a computed tangent from being -0.0, as in
 * K = 1); p is evaluated only if some lane has one. */
#define DUAL__ONE(v, p, x)                                                                                     \
  ad_t r;                                                                                                      \
  r.v = (v), r.m = (x).m;                                                                                      \
  if (!r.m) {                                                                                                  \
    for (int q = 0; q < DUAL_CHUNKS; ++q) r.d[q] = (dual_vec){0};                                              \
    return r;                                                                                                  \
  }                                                                                                            \
  double p_ = (p);                                                                                             \
  for (int q = 0; q < DUAL_CHUNKS; ++q) r.d[q] = dual__terms(p_, &(x), q) + 0.0;                               \
  return r;

#define DUAL_OP_U(name, pre, value, da, db)                                                                    \
  AD_INLINE ad_t ad_##name(ad_ctx *c, ad_t x) {                                                                \
    (void)c;                                                                                                   \
    double a = x.v, b = 0;                                                                                     \
    ad_m2 t = pre;                                                                                             \
    (void)b, (void)t;                                                                                          \
    double v = value;                                                                                          \
    DUAL__ONE(v, da, x)                                                                                        \
  }
/* Two operands: the terms of each operand with a tangent in some lane, summed (+0.0 as in K = 1). */
#define DUAL_OP_VV(name, pre, value, da, db)                                                                   \
  AD_INLINE ad_t ad_##name(ad_ctx *c, ad_t x, ad_t y) {                                                        \
    (void)c;                                                                                                   \
    double a = x.v, b = y.v;                                                                                   \
    ad_m2 t = pre;                                                                                             \
    (void)t;                                                                                                   \
    double v = value;                                                                                          \
    if (!y.m) { DUAL__ONE(v, da, x) }                                                                          \
    if (!x.m) { DUAL__ONE(v, db, y) }                                                                          \
    double pa = (da), pb = (db);                                                                               \
    ad_t r;                                                                                                    \
    r.v = v, r.m = x.m | y.m;                                                                                  \
    for (int q = 0; q < DUAL_CHUNKS; ++q) r.d[q] = dual__terms(pa, &x, q) + dual__terms(pb, &y, q) + 0.0;      \
    return r;                                                                                                  \
  }
#define DUAL_OP_VC(name, pre, value, da, db)                                                                   \
  AD_INLINE ad_t ad_##name(ad_ctx *c, ad_t x, double k) {                                                      \
    (void)c;                                                                                                   \
    double a = x.v, b = k;                                                                                     \
    ad_m2 t = pre;                                                                                             \
    (void)t;                                                                                                   \
    double v = value;                                                                                          \
    DUAL__ONE(v, da, x)                                                                                        \
  }
#define DUAL_OP_CV(name, pre, value, da, db)                                                                   \
  AD_INLINE ad_t ad_##name(ad_ctx *c, double k, ad_t y) {                                                      \
    (void)c;                                                                                                   \
    double a = k, b = y.v;                                                                                     \
    ad_m2 t = pre;                                                                                             \
    (void)t;                                                                                                   \
    double v = value;                                                                                          \
    DUAL__ONE(v, db, y)                                                                                        \
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
