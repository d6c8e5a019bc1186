/* dual_array.h: arrays for the dual engine: a value array and a tangent array (design of arrays: ad_array.h).
 *
 *   #include "dual/dual_array.h"
 *   ad_t x[3] = {dual_make(1, 1), dual_make(2, 0), dual_make(3, 0)};   // seed dx0 = 1
 *   ad_arr X = ad_arr_stack(NULL, x, 3);
 *   ad_t f = ad_arr_sum(NULL, ad_arr_exp(NULL, X));     // f.v = e + e^2 + e^3, dual_tangent(f) = e
 *
 * An ad_arr holds the values (v), the tangents (d; NULL when no element has one) and the shape. Values come from
 * the kernels of ad_kernels.h (the bits of the scalar ops) and, for the ops beyond elementwise, from
 * ad_array_vals.h (the order every engine follows). Tangents follow ad_ops.def's partials element by element,
 * with the scalar dual engine's policy (dual_ops.h): an element whose operands have no tangent has none (-0.0),
 * and a term whose operand has no tangent is left out, not multiplied. The partial arrays an elementwise op needs
 * (only for operands with tangents) are computed by the same kernel call as the values. Sums and products build
 * their tangents in the order of their values; max and max_axis give the mean of the tangents of the tied largest
 * elements (the forward form of AmaxBackward0's even split). Memory: the thread's current arena (ad_array.h).
 */
#ifndef DUAL_ARRAY_H
#define DUAL_ARRAY_H

#include <string.h>

#include "../ad_array.h"
#include "../ad_array_vals.h"
#include "dual_ops.h"

#define AD_ARR_ENGINE "dual"

typedef struct ad_arr {
  double *v;
  double *d; /* tangents, or NULL: no element has one */
  ad_shape shape;
} ad_arr;

AD_INLINE ad_arena *ad_arr__arena(ad_ctx *c) { (void)c; return ad_arena_default(); }
/* The status of the array ops since the arena's last reset (AD_OK, AD_ENOMEM, AD_EINVAL, AD_ERANGE). */
AD_INLINE ad_status ad_arr_status(ad_ctx *c) { return ad_arr__arena(c)->status; }
AD_INLINE int64_t ad_arr_n(ad_arr x) { return ad_shape_n(x.shape); }

AD_INLINE ad_arr ad_arr__bad(ad_ctx *c, ad_status s) {
  ad_arena_fail(ad_arr__arena(c), s);
  ad_arr r;
  r.v = r.d = NULL;
  r.shape = ad_shape_bad();
  return r;
}
AD_INLINE ad_t ad_arr__nan(ad_ctx *c) { return ad_const(c, __builtin_nan("")); }
AD_INLINE double *ad_arr__doubles(ad_ctx *c, int64_t n) {
  return (double *)ad_arena_alloc(ad_arr__arena(c), (size_t)n * sizeof(double));
}
/* A new array of shape s with values, and tangents if tangents; invalid (status set) on failure. */
AD_INLINE ad_arr ad_arr__new(ad_ctx *c, ad_shape s, int tangents) {
  if (s.ndim == 0) return ad_arr__bad(c, AD_EINVAL);
  ad_arr r;
  r.v = ad_arr__doubles(c, ad_shape_n(s));
  r.d = tangents && r.v ? ad_arr__doubles(c, ad_shape_n(s)) : NULL;
  r.shape = s;
  if (!r.v || (tangents && !r.d)) return ad_arr__bad(c, AD_ENOMEM);
  return r;
}
AD_INLINE ad_arr ad_arr__view(ad_arr x, int64_t off, ad_shape s) {
  x.v += off;
  if (x.d) x.d += off;
  x.shape = s;
  return x;
}
/* The tangent of element i (DUAL_NONE when the array has none). */
AD_INLINE double dual__at(ad_arr x, int64_t i) { return x.d ? x.d[i] : DUAL_NONE; }
/* acc + t as dual_ops.h's add_vv builds it: no tangent if neither has one. */
AD_INLINE double dual__acc(double acc, double t) {
  if (dual_absent(acc) && dual_absent(t)) return DUAL_NONE;
  return dual__term(1.0, acc) + dual__term(1.0, t) + 0.0;
}
/* The tangent of a * b (mul_vv's rule: da = b, db = a). */
AD_INLINE double dual__prod(double a, double da, double b, double db) {
  if (dual_absent(da) && dual_absent(db)) return DUAL_NONE;
  return dual__term(b, da) + dual__term(a, db) + 0.0;
}

