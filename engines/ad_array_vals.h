/* ad_array_vals.h: the values of the array ops beyond the elementwise ones (ad_array_ops.def), on plain doubles,
 * in the one order every engine follows, so that values are bit-identical across engines:
 *   sums        acc = x[0], then acc = acc + x[i] for i = 1, 2, ... (row-major; along an axis, in index order);
 *   products    acc = a[0] * b[0], then acc = acc + a[k] * b[k] for k = 1, 2, ... (no fused multiply-add);
 *   max         acc = x[0], then acc = ad_max(acc, x[i]) (ad_math.h: NaN propagates).
 * Each function also checks its shapes: AD_EINVAL for shapes that do not fit, AD_ERANGE for an index out of range;
 * nothing is written then. */
#ifndef AD_ARRAY_VALS_H
#define AD_ARRAY_VALS_H

#include "ad_array.h"

static inline double ad_v_sum(const double *x, int64_t n) {
  double acc = x[0];
  for (int64_t i = 1; i < n; ++i) acc = acc + x[i];
  return acc;
}

static inline double ad_v_max(const double *x, int64_t n) {
  double acc = x[0];
  for (int64_t i = 1; i < n; ++i) acc = ad_max(acc, x[i]);
  return acc;
}

/* The shape of a reduction of 2-D x along axis (0: over rows, giving cols; 1: over columns, giving rows). */
static inline ad_status ad_v_axis_shape(ad_shape x, int axis, ad_shape *out) {
  if (x.ndim != 2) return AD_EINVAL;
  if (axis != 0 && axis != 1) return AD_ERANGE;
  *out = ad_shape_1(axis == 0 ? x.cols : x.rows);
  return AD_OK;
}

/* Element j of the axis reduction: the k-th element reduced into it is x[ad_v_axis_at(x, axis, j, k)]. */
static inline int64_t ad_v_axis_len(ad_shape x, int axis) { return axis == 0 ? x.rows : x.cols; }
static inline size_t ad_v_axis_at(ad_shape x, int axis, int64_t j, int64_t k) {
  return axis == 0 ? (size_t)(k * x.cols + j) : (size_t)(j * x.cols + k);
}

static inline void ad_v_sum_axis(const double *x, ad_shape s, int axis, double *out) {
  int64_t m = axis == 0 ? s.cols : s.rows, len = ad_v_axis_len(s, axis);
  for (int64_t j = 0; j < m; ++j) {
    double acc = x[ad_v_axis_at(s, axis, j, 0)];
    for (int64_t k = 1; k < len; ++k) acc = acc + x[ad_v_axis_at(s, axis, j, k)];
    out[j] = acc;
  }
}
static inline void ad_v_max_axis(const double *x, ad_shape s, int axis, double *out) {
  int64_t m = axis == 0 ? s.cols : s.rows, len = ad_v_axis_len(s, axis);
  for (int64_t j = 0; j < m; ++j) {
    double acc = x[ad_v_axis_at(s, axis, j, 0)];
    for (int64_t k = 1; k < len; ++k) acc = ad_max(acc, x[ad_v_axis_at(s, axis, j, k)]);
    out[j] = acc;
  }
}

static inline double ad_v_dot(const double *x, size_t sx, const double *y, size_t sy, int64_t n) {
  double acc = x[0] * y[0];
  for (int64_t k = 1; k < n; ++k) acc = acc + x[k * sx] * y[k * sy];
  return acc;
}

