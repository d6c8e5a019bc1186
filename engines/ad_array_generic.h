/* ad_array_generic.h: the FALLBACK array type over any engine's scalar ops (design: ad_array.h).
 *
 *   #include "graph/graph_ops.h"
 *   #include "ad_array_generic.h"
 *   ad_arr X = ad_arr_stack(g, x, n);                 // n graph nodes, referenced, not copied
 *   ad_t f = ad_arr_sum(g, ad_arr_sqr(g, X));         // n + (n - 1) nodes: one per element op, one per addition
 *
 * An ad_arr here is an array of the engine's own scalar variables (ad_t), and every array op is a loop of the
 * engine's scalar ops: one node (graph), statement (replay) or dual number (dual) per element. It is what lets the
 * dual, graph and replay engines run the tensor workloads today, correctly and bit-identically with the native
 * array engines (the scalar ops compute the bits of the kernels; sums and products are built in the order of
 * ad_array_vals.h), but at the scalar engine's cost: native array nodes for graph and replay (one node per array
 * op, PyTorch's tensor semantics) and dual's value and tangent arrays are the next step.
 * Differences from the native engines, beyond cost: max and max_axis are chains of fmax_vv, so a tie among the
 * largest elements splits the gradient by the pairwise rule of ad_ops.def (half at each tie) rather than evenly;
 * constant data arrays become ad_const elements when an op needs them as variables.
 * Memory: the element arrays come from the calling thread's current arena (ad_arena_default(), chosen by the
 * driver with ad_arena_use and reset by it before each recording); the engine's own nodes live in its context as usual.
 * Include after the engine's <engine>_ops.h.
 */
#ifndef AD_ARRAY_GENERIC_H
#define AD_ARRAY_GENERIC_H

#include <string.h>

#include "ad_array.h"
#include "ad_array_vals.h"

#define AD_ARR_ENGINE "fallback"

typedef struct ad_arr {
  ad_t *e;           /* the elements (NULL for a constant data array: see d) */
  const double *d;   /* constant data, when e is NULL */
  ad_shape shape;
} ad_arr;

static inline ad_arena *ad_arr__arena(ad_ctx *c) { (void)c; return ad_arena_default(); }
/* The status of the array ops since the arena's last reset. */
static inline ad_status ad_arr_status(ad_ctx *c) { return ad_arr__arena(c)->status; }
static inline int64_t ad_arr_n(ad_arr x) { return ad_shape_n(x.shape); }

static inline ad_arr ad_arr__bad(ad_ctx *c, ad_status s) {
  ad_arena_fail(ad_arr__arena(c), s);
  ad_arr r;
  r.e = NULL;
  r.d = NULL;
  r.shape = ad_shape_bad();
  return r;
}
static inline ad_arr ad_arr__new(ad_ctx *c, ad_shape s) {
  if (s.ndim == 0) return ad_arr__bad(c, AD_EINVAL);
  ad_arr r;
  r.e = (ad_t *)ad_arena_alloc(ad_arr__arena(c), (size_t)ad_shape_n(s) * sizeof(ad_t));
  r.d = NULL;
  r.shape = r.e ? s : ad_shape_bad();
  return r;
}
static inline ad_t ad_arr__nan(ad_ctx *c) { return ad_const(c, __builtin_nan("")); }
/* Element i as a variable (a constant for data arrays). */
static inline ad_t ad_arr__at(ad_ctx *c, ad_arr x, int64_t i) { return x.e ? x.e[i] : ad_const(c, x.d[i]); }
static inline ad_arr ad_arr__view(ad_arr x, int64_t off, ad_shape s) {
  if (x.e) x.e += off;
  else x.d += off;
  x.shape = s;
  return x;
}