/* ---- construction and access ---- */

/* n dual numbers as a 1-D array (values and tangents copied). */
AD_INLINE ad_arr ad_arr_stack(ad_ctx *c, const ad_t *x, int64_t n) {
  if (!x || n < 1 || n > AD_ARR_MAX_N) return ad_arr__bad(c, AD_EINVAL);
  int any = 0;
  for (int64_t i = 0; i < n; ++i) any |= !dual_absent(x[i].d);
  ad_arr r = ad_arr__new(c, ad_shape_1((int32_t)n), any);
  if (r.shape.ndim == 0) return r;
  for (int64_t i = 0; i < n; ++i) {
    r.v[i] = x[i].v;
    if (r.d) r.d[i] = x[i].d;
  }
  return r;
}
/* Constant data d[0..n) as a 1-D array without tangents (not copied: d must outlive it). */
AD_INLINE ad_arr ad_arr_data(ad_ctx *c, const double *d, int64_t n) {
  if (!d || n < 1 || n > AD_ARR_MAX_N) return ad_arr__bad(c, AD_EINVAL);
  ad_arr r;
  r.v = (double *)d; /* never written: only op results are */
  r.d = NULL;
  r.shape = ad_shape_1((int32_t)n);
  return r;
}
AD_INLINE ad_t ad_arr_get(ad_ctx *c, ad_arr x, int64_t i) {
  if (x.shape.ndim == 0) return ad_arr__nan(c);
  if (i < 0 || i >= ad_shape_n(x.shape)) { ad_arr__bad(c, AD_ERANGE); return ad_arr__nan(c); }
  return dual__make(x.v[i], dual__at(x, i));
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
  ad_arr r = ad_arr__new(c, ad_shape_1((int32_t)n), x.d != NULL);
  if (r.shape.ndim == 0) return r;
  for (int64_t j = 0; j < n; ++j) {
    r.v[j] = x.v[idx[j]];
    if (r.d) r.d[j] = x.d[idx[j]];
  }
  return r;
}

/* ---- elementwise: the kernel gives values and the partials of operands with tangents ---- */

/* Finishes an elementwise op: tangents from the partials (pa, pb may be NULL: that operand has no tangent). */
AD_INLINE ad_arr dual__ew_tangents(ad_ctx *c, ad_arr r, const double *da, size_t sa, const double *pa,
                                   const double *db, size_t sb, const double *pb) {
  if (!pa && !pb) return r;
  int64_t n = ad_shape_n(r.shape);
  r.d = ad_arr__doubles(c, n);
  if (!r.d) return ad_arr__bad(c, AD_ENOMEM);
  for (int64_t i = 0; i < n; ++i) {
    double ta = pa ? da[i * sa] : DUAL_NONE, tb = pb ? db[i * sb] : DUAL_NONE;
    r.d[i] = dual_absent(ta) && dual_absent(tb) ? DUAL_NONE
                                                : (pa ? dual__term(pa[i], ta) : 0.0) + (pb ? dual__term(pb[i], tb) : 0.0) + 0.0;
  }
  return r;
}

/* Runs kernel name on operands (va, sa, da) and (vb, sb, db) (d NULL: no tangents) into shape s. */
#define DUAL_AOP_RUN(name, s, va, sa, da, vb, sb, db)                                                          \
  do {                                                                                                         \
    ad_arr r = ad_arr__new(c, (s), 0);                                                                         \
    if (r.shape.ndim == 0) return r;                                                                           \
    int64_t n_ = ad_shape_n(r.shape);                                                                          \
    double *pa_ = (da) ? ad_arr__doubles(c, n_) : NULL, *pb_ = (db) ? ad_arr__doubles(c, n_) : NULL;          \
    if (((da) && !pa_) || ((db) && !pb_)) return ad_arr__bad(c, AD_ENOMEM);                                    \
    ad_k_##name((size_t)n_, (va), (sa), (vb), (sb), r.v, pa_, pb_);                                            \
    return dual__ew_tangents(c, r, (da), (sa), pa_, (db), (sb), pb_);                                          \
  } while (0)

