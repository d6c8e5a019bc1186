/* replay_array.h: arrays for the replay engine: ONE replay statement per array op (design of arrays: ad_array.h).
 *
 *   #include "replay/replay_array.h"
 *   replay_t *t = replay_new();
 *   for (int i = 0; i < n; ++i) x[i] = replay_input(t, xv[i]);
 *   ad_arr X = ad_arr_stack(t, x, n);                                   // one statement: the stack
 *   ad_t f = ad_arr_sum(t, ad_arr_mul_vc(t, ad_arr_sqr(t, X), 3.0));    // three statements, whatever n
 *   if (replay_forward(t, xnew, n) == AD_OK) {                          // every array op recomputed at xnew
 *     double *adj = replay_adjoints(t);
 *     adj[f.i] = 1.0;
 *     replay_reverse(t);                                                // adj[x[i].i] == 6 xnew_i
 *   }
 *
 * An ad_arr holds its values (v), its shape, the record of the op that made it (rec, 0 for a passive array:
 * constant data, or a result of passive operands only), the offset of its element 0 in the tape's array adjoint
 * space (aoff) and the tape's tag (foreign arrays are refused as foreign variables are). Views (ad_arr_slice,
 * ad_arr_row, ad_arr_reshape) record nothing: they point into their base's values and adjoints, and since a
 * replay recomputes every array in place, a view sees its base's new values.
 *
 * WHAT THE TAPE STORES PER ARRAY OP. One statement on the replay tape (code REPLAY_CODE_ARRAY, one operand: its
 * record; its value slot holds a scalar result: sum, max, dot, get) and one record in the tape's array side
 * (replay_array.c), in its arena: the result values and the operand references (array record and adjoint
 * offset, scalar statement, or constant), the operand shapes, a gather's indices, a stack's statement indices
 * (nothing when they are consecutive, as a workload's inputs are). Like the scalar statements (replay.h), no
 * partial is stored: replay_forward recomputes every array op's values with the same kernels and value functions
 * (ad_kernels.h, ad_array_vals.h) in recording order, and replay_reverse recomputes the partials of the
 * elementwise ops block by block with the same kernels (the ops with constant partials keep the two constants),
 * so a replay gives bit for bit the values a fresh recording gives, and the memory held per element is the
 * values only (8 bytes per element of every array result).
 *
 * GUARDS as for scalars: a comparison, ad_val or a kink of a SCALAR variable records a guard, including a scalar
 * read from an array (ad_arr_get) or made by a reduction. Array ops themselves record none: max, max_axis and
 * the elementwise abs, fmax and fmin recompute their tie shares and partials from the replayed values, which is
 * what a fresh recording at those inputs gives (as replay_set_kink_guards(t, 0) does for scalar kinks).
 * Sweeps: the array adjoints (one double per element of every active array result) are allocated and zeroed by
 * replay_adjoints, zeroed by replay_clear_adjoints, and added into by replay_reverse, like the scalar adjoints.
 * replay_reverse_lanes on a recording with array ops runs one one-adjoint sweep per lane (same results; it
 * allocates the one-adjoint vector when it has to).
 * Errors: a bad shape or index, or a failed allocation, sets the arena status (ad_arr_status) and the tape's
 * sticky status (replay_status), so replays and sweeps refuse the recording; nothing is written out of bounds.
 */
#ifndef REPLAY_ARRAY_H
#define REPLAY_ARRAY_H

#include <string.h>

#include "../ad_array.h"
#include "../ad_array_vals.h"
#include "replay_ops.h"

#define AD_ARR_ENGINE "replay"

typedef struct ad_arr {
  double *v;
  ad_shape shape;
  uint32_t rec;  /* 1-based record of the op that made it; 0: passive */
  uint32_t aoff; /* its element 0 in the array adjoint space (active arrays) */
  uint32_t tag;  /* the tape's tag when active */
} ad_arr;

/* One operand of an elementwise op: an array (rec != 0 when active), a scalar variable (si != 0 when active) or
 * a constant (k); v and stride say where the kernel reads it while recording. */
typedef struct replay_aopnd {
  const double *v;
  size_t stride;
  uint32_t rec, aoff, si, tag;
  double k;
} replay_aopnd;

