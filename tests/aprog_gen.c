/* aprog_gen.c: the generator and printer of random array programs (aprog.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ad_array.h"
#include "aprog.h"
#include "wl.h"

enum { GEN_TRIES = 24 };

/* A register as the generator sees it: kind, shape, whether it depends on an input, and its values. */
typedef struct gval {
  int arr, active;
  ad_shape s; /* scalars: 1-D of 1 */
  double *v;
} gval;

typedef struct gen {
  aprog *p;
  wl_rng r;
  ap_cover *cover;
  gval val[AP_MAX_INS];
  double store[AP_MAX_INS][AP_MAX_ELEMS + 8]; /* + 8: the longer operands of bad instructions */
} gen;

static uint64_t g_next(gen *g) { return wl_rng_next(&g->r); }
/* Uniform in lo .. hi, both included. */
static int g_int(gen *g, int lo, int hi) { return lo + (int)(g_next(g) % (uint64_t)(hi - lo + 1)); }
static double g_unif(gen *g, double lo, double hi) { return wl_rng_uniform(&g->r, lo, hi); }
static int g_chance(gen *g, int one_in) { return g_int(g, 1, one_in) == 1; }
/* A dimension 1 .. 64: small ones (where kernels have tails and shapes degenerate) as often as the rest. */
static int g_dim(gen *g, int most) {
  int d = g_chance(g, 2) ? g_int(g, 1, 5) : g_int(g, 1, AP_MAX_DIM);
  return d < most ? d : most;
}
/* A value away from 0 (so that constants and data seldom sit on a kink or a pole). */
static double g_val(gen *g) {
  double m = g_unif(g, 0.25, 1.5);
  return g_chance(g, 2) ? m : -m;
}

static int g_room(const gen *g, int n) { return g->p->n + n <= AP_MAX_INS; }
static int g_data(gen *g, int n) {
  aprog *p = g->p;
  int off = p->ndata;
  for (int j = 0; j < n; ++j) p->data[off + j] = g_val(g);
  p->ndata += n;
  return off;
}

static int ok_value(double v) { return isfinite(v) && fabs(v) <= 1e6; }
static int ok_partial(double d) { return isfinite(d) && fabs(d) <= 1e8; }

/* The largest element of x[at(j, 0..len)] is unique (max and max_axis share ties differently across engines). */
static int unique_max(const double *x, int64_t n) {
  double m = x[0];
  for (int64_t j = 1; j < n; ++j) m = x[j] > m ? x[j] : m;
  int hits = 0;
  for (int64_t j = 0; j < n; ++j) hits += fabs(x[j] - m) <= 1e-12 * fabs(m);
  return hits == 1;
}

/* Elementwise op on plain doubles, with the domain of its rule (AD_POS_A, AD_NONZERO_B) and moderate results. */
static int g_ewval(int op, double a, double b, double *v) {
  unsigned facts = ad_op_facts[op];
  double da, db;
  if ((facts & AD_POS_A) && !(a > 0.05)) return 0;
  if ((facts & AD_NONZERO_B) && !(fabs(b) >= 0.05)) return 0;
  ad_op_eval((ad_op)op, a, b, v, &da, &db);
  return ok_value(*v) && ok_partial(da) && ok_partial(db);
}

/* op(M)(i, k) of a 2-D M of shape s. */
static double g_mat(const double *m, ad_shape s, int trans, int64_t i, int64_t k) {
  return trans ? m[k * s.cols + i] : m[i * s.cols + k];
}

