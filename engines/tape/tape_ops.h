/* tape_ops.h: the op interface (ad.h) for the tape engine: each op computes its value and partials from
 * ad_ops.def and records onto the tape (tape.h).
 *
 *   #include "tape/tape_ops.h"
 *   ad_t x = tape_input(t, 2.0), w = tape_input(t, 1.0);
 *   ad_t y = ad_sin(t, ad_mul_vv(t, x, w));   // nothing recorded: y.d = cos(2) * 1 (x), y.d2 = cos(2) * 2 (w)
 *   ad_t z = ad_add_vv(t, y, x);              // one statement of three terms (x, w, x)
 *   z = tape_settle(t, z);                    // z is one statement already: nothing recorded
 *   tape_adjoints(t);
 *   tape_seed(t, z, 1.0);                     // adj[z.i] += z.d
 *   tape_reverse(t);                          // adj[x.i] == cos(2) * 1 + 1, adj[w.i] == cos(2) * 2
 *
 * Statement-level preaccumulation (TAPE_PREACC, on by default). A variable stands for a combination of at most two
 * recorded statements (tape.h: d * statement i + d2 * statement i2), and an op records a statement only when its
 * result would need more:
 *  - an op with one active operand (every U, VC and CV op) records nothing: its partial is multiplied into the
 *    operand's terms (y.d = x.d * dy/dx, y.d2 = x.d2 * dy/dx);
 *  - an op of two operands of one term each records nothing either: its result is the pending pair of their
 *    terms (x.d * pa for x's statement, y.d * pb for y's);
 *  - an op of two operands with three or four terms between them records one statement of all of them, x's first
 *    (a pair and a one-term operand: three arguments; two pairs: four), and its result is that statement.
 * So an expression's partials are multiplied forward into the terms until a statement takes them: rosenbrock's
 * element (8 ops) records one statement of three arguments for its term and half a statement for the running sum
 * (0.19 statements per op, 7.1 bytes per op), poly's step p t + x one statement of three. A value used twice
 * carries its terms into both uses (each use scales its own copy), so fan-out stays exact. The partials are the
 * same numbers multiplied in another order (forward along each path instead of backward in the sweep), so
 * gradients agree with the per-op tape to rounding, and every product of the non-finite policy (ad_ops.def) is
 * still formed. A passive operand of a two-operand op takes part as a term of statement 0 (whose adjoint slot is
 * never read), so the common path tests one condition; where it meets a pair it becomes a dead argument, which the
 * workloads avoid (constants enter through _vc and _cv ops). Where code needs one index per variable (an output
 * seeded or read by index, a checkpointed state, an array op's operand) tape_settle records a pair as one
 * statement of its two terms; the engine's adapter settles every output.
 * Designs measured (adbench at 10^6 nodes, gradient / primal x_primal, medians of five runs of each build
 * alternated in one sitting on a shared machine; statements per op in brackets):
 *  - one pending term (the previous design: only ops with two active operands record, one statement of two
 *    arguments) -> pending pairs (this design): rosenbrock 15.0 -> 12.4 (0.375 -> 0.188), poly 7.54 -> 6.17
 *    (1 -> 0.5), mlp 2.83 -> 2.45 (0.545 -> 0.273), gmm 9.62 -> 7.82 (0.836 -> 0.389), lse 2.56 -> 2.50
 *    (0.667 -> 0.333), llsq 7.40 -> 6.44 (0.496 -> 0.248; both bimodal, 3.9-9.7), ode 40.6 -> 32.7, ode_adapt
 *    19.6 -> 19.0, recur 3.18 -> 2.92, det 3.11 -> 3.05, lstm 1.97 -> 1.97, chain 1.02 -> 1.03; instructions per
 *    gradient (callgrind, 10^5 nodes): rosenbrock 3.44M -> 2.76M, poly 9.41M -> 7.32M, mlp 5.38M -> 4.38M, gmm
 *    9.48M -> 7.90M, lse 8.48M -> 7.25M, llsq 3.94M -> 2.83M, ode 8.54M -> 7.78M, recur 50.7M -> 37.9M, det
 *    14.8M -> 13.1M, chain 3.00M -> 3.19M (a second partial to scale per op, nothing recorded either way);
 *  - pending pairs with the sweep's three-argument statements in the generic loop: no faster than one term
 *    (rosenbrock 14-17x against 14-17.8x): the sweep's straight-line path for three arguments is what pays;
 *  - pending pairs with both operands' activity tested before the pair test: 120 instructions per rosenbrock
 *    element recorded against 100 with the passive operand as a term of statement 0;
 *  - earlier: a pending list of up to K = 4 (index, partial) pairs per variable, flushed to a statement when a
 *    combination would exceed K (2x slower than the per-op tape on rosenbrock and 3.7x on poly: variable-length
 *    loops and 64-byte variables defeat the compiler); two pending entries merged by index (rosenbrock 25.9x
 *    against 18.3x: the merge's branches cost more than the statements they save).
 *  - counted, not built: partials of exactly 1 left out of the recording (a flag per argument in the count byte).
 *    A third of all arguments are 1 (rosenbrock, poly, mlp, lse 0.333, gmm 0.295, ode 0.286, recur 0.143), so the
 *    recording would shrink by about a fifth, but partials and indices would need separate cursors through every
 *    sweep, and rosenbrock's time per op is flat from 10^5 to 10^6 nodes (instruction-bound, not byte-bound).
 * With TAPE_PREACC 0 every op records its own statement (the plain Jacobian tape; the `tape_op` engine).
 * A result whose operands are all passive (constants) is passive too and records nothing. The tape does not count
 * ops: a counter in the context costs a load and a store per op, 10-17% of the recording (adbench, poly).
 */
#ifndef TAPE_OPS_H
#define TAPE_OPS_H

#include "tape.h"

#ifndef TAPE_PREACC
#define TAPE_PREACC 1
#endif

#define AD_ENGINE_NAME "tape"

typedef tape_var ad_t;
typedef tape_t ad_ctx;

AD_INLINE ad_t ad_const(ad_ctx *c, double v) { (void)c; return tape__var(v, 0.0, 0); }
AD_INLINE double ad_val(ad_ctx *c, ad_t x) { (void)c; return x.v; }

#if TAPE_PREACC
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
