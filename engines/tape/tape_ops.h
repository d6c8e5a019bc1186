/* tape_ops.h: the op interface (ad.h) for the tape engine: each op computes its value and partials from
 * ad_ops.def and records onto the tape (tape.h).
 *
 *   #include "tape/tape_ops.h"
 *   ad_t x = tape_input(t, 2.0), w = tape_input(t, 1.0);
 *   ad_t y = ad_sin(t, ad_mul_vv(t, x, w));   // one statement (mul); sin is folded into y.d
 *   tape_adjoints(t);
 *   tape_seed(t, y, 1.0);                     // adj[y.i] += y.d
 *   tape_reverse(t);                          // adj[x.i] == cos(2) * 1, adj[w.i] == cos(2) * 2
 *
 * Statement-level preaccumulation (TAPE_PREACC, on by default). An op with one active operand (every U, VC and
 * CV op, and a VV op with one passive operand) records nothing: its result is the operand's statement with the
 * partial multiplied in (y.d = x.d * dy/dx), and the next op that records folds y.d into its own partial. Only an
 * op with two active operands records a statement, whose partials are then the products of the chain of one-operand
 * ops below each argument: the tape holds one statement per binary expression node instead of one per op (8 ops
 * of rosenbrock's element give 3 statements). The partials are the same numbers multiplied in another order
 * (forward along the chain instead of backward in the sweep), so gradients agree with the per-op tape to rounding
 * (1e-16 relative per folded op), and every product of the non-finite policy (ad_ops.def) is still formed.
 * Designs measured and rejected (adbench at 10^6 nodes, one run, gradient / primal ratios x_primal):
 *  - a pending list of up to K = 4 (index, partial) pairs per variable, flushed to a statement when a combination
 *    would exceed K: fewer statements, but 2x slower than the per-op tape on rosenbrock and 3.7x on poly (its
 *    variable-length loops and 64-byte variables defeat the compiler);
 *  - up to two pending entries merged by index, a statement of up to four arguments when they overflow: half the
 *    statements and bytes of folding one-operand ops (rosenbrock 0.12 statements and 4.7 bytes per op against 0.37
 *    and 9.5), yet slower on every workload (rosenbrock 25.9x against 18.3x, ode 81x against 36x): the merge's
 *    branches and 32-byte variables cost more than the statements they save.
 * With TAPE_PREACC 0 every op records its own statement (the plain Jacobian tape; the `tape_op` engine).
 * A result whose operands are all passive (constants) is passive too and records nothing. The tape does not count
 * ops: a counter in the context costs a load and a store per op, 10-17% of the recording (adbench, poly).
 */
#ifndef TAPE_OPS_H
#define TAPE_OPS_H

#include "tape.h"

#ifndef TAPE_PREACC
#define TAPE_PREACC 2
#endif

#define AD_ENGINE_NAME "tape"

typedef tape_var ad_t;
typedef tape_t ad_ctx;

AD_INLINE ad_t ad_const(ad_ctx *c, double v) { (void)c; return tape__var(v, 0.0, 0); }
AD_INLINE double ad_val(ad_ctx *c, ad_t x) { (void)c; return x.v; }

#if TAPE_PREACC == 2
/* One active operand x with partial p: folded, nothing recorded (a pending pair stays a pair). */
AD_INLINE ad_t tape__op1(tape_t *c, double v, ad_t x, double p) {
  (void)c;
  ad_t r = x;
  r.v = v;
  r.d = x.d * p;
  r.d2 = x.d2 * p; /* unused (and harmless, whatever p is) when x.i2 == 0 */
  return r;
}
/* Two active operands with three or four terms between them: one statement of all their terms, x's first. */
AD_INLINE uint32_t tape__push_terms(tape_t *c, ad_t x, double pa, ad_t y, double pb) {
  if (x.i2 && y.i2) return tape__push4(c, x.i, x.d * pa, x.i2, x.d2 * pa, y.i, y.d * pb, y.i2, y.d2 * pb);
  if (x.i2) return tape__push3(c, x.i, x.d * pa, x.i2, x.d2 * pa, y.i, y.d * pb);
  return tape__push3(c, x.i, x.d * pa, y.i, y.d * pb, y.i2, y.d2 * pb);
}
/* Two operands: two operands of at most one statement each give a pending pair (nothing recorded); more terms, a
 * statement of all of them. A passive operand takes part as a term of statement 0 (a pair of two passive
 * operands is passive): one test on the common path, at the price of a dead term (partial 0 into slot 0) where a
 * passive operand meets a pair, which the workloads avoid (a constant enters through a _vc or _cv op). */
AD_INLINE ad_t tape__op2(tape_t *c, double v, ad_t x, double pa, ad_t y, double pb) {
  if (AD_LIKELY(!(x.i2 | y.i2))) {
    ad_t r;
    r.v = v;
    r.d = x.d * pa;
    r.d2 = y.d * pb;
    r.i = x.i;
    r.i2 = y.i;
    return r;
  }
  return tape__var(v, 1.0, tape__push_terms(c, x, pa, y, pb));
}
#else
/* One statement per op with an active operand (d stays 1). */
AD_INLINE ad_t tape__op1(tape_t *c, double v, ad_t x, double p) {
  return tape__var(v, 1.0, AD_LIKELY(x.i) ? tape__push1(c, x.i, p) : 0);
}
AD_INLINE ad_t tape__op2(tape_t *c, double v, ad_t x, double pa, ad_t y, double pb) {
  if (AD_LIKELY(x.i && y.i)) return tape__var(v, 1.0, tape__push2(c, x.i, pa, y.i, pb));
  if (x.i) return tape__var(v, 1.0, tape__push1(c, x.i, pa));
  if (y.i) return tape__var(v, 1.0, tape__push1(c, y.i, pb));
  return tape__var(v, 1.0, 0);
}
#endif

#define TAPE_OP_U(name, pre, value, da, db)                                                                    \
  AD_INLINE ad_t ad_##name(ad_ctx *c, ad_t x) {                                                                \
    double a = x.v, b = 0;                                                                                     \
    ad_m2 t = pre;                                                                                             \
    (void)b, (void)t;                                                                                          \
    double v = value;                                                                                          \
    return tape__op1(c, v, x, (da));                                                                           \
  }
#define TAPE_OP_VC(name, pre, value, da, db)                                                                   \
  AD_INLINE ad_t ad_##name(ad_ctx *c, ad_t x, double k) {                                                      \
    double a = x.v, b = k;                                                                                     \
    ad_m2 t = pre;                                                                                             \
    (void)t;                                                                                                   \
    double v = value;                                                                                          \
    return tape__op1(c, v, x, (da));                                                                           \
  }
#define TAPE_OP_CV(name, pre, value, da, db)                                                                   \
  AD_INLINE ad_t ad_##name(ad_ctx *c, double k, ad_t y) {                                                      \
    double a = k, b = y.v;                                                                                     \
    ad_m2 t = pre;                                                                                             \
    (void)t;                                                                                                   \
    double v = value;                                                                                          \
    return tape__op1(c, v, y, (db));                                                                           \
  }
#define TAPE_OP_VV(name, pre, value, da, db)                                                                   \
  AD_INLINE ad_t ad_##name(ad_ctx *c, ad_t x, ad_t y) {                                                        \
    double a = x.v, b = y.v;                                                                                   \
    ad_m2 t = pre;                                                                                             \
    (void)t;                                                                                                   \
    double v = value;                                                                                          \
    return tape__op2(c, v, x, (da), y, (db));                                                                  \
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