/* ---- out of line (replay_array.c) ---- */
ad_arr replay__arr_bad(replay_t *t, ad_status s);
ad_arr replay__arr_ew(replay_t *t, ad_op op, unsigned facts, ad_shape s, const replay_aopnd *a, const replay_aopnd *b);
ad_arr replay__arr_stack(replay_t *t, const replay_var *x, int64_t n);
ad_arr replay__arr_view(replay_t *t, ad_arr x, int kind, int64_t p, int64_t q);
replay_var replay__arr_get(replay_t *t, ad_arr x, int64_t i);
ad_arr replay__arr_gather(replay_t *t, ad_arr x, const int32_t *idx, int64_t n);
replay_var replay__arr_sum(replay_t *t, ad_arr x);
replay_var replay__arr_max(replay_t *t, ad_arr x);
ad_arr replay__arr_sum_axis(replay_t *t, ad_arr x, int axis);
ad_arr replay__arr_max_axis(replay_t *t, ad_arr x, int axis);
replay_var replay__arr_dot(replay_t *t, ad_arr x, ad_arr y);
ad_arr replay__arr_mv(replay_t *t, ad_arr a, int ta, ad_arr x);
ad_arr replay__arr_mm(replay_t *t, ad_arr a, int ta, ad_arr b, int tb);
ad_status replay__arr_status(const replay_t *t);

enum { REPLAY__VIEW_SLICE, REPLAY__VIEW_ROW, REPLAY__VIEW_RESHAPE };

/* The status of the array ops since the last replay_reset (the tape's own status: replay_status). */
AD_INLINE ad_status ad_arr_status(ad_ctx *c) { return replay__arr_status(c); }
AD_INLINE int64_t ad_arr_n(ad_arr x) { return ad_shape_n(x.shape); }

/* n scalar variables as a 1-D array: one statement (none if all are passive). */
AD_INLINE ad_arr ad_arr_stack(ad_ctx *c, const ad_t *x, int64_t n) { return replay__arr_stack(c, x, n); }
/* Constant data d[0..n) as a passive 1-D array (not copied: d must outlive the recording and its replays). */
AD_INLINE ad_arr ad_arr_data(ad_ctx *c, const double *d, int64_t n) {
  if (!d || n < 1 || n > AD_ARR_MAX_N) return replay__arr_bad(c, AD_EINVAL);
  ad_arr r;
  r.v = (double *)d; /* never written: only op results are */
  r.shape = ad_shape_1((int32_t)n);
  r.rec = r.aoff = r.tag = 0;
  return r;
}
AD_INLINE ad_t ad_arr_get(ad_ctx *c, ad_arr x, int64_t i) { return replay__arr_get(c, x, i); }
AD_INLINE ad_arr ad_arr_slice(ad_ctx *c, ad_arr x, int64_t lo, int64_t hi) {
  return replay__arr_view(c, x, REPLAY__VIEW_SLICE, lo, hi);
}
AD_INLINE ad_arr ad_arr_row(ad_ctx *c, ad_arr x, int64_t r) { return replay__arr_view(c, x, REPLAY__VIEW_ROW, r, 0); }
AD_INLINE ad_arr ad_arr_reshape(ad_ctx *c, ad_arr x, int64_t rows, int64_t cols) {
  return replay__arr_view(c, x, REPLAY__VIEW_RESHAPE, rows, cols);
}
AD_INLINE ad_arr ad_arr_gather(ad_ctx *c, ad_arr x, const int32_t *idx, int64_t n) { return replay__arr_gather(c, x, idx, n); }
AD_INLINE ad_t ad_arr_sum(ad_ctx *c, ad_arr x) { return replay__arr_sum(c, x); }
AD_INLINE ad_t ad_arr_max(ad_ctx *c, ad_arr x) { return replay__arr_max(c, x); }
AD_INLINE ad_arr ad_arr_sum_axis(ad_ctx *c, ad_arr x, int axis) { return replay__arr_sum_axis(c, x, axis); }
AD_INLINE ad_arr ad_arr_max_axis(ad_ctx *c, ad_arr x, int axis) { return replay__arr_max_axis(c, x, axis); }
AD_INLINE ad_t ad_arr_dot(ad_ctx *c, ad_arr x, ad_arr y) { return replay__arr_dot(c, x, y); }
AD_INLINE ad_arr ad_arr_mv(ad_ctx *c, ad_arr a, int ta, ad_arr x) { return replay__arr_mv(c, a, ta, x); }
AD_INLINE ad_arr ad_arr_mm(ad_ctx *c, ad_arr a, int ta, ad_arr b, int tb) { return replay__arr_mm(c, a, ta, b, tb); }

