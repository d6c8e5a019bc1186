/* tape_array.h: arrays for the tape engine: ONE tape statement per array op (design of arrays: ad_array.h).
 *
 *   #include "tape/tape_array.h"
 *   tape_t *t = tape_new();
 *   for (int i = 0; i < n; ++i) x[i] = tape_input(t, xv[i]);
 *   ad_arr X = ad_arr_stack(t, x, n);                        // one statement: the stack of n inputs
 *   ad_t f = ad_arr_sum(t, ad_arr_mul_vc(t, ad_arr_sqr(t, X), 3.0));   // three statements, whatever n
 *   tape_adjoints(t); tape_seed(t, f, 1.0); tape_reverse(t);  // adj[x[i].i] == 6 x_i
 *   tape_reset(t);                                           // forgets the arrays too, keeps their memory
 *
 * An ad_arr holds its values (v), its shape, the record of the op that made it (rec, 0 for a passive array:
 * constant data, or a result of passive operands only) and the offset of its element 0 in the tape's array
 * adjoint space (aoff). Views (ad_arr_slice, ad_arr_row, ad_arr_reshape) record nothing: they point into their
 * base's values and adjoints.
 *
 * WHAT THE TAPE STORES PER ARRAY OP. Each array op with an active operand pushes one statement onto the scalar
 * tape (its argument count is TAPE_NARGS_ARRAY, and it has no arguments in the argument stream) and one record in
 * the tape's array side (struct tape_arrays, tape_array.c): what its reverse needs, in its arena. The statement's
 * index orders the record among the scalar statements, so the one reverse sweep of tape.c visits scalar and
 * array statements in reverse recording order and mixed scalar/array code works both ways: a scalar result of an
 * array op (sum, dot, get, max) IS that statement (its adjoint is adj[s]); a scalar variable used by an array op
 * (stack, broadcast) is referenced by its statement index and factor d.
 *   elementwise  partial ARRAYS (dv/da, dv/db, computed by the kernels while recording from the rules of
 *                ad_ops.def), or one constant per operand for the ops whose partials are constants (the ops
 *                without AD_SAVES: add, sub, neg, ...), plus operand references (record, adjoint offset,
 *                stride 0 or 1, or a scalar variable's index and d). The reverse sweep is then one multiply-add
 *                per element and operand, streaming, as the scalar Jacobian tape's, with no transcendental
 *                recomputed and no per-op code (one loop serves every elementwise op). Chosen over saving the
 *                operand values and recomputing partials (ADOL-C's choice): the values are in the arena anyway,
 *                but recomputing needs the op's rule per record in reverse (an op switch) and the transcendental
 *                twice; a partial array costs 8 bytes per element and active operand.
 *   stack        the n operands' statement indices and factors (12 bytes per element), or only the first index
 *                when they are consecutive statements with factor 1 (the inputs of a workload: 0 bytes per element).
 *   get, slice   the operand reference (views record nothing at all).
 *   gather       the operand reference and a copy of the indices (4 bytes per element).
 *   sum, sum_axis  the operand reference.
 *   max, max_axis  the operand values and the result (ties share evenly, found again in reverse).
 *   dot, mv, mm  the operand references and values (their values are in the arena already: no copy).
 * Memory: everything an array op allocates comes from the tape's arena (values, partials, indices) plus one
 * record in a growing array; tape_reset forgets both in O(chunks) and keeps the memory; tape_free frees it. The
 * array adjoints (one double per element of every recorded array result) are allocated at the first sweep and
 * zeroed at the start of each sweep: arrays are intermediates, their adjoints are never seeded by the caller
 * (seed scalar outputs: an array output is reduced or read with ad_arr_get).
 * Non-finite policy (ad_ops.def): a record propagates when it is reached: when its scalar result has a nonzero
 * adjoint (or a reach mark in the careful sweep) or a reached array op propagated into it; reached records
 * propagate adjoint * partial by IEEE rules even for zero adjoints. As for scalar statements, the fast sweep hands
 * over to the careful one (reach marks) at the first unreached record with a zero adjoint and a non-finite partial,
 * so x + 0 * sum(sqrt(Y)) at Y = 0 gives the scalar tape's (1, NaN).
 * Errors: a bad shape or index, or a failed allocation, sets the arena status and the tape's sticky status
 * (tape_status), so tape_reverse refuses the recording.
 */
