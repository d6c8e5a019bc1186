/* primal_array.h: arrays for the primal engine: plain arrays of doubles, no derivatives (design: ad_array.h).
 *
 *   #include "primal/primal_array.h"
 *   double x[3] = {1, 2, 3};
 *   ad_arr X = ad_arr_stack(NULL, x, 3);                       // copies the three values
 *   double f = ad_arr_sum(NULL, ad_arr_exp(NULL, X));          // e + e^2 + e^3
 *   ad_arena_reset(ad_arena_default());                         // the arrays' memory, all at once (ad_array.h)
 *
 * An ad_arr holds its values (v) and shape. Elementwise ops call the kernels of ad_kernels.h (SLEEF's vector
 * builds), which compute the bits of the scalar ops; reductions and products sum left to right in the order every
 * engine uses (ad_array_common.h). Memory: the calling thread's default arena (the context is NULL).
 */
#ifndef PRIMAL_ARRAY_H
#define PRIMAL_ARRAY_H

#include <string.h>

#include "../ad_array.h"
#include "../ad_array_vals.h"
#include "primal_ops.h"

#define AD_ARR_ENGINE "primal"

typedef struct ad_arr {
  double *v;
  ad_shape shape;
} ad_arr;

AD_INLINE ad_arena *ad_arr__arena(ad_ctx *c) { (void)c; return ad_arena_default(); }

/* The status of the array ops since the arena's last reset (AD_OK, AD_ENOMEM, AD_EINVAL, AD_ERANGE). */
AD_INLINE ad_status ad_arr_status(ad_ctx *c) { return ad_arr__arena(c)->status; }

AD_INLINE ad_arr ad_arr__bad(ad_ctx *c, ad_status s) {
  ad_arena_fail(ad_arr__arena(c), s);
  ad_arr r;
  r.v = NULL;
  r.shape = ad_shape_bad();
  return r;
}

/* A new array of shape s, values uninitialised; invalid (status set) if s is invalid or memory runs out. */
AD_INLINE ad_arr ad_arr__new(ad_ctx *c, ad_shape s) {
  if (s.ndim == 0) return ad_arr__bad(c, AD_EINVAL);
  ad_arr r;
  r.v = (double *)ad_arena_alloc(ad_arr__arena(c), (size_t)ad_shape_n(s) * sizeof(double));
  r.shape = r.v ? s : ad_shape_bad();
  return r;
}

/* Elements of x (0 for an invalid array). */
AD_INLINE int64_t ad_arr_n(ad_arr x) { return ad_shape_n(x.shape); }

/* Stacks n scalar variables into a 1-D array (a copy). */
AD_INLINE ad_arr ad_arr_stack(ad_ctx *c, const ad_t *x, int n) {
  if (n < 1 || n > AD_ARR_MAX_N || !x) return ad_arr__bad(c, AD_EINVAL);
  ad_arr r = ad_arr__new(c, ad_shape_1(n));
  if (r.v) memcpy(r.v, x, (size_t)n * sizeof(double));
  return r;
}

/* Element i (row-major) as a scalar; a NaN constant and AD_ERANGE if i is out of range. */
AD_INLINE ad_t ad_arr_get(ad_ctx *c, ad_arr x, int64_t i) {
  if (x.shape.ndim == 0) return ad_const(c, __builtin_nan(""));
  if (i < 0 || i >= ad_shape_n(x.shape)) { ad_arr__bad(c, AD_ERANGE); return ad_const(c, __builtin_nan("")); }
  return x.v[i];
}

AD_INLINE ad_arr ad_arr__view(ad_arr x, int64_t off, ad_shape s) {
  ad_arr r;
  r.v = x.v + off;
  r.shape = s;
  return r;
}

/* ---- elementwise ops: the kernels ---- */

#define PRIMAL_AOP_U(name)                                                                                     \
  AD_INLINE ad_arr ad_arr_##name(ad_ctx *c, ad_arr x) {                                                        \
    if (x.shape.ndim == 0) return x;                                                                           \
    ad_arr r = ad_arr__new(c, x.shape);                                                                        \
    if (r.v) ad_k_##name((size_t)ad_shape_n(x.shape), x.v, 1, x.v, 0, r.v, NULL, NULL);                         \
    return r;                                                                                                  \
  }