/* ---- elementwise ops: one statement; the values come from the op's kernel (replay_array.c) ---- */

AD_INLINE replay_aopnd replay__opnd_arr(ad_arr x, size_t stride) {
  replay_aopnd o;
  o.v = x.v;
  o.stride = stride;
  o.rec = x.rec;
  o.aoff = x.aoff;
  o.si = 0;
  o.tag = x.tag;
  o.k = 0.0;
  return o;
}
AD_INLINE replay_aopnd replay__opnd_var(ad_t k) {
  replay_aopnd o;
  o.v = NULL; /* the kernel reads o.k (a copy of the value) */
  o.stride = 0;
  o.rec = o.aoff = 0;
  o.si = k.i;
  o.tag = k.g;
  o.k = k.v;
  return o;
}
AD_INLINE replay_aopnd replay__opnd_const(double k) {
  replay_aopnd o;
  o.v = NULL;
  o.stride = 0;
  o.rec = o.aoff = o.si = o.tag = 0;
  o.k = k;
  return o;
}

#define REPLAY_AOP_U(name, facts)                                                                              \
  AD_INLINE ad_arr ad_arr_##name(ad_ctx *c, ad_arr x) {                                                        \
    if (x.shape.ndim == 0) return replay__arr_bad(c, AD_EINVAL);                                               \
    replay_aopnd A = replay__opnd_arr(x, 1), B = replay__opnd_const(0.0);                                      \
    return replay__arr_ew(c, AD_OP_##name, (facts), x.shape, &A, &B);                                          \
  }
#define REPLAY_AOP_VV(name, facts)                                                                             \
  AD_INLINE ad_arr ad_arr_##name(ad_ctx *c, ad_arr x, ad_arr y) {                                              \
    ad_shape s;                                                                                                \
    size_t sa, sb;                                                                                             \
    if (ad_shape_ew(x.shape, y.shape, &s, &sa, &sb) != AD_OK) return replay__arr_bad(c, AD_EINVAL);           \
    replay_aopnd A = replay__opnd_arr(x, sa), B = replay__opnd_arr(y, sb);                                     \
    return replay__arr_ew(c, AD_OP_##name, (facts), s, &A, &B);                                                \
  }                                                                                                            \
  AD_INLINE ad_arr ad_arr_##name##_bs(ad_ctx *c, ad_arr x, ad_t k) {                                           \
    if (x.shape.ndim == 0) return replay__arr_bad(c, AD_EINVAL);                                               \
    replay_aopnd A = replay__opnd_arr(x, 1), B = replay__opnd_var(k);                                          \
    return replay__arr_ew(c, AD_OP_##name, (facts), x.shape, &A, &B);                                          \
  }                                                                                                            \
  AD_INLINE ad_arr ad_arr_##name##_as(ad_ctx *c, ad_t k, ad_arr y) {                                           \
    if (y.shape.ndim == 0) return replay__arr_bad(c, AD_EINVAL);                                               \
    replay_aopnd A = replay__opnd_var(k), B = replay__opnd_arr(y, 1);                                          \
    return replay__arr_ew(c, AD_OP_##name, (facts), y.shape, &A, &B);                                          \
  }
#define REPLAY_AOP_VC(name, facts)                                                                             \
  AD_INLINE ad_arr ad_arr_##name(ad_ctx *c, ad_arr x, double k) {                                              \
    if (x.shape.ndim == 0) return replay__arr_bad(c, AD_EINVAL);                                               \
    replay_aopnd A = replay__opnd_arr(x, 1), B = replay__opnd_const(k);                                        \
    return replay__arr_ew(c, AD_OP_##name, (facts), x.shape, &A, &B);                                          \
  }
#define REPLAY_AOP_CV(name, facts)                                                                             \
  AD_INLINE ad_arr ad_arr_##name(ad_ctx *c, double k, ad_arr y) {                                              \
    if (y.shape.ndim == 0) return replay__arr_bad(c, AD_EINVAL);                                               \
    replay_aopnd A = replay__opnd_const(k), B = replay__opnd_arr(y, 1);                                        \
    return replay__arr_ew(c, AD_OP_##name, (facts), y.shape, &A, &B);                                          \
  }
#define AD_OP(name, kind, torch, facts, pre, value, da, db) REPLAY_AOP_##kind(name, facts)
#include "../ad_ops.def"
#undef AD_OP

#endif