/* The values of instruction `in` into out (register p->n); 0 if they fail a check. */
static int g_sim(gen *g, const ap_ins *in, gval *out) {
  aprog *p = g->p;
  const int *i = in->i;
  const gval *a = in->a >= 0 ? &g->val[in->a] : NULL, *b = in->b >= 0 ? &g->val[in->b] : NULL;
  double *v = g->store[p->n];
  out->v = v;
  out->arr = 1;
  out->active = (a && a->active) || (b && b->active);
  switch (in->code) {
  case AP_X:
    out->arr = 0, out->active = 1, out->s = ad_shape_1(1), v[0] = p->x[i[0]];
    return 1;
  case AP_IN:
    out->active = 1;
    out->s = i[2] > 0 ? ad_shape_2(i[2], i[3]) : ad_shape_1(i[1] - i[0]);
    memcpy(v, p->x + i[0], (size_t)(i[1] - i[0]) * sizeof *v);
    return 1;
  case AP_STACK:
    out->active = 0;
    out->s = ad_shape_1(in->n);
    for (int j = 0; j < in->n; ++j) {
      const gval *s = &g->val[p->idx[in->off + j]];
      v[j] = s->v[0];
      out->active |= s->active;
    }
    return 1;
  case AP_DATA:
    out->active = 0;
    out->s = i[2] > 0 ? ad_shape_2(i[2], i[3]) : ad_shape_1(in->n);
    memcpy(v, p->data + in->off, (size_t)in->n * sizeof *v);
    return 1;
  case AP_EW: case AP_SOP: {
    int sop = in->code == AP_SOP;
    ad_shape s = in->form == AP_F_AS ? b->s : a->s;
    int64_t sa = 1, sb = 1;
    if (in->form == AP_F_AA && !ad_shape_eq(a->s, b->s)) {
      if (ad_shape_n(b->s) == 1) sb = 0;
      else sa = 0, s = b->s;
    }
    if (in->form == AP_F_BS) sb = 0;
    if (in->form == AP_F_AS) sa = 0;
    out->arr = !sop;
    out->s = sop ? ad_shape_1(1) : s;
    for (int64_t j = 0; j < ad_shape_n(out->s); ++j) {
      double x = a->v[j * sa], y = b ? b->v[j * sb] : 0.0;
      int ok = in->form == AP_F_VC ? g_ewval(in->op, x, in->k, &v[j])
               : in->form == AP_F_CV ? g_ewval(in->op, in->k, x, &v[j])
                                     : g_ewval(in->op, x, y, &v[j]);
      if (!ok) return 0;
    }
    return 1;
  }
  case AP_SUM: case AP_MAX: {
    int64_t n = ad_shape_n(a->s);
    double acc = a->v[0];
    for (int64_t j = 1; j < n; ++j) acc = in->code == AP_SUM ? acc + a->v[j] : (a->v[j] > acc ? a->v[j] : acc);
    out->arr = 0, out->s = ad_shape_1(1), v[0] = acc;
    return ok_value(acc) && (in->code == AP_SUM || unique_max(a->v, n));
  }
  case AP_SUM_AXIS: case AP_MAX_AXIS: {
    int axis = i[0], m = axis == 0 ? a->s.cols : a->s.rows, len = axis == 0 ? a->s.rows : a->s.cols;
    double grp[AP_MAX_ELEMS];
    out->s = ad_shape_1(m);
    for (int j = 0; j < m; ++j) {
      for (int q = 0; q < len; ++q) grp[q] = g_mat(a->v, a->s, axis == 0, j, q);
      double acc = grp[0];
      for (int q = 1; q < len; ++q) acc = in->code == AP_SUM_AXIS ? acc + grp[q] : (grp[q] > acc ? grp[q] : acc);
      if (!ok_value(acc) || (in->code == AP_MAX_AXIS && !unique_max(grp, len))) return 0;
      v[j] = acc;
    }
    return 1;
  }
  case AP_DOT: {
    double acc = a->v[0] * b->v[0];
    for (int j = 1; j < a->s.cols; ++j) acc = acc + a->v[j] * b->v[j];
    out->arr = 0, out->s = ad_shape_1(1), v[0] = acc;
    return ok_value(acc);
  }
  case AP_MV: case AP_MM: {
    int ta = i[0], tb = in->code == AP_MM ? i[1] : 0;
    int rows = ta ? a->s.cols : a->s.rows, inner = ta ? a->s.rows : a->s.cols;
    int m = in->code == AP_MV ? 1 : tb ? b->s.rows : b->s.cols;
    ad_shape bs = in->code == AP_MV ? ad_shape_2(inner, 1) : b->s;
    out->s = in->code == AP_MV ? ad_shape_1(rows) : ad_shape_2(rows, m);
    for (int q = 0; q < rows; ++q)
      for (int j = 0; j < m; ++j) {
        double acc = g_mat(a->v, a->s, ta, q, 0) * g_mat(b->v, bs, tb, 0, j);
        for (int kk = 1; kk < inner; ++kk) acc = acc + g_mat(a->v, a->s, ta, q, kk) * g_mat(b->v, bs, tb, kk, j);
        if (!ok_value(acc)) return 0;
        v[q * m + j] = acc;
      }
    return 1;
  }
  case AP_SLICE: {
    int64_t off = a->s.ndim == 1 ? i[0] : (int64_t)i[0] * a->s.cols;
    out->s = a->s.ndim == 1 ? ad_shape_1(i[1] - i[0]) : ad_shape_2(i[1] - i[0], a->s.cols);
    memcpy(v, a->v + off, (size_t)ad_shape_n(out->s) * sizeof *v);
    return 1;
  }
  case AP_ROW:
    out->s = ad_shape_1(a->s.cols);
    memcpy(v, a->v + (int64_t)i[0] * a->s.cols, (size_t)a->s.cols * sizeof *v);
    return 1;
  case AP_RESHAPE:
    out->s = i[2] > 0 ? ad_shape_2(i[2], i[3]) : ad_shape_1(i[3]);
    memcpy(v, a->v, (size_t)ad_shape_n(a->s) * sizeof *v);
    return 1;
  case AP_GATHER:
    out->s = ad_shape_1(in->n);
    for (int j = 0; j < in->n; ++j) v[j] = a->v[p->idx[in->off + j]];
    return 1;
  case AP_GET:
    out->arr = 0, out->s = ad_shape_1(1), v[0] = a->v[i[0]];
    return 1;
  }
  return 0;
}

