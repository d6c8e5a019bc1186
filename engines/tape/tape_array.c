/* tape_array.c: the tape's array side: records of array ops, their arena, and their part of the reverse sweep
 * (see tape_array.h for what is stored and why). */
#include "tape_array.h"

#include <assert.h>

/* What a record's reverse does. */
enum { TA_EW, TA_STACK, TA_GET, TA_GATHER, TA_SUM, TA_SUM_AXIS, TA_MAX, TA_MAX_AXIS, TA_DOT, TA_MV, TA_MM };

typedef struct tape_arec {
  uint32_t s;    /* its statement */
  uint8_t kind;  /* TA_* */
  uint8_t op;    /* the ad_op of an elementwise record (for printing; the reverse needs no op) */
  int8_t ta, tb; /* transposes (mv, mm); axis (sum_axis, max_axis) in ta */
  uint32_t n;    /* result elements (array results) */
  uint32_t aoff; /* result adjoints (array results) */
  tape_aopnd a, b;
  const double *pa, *pb; /* partial arrays, or NULL: the constants ca, cb */
  double ca, cb;
  ad_shape sa, sb;        /* operand shapes (structural ops) */
  const double *r;        /* result values (max, max_axis) */
  const int32_t *idx;     /* gather: indices; get: idx NULL, index in k */
  const uint32_t *si;     /* stack: statement indices (NULL: consecutive from a.si) */
  const double *sd;       /* stack: factors (NULL: all 1) */
  int64_t k;
} tape_arec;

struct tape_arrays {
  ad_arena arena;
  tape_arec *recs;
  uint32_t nrec, caprec;
  uint32_t adj_n; /* elements of the array adjoint space in use */
  double *aadj;
  size_t aadj_cap;
  uint8_t *reached;
  size_t reached_cap;
};

ad_arena *tape__arena(tape_t *t) {
  if (!t->arrays) {
    t->arrays = (struct tape_arrays *)ad_calloc(sizeof *t->arrays);
    if (!t->arrays) {
      if (t->status == AD_OK) t->status = AD_ENOMEM;
      return NULL;
    }
  }
  return &t->arrays->arena;
}

void tape__arr_fail(tape_t *t, ad_status s) {
  if (s == AD_OK) return;
  ad_arena *a = tape__arena(t);
  if (a) ad_arena_fail(a, s);
  if (t->status == AD_OK) t->status = s;
}

ad_status tape__arr_status(const tape_t *t) { return t->arrays ? t->arrays->arena.status : AD_OK; }

ad_arr tape__arr_bad(tape_t *t, ad_status s) {
  tape__arr_fail(t, s);
  ad_arr r;
  r.v = NULL;
  r.shape = ad_shape_bad();
  r.rec = r.aoff = 0;
  return r;
}

static tape_var tape__nan(void) { return tape__var(__builtin_nan(""), 0.0, 0); }

/* n bytes from the tape's arena; NULL (status set) on failure. */
static void *ta_alloc(tape_t *t, size_t n) {
  ad_arena *a = tape__arena(t);
  if (!a) return NULL;
  void *p = ad_arena_alloc(a, n);
  if (!p) tape__arr_fail(t, a->status != AD_OK ? a->status : AD_ENOMEM);
  return p;
}
static double *ta_doubles(tape_t *t, int64_t n) { return (double *)ta_alloc(t, (size_t)n * sizeof(double)); }

/* A new record with its statement, and n adjoint slots for an array result; NULL (status set) on failure. */
static tape_arec *ta_push(tape_t *t, int kind, int64_t n) {
  struct tape_arrays *A = t->arrays;
  if (!A && !tape__arena(t)) return NULL;
  A = t->arrays;
  if ((uint64_t)A->adj_n + (uint64_t)n >= UINT32_MAX || A->nrec + 1u >= UINT32_MAX) {
    tape__arr_fail(t, AD_ERANGE);
    return NULL;
  }
  if (A->nrec == A->caprec) {
    uint32_t cap = A->caprec ? 2 * A->caprec : 64;
    tape_arec *p = (tape_arec *)ad_realloc(A->recs, A->caprec * sizeof *p, cap * sizeof *p);
    if (!p) {
      tape__arr_fail(t, AD_ENOMEM);
      return NULL;
    }
    A->recs = p;
    A->caprec = cap;
  }
  uint32_t s = tape__push0(t);
  if (t->status != AD_OK) return NULL; /* the tape's own recording failed */
  ADC_LANE(&t->st, tape_nargs)[t->st.used - 1].n = TAPE_NARGS_ARRAY;
  tape_arec *r = &A->recs[A->nrec++];
  memset(r, 0, sizeof *r);
  r->s = s;
  r->kind = (uint8_t)kind;
  r->n = (uint32_t)n;
  r->aoff = A->adj_n;
  A->adj_n += (uint32_t)n;
  return r;
}