#ifndef TAPE_ARRAY_H
#define TAPE_ARRAY_H

#include <string.h>

#include "../ad_array.h"
#include "../ad_array_vals.h"
#include "tape_ops.h"

#define AD_ARR_ENGINE "tape"

typedef struct ad_arr {
  double *v;
  ad_shape shape;
  uint32_t rec;  /* 1-based record of the op that made it; 0: passive */
  uint32_t aoff; /* its element 0 in the array adjoint space (active arrays) */
} ad_arr;

/* One operand of an elementwise op: an array (rec != 0 when active), a scalar variable (si != 0 when active) or a
 * constant; v and stride say where the kernel reads it. */
typedef struct tape_aopnd {
  const double *v;
  size_t stride;
  uint32_t rec, aoff, si;
  double sd;
} tape_aopnd;

/* An elementwise op in progress: its result and partial arrays (from the tape's arena). */
typedef struct tape_ew {
  ad_shape shape;
  double *v, *pa, *pb;
  int ok;
} tape_ew;

/* ---- out of line (tape_array.c) ---- */
/* The tape's array arena (created on first use; NULL if that allocation fails, with the tape's status set). */
ad_arena *tape__arena(tape_t *t);
/* Records error s in the arena and the tape (the first error wins). */
void tape__arr_fail(tape_t *t, ad_status s);
/* Allocates the result (and the partial arrays the op needs) of an elementwise op of shape s; e->ok 0 on error. */
void tape__ew_begin(tape_t *t, unsigned facts, ad_shape s, const tape_aopnd *a, const tape_aopnd *b, tape_ew *e);
/* Records the op (one statement) if an operand is active; returns the result array. */
ad_arr tape__ew_end(tape_t *t, ad_op op, unsigned facts, const tape_aopnd *a, const tape_aopnd *b, tape_ew *e);

ad_arr tape__arr_stack(tape_t *t, const tape_var *x, int64_t n);
ad_arr tape__arr_bad(tape_t *t, ad_status s);
tape_var tape__arr_get(tape_t *t, ad_arr x, int64_t i);
ad_arr tape__arr_gather(tape_t *t, ad_arr x, const int32_t *idx, int64_t n);
tape_var tape__arr_sum(tape_t *t, ad_arr x);
tape_var tape__arr_max(tape_t *t, ad_arr x);
ad_arr tape__arr_sum_axis(tape_t *t, ad_arr x, int axis);
ad_arr tape__arr_max_axis(tape_t *t, ad_arr x, int axis);
tape_var tape__arr_dot(tape_t *t, ad_arr x, ad_arr y);
ad_arr tape__arr_mv(tape_t *t, ad_arr a, int ta, ad_arr x);
ad_arr tape__arr_mm(tape_t *t, ad_arr a, int ta, ad_arr b, int tb);

/* The status of the array ops since the last tape_reset (the tape's own status: tape_status). */
ad_status tape__arr_status(const tape_t *t);
AD_INLINE ad_status ad_arr_status(ad_ctx *c) { return tape__arr_status(c); }
AD_INLINE int64_t ad_arr_n(ad_arr x) { return ad_shape_n(x.shape); }

AD_INLINE ad_arr tape__view(ad_arr x, int64_t off, ad_shape s) {
  x.v += off;
  if (x.rec) x.aoff += (uint32_t)off;
  x.shape = s;
  return x;
}