/* Appends instruction `in` if its values pass (and its weights fit in the data pool); its register, or -1. */
static int g_emit(gen *g, ap_ins in) {
  aprog *p = g->p;
  gval out;
  if (!g_room(g, 1) || p->ndata + AP_MAX_ELEMS + 8 > AP_MAX_DATA || !g_sim(g, &in, &out)) {
    if (g->cover) g->cover->retries++;
    return -1;
  }
  int r = p->n++;
  p->ins[r] = in;
  g->val[r] = out;
  p->arr[r] = out.arr;
  p->wofs[r] = out.arr ? g_data(g, (int)ad_shape_n(out.s)) : 0;
  if (g->cover) {
    g->cover->code[in.code]++;
    if (out.arr) {
      int d = out.s.rows > out.s.cols ? out.s.rows : out.s.cols;
      g->cover->dims[d < AP_MAX_DIM ? d : AP_MAX_DIM]++; /* the longer operands of bad instructions: 64 */
    }
  }
  return r;
}

static ap_ins g_ins(int code, int a, int b) {
  ap_ins in;
  memset(&in, 0, sizeof in);
  in.code = code, in.a = a, in.b = b;
  return in;
}

/* A random register: arrays (want 1) or scalars (want 0); ndim 0: any; -1 if none. */
static int g_pick(gen *g, int want, int ndim) {
  int cand[AP_MAX_INS], m = 0;
  for (int r = 0; r < g->p->n; ++r)
    if (g->val[r].arr == want && (!ndim || g->val[r].s.ndim == ndim) && r != g->p->bad) cand[m++] = r;
  return m ? cand[g_int(g, 0, m - 1)] : -1;
}