#define PRIMAL_AOP_VV(name)                                                                                    \
  AD_INLINE ad_arr ad_arr_##name(ad_ctx *c, ad_arr x, ad_arr y) {                                              \
    ad_shape s;                                                                                                \
    size_t sa, sb;                                                                                             \
    if (x.shape.ndim == 0 || y.shape.ndim == 0) return ad_arr__bad(c, AD_EINVAL);                              \
    if (ad_shape_ew(x.shape, y.shape, &s, &sa, &sb) != AD_OK) return ad_arr__bad(c, AD_EINVAL);               \
    ad_arr r = ad_arr__new(c, s);                                                                              \
    if (r.v) ad_k_##name((size_t)ad_shape_n(s), x.v, sa, y.v, sb, r.v, NULL, NULL);                             \
    return r;                                                                                                  \
  }                                                                                                            \
  AD_INLINE ad_arr ad_arr_##name##_bs(ad_ctx *c, ad_arr x, ad_t k) {                                           \
    if (x.shape.ndim == 0) return x;                                                                           \
    ad_arr r = ad_arr__new(c, x.shape);                                                                        \
    if (r.v) ad_k_##name((size_t)ad_shape_n(x.shape), x.v, 1, &k, 0, r.v, NULL, NULL);                          \
    return r;                                                                                                  \
  }                                                                                                            \
  AD_INLINE ad_arr ad_arr_##name##_as(ad_ctx *c, ad_t k, ad_arr y) {                                           \
    if (y.shape.ndim == 0) return y;                                                                           \
    ad_arr r = ad_arr__new(c, y.shape);                                                                        \
    if (r.v) ad_k_##name((size_t)ad_shape_n(y.shape), &k, 0, y.v, 1, r.v, NULL, NULL);                          \
    return r;                                                                                                  \
  }
#define PRIMAL_AOP_VC(name)                                                                                    \
  AD_INLINE ad_arr ad_arr_##name(ad_ctx *c, ad_arr x, double k) {                                              \
    if (x.shape.ndim == 0) return x;                                                                           \
    ad_arr r = ad_arr__new(c, x.shape);                                                                        \
    if (r.v) ad_k_##name((size_t)ad_shape_n(x.shape), x.v, 1, &k, 0, r.v, NULL, NULL);                          \
    return r;                                                                                                  \
  }
#define PRIMAL_AOP_CV(name)                                                                                    \
  AD_INLINE ad_arr ad_arr_##name(ad_ctx *c, double k, ad_arr y) {                                              \
    if (y.shape.ndim == 0) return y;                                                                           \
    ad_arr r = ad_arr__new(c, y.shape);                                                                        \
    if (r.v) ad_k_##name((size_t)ad_shape_n(y.shape), &k, 0, y.v, 1, r.v, NULL, NULL);                          \
    return r;                                                                                                  \
  }
#define AD_OP(name, kind, torch, facts, pre, value, da, db) PRIMAL_AOP_##kind(name)
#include "../ad_ops.def"
#undef AD_OP

/* ---- views, data, gather, reductions and products (values: ad_array_vals.h) ---- */