#define DUAL_AOP_U(name)                                                                                       \
  AD_INLINE ad_arr ad_arr_##name(ad_ctx *c, ad_arr x) {                                                        \
    if (x.shape.ndim == 0) return x;                                                                           \
    DUAL_AOP_RUN(name, x.shape, x.v, 1, x.d, x.v, 0, (const double *)NULL);                                    \
  }
#define DUAL_AOP_VV(name)                                                                                      \
  AD_INLINE ad_arr ad_arr_##name(ad_ctx *c, ad_arr x, ad_arr y) {                                              \
    ad_shape s;                                                                                                \
    size_t sa, sb;                                                                                             \
    if (ad_shape_ew(x.shape, y.shape, &s, &sa, &sb) != AD_OK) return ad_arr__bad(c, AD_EINVAL);               \
    DUAL_AOP_RUN(name, s, x.v, sa, x.d, y.v, sb, y.d);                                                         \
  }                                                                                                            \
  AD_INLINE ad_arr ad_arr_##name##_bs(ad_ctx *c, ad_arr x, ad_t k) {                                           \
    if (x.shape.ndim == 0) return x;                                                                           \
    DUAL_AOP_RUN(name, x.shape, x.v, 1, x.d, &k.v, 0, dual_absent(k.d) ? (const double *)NULL : &k.d);         \
  }                                                                                                            \
  AD_INLINE ad_arr ad_arr_##name##_as(ad_ctx *c, ad_t k, ad_arr y) {                                           \
    if (y.shape.ndim == 0) return y;                                                                           \
    DUAL_AOP_RUN(name, y.shape, &k.v, 0, dual_absent(k.d) ? (const double *)NULL : &k.d, y.v, 1, y.d);         \
  }
#define DUAL_AOP_VC(name)                                                                                      \
  AD_INLINE ad_arr ad_arr_##name(ad_ctx *c, ad_arr x, double k) {                                              \
    if (x.shape.ndim == 0) return x;                                                                           \
    DUAL_AOP_RUN(name, x.shape, x.v, 1, x.d, &k, 0, (const double *)NULL);                                     \
  }
#define DUAL_AOP_CV(name)                                                                                      \
  AD_INLINE ad_arr ad_arr_##name(ad_ctx *c, double k, ad_arr y) {                                              \
    if (y.shape.ndim == 0) return y;                                                                           \
    DUAL_AOP_RUN(name, y.shape, &k, 0, (const double *)NULL, y.v, 1, y.d);                                     \
  }
#define AD_OP(name, kind, torch, facts, pre, value, da, db) DUAL_AOP_##kind(name)
#include "../ad_ops.def"
#undef AD_OP

/* ---- reductions and products ---- */

/* The sum (max: 0 sum, 1 max) of the len elements x[at(j, k)], k = 0.., as a dual number. */
AD_INLINE ad_t dual__reduce(ad_arr x, ad_shape s, int axis, int64_t j, int64_t len, int max) {
  double acc = x.v[ad_v_axis_at(s, axis, j, 0)];
  for (int64_t k = 1; k < len; ++k) {
    double e = x.v[ad_v_axis_at(s, axis, j, k)];
    acc = max ? ad_max(acc, e) : acc + e;
  }
  double t = DUAL_NONE;
  if (x.d) {
    if (!max) {
      t = x.d[ad_v_axis_at(s, axis, j, 0)];
      for (int64_t k = 1; k < len; ++k) t = dual__acc(t, x.d[ad_v_axis_at(s, axis, j, k)]);
    } else { /* the mean tangent of the tied largest elements (NaN: of the NaNs) */
      double sum = 0.0;
      int64_t ties = 0, present = 0;
      for (int64_t k = 0; k < len; ++k) {
        double e = x.v[ad_v_axis_at(s, axis, j, k)], de = x.d[ad_v_axis_at(s, axis, j, k)];
        if (e == acc || (acc != acc && e != e)) {
          ++ties;
          if (!dual_absent(de)) sum += de, ++present;
        }
      }
      t = present ? sum / (double)ties + 0.0 : DUAL_NONE;
    }
  }
  return dual__make(acc, t);
}
AD_INLINE ad_t ad_arr_sum(ad_ctx *c, ad_arr x) {
  if (x.shape.ndim == 0) return ad_arr__nan(c);
  int64_t n = ad_shape_n(x.shape);
  return dual__reduce(x, ad_shape_2(1, (int32_t)n), 1, 0, n, 0);
}
AD_INLINE ad_t ad_arr_max(ad_ctx *c, ad_arr x) {
  if (x.shape.ndim == 0) return ad_arr__nan(c);
  int64_t n = ad_shape_n(x.shape);
  return dual__reduce(x, ad_shape_2(1, (int32_t)n), 1, 0, n, 1);
}
AD_INLINE ad_arr dual__reduce_axis(ad_ctx *c, ad_arr x, int axis, int max) {
  ad_shape s;
  ad_status st = ad_v_axis_shape(x.shape, axis, &s);
  if (st != AD_OK) return ad_arr__bad(c, st);
  ad_arr r = ad_arr__new(c, s, x.d != NULL);
  if (r.shape.ndim == 0) return r;
  for (int64_t j = 0; j < s.cols; ++j) {
    ad_t e = dual__reduce(x, x.shape, axis, j, ad_v_axis_len(x.shape, axis), max);
    r.v[j] = e.v;
    if (r.d) r.d[j] = e.d;
  }
  return r;
}
AD_INLINE ad_arr ad_arr_sum_axis(ad_ctx *c, ad_arr x, int axis) { return dual__reduce_axis(c, x, axis, 0); }
AD_INLINE ad_arr ad_arr_max_axis(ad_ctx *c, ad_arr x, int axis) { return dual__reduce_axis(c, x, axis, 1); }