/* n scalar variables as a 1-D array (the handles are copied; no op is recorded). */
static inline ad_arr ad_arr_stack(ad_ctx *c, const ad_t *x, int64_t n) {
  if (!x || n < 1 || n > AD_ARR_MAX_N) return ad_arr__bad(c, AD_EINVAL);
  ad_arr r = ad_arr__new(c, ad_shape_1((int32_t)n));
  if (r.e) memcpy((void *)r.e, (const void *)x, (size_t)n * sizeof(ad_t));
  return r;
}
static inline ad_arr ad_arr_data(ad_ctx *c, const double *d, int64_t n) {
  if (!d || n < 1 || n > AD_ARR_MAX_N) return ad_arr__bad(c, AD_EINVAL);
  ad_arr r;
  r.e = NULL;
  r.d = d;
  r.shape = ad_shape_1((int32_t)n);
  return r;
}
static inline ad_t ad_arr_get(ad_ctx *c, ad_arr x, int64_t i) {
  if (x.shape.ndim == 0) return ad_arr__nan(c);
  if (i < 0 || i >= ad_shape_n(x.shape)) { ad_arr__bad(c, AD_ERANGE); return ad_arr__nan(c); }
  return ad_arr__at(c, x, i);
}
static inline ad_arr ad_arr_slice(ad_ctx *c, ad_arr x, int64_t lo, int64_t hi) {
  int64_t off;
  ad_shape s;
  ad_status st = ad_v_slice(x.shape, lo, hi, &off, &s);
  return st == AD_OK ? ad_arr__view(x, off, s) : ad_arr__bad(c, st);
}
static inline ad_arr ad_arr_row(ad_ctx *c, ad_arr x, int64_t r) {
  int64_t off;
  ad_shape s;
  ad_status st = ad_v_row(x.shape, r, &off, &s);
  return st == AD_OK ? ad_arr__view(x, off, s) : ad_arr__bad(c, st);
}
static inline ad_arr ad_arr_reshape(ad_ctx *c, ad_arr x, int64_t rows, int64_t cols) {
  ad_shape s;
  ad_status st = ad_v_reshape(x.shape, rows, cols, &s);
  return st == AD_OK ? ad_arr__view(x, 0, s) : ad_arr__bad(c, st);
}
static inline ad_arr ad_arr_gather(ad_ctx *c, ad_arr x, const int32_t *idx, int64_t n) {
  ad_status st = ad_v_gather_check(x.shape, idx, n);
  if (st != AD_OK) return ad_arr__bad(c, st);
  ad_arr r = ad_arr__new(c, ad_shape_1((int32_t)n));
  if (r.e)
    for (int64_t j = 0; j < n; ++j) r.e[j] = ad_arr__at(c, x, idx[j]);
  return r;
}

/* ---- elementwise: the engine's scalar op per element ---- */
#define AD_GEN_AOP_U(name)                                                                                     \
  static inline ad_arr ad_arr_##name(ad_ctx *c, ad_arr x) {                                                    \
    if (x.shape.ndim == 0) return x;                                                                           \
    ad_arr r = ad_arr__new(c, x.shape);                                                                        \
    if (r.e)                                                                                                   \
      for (int64_t i = 0, n = ad_shape_n(x.shape); i < n; ++i) r.e[i] = ad_##name(c, ad_arr__at(c, x, i));     \
    return r;                                                                                                  \
  }