static int g_input(gen *g) {
  ap_ins in = g_ins(AP_IN, -1, -1);
  int k = g->p->k, lo = g_int(g, 0, k - 1), hi = g_int(g, lo + 1, k), n = hi - lo;
  in.i[0] = lo, in.i[1] = hi;
  if (n > 1 && g_chance(g, 2)) { /* as rows x cols when n factors */
    int rows = g_int(g, 1, n);
    while (n % rows) --rows;
    in.i[2] = rows, in.i[3] = n / rows;
  }
  return g_emit(g, in);
}
static int g_scalar(gen *g) {
  int r = g_chance(g, 4) ? -1 : g_pick(g, 0, 0);
  if (r >= 0) return r;
  ap_ins in = g_ins(AP_X, -1, -1);
  in.i[0] = g_int(g, 0, g->p->k - 1);
  return g_emit(g, in);
}
/* An array register with ndim dimensions (0: either). */
static int g_array(gen *g, int ndim) {
  int r = g_pick(g, 1, ndim);
  if (r >= 0 && !g_chance(g, 8)) return r;
  r = g_input(g);
  if (r < 0 || !ndim || g->val[r].s.ndim == ndim) return r;
  int n = (int)ad_shape_n(g->val[r].s), rows = ndim == 2 ? g_int(g, 1, n) : 0;
  while (rows > 0 && n % rows) --rows;
  ap_ins in = g_ins(AP_RESHAPE, r, -1);
  in.i[2] = rows, in.i[3] = rows ? n / rows : n;
  return g_emit(g, in);
}
/* Constant data of shape s (as an array register), made active half the time (times a scalar variable). */
static int g_const(gen *g, ad_shape s, int activate) {
  ap_ins in = g_ins(AP_DATA, -1, -1);
  in.n = (int)ad_shape_n(s);
  if (g->p->ndata + 2 * in.n > AP_MAX_DATA) return -1;
  in.off = g_data(g, in.n);
  if (s.ndim == 2) in.i[2] = s.rows, in.i[3] = s.cols;
  int r = g_emit(g, in);
  if (r < 0) g->p->ndata = in.off; /* give the data back */
  if (r < 0 || !activate || !g_chance(g, 2)) return r;
  int sv = g_scalar(g);
  if (sv < 0) return r;
  ap_ins m = g_ins(AP_EW, r, sv);
  m.op = AD_OP_mul_vv, m.form = AP_F_BS;
  int r2 = g_emit(g, m);
  return r2 >= 0 ? r2 : r;
}
/* An array register of shape s: an existing one, a view of one, or constant data. */
static int g_shaped(gen *g, ad_shape s) {
  int64_t n = ad_shape_n(s);
  int cand[AP_MAX_INS], m = 0;
  for (int r = 0; r < g->p->n; ++r)
    if (g->val[r].arr && ad_shape_eq(g->val[r].s, s)) cand[m++] = r;
  if (m && !g_chance(g, 6)) return cand[g_int(g, 0, m - 1)];
  for (int r = 0; r < g->p->n; ++r)
    if (g->val[r].arr && ad_shape_n(g->val[r].s) == n) cand[m++] = r;
  if (m && g_chance(g, 2)) { /* a reshape of one with as many elements */
    ap_ins in = g_ins(AP_RESHAPE, cand[g_int(g, 0, m - 1)], -1);
    in.i[2] = s.ndim == 2 ? s.rows : 0, in.i[3] = s.cols;
    int r = g_emit(g, in);
    if (r >= 0) return r;
  }
  if (s.ndim == 1) { /* a slice of a longer 1-D one */
    m = 0;
    for (int r = 0; r < g->p->n; ++r)
      if (g->val[r].arr && g->val[r].s.ndim == 1 && g->val[r].s.cols > n) cand[m++] = r;
    if (m && g_chance(g, 2)) {
      int a = cand[g_int(g, 0, m - 1)], lo = g_int(g, 0, g->val[a].s.cols - (int)n);
      ap_ins in = g_ins(AP_SLICE, a, -1);
      in.i[0] = lo, in.i[1] = lo + (int)n;
      int r = g_emit(g, in);
      if (r >= 0) return r;
    }
    if (n <= g->p->k && g_chance(g, 2)) {
      ap_ins in = g_ins(AP_IN, -1, -1);
      in.i[0] = g_int(g, 0, g->p->k - (int)n), in.i[1] = in.i[0] + (int)n;
      int r = g_emit(g, in);
      if (r >= 0) return r;
    }
  }
  return g_const(g, s, 1);
}
static ad_shape g_shape(gen *g, int ndim) {
  if (ndim == 1 || (!ndim && g_chance(g, 2))) return ad_shape_1(g_dim(g, AP_MAX_DIM));
  int rows = g_dim(g, AP_MAX_DIM), cols = g_dim(g, AP_MAX_ELEMS / rows);
  return ad_shape_2(rows, cols);
}

/* One elementwise op (array form) or scalar op. */
static int g_ew(gen *g, int sop) {
  int op = g_int(g, 0, AD_OP_COUNT - 1);
  ad_kind kind = ad_op_kind[op];
  ap_ins in = g_ins(sop ? AP_SOP : AP_EW, -1, -1);
  in.op = op;
  int cform = -1;
  if (kind != AD_KIND_VV) {
    in.form = kind == AD_KIND_U ? AP_F_U : kind == AD_KIND_VC ? AP_F_VC : AP_F_CV;
    in.a = sop ? g_scalar(g) : g_array(g, 0);
    in.k = (ad_op_facts[op] & AD_POS_A) && kind == AD_KIND_CV ? fabs(g_val(g)) : g_val(g);
    cform = kind == AD_KIND_U ? AP_C_U : kind == AD_KIND_VC ? AP_C_VC : AP_C_CV;
  } else if (sop) {
    in.form = AP_F_AA;
    in.a = g_scalar(g), in.b = g_scalar(g);
  } else {
    int f = g_int(g, 0, 5); /* same shape, broadcast b, broadcast a, data on one side, scalar b, scalar a */
    if (f == 4 || f == 5) {
      in.form = f == 4 ? AP_F_BS : AP_F_AS;
      int arr = g_array(g, 0), s = g_scalar(g);
      in.a = f == 4 ? arr : s, in.b = f == 4 ? s : arr;
      cform = f == 4 ? AP_C_BS : AP_C_AS;
    } else {
      in.form = AP_F_AA;
      int x = g_array(g, 0);
      if (x < 0) return -1;
      ad_shape s = g->val[x].s;
      int y = f == 0 ? g_shaped(g, s) : f == 3 ? g_const(g, s, 0) : g_shaped(g, ad_shape_1(1));
      int swap = f == 2 || (f == 3 && g_chance(g, 2));
      in.a = swap ? y : x, in.b = swap ? x : y;
      cform = f == 0 ? AP_C_SAME : f == 1 ? AP_C_BCAST_B : f == 2 ? AP_C_BCAST_A : AP_C_DATA;
      if (y >= 0 && ad_shape_n(g->val[x].s) == 1) cform = AP_C_SAME; /* one element on both sides */
    }
  }
  if (in.a < 0 || (kind == AD_KIND_VV && in.b < 0)) return -1;
  int r = g_emit(g, in);
  if (r >= 0 && g->cover) {
    if (sop) g->cover->sop[op]++;
    else g->cover->ew[op][cform]++;
  }
  return r;
}