/* n scalar variables as a 1-D array: one statement (none if all are passive). */
AD_INLINE ad_arr ad_arr_stack(ad_ctx *c, const ad_t *x, int64_t n) { return tape__arr_stack(c, x, n); }
/* Constant data d[0..n) as a passive 1-D array (not copied: d must outlive the recording). */
AD_INLINE ad_arr ad_arr_data(ad_ctx *c, const double *d, int64_t n) {
  if (!d || n < 1 || n > AD_ARR_MAX_N) return tape__arr_bad(c, AD_EINVAL);
  ad_arr r;
  r.v = (double *)d; /* never written: only op results are */
  r.shape = ad_shape_1((int32_t)n);
  r.rec = r.aoff = 0;
  return r;
}
AD_INLINE ad_t ad_arr_get(ad_ctx *c, ad_arr x, int64_t i) { return tape__arr_get(c, x, i); }
AD_INLINE ad_arr ad_arr_slice(ad_ctx *c, ad_arr x, int64_t lo, int64_t hi) {
  int64_t off;
  ad_shape s;
  ad_status st = ad_v_slice(x.shape, lo, hi, &off, &s);
  return st == AD_OK ? tape__view(x, off, s) : tape__arr_bad(c, st);
}
AD_INLINE ad_arr ad_arr_row(ad_ctx *c, ad_arr x, int64_t r) {
  int64_t off;
  ad_shape s;
  ad_status st = ad_v_row(x.shape, r, &off, &s);
  return st == AD_OK ? tape__view(x, off, s) : tape__arr_bad(c, st);
}
AD_INLINE ad_arr ad_arr_reshape(ad_ctx *c, ad_arr x, int64_t rows, int64_t cols) {
  ad_shape s;
  ad_status st = ad_v_reshape(x.shape, rows, cols, &s);
  return st == AD_OK ? tape__view(x, 0, s) : tape__arr_bad(c, st);
}
AD_INLINE ad_arr ad_arr_gather(ad_ctx *c, ad_arr x, const int32_t *idx, int64_t n) { return tape__arr_gather(c, x, idx, n); }
AD_INLINE ad_t ad_arr_sum(ad_ctx *c, ad_arr x) { return tape__arr_sum(c, x); }
AD_INLINE ad_t ad_arr_max(ad_ctx *c, ad_arr x) { return tape__arr_max(c, x); }
AD_INLINE ad_arr ad_arr_sum_axis(ad_ctx *c, ad_arr x, int axis) { return tape__arr_sum_axis(c, x, axis); }
AD_INLINE ad_arr ad_arr_max_axis(ad_ctx *c, ad_arr x, int axis) { return tape__arr_max_axis(c, x, axis); }
AD_INLINE ad_t ad_arr_dot(ad_ctx *c, ad_arr x, ad_arr y) { return tape__arr_dot(c, x, y); }
AD_INLINE ad_arr ad_arr_mv(ad_ctx *c, ad_arr a, int ta, ad_arr x) { return tape__arr_mv(c, a, ta, x); }
AD_INLINE ad_arr ad_arr_mm(ad_ctx *c, ad_arr a, int ta, ad_arr b, int tb) { return tape__arr_mm(c, a, ta, b, tb); }

/* ---- elementwise ops: the kernel computes values and partials, then one statement ---- */

AD_INLINE tape_aopnd tape__opnd_arr(ad_arr x, size_t stride) {
  tape_aopnd o;
  o.v = x.v;
  o.stride = stride;
  o.rec = x.rec;
  o.aoff = x.aoff;
  o.si = 0;
  o.sd = 0.0;
  return o;
}
AD_INLINE tape_aopnd tape__opnd_var(const ad_t *k) {
  tape_aopnd o;
  o.v = &k->v;
  o.stride = 0;
  o.rec = o.aoff = 0;
  o.si = k->i;
  o.sd = k->d;
  return o;
}
AD_INLINE tape_aopnd tape__opnd_const(const double *k) {
  tape_aopnd o;
  o.v = k;
  o.stride = 0;
  o.rec = o.aoff = o.si = 0;
  o.sd = 0.0;
  return o;
}