static ad_arr ta_result(tape_t *t, double *v, ad_shape s, const tape_arec *r) {
  ad_arr x;
  x.v = v;
  x.shape = s;
  x.rec = r ? (uint32_t)(r - t->arrays->recs) + 1u : 0;
  x.aoff = r ? r->aoff : 0;
  return x;
}
static tape_var ta_scalar(double v, const tape_arec *r) { return tape__var(v, r ? 1.0 : 0.0, r ? r->s : 0); }

static int opnd_active(const tape_aopnd *o) { return o->rec != 0 || o->si != 0; }

void tape__ew_begin(tape_t *t, unsigned facts, ad_shape s, const tape_aopnd *a, const tape_aopnd *b, tape_ew *e) {
  int64_t n = ad_shape_n(s);
  e->shape = s;
  e->ok = 0;
  e->pa = e->pb = NULL;
  e->v = ta_doubles(t, n);
  if (!e->v) return;
  if (facts & AD_SAVES) {
    if (opnd_active(a) && !(e->pa = ta_doubles(t, n))) return;
    if (opnd_active(b) && !(e->pb = ta_doubles(t, n))) return;
  }
  e->ok = 1;
}

ad_arr tape__ew_end(tape_t *t, ad_op op, unsigned facts, const tape_aopnd *a, const tape_aopnd *b, tape_ew *e) {
  if (!opnd_active(a) && !opnd_active(b)) return ta_result(t, e->v, e->shape, NULL);
  tape_arec *r = ta_push(t, TA_EW, ad_shape_n(e->shape));
  if (!r) return tape__arr_bad(t, AD_OK);
  r->op = (uint8_t)op;
  r->a = *a;
  r->b = *b;
  r->a.v = r->b.v = NULL; /* a scalar operand's value pointer was a local: never kept */
  r->pa = e->pa;
  r->pb = e->pb;
  if (!(facts & AD_SAVES)) { /* constant partials: the rule's own, evaluated once */
    double v;
    ad_op_eval(op, 1.0, 1.0, &v, &r->ca, &r->cb);
  }
  return ta_result(t, e->v, e->shape, r);
}

ad_arr tape__arr_stack(tape_t *t, const tape_var *x, int64_t n) {
  if (!x || n < 1 || n > AD_ARR_MAX_N) return tape__arr_bad(t, AD_EINVAL);
  double *v = ta_doubles(t, n);
  if (!v) return tape__arr_bad(t, AD_OK);
  int active = 0, run = x[0].i != 0;
  for (int64_t j = 0; j < n; ++j) {
    v[j] = x[j].v;
    active |= (x[j].i | x[j].i2) != 0;
    run = run && x[j].i == x[0].i + (uint32_t)j && x[j].d == 1.0 && !x[j].i2;
  }
  if (!active) return ta_result(t, v, ad_shape_1((int32_t)n), NULL);
  uint32_t *si = NULL;
  double *sd = NULL;
  if (!run) {
    si = (uint32_t *)ta_alloc(t, (size_t)n * sizeof *si);
    sd = ta_doubles(t, n);
    if (!si || !sd) return tape__arr_bad(t, AD_OK);
    for (int64_t j = 0; j < n; ++j) { /* a pending pair becomes a statement of its own, recorded before the stack */
      tape_var xj = tape_settle(t, x[j]);
      si[j] = xj.i, sd[j] = xj.d;
    }
  }
  tape_arec *r = ta_push(t, TA_STACK, n);
  if (!r) return tape__arr_bad(t, AD_OK);
  r->a.si = x[0].i;
  r->si = si;
  r->sd = sd;
  return ta_result(t, v, ad_shape_1((int32_t)n), r);
}