/* One instruction of code `code` (helpers it needs first); its register or -1. */
static int g_step(gen *g, int code) {
  aprog *p = g->p;
  switch (code) {
  case AP_X: return g_scalar(g);
  case AP_IN: return g_input(g);
  case AP_STACK: {
    ap_ins in = g_ins(AP_STACK, -1, -1);
    int sc[AP_MAX_STACK];
    in.n = g_int(g, 1, AP_MAX_STACK);
    for (int j = 0; j < in.n; ++j)
      if ((sc[j] = g_scalar(g)) < 0) return -1;
    if (p->nidx + in.n > AP_MAX_IDX) return -1;
    in.off = p->nidx;
    for (int j = 0; j < in.n; ++j) p->idx[p->nidx++] = sc[j];
    int r = g_emit(g, in);
    if (r < 0) p->nidx = in.off;
    return r;
  }
  case AP_DATA: return g_const(g, g_shape(g, 0), 1);
  case AP_EW: return g_ew(g, 0);
  case AP_SOP: return g_ew(g, 1);
  case AP_SUM: case AP_MAX: {
    int a = g_array(g, 0);
    return a < 0 ? -1 : g_emit(g, g_ins(code, a, -1));
  }
  case AP_SUM_AXIS: case AP_MAX_AXIS: {
    int a = g_array(g, 2);
    if (a < 0) a = g_shaped(g, g_shape(g, 2));
    if (a < 0 || g->val[a].s.ndim != 2) return -1;
    ap_ins in = g_ins(code, a, -1);
    in.i[0] = g_int(g, 0, 1);
    int r = g_emit(g, in);
    if (r >= 0 && g->cover) g->cover->axis[in.i[0]]++;
    return r;
  }
  case AP_DOT: {
    int a = g_array(g, 1);
    if (a < 0) return -1;
    int b = g_chance(g, 4) ? a : g_shaped(g, g->val[a].s);
    return b < 0 ? -1 : g_emit(g, g_ins(AP_DOT, a, b));
  }
  case AP_MV: case AP_MM: {
    int a = g_array(g, 2);
    if (a < 0 || g_chance(g, 3)) a = g_shaped(g, g_shape(g, 2));
    if (a < 0 || g->val[a].s.ndim != 2) return -1;
    ad_shape as = g->val[a].s;
    ap_ins in = g_ins(code, a, -1);
    in.i[0] = g_int(g, 0, 1);
    int rows = in.i[0] ? as.cols : as.rows, inner = in.i[0] ? as.rows : as.cols;
    if (code == AP_MV) {
      in.b = g_shaped(g, ad_shape_1(inner));
    } else {
      in.i[1] = g_int(g, 0, 1);
      int m = g_dim(g, AP_MAX_ELEMS / (rows > inner ? rows : inner));
      while (m > 1 && (int64_t)rows * inner * m > 16384) m /= 2; /* the scalar form's cost */
      in.b = g_shaped(g, in.i[1] ? ad_shape_2(m, inner) : ad_shape_2(inner, m));
    }
    if (in.b < 0) return -1;
    int r = g_emit(g, in);
    if (r >= 0 && g->cover) {
      if (code == AP_MM) g->cover->transposes[in.i[0] + 2 * in.i[1]]++;
      else g->cover->mv_trans[in.i[0]]++;
    }
    return r;
  }
  case AP_SLICE: {
    int a = g_array(g, 0);
    if (a < 0) return -1;
    ad_shape s = g->val[a].s;
    int len = s.ndim == 1 ? s.cols : s.rows, lo = g_int(g, 0, len - 1);
    ap_ins in = g_ins(AP_SLICE, a, -1);
    in.i[0] = lo, in.i[1] = g_int(g, lo + 1, len);
    return g_emit(g, in);
  }
  case AP_ROW: {
    int a = g_array(g, 2);
    if (a < 0) return -1;
    ap_ins in = g_ins(AP_ROW, a, -1);
    in.i[0] = g_int(g, 0, g->val[a].s.rows - 1);
    return g_emit(g, in);
  }
  case AP_RESHAPE: {
    int a = g_array(g, 0);
    if (a < 0) return -1;
    int n = (int)ad_shape_n(g->val[a].s), opt[AP_MAX_DIM + 1], m = 0; /* rows: 0 (1-D) or a divisor of n */
    for (int rows = 0; rows <= AP_MAX_DIM; ++rows)
      if (rows ? n % rows == 0 && n / rows <= AP_MAX_DIM : n <= AP_MAX_DIM) opt[m++] = rows;
    if (!m) return -1;
    int rows = opt[g_int(g, 0, m - 1)];
    ap_ins in = g_ins(AP_RESHAPE, a, -1);
    in.i[2] = rows, in.i[3] = rows ? n / rows : n;
    return g_emit(g, in);
  }
  case AP_GATHER: {
    int a = g_array(g, 0);
    if (a < 0) return -1;
    int n = (int)ad_shape_n(g->val[a].s);
    ap_ins in = g_ins(AP_GATHER, a, -1);
    in.n = g_dim(g, AP_MAX_DIM);
    if (p->nidx + in.n > AP_MAX_IDX) return -1;
    in.off = p->nidx;
    for (int j = 0; j < in.n; ++j) p->idx[p->nidx++] = g_int(g, 0, n - 1); /* repeats too */
    int r = g_emit(g, in);
    if (r < 0) p->nidx = in.off;
    return r;
  }
  case AP_GET: {
    int a = g_array(g, 0);
    if (a < 0) return -1;
    ap_ins in = g_ins(AP_GET, a, -1);
    in.i[0] = g_int(g, 0, (int)ad_shape_n(g->val[a].s) - 1);
    return g_emit(g, in);
  }
  }
  return -1;
}