#define TAPE_AOP_RUN(name, facts, shp, A, B)                                                                 \
  do {                                                                                                         \
    tape__ew_begin(c, (facts), (shp), &(A), &(B), &e);                                                       \
    if (!e.ok) return tape__arr_bad(c, AD_OK);                                                                 \
    ad_k_##name((size_t)ad_shape_n(e.shape), (A).v, (A).stride, (B).v, (B).stride, e.v, e.pa, e.pb);          \
    return tape__ew_end(c, AD_OP_##name, (facts), &(A), &(B), &e);                                             \
  } while (0)

#define TAPE_AOP_U(name, facts)                                                                                \
  AD_INLINE ad_arr ad_arr_##name(ad_ctx *c, ad_arr x) {                                                        \
    tape_ew e;                                                                                                 \
    if (x.shape.ndim == 0) return tape__arr_bad(c, AD_EINVAL);                                                 \
    tape_aopnd A = tape__opnd_arr(x, 1), B = tape__opnd_const(x.v);                                            \
    TAPE_AOP_RUN(name, facts, x.shape, A, B);                                                                  \
  }
#define TAPE_AOP_VV(name, facts)                                                                               \
  AD_INLINE ad_arr ad_arr_##name(ad_ctx *c, ad_arr x, ad_arr y) {                                              \
    tape_ew e;                                                                                                 \
    ad_shape s;                                                                                                \
    size_t sa, sb;                                                                                             \
    if (ad_shape_ew(x.shape, y.shape, &s, &sa, &sb) != AD_OK) return tape__arr_bad(c, AD_EINVAL);             \
    tape_aopnd A = tape__opnd_arr(x, sa), B = tape__opnd_arr(y, sb);                                           \
    TAPE_AOP_RUN(name, facts, s, A, B);                                                                        \
  }                                                                                                            \
  AD_INLINE ad_arr ad_arr_##name##_bs(ad_ctx *c, ad_arr x, ad_t k) {                                           \
    tape_ew e;                                                                                                 \
    if (x.shape.ndim == 0) return tape__arr_bad(c, AD_EINVAL);                                                 \
    k = tape_settle(c, k); /* one statement: a pending pair is recorded first */                               \
    tape_aopnd A = tape__opnd_arr(x, 1), B = tape__opnd_var(&k);                                               \
    TAPE_AOP_RUN(name, facts, x.shape, A, B);                                                                  \
  }                                                                                                            \
  AD_INLINE ad_arr ad_arr_##name##_as(ad_ctx *c, ad_t k, ad_arr y) {                                           \
    tape_ew e;                                                                                                 \
    if (y.shape.ndim == 0) return tape__arr_bad(c, AD_EINVAL);                                                 \
    k = tape_settle(c, k); /* one statement: a pending pair is recorded first */                               \
    tape_aopnd A = tape__opnd_var(&k), B = tape__opnd_arr(y, 1);                                               \
    TAPE_AOP_RUN(name, facts, y.shape, A, B);                                                                  \
  }
#define TAPE_AOP_VC(name, facts)                                                                               \
  AD_INLINE ad_arr ad_arr_##name(ad_ctx *c, ad_arr x, double k) {                                              \
    tape_ew e;                                                                                                 \
    if (x.shape.ndim == 0) return tape__arr_bad(c, AD_EINVAL);                                                 \
    tape_aopnd A = tape__opnd_arr(x, 1), B = tape__opnd_const(&k);                                             \
    TAPE_AOP_RUN(name, facts, x.shape, A, B);                                                                  \
  }
#define TAPE_AOP_CV(name, facts)                                                                               \
  AD_INLINE ad_arr ad_arr_##name(ad_ctx *c, double k, ad_arr y) {                                              \
    tape_ew e;                                                                                                 \
    if (y.shape.ndim == 0) return tape__arr_bad(c, AD_EINVAL);                                                 \
    tape_aopnd A = tape__opnd_const(&k), B = tape__opnd_arr(y, 1);                                             \
    TAPE_AOP_RUN(name, facts, y.shape, A, B);                                                                  \
  }
#define AD_OP(name, kind, torch, facts, pre, value, da, db) TAPE_AOP_##kind(name, facts)
#include "../ad_ops.def"
#undef AD_OP

#endif