/* op(A) x: A 2-D; x 1-D of op(A)'s columns; the result 1-D of op(A)'s rows. */
static inline ad_status ad_v_mv_shape(ad_shape a, int ta, ad_shape x, ad_shape *out) {
  if (a.ndim != 2 || x.ndim != 1 || ad_mat_cols(a, ta) != x.cols) return AD_EINVAL;
  *out = ad_shape_1(ad_mat_rows(a, ta));
  return AD_OK;
}
static inline void ad_v_mv(const double *a, ad_shape s, int ta, const double *x, double *out) {
  int32_t r = ad_mat_rows(s, ta), k = ad_mat_cols(s, ta);
  for (int32_t i = 0; i < r; ++i) {
    double acc = a[ad_mat_at(s, ta, i, 0)] * x[0];
    for (int32_t j = 1; j < k; ++j) acc = acc + a[ad_mat_at(s, ta, i, j)] * x[j];
    out[i] = acc;
  }
}

/* op(A) op(B): both 2-D, op(A)'s columns == op(B)'s rows. */
static inline ad_status ad_v_mm_shape(ad_shape a, int ta, ad_shape b, int tb, ad_shape *out) {
  if (a.ndim != 2 || b.ndim != 2 || ad_mat_cols(a, ta) != ad_mat_rows(b, tb)) return AD_EINVAL;
  *out = ad_shape_2(ad_mat_rows(a, ta), ad_mat_cols(b, tb));
  return AD_OK;
}
static inline void ad_v_mm(const double *a, ad_shape sa, int ta, const double *b, ad_shape sb, int tb, double *out) {
  int32_t r = ad_mat_rows(sa, ta), kk = ad_mat_cols(sa, ta), m = ad_mat_cols(sb, tb);
  for (int32_t i = 0; i < r; ++i)
    for (int32_t j = 0; j < m; ++j) {
      double acc = a[ad_mat_at(sa, ta, i, 0)] * b[ad_mat_at(sb, tb, 0, j)];
      for (int32_t k = 1; k < kk; ++k) acc = acc + a[ad_mat_at(sa, ta, i, k)] * b[ad_mat_at(sb, tb, k, j)];
      out[(size_t)i * m + j] = acc;
    }
}

/* A contiguous slice [lo, hi) along axis 0 of x: its offset (elements) and shape. */
static inline ad_status ad_v_slice(ad_shape x, int64_t lo, int64_t hi, int64_t *off, ad_shape *out) {
  if (x.ndim == 0) return AD_EINVAL;
  int64_t len = x.ndim == 1 ? x.cols : x.rows;
  if (lo < 0 || hi > len || lo >= hi) return AD_ERANGE;
  if (x.ndim == 1) { *off = lo; *out = ad_shape_1((int32_t)(hi - lo)); }
  else { *off = lo * x.cols; *out = ad_shape_2((int32_t)(hi - lo), x.cols); }
  return AD_OK;
}
/* Row r of a 2-D x as a 1-D view. */
static inline ad_status ad_v_row(ad_shape x, int64_t r, int64_t *off, ad_shape *out) {
  if (x.ndim != 2) return AD_EINVAL;
  if (r < 0 || r >= x.rows) return AD_ERANGE;
  *off = r * x.cols;
  *out = ad_shape_1(x.cols);
  return AD_OK;
}
/* The shape rows x cols (rows 0: 1-D of cols) for x's elements. */
static inline ad_status ad_v_reshape(ad_shape x, int64_t rows, int64_t cols, ad_shape *out) {
  if (x.ndim == 0 || cols < 1 || rows < 0) return AD_EINVAL;
  int64_t n = rows ? rows * cols : cols;
  if (n != ad_shape_n(x)) return AD_EINVAL;
  *out = rows ? ad_shape_2((int32_t)rows, (int32_t)cols) : ad_shape_1((int32_t)cols);
  return AD_OK;
}
/* Every index of idx[0..n) within [0, len). */
static inline ad_status ad_v_gather_check(ad_shape x, const int32_t *idx, int64_t n) {
  if (x.ndim == 0 || !idx || n < 1 || n > AD_ARR_MAX_N) return AD_EINVAL;
  int64_t len = ad_shape_n(x);
  for (int64_t j = 0; j < n; ++j)
    if (idx[j] < 0 || idx[j] >= len) return AD_ERANGE;
  return AD_OK;
}
#endif