tape_var tape__arr_get(tape_t *t, ad_arr x, int64_t i) {
  if (x.shape.ndim == 0) return tape__arr_fail(t, AD_EINVAL), tape__nan();
  if (i < 0 || i >= ad_shape_n(x.shape)) return tape__arr_fail(t, AD_ERANGE), tape__nan();
  if (!x.rec) return ta_scalar(x.v[i], NULL);
  tape_arec *r = ta_push(t, TA_GET, 0);
  if (!r) return tape__nan();
  r->a = tape__opnd_arr(x, 1);
  r->k = i;
  return ta_scalar(x.v[i], r);
}

ad_arr tape__arr_gather(tape_t *t, ad_arr x, const int32_t *idx, int64_t n) {
  ad_status st = ad_v_gather_check(x.shape, idx, n);
  if (st != AD_OK) return tape__arr_bad(t, st);
  double *v = ta_doubles(t, n);
  if (!v) return tape__arr_bad(t, AD_OK);
  for (int64_t j = 0; j < n; ++j) v[j] = x.v[idx[j]];
  if (!x.rec) return ta_result(t, v, ad_shape_1((int32_t)n), NULL);
  int32_t *ic = (int32_t *)ta_alloc(t, (size_t)n * sizeof *ic);
  if (!ic) return tape__arr_bad(t, AD_OK);
  memcpy(ic, idx, (size_t)n * sizeof *ic);
  tape_arec *r = ta_push(t, TA_GATHER, n);
  if (!r) return tape__arr_bad(t, AD_OK);
  r->a = tape__opnd_arr(x, 1);
  r->idx = ic;
  return ta_result(t, v, ad_shape_1((int32_t)n), r);
}

/* sum and max: a scalar result. */
static tape_var ta_reduce(tape_t *t, ad_arr x, int kind) {
  if (x.shape.ndim == 0) return tape__arr_fail(t, AD_EINVAL), tape__nan();
  int64_t n = ad_shape_n(x.shape);
  double v = kind == TA_SUM ? ad_v_sum(x.v, n) : ad_v_max(x.v, n);
  if (!x.rec) return ta_scalar(v, NULL);
  tape_arec *r = ta_push(t, kind, 0);
  if (!r) return tape__nan();
  r->a = tape__opnd_arr(x, 1);
  r->sa = x.shape;
  r->ca = v; /* max: the result */
  r->r = x.v;
  return ta_scalar(v, r);
}
tape_var tape__arr_sum(tape_t *t, ad_arr x) { return ta_reduce(t, x, TA_SUM); }
tape_var tape__arr_max(tape_t *t, ad_arr x) { return ta_reduce(t, x, TA_MAX); }

static ad_arr ta_reduce_axis(tape_t *t, ad_arr x, int axis, int kind) {
  ad_shape s;
  ad_status st = ad_v_axis_shape(x.shape, axis, &s);
  if (st != AD_OK) return tape__arr_bad(t, st);
  double *v = ta_doubles(t, ad_shape_n(s));
  if (!v) return tape__arr_bad(t, AD_OK);
  if (kind == TA_SUM_AXIS) ad_v_sum_axis(x.v, x.shape, axis, v);
  else ad_v_max_axis(x.v, x.shape, axis, v);
  if (!x.rec) return ta_result(t, v, s, NULL);
  tape_arec *r = ta_push(t, kind, ad_shape_n(s));
  if (!r) return tape__arr_bad(t, AD_OK);
  r->a = tape__opnd_arr(x, 1);
  r->sa = x.shape;
  r->ta = (int8_t)axis;
  r->r = v;
  r->pa = x.v;
  return ta_result(t, v, s, r);
}
ad_arr tape__arr_sum_axis(tape_t *t, ad_arr x, int axis) { return ta_reduce_axis(t, x, axis, TA_SUM_AXIS); }
ad_arr tape__arr_max_axis(tape_t *t, ad_arr x, int axis) { return ta_reduce_axis(t, x, axis, TA_MAX_AXIS); }

tape_var tape__arr_dot(tape_t *t, ad_arr x, ad_arr y) {
  if (x.shape.ndim != 1 || !ad_shape_eq(x.shape, y.shape)) return tape__arr_fail(t, AD_EINVAL), tape__nan();
  double v = ad_v_dot(x.v, 1, y.v, 1, x.shape.cols);
  if (!x.rec && !y.rec) return ta_scalar(v, NULL);
  tape_arec *r = ta_push(t, TA_DOT, 0);
  if (!r) return tape__nan();
  r->a = tape__opnd_arr(x, 1);
  r->b = tape__opnd_arr(y, 1);
  r->sa = x.shape;
  return ta_scalar(v, r);
}