/* A bad instruction of code `code` appended unchecked: p->expect is the status it must give. 0 if the program
 * has nothing it could be made from. */
static int g_bad(gen *g, int code) {
  aprog *p = g->p;
  int a = g_array(g, code == AP_ROW || code == AP_SUM_AXIS || code == AP_MAX_AXIS || code == AP_MV ||
                         code == AP_MM ? 2 : 0);
  if (a < 0 || !g_room(g, 2) || p->nidx + 8 > AP_MAX_IDX || p->ndata + 1 > AP_MAX_DATA) return 0;
  ad_shape s = g->val[a].s;
  int n = (int)ad_shape_n(s), len = s.ndim == 1 ? s.cols : s.rows;
  ap_ins in = g_ins(code, a, -1);
  ad_status want = AD_EINVAL;
  switch (code) {
  case AP_EW: { /* two arrays of different sizes, neither of one element */
    if (n < 2) return 0;
    int b = g_const(g, ad_shape_1(n + g_int(g, 1, 3)), 0);
    if (b < 0) return 0;
    in.op = g_int(g, 0, AD_OP_COUNT - 1);
    while (ad_op_kind[in.op] != AD_KIND_VV) in.op = (in.op + 1) % AD_OP_COUNT;
    in.form = AP_F_AA;
    in.b = b;
    if (g_chance(g, 2)) in.a = b, in.b = a;
    break;
  }
  case AP_SLICE: /* past the end, before the start, or empty */
    want = AD_ERANGE;
    switch (g_int(g, 0, 2)) {
    case 0: in.i[0] = g_int(g, 0, len - 1), in.i[1] = len + g_int(g, 1, 3); break;
    case 1: in.i[0] = -g_int(g, 1, 3), in.i[1] = g_int(g, 1, len); break;
    default: in.i[0] = in.i[1] = g_int(g, 0, len); break;
    }
    break;
  case AP_ROW: /* out of range, or a 1-D array */
    want = s.ndim == 2 ? AD_ERANGE : AD_EINVAL, in.i[0] = g_chance(g, 2) ? -1 : s.rows + g_int(g, 0, 2);
    break;
  case AP_RESHAPE: in.i[2] = g_int(g, 1, 4), in.i[3] = n / in.i[2] + 1; break; /* rows * cols != n */
  case AP_GATHER:
    want = AD_ERANGE;
    in.n = g_int(g, 1, 8), in.off = p->nidx;
    for (int j = 0; j < in.n; ++j) p->idx[p->nidx++] = g_int(g, 0, n - 1);
    p->idx[in.off + g_int(g, 0, in.n - 1)] = g_chance(g, 2) ? -1 : n + g_int(g, 0, 2);
    break;
  case AP_GET: want = AD_ERANGE, in.i[0] = g_chance(g, 2) ? -1 : n + g_int(g, 0, 2); break;
  case AP_SUM_AXIS: case AP_MAX_AXIS: /* no such axis, or a 1-D array */
    want = s.ndim == 2 ? AD_ERANGE : AD_EINVAL, in.i[0] = s.ndim == 2 ? (g_chance(g, 2) ? 2 : -1) : g_int(g, 0, 1);
    break;
  case AP_DOT: { /* two 1-D arrays of different lengths, or 2-D arrays */
    int b = s.ndim == 2 ? a : g_const(g, ad_shape_1(n + g_int(g, 1, 3)), 0);
    if (b < 0) return 0;
    in.b = b;
    break;
  }
  case AP_MV: case AP_MM: { /* the inner dimensions differ */
    in.i[0] = g_int(g, 0, 1), in.i[1] = g_int(g, 0, 1);
    int inner = in.i[0] ? s.rows : s.cols, wrong = inner + g_int(g, 1, 3);
    int b = g_const(g, code == AP_MV ? ad_shape_1(wrong) : in.i[1] ? ad_shape_2(2, wrong) : ad_shape_2(wrong, 2), 0);
    if (b < 0) return 0;
    in.b = b;
    break;
  }
  case AP_STACK: in.a = -1, in.n = 0, in.off = p->nidx; break;
  case AP_DATA: in.a = -1, in.n = 0, in.off = p->ndata; break;
  default: return 0;
  }
  int r = p->n++;
  p->ins[r] = in;
  p->arr[r] = !(code == AP_GET || code == AP_DOT);
  p->wofs[r] = g_data(g, 1);
  g->val[r].arr = p->arr[r];
  g->val[r].active = 0;
  g->val[r].s = ad_shape_bad();
  g->val[r].v = g->store[r];
  p->bad = r;
  p->expect = want;
  if (g->cover) g->cover->bad[code]++;
  return 1;
}