#define AD_GEN_AOP_VV(name)                                                                                    \
  static inline ad_arr ad_arr_##name(ad_ctx *c, ad_arr x, ad_arr y) {                                          \
    ad_shape s;                                                                                                \
    size_t sa, sb;                                                                                             \
    if (ad_shape_ew(x.shape, y.shape, &s, &sa, &sb) != AD_OK) return ad_arr__bad(c, AD_EINVAL);               \
    ad_arr r = ad_arr__new(c, s);                                                                              \
    if (r.e)                                                                                                   \
      for (int64_t i = 0, n = ad_shape_n(s); i < n; ++i)                                                       \
        r.e[i] = ad_##name(c, ad_arr__at(c, x, i * (int64_t)sa), ad_arr__at(c, y, i * (int64_t)sb));           \
    return r;                                                                                                  \
  }                                                                                                            \
  static inline ad_arr ad_arr_##name##_bs(ad_ctx *c, ad_arr x, ad_t k) {                                       \
    if (x.shape.ndim == 0) return x;                                                                           \
    ad_arr r = ad_arr__new(c, x.shape);                                                                        \
    if (r.e)                                                                                                   \
      for (int64_t i = 0, n = ad_shape_n(x.shape); i < n; ++i) r.e[i] = ad_##name(c, ad_arr__at(c, x, i), k);  \
    return r;                                                                                                  \
  }                                                                                                            \
  static inline ad_arr ad_arr_##name##_as(ad_ctx *c, ad_t k, ad_arr y) {                                       \
    if (y.shape.ndim == 0) return y;                                                                           \
    ad_arr r = ad_arr__new(c, y.shape);                                                                        \
    if (r.e)                                                                                                   \
      for (int64_t i = 0, n = ad_shape_n(y.shape); i < n; ++i) r.e[i] = ad_##name(c, k, ad_arr__at(c, y, i));  \
    return r;                                                                                                  \
  }
#define AD_GEN_AOP_VC(name)                                                                                    \
  static inline ad_arr ad_arr_##name(ad_ctx *c, ad_arr x, double k) {                                          \
    if (x.shape.ndim == 0) return x;                                                                           \
    ad_arr r = ad_arr__new(c, x.shape);                                                                        \
    if (r.e)                                                                                                   \
      for (int64_t i = 0, n = ad_shape_n(x.shape); i < n; ++i) r.e[i] = ad_##name(c, ad_arr__at(c, x, i), k);  \
    return r;                                                                                                  \
  }
#define AD_GEN_AOP_CV(name)                                                                                    \
  static inline ad_arr ad_arr_##name(ad_ctx *c, double k, ad_arr y) {                                          \
    if (y.shape.ndim == 0) return y;                                                                           \
    ad_arr r = ad_arr__new(c, y.shape);                                                                        \
    if (r.e)                                                                                                   \
      for (int64_t i = 0, n = ad_shape_n(y.shape); i < n; ++i) r.e[i] = ad_##name(c, k, ad_arr__at(c, y, i));  \
    return r;                                                                                                  \
  }
#define AD_OP(name, kind, torch, facts, pre, value, da, db) AD_GEN_AOP_##kind(name)
#include "ad_ops.def"
#undef AD_OP