ad_arr tape__arr_mv(tape_t *t, ad_arr a, int ta, ad_arr x) {
  ad_shape s;
  if (ad_v_mv_shape(a.shape, ta, x.shape, &s) != AD_OK) return tape__arr_bad(t, AD_EINVAL);
  double *v = ta_doubles(t, ad_shape_n(s));
  if (!v) return tape__arr_bad(t, AD_OK);
  ad_v_mv(a.v, a.shape, ta, x.v, v);
  if (!a.rec && !x.rec) return ta_result(t, v, s, NULL);
  tape_arec *r = ta_push(t, TA_MV, ad_shape_n(s));
  if (!r) return tape__arr_bad(t, AD_OK);
  r->a = tape__opnd_arr(a, 1);
  r->b = tape__opnd_arr(x, 1);
  r->sa = a.shape;
  r->sb = x.shape;
  r->ta = (int8_t)(ta != 0);
  return ta_result(t, v, s, r);
}

ad_arr tape__arr_mm(tape_t *t, ad_arr a, int ta, ad_arr b, int tb) {
  ad_shape s;
  if (ad_v_mm_shape(a.shape, ta, b.shape, tb, &s) != AD_OK) return tape__arr_bad(t, AD_EINVAL);
  double *v = ta_doubles(t, ad_shape_n(s));
  if (!v) return tape__arr_bad(t, AD_OK);
  ad_v_mm(a.v, a.shape, ta, b.v, b.shape, tb, v);
  if (!a.rec && !b.rec) return ta_result(t, v, s, NULL);
  tape_arec *r = ta_push(t, TA_MM, ad_shape_n(s));
  if (!r) return tape__arr_bad(t, AD_OK);
  r->a = tape__opnd_arr(a, 1);
  r->b = tape__opnd_arr(b, 1);
  r->sa = a.shape;
  r->sb = b.shape;
  r->ta = (int8_t)(ta != 0);
  r->tb = (int8_t)(tb != 0);
  return ta_result(t, v, s, r);
}

/* ---- the tape's hooks (tape.h) ---- */

void tape__arrays_free(struct tape_arrays *A) {
  if (!A) return;
  ad_arena_free(&A->arena);
  ad_free(A->recs, A->caprec * sizeof *A->recs);
  ad_free(A->aadj, A->aadj_cap * sizeof(double));
  ad_free(A->reached, A->reached_cap);
  ad_free(A, sizeof *A);
}

void tape__arrays_reset(struct tape_arrays *A) {
  if (!A) return;
  ad_arena_reset(&A->arena);
  A->nrec = 0;
  A->adj_n = 0;
}

uint64_t tape__arrays_bytes_used(const struct tape_arrays *A) {
  return A ? (uint64_t)A->arena.used + (uint64_t)A->nrec * sizeof(tape_arec) : 0;
}
uint64_t tape__arrays_bytes_held(const struct tape_arrays *A) {
  return A ? sizeof *A + A->arena.held + A->caprec * sizeof(tape_arec) + A->aadj_cap * sizeof(double) +
                 A->reached_cap
           : 0;
}

uint32_t tape__arrays_count(const struct tape_arrays *A) { return A ? A->nrec : 0; }

ad_status tape__arrays_begin(struct tape_arrays *A) {
  if (!A || !A->nrec) return AD_OK;
  if (A->aadj_cap < A->adj_n) {
    ad_free(A->aadj, A->aadj_cap * sizeof(double));
    A->aadj = (double *)ad_malloc((size_t)A->adj_n * sizeof(double));
    A->aadj_cap = A->aadj ? A->adj_n : 0;
    if (!A->aadj) return AD_ENOMEM;
  }
  if (A->reached_cap < A->nrec + 1u) {
    ad_free(A->reached, A->reached_cap);
    A->reached = (uint8_t *)ad_malloc(A->nrec + 1u);
    A->reached_cap = A->reached ? A->nrec + 1u : 0;
    if (!A->reached) return AD_ENOMEM;
  }
  if (A->adj_n) memset(A->aadj, 0, (size_t)A->adj_n * sizeof(double));
  memset(A->reached, 0, A->nrec + 1u);
  return AD_OK;
}

/* The record of statement s (binary search: records are in statement order). */
static tape_arec *ta_find(struct tape_arrays *A, uint32_t s) {
  uint32_t lo = 0, hi = A->nrec;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (A->recs[mid].s < s) lo = mid + 1;
    else hi = mid;
  }
  assert(lo < A->nrec && A->recs[lo].s == s && "an array statement without its record");
  return &A->recs[lo];
}