aprog *aprog_new(void) { return (aprog *)calloc(1, sizeof(aprog)); }
void aprog_free(aprog *p) { free(p); }

void aprog_generate(aprog *p, uint64_t seed, int bad, ap_cover *cover) {
  static const int weight[AP_CODE_COUNT] = {
      [AP_X] = 1,   [AP_IN] = 2,      [AP_STACK] = 2,  [AP_DATA] = 1,   [AP_EW] = 16,     [AP_SOP] = 3,
      [AP_SUM] = 2, [AP_MAX] = 2,     [AP_SUM_AXIS] = 2, [AP_MAX_AXIS] = 2, [AP_DOT] = 2, [AP_MV] = 3,
      [AP_MM] = 3,  [AP_SLICE] = 2,   [AP_ROW] = 2,    [AP_RESHAPE] = 2, [AP_GATHER] = 3, [AP_GET] = 2};
  gen *g = (gen *)malloc(sizeof *g);
  if (!g) abort();
  memset(p, 0, sizeof *p);
  p->seed = seed;
  p->bad = -1;
  p->expect = AD_OK;
  g->p = p;
  g->r.s = seed ^ 0x3c6ef372fe94f82bull;
  g->cover = cover;
  p->k = g_chance(g, 3) ? g_int(g, 1, 8) : g_int(g, 1, AP_MAX_K);
  for (int j = 0; j < p->k; ++j) p->x[j] = g_unif(g, -1.5, 1.5);
  int target = g_int(g, 2, AP_MAX_INS * 2 / 3), total = 0;
  for (int j = 0; j < AP_CODE_COUNT; ++j) total += weight[j];
  int bad_at = bad && g_chance(g, 5) ? g_int(g, 1, target - 1) : -1;
  g_input(g);
  for (int step = 1, tries = 0; p->n < target && tries < 4 * AP_MAX_INS; ++tries) {
    int w = g_int(g, 0, total - 1), code = 0;
    while (w >= weight[code]) w -= weight[code++];
    if (step == bad_at && p->bad < 0) {
      static const int bad_codes[] = {AP_EW,   AP_SLICE, AP_ROW, AP_RESHAPE, AP_GATHER, AP_GET, AP_SUM_AXIS,
                                      AP_MAX_AXIS, AP_DOT, AP_MV, AP_MM, AP_STACK, AP_DATA};
      if (g_bad(g, bad_codes[g_int(g, 0, (int)(sizeof bad_codes / sizeof *bad_codes) - 1)])) ++step;
      continue;
    }
    if (g_step(g, code) >= 0) ++step;
  }
  free(g);
}