/* Constant data d[0..n) as a passive 1-D array (not copied: d must outlive it). */
AD_INLINE ad_arr ad_arr_data(ad_ctx *c, const double *d, int64_t n) {
  if (!d || n < 1 || n > AD_ARR_MAX_N) return ad_arr__bad(c, AD_EINVAL);
  ad_arr r;
  r.v = (double *)d; /* never written: only op results are */
  r.shape = ad_shape_1((int32_t)n);
  return r;
}
AD_INLINE ad_arr ad_arr_slice(ad_ctx *c, ad_arr x, int64_t lo, int64_t hi) {
  int64_t off;
  ad_shape s;
  ad_status st = ad_v_slice(x.shape, lo, hi, &off, &s);
  return st == AD_OK ? ad_arr__view(x, off, s) : ad_arr__bad(c, st);
}
AD_INLINE ad_arr ad_arr_row(ad_ctx *c, ad_arr x, int64_t r) {
  int64_t off;
  ad_shape s;
  ad_status st = ad_v_row(x.shape, r, &off, &s);
  return st == AD_OK ? ad_arr__view(x, off, s) : ad_arr__bad(c, st);
}
AD_INLINE ad_arr ad_arr_reshape(ad_ctx *c, ad_arr x, int64_t rows, int64_t cols) {
  ad_shape s;
  ad_status st = ad_v_reshape(x.shape, rows, cols, &s);
  return st == AD_OK ? ad_arr__view(x, 0, s) : ad_arr__bad(c, st);
}
AD_INLINE ad_arr ad_arr_gather(ad_ctx *c, ad_arr x, const int32_t *idx, int64_t n) {
  ad_status st = ad_v_gather_check(x.shape, idx, n);
  if (st != AD_OK) return ad_arr__bad(c, st);
  ad_arr r = ad_arr__new(c, ad_shape_1((int32_t)n));
  if (r.v)
    for (int64_t j = 0; j < n; ++j) r.v[j] = x.v[idx[j]];
  return r;
}
AD_INLINE ad_t ad_arr_sum(ad_ctx *c, ad_arr x) {
  if (x.shape.ndim == 0) return ad_const(c, __builtin_nan(""));
  return ad_v_sum(x.v, ad_shape_n(x.shape));
}
AD_INLINE ad_t ad_arr_max(ad_ctx *c, ad_arr x) {
  if (x.shape.ndim == 0) return ad_const(c, __builtin_nan(""));
  return ad_v_max(x.v, ad_shape_n(x.shape));
}
AD_INLINE ad_arr ad_arr_sum_axis(ad_ctx *c, ad_arr x, int axis) {
  ad_shape s;
  ad_status st = ad_v_axis_shape(x.shape, axis, &s);
  if (st != AD_OK) return ad_arr__bad(c, st);
  ad_arr r = ad_arr__new(c, s);
  if (r.v) ad_v_sum_axis(x.v, x.shape, axis, r.v);
  return r;
}
AD_INLINE ad_arr ad_arr_max_axis(ad_ctx *c, ad_arr x, int axis) {
  ad_shape s;
  ad_status st = ad_v_axis_shape(x.shape, axis, &s);
  if (st != AD_OK) return ad_arr__bad(c, st);
  ad_arr r = ad_arr__new(c, s);
  if (r.v) ad_v_max_axis(x.v, x.shape, axis, r.v);
  return r;
}
AD_INLINE ad_t ad_arr_dot(ad_ctx *c, ad_arr x, ad_arr y) {
  if (x.shape.ndim != 1 || !ad_shape_eq(x.shape, y.shape)) {
    ad_arr__bad(c, AD_EINVAL);
    return ad_const(c, __builtin_nan(""));
  }
  return ad_v_dot(x.v, 1, y.v, 1, x.shape.cols);
}
AD_INLINE ad_arr ad_arr_mv(ad_ctx *c, ad_arr a, int ta, ad_arr x) {
  ad_shape s;
  if (ad_v_mv_shape(a.shape, ta, x.shape, &s) != AD_OK) return ad_arr__bad(c, AD_EINVAL);
  ad_arr r = ad_arr__new(c, s);
  if (r.v) ad_v_mv(a.v, a.shape, ta, x.v, r.v);
  return r;
}
AD_INLINE ad_arr ad_arr_mm(ad_ctx *c, ad_arr a, int ta, ad_arr b, int tb) {
  ad_shape s;
  if (ad_v_mm_shape(a.shape, ta, b.shape, tb, &s) != AD_OK) return ad_arr__bad(c, AD_EINVAL);
  ad_arr r = ad_arr__new(c, s);
  if (r.v) ad_v_mm(a.v, a.shape, ta, b.v, b.shape, tb, r.v);
  return r;
}

#endif