/* sum_k a[a0 + k sa] b[b0 + k sb] with its tangent, in the order of ad_v_dot. */
AD_INLINE ad_t dual__dot(ad_arr a, int64_t a0, int64_t sa, ad_arr b, int64_t b0, int64_t sb, int64_t n) {
  double acc = a.v[a0] * b.v[b0];
  double t = dual__prod(a.v[a0], dual__at(a, a0), b.v[b0], dual__at(b, b0));
  for (int64_t k = 1; k < n; ++k) {
    int64_t i = a0 + k * sa, j = b0 + k * sb;
    acc = acc + a.v[i] * b.v[j];
    t = dual__acc(t, dual__prod(a.v[i], dual__at(a, i), b.v[j], dual__at(b, j)));
  }
  return dual__make(acc, t);
}
AD_INLINE ad_t ad_arr_dot(ad_ctx *c, ad_arr x, ad_arr y) {
  if (x.shape.ndim != 1 || !ad_shape_eq(x.shape, y.shape)) { ad_arr__bad(c, AD_EINVAL); return ad_arr__nan(c); }
  return dual__dot(x, 0, 1, y, 0, 1, x.shape.cols);
}
AD_INLINE ad_arr ad_arr_mv(ad_ctx *c, ad_arr a, int ta, ad_arr x) {
  ad_shape s;
  if (ad_v_mv_shape(a.shape, ta, x.shape, &s) != AD_OK) return ad_arr__bad(c, AD_EINVAL);
  ad_arr r = ad_arr__new(c, s, a.d || x.d);
  if (r.shape.ndim == 0) return r;
  int64_t k = ad_mat_cols(a.shape, ta), step = ta ? a.shape.cols : 1;
  for (int64_t i = 0; i < s.cols; ++i) {
    ad_t e = dual__dot(a, (int64_t)ad_mat_at(a.shape, ta, i, 0), step, x, 0, 1, k);
    r.v[i] = e.v;
    if (r.d) r.d[i] = e.d;
  }
  return r;
}
AD_INLINE ad_arr ad_arr_mm(ad_ctx *c, ad_arr a, int ta, ad_arr b, int tb) {
  ad_shape s;
  if (ad_v_mm_shape(a.shape, ta, b.shape, tb, &s) != AD_OK) return ad_arr__bad(c, AD_EINVAL);
  ad_arr r = ad_arr__new(c, s, a.d || b.d);
  if (r.shape.ndim == 0) return r;
  int64_t k = ad_mat_cols(a.shape, ta), sa = ta ? a.shape.cols : 1, sb = tb ? 1 : b.shape.cols;
  for (int64_t i = 0; i < s.rows; ++i)
    for (int64_t j = 0; j < s.cols; ++j) {
      ad_t e = dual__dot(a, (int64_t)ad_mat_at(a.shape, ta, i, 0), sa, b, (int64_t)ad_mat_at(b.shape, tb, 0, j), sb, k);
      r.v[i * s.cols + j] = e.v;
      if (r.d) r.d[i * s.cols + j] = e.d;
    }
  return r;
}

#endif