const char *aprog_code_name(int code) {
  static const char *const names[AP_CODE_COUNT] = {"x", "in", "stack", "data", "ew", "sop", "sum", "max",
                                                   "sum_axis", "max_axis", "dot", "mv", "mm", "slice", "row",
                                                   "reshape", "gather", "get"};
  return code >= 0 && code < AP_CODE_COUNT ? names[code] : "?";
}
const char *aprog_cform_name(int cform) {
  static const char *const names[AP_C_COUNT] = {"u", "vc", "cv", "same", "bcast_a", "bcast_b", "data", "bs", "as"};
  return cform >= 0 && cform < AP_C_COUNT ? names[cform] : "?";
}

void aprog_print(FILE *f, const aprog *p) {
  fprintf(f, "array program seed %llu: %d inputs, %d instructions", (unsigned long long)p->seed, p->k, p->n);
  if (p->bad >= 0) fprintf(f, ", r%d must fail with %s", p->bad, ad_status_str(p->expect));
  fprintf(f, "\n  x =");
  for (int j = 0; j < p->k; ++j) fprintf(f, " %.17g", p->x[j]);
  fprintf(f, "\n");
  for (int r = 0; r < p->n; ++r) {
    const ap_ins *in = &p->ins[r];
    const int *i = in->i;
    fprintf(f, "  r%d = ", r);
    switch (in->code) {
    case AP_X: fprintf(f, "x[%d]", i[0]); break;
    case AP_IN: fprintf(f, "stack(x[%d:%d])", i[0], i[1]); break;
    case AP_STACK:
      fprintf(f, "stack(");
      for (int j = 0; j < in->n; ++j) fprintf(f, "%sr%d", j ? ", " : "", p->idx[in->off + j]);
      fprintf(f, ")");
      break;
    case AP_DATA: fprintf(f, "data[%d] (at %d)", in->n, in->off); break;
    case AP_EW: case AP_SOP:
      fprintf(f, "%s%s", in->code == AP_EW ? "arr_" : "", ad_op_name[in->op]);
      switch (in->form) {
      case AP_F_U: fprintf(f, "(r%d)", in->a); break;
      case AP_F_VC: fprintf(f, "(r%d, %.17g)", in->a, in->k); break;
      case AP_F_CV: fprintf(f, "(%.17g, r%d)", in->k, in->a); break;
      case AP_F_BS: fprintf(f, "_bs(r%d, r%d)", in->a, in->b); break;
      case AP_F_AS: fprintf(f, "_as(r%d, r%d)", in->a, in->b); break;
      default: fprintf(f, "(r%d, r%d)", in->a, in->b); break;
      }
      break;
    case AP_SUM_AXIS: case AP_MAX_AXIS: fprintf(f, "%s(r%d, axis %d)", aprog_code_name(in->code), in->a, i[0]); break;
    case AP_MV: fprintf(f, "mv(r%d%s, r%d)", in->a, i[0] ? "^T" : "", in->b); break;
    case AP_MM: fprintf(f, "mm(r%d%s, r%d%s)", in->a, i[0] ? "^T" : "", in->b, i[1] ? "^T" : ""); break;
    case AP_SLICE: fprintf(f, "slice(r%d, %d, %d)", in->a, i[0], i[1]); break;
    case AP_ROW: fprintf(f, "row(r%d, %d)", in->a, i[0]); break;
    case AP_GATHER:
      fprintf(f, "gather(r%d, [", in->a);
      for (int j = 0; j < in->n; ++j) fprintf(f, "%s%d", j ? " " : "", p->idx[in->off + j]);
      fprintf(f, "])");
      break;
    case AP_GET: fprintf(f, "get(r%d, %d)", in->a, i[0]); break;
    case AP_DOT: fprintf(f, "dot(r%d, r%d)", in->a, in->b); break;
    default: fprintf(f, "%s(r%d)", aprog_code_name(in->code), in->a); break;
    }
    if (in->code == AP_IN || in->code == AP_DATA || in->code == AP_RESHAPE) {
      if (i[2] > 0) fprintf(f, " as %d x %d", i[2], i[3]);
      else if (in->code == AP_RESHAPE) fprintf(f, " as 1-D %d", i[3]);
    }
    fprintf(f, "\n");
  }
}