/* Propagation into operand o: its array adjoints (element i at stride), or its scalar statement. */
static void ta_mark(struct tape_arrays *A, uint8_t *reach, const tape_aopnd *o) {
  if (o->rec) A->reached[o->rec] = 1;
  if (o->si && reach) reach[o->si] = 1;
}

/* o += sum_i p_i * ybar_i (p the partial array, or the constant cp). */
static void ta_ew_back(struct tape_arrays *A, double *adj, const tape_aopnd *o, const double *p, double cp,
                       const double *ybar, uint32_t n) {
  if (o->rec) {
    double *ob = A->aadj + o->aoff;
    if (o->stride) {
      if (p)
        for (uint32_t i = 0; i < n; ++i) ob[i] += p[i] * ybar[i];
      else
        for (uint32_t i = 0; i < n; ++i) ob[i] += cp * ybar[i];
    } else {
      double acc = 0.0;
      if (p)
        for (uint32_t i = 0; i < n; ++i) acc += p[i] * ybar[i];
      else
        for (uint32_t i = 0; i < n; ++i) acc += cp * ybar[i];
      ob[0] += acc;
    }
  } else if (o->si) {
    double acc = 0.0;
    if (p)
      for (uint32_t i = 0; i < n; ++i) acc += p[i] * ybar[i];
    else
      for (uint32_t i = 0; i < n; ++i) acc += cp * ybar[i];
    adj[o->si] += o->sd * acc;
  }
}

/* The gradient share of element x of a max whose result is m: 1/ties at the largest elements (NaN: at NaNs). */
static int ta_is_max(double x, double m) { return x == m || (m != m && x != x); }

/* 1 if any of n values is infinite or NaN. */
static int ta_nonfinite_n(const double *p, int64_t n) {
  double z = 0.0;
  for (int64_t i = 0; i < n; ++i) z += p[i] - p[i];
  return z != 0.0;
}
/* 1 if a partial of record r is infinite or NaN (for the products: an operand value, which is the partial of the
 * other operand). */
static int ta_nonfinite(const tape_arec *r) {
  switch (r->kind) {
  case TA_EW:
    return (r->pa ? ta_nonfinite_n(r->pa, r->n) : (r->ca - r->ca) != 0.0) ||
           (r->pb ? ta_nonfinite_n(r->pb, r->n) : (r->cb - r->cb) != 0.0);
  case TA_STACK: return r->sd && ta_nonfinite_n(r->sd, r->n);
  case TA_DOT: return ta_nonfinite_n(r->a.v, r->sa.cols) || ta_nonfinite_n(r->b.v, r->sa.cols);
  case TA_MV: return ta_nonfinite_n(r->a.v, ad_shape_n(r->sa)) || ta_nonfinite_n(r->b.v, ad_shape_n(r->sb));
  case TA_MM: return ta_nonfinite_n(r->a.v, ad_shape_n(r->sa)) || ta_nonfinite_n(r->b.v, ad_shape_n(r->sb));
  default: return 0; /* partials 1, or an even share of a finite adjoint */
  }
}