/* ---- reductions and products, in the order of ad_array_vals.h ---- */
static inline ad_t ad_arr__sum_at(ad_ctx *c, ad_arr x, ad_shape s, int axis, int64_t j, int64_t len) {
  ad_t acc = ad_arr__at(c, x, (int64_t)ad_v_axis_at(s, axis, j, 0));
  for (int64_t k = 1; k < len; ++k) acc = ad_add_vv(c, acc, ad_arr__at(c, x, (int64_t)ad_v_axis_at(s, axis, j, k)));
  return acc;
}
static inline ad_t ad_arr__max_at(ad_ctx *c, ad_arr x, ad_shape s, int axis, int64_t j, int64_t len) {
  ad_t acc = ad_arr__at(c, x, (int64_t)ad_v_axis_at(s, axis, j, 0));
  for (int64_t k = 1; k < len; ++k) acc = ad_fmax_vv(c, acc, ad_arr__at(c, x, (int64_t)ad_v_axis_at(s, axis, j, k)));
  return acc;
}
static inline ad_t ad_arr_sum(ad_ctx *c, ad_arr x) {
  if (x.shape.ndim == 0) return ad_arr__nan(c);
  return ad_arr__sum_at(c, x, ad_shape_2(1, (int32_t)ad_shape_n(x.shape)), 1, 0, ad_shape_n(x.shape));
}
static inline ad_t ad_arr_max(ad_ctx *c, ad_arr x) {
  if (x.shape.ndim == 0) return ad_arr__nan(c);
  return ad_arr__max_at(c, x, ad_shape_2(1, (int32_t)ad_shape_n(x.shape)), 1, 0, ad_shape_n(x.shape));
}
static inline ad_arr ad_arr_sum_axis(ad_ctx *c, ad_arr x, int axis) {
  ad_shape s;
  ad_status st = ad_v_axis_shape(x.shape, axis, &s);
  if (st != AD_OK) return ad_arr__bad(c, st);
  ad_arr r = ad_arr__new(c, s);
  if (r.e)
    for (int64_t j = 0; j < s.cols; ++j) r.e[j] = ad_arr__sum_at(c, x, x.shape, axis, j, ad_v_axis_len(x.shape, axis));
  return r;
}
static inline ad_arr ad_arr_max_axis(ad_ctx *c, ad_arr x, int axis) {
  ad_shape s;
  ad_status st = ad_v_axis_shape(x.shape, axis, &s);
  if (st != AD_OK) return ad_arr__bad(c, st);
  ad_arr r = ad_arr__new(c, s);
  if (r.e)
    for (int64_t j = 0; j < s.cols; ++j) r.e[j] = ad_arr__max_at(c, x, x.shape, axis, j, ad_v_axis_len(x.shape, axis));
  return r;
}
/* acc = a[0] * b[0]; acc = acc + a[k] * b[k]: elements at a0 + k * sa, b0 + k * sb. */
static inline ad_t ad_arr__dot_at(ad_ctx *c, ad_arr a, int64_t a0, int64_t sa, ad_arr b, int64_t b0, int64_t sb,
                                  int64_t n) {
  ad_t acc = ad_mul_vv(c, ad_arr__at(c, a, a0), ad_arr__at(c, b, b0));
  for (int64_t k = 1; k < n; ++k)
    acc = ad_add_vv(c, acc, ad_mul_vv(c, ad_arr__at(c, a, a0 + k * sa), ad_arr__at(c, b, b0 + k * sb)));
  return acc;
}
static inline ad_t ad_arr_dot(ad_ctx *c, ad_arr x, ad_arr y) {
  if (x.shape.ndim != 1 || !ad_shape_eq(x.shape, y.shape)) { ad_arr__bad(c, AD_EINVAL); return ad_arr__nan(c); }
  return ad_arr__dot_at(c, x, 0, 1, y, 0, 1, x.shape.cols);
}
static inline ad_arr ad_arr_mv(ad_ctx *c, ad_arr a, int ta, ad_arr x) {
  ad_shape s;
  if (ad_v_mv_shape(a.shape, ta, x.shape, &s) != AD_OK) return ad_arr__bad(c, AD_EINVAL);
  ad_arr r = ad_arr__new(c, s);
  if (r.e) {
    int64_t k = ad_mat_cols(a.shape, ta), step = ta ? a.shape.cols : 1;
    for (int64_t i = 0; i < s.cols; ++i) r.e[i] = ad_arr__dot_at(c, a, (int64_t)ad_mat_at(a.shape, ta, i, 0), step, x, 0, 1, k);
  }
  return r;
}
static inline ad_arr ad_arr_mm(ad_ctx *c, ad_arr a, int ta, ad_arr b, int tb) {
  ad_shape s;
  if (ad_v_mm_shape(a.shape, ta, b.shape, tb, &s) != AD_OK) return ad_arr__bad(c, AD_EINVAL);
  ad_arr r = ad_arr__new(c, s);
  if (r.e) {
    int64_t k = ad_mat_cols(a.shape, ta), sa = ta ? a.shape.cols : 1, sb = tb ? 1 : b.shape.cols;
    for (int64_t i = 0; i < s.rows; ++i)
      for (int64_t j = 0; j < s.cols; ++j)
        r.e[i * s.cols + j] = ad_arr__dot_at(c, a, (int64_t)ad_mat_at(a.shape, ta, i, 0), sa, b,
                                             (int64_t)ad_mat_at(b.shape, tb, 0, j), sb, k);
  }
  return r;
}
#endif