int tape__arrays_stmt(struct tape_arrays *A, double *adj, uint8_t *reach, uint32_t s, int propagate) {
  tape_arec *r = ta_find(A, s);
  uint32_t ri = (uint32_t)(r - A->recs) + 1u;
  int reached = A->reached[ri] || adj[s] != 0.0 || (reach && reach[s]);
  if (reach) reach[s] = 0;
  if (!reached) /* the fast sweep cannot tell whether a zero-adjoint path reaches it: the careful one can */
    return !reach && propagate && ta_nonfinite(r);
  A->reached[ri] = 1;
  ta_mark(A, reach, &r->a);
  ta_mark(A, reach, &r->b);
  if (r->kind == TA_STACK && reach)
    for (uint32_t j = 0; j < r->n; ++j) reach[r->si ? r->si[j] : r->a.si + j] = 1;
  if (!propagate) return 0;
  const double a = adj[s];              /* scalar results */
  const double *ybar = A->aadj + r->aoff; /* array results */
  switch (r->kind) {
  case TA_EW:
    ta_ew_back(A, adj, &r->a, r->pa, r->ca, ybar, r->n);
    ta_ew_back(A, adj, &r->b, r->pb, r->cb, ybar, r->n);
    break;
  case TA_STACK:
    if (!r->si)
      for (uint32_t j = 0; j < r->n; ++j) adj[r->a.si + j] += ybar[j];
    else
      for (uint32_t j = 0; j < r->n; ++j)
        if (r->si[j]) adj[r->si[j]] += r->sd[j] * ybar[j];
    break;
  case TA_GET: A->aadj[r->a.aoff + (uint32_t)r->k] += a; break;
  case TA_GATHER:
    for (uint32_t j = 0; j < r->n; ++j) A->aadj[r->a.aoff + (uint32_t)r->idx[j]] += ybar[j];
    break;
  case TA_SUM: {
    double *xb = A->aadj + r->a.aoff;
    for (int64_t i = 0, n = ad_shape_n(r->sa); i < n; ++i) xb[i] += a;
    break;
  }
  case TA_MAX: {
    double *xb = A->aadj + r->a.aoff;
    int64_t n = ad_shape_n(r->sa), ties = 0;
    for (int64_t i = 0; i < n; ++i) ties += ta_is_max(r->r[i], r->ca);
    double share = a / (double)ties;
    for (int64_t i = 0; i < n; ++i)
      if (ta_is_max(r->r[i], r->ca)) xb[i] += share;
    break;
  }
  case TA_SUM_AXIS:
  case TA_MAX_AXIS: {
    double *xb = A->aadj + r->a.aoff;
    int axis = r->ta;
    int64_t len = ad_v_axis_len(r->sa, axis);
    for (uint32_t j = 0; j < r->n; ++j) {
      if (r->kind == TA_SUM_AXIS) {
        for (int64_t k = 0; k < len; ++k) xb[ad_v_axis_at(r->sa, axis, j, k)] += ybar[j];
        continue;
      }
      int64_t ties = 0;
      for (int64_t k = 0; k < len; ++k) ties += ta_is_max(r->pa[ad_v_axis_at(r->sa, axis, j, k)], r->r[j]);
      double share = ybar[j] / (double)ties;
      for (int64_t k = 0; k < len; ++k)
        if (ta_is_max(r->pa[ad_v_axis_at(r->sa, axis, j, k)], r->r[j])) xb[ad_v_axis_at(r->sa, axis, j, k)] += share;
    }
    break;
  }
  case TA_DOT: {
    /* operand values: the arrays' own (kept in the arena or the caller's data) */
    const double *xv = r->a.v, *yv = r->b.v;
    int64_t n = r->sa.cols;
    if (r->a.rec)
      for (int64_t k = 0; k < n; ++k) A->aadj[r->a.aoff + k] += a * yv[k];
    if (r->b.rec)
      for (int64_t k = 0; k < n; ++k) A->aadj[r->b.aoff + k] += a * xv[k];
    break;
  }
  case TA_MV: {
    const double *av = r->a.v, *xv = r->b.v;
    int ta = r->ta;
    int32_t rows = ad_mat_rows(r->sa, ta), kk = ad_mat_cols(r->sa, ta);
    for (int32_t i = 0; i < rows; ++i) {
      double yb = ybar[i];
      for (int32_t k = 0; k < kk; ++k) {
        size_t at = ad_mat_at(r->sa, ta, i, k);
        if (r->a.rec) A->aadj[r->a.aoff + at] += yb * xv[k];
        if (r->b.rec) A->aadj[r->b.aoff + k] += av[at] * yb;
      }
    }
    break;
  }
  case TA_MM: {
    const double *av = r->a.v, *bv = r->b.v;
    int ta = r->ta, tb = r->tb;
    int32_t rows = ad_mat_rows(r->sa, ta), kk = ad_mat_cols(r->sa, ta), m = ad_mat_cols(r->sb, tb);
    for (int32_t i = 0; i < rows; ++i)
      for (int32_t j = 0; j < m; ++j) {
        double cb = ybar[(size_t)i * m + j];
        for (int32_t k = 0; k < kk; ++k) {
          size_t ai = ad_mat_at(r->sa, ta, i, k), bi = ad_mat_at(r->sb, tb, k, j);
          if (r->a.rec) A->aadj[r->a.aoff + ai] += cb * bv[bi];
          if (r->b.rec) A->aadj[r->b.aoff + bi] += av[ai] * cb;
        }
      }
    break;
  }
  default: assert(0 && "unknown array record");
  }
  return 0;
}
