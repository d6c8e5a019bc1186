/* replay_array.c: the replay tape's array side: records of array ops, their arena, their forward replay and
 * their part of the reverse sweep (replay_array.h). */
#include "replay_array.h"

#include <assert.h>

/* What a record computes. */
enum { RA_EW, RA_STACK, RA_GET, RA_GATHER, RA_SUM, RA_SUM_AXIS, RA_MAX, RA_MAX_AXIS, RA_DOT, RA_MV, RA_MM };

/* An operand: an array (rec != 0: values at v, adjoints at aoff), a scalar statement (si != 0) or a constant k. */
typedef struct replay_aref {
  const double *v;
  uint32_t rec, aoff, si, stride;
  double k;
} replay_aref;

typedef struct replay_arec {
  uint32_t s;    /* its statement */
  uint8_t kind;  /* RA_* */
  uint8_t op;    /* elementwise: the ad_op */
  int8_t ta, tb; /* transposes (mv, mm); axis (sum_axis, max_axis) in ta */
  uint32_t n;    /* result elements (array results) */
  uint32_t aoff; /* result adjoints (array results) */
  replay_aref a, b;
  ad_shape sa, sb; /* operand shapes */
  double *v;       /* result values (array results) */
  double ca, cb;   /* constant partials (elementwise ops without AD_SAVES) */
  const uint32_t *si; /* stack: statement indices, 0 for a passive element (NULL: consecutive from a.si) */
  const int32_t *idx; /* gather */
  int64_t k;          /* get: index */
} replay_arec;

struct replay_arrays {
  ad_arena arena;
  replay_arec *recs;
  uint32_t nrec, caprec;
  uint32_t adj_n; /* elements of the array adjoint space */
  double *aadj;
  size_t aadj_cap;
};

static struct replay_arrays *ra_side(replay_t *t) {
  if (!t->arrays) t->arrays = (struct replay_arrays *)ad_calloc(sizeof *t->arrays);
  return t->arrays;
}

ad_status replay__arr_status(const replay_t *t) {
  if (t->arrays && t->arrays->arena.status != AD_OK) return t->arrays->arena.status;
  return t->status;
}

static void ra_fail(replay_t *t, ad_status s) {
  if (s == AD_OK) return;
  struct replay_arrays *A = ra_side(t);
  if (A) ad_arena_fail(&A->arena, s);
  replay__fail(t, s);
}

ad_arr replay__arr_bad(replay_t *t, ad_status s) {
  ra_fail(t, s);
  ad_arr r;
  r.v = NULL;
  r.shape = ad_shape_bad();
  r.rec = r.aoff = r.tag = 0;
  return r;
}

static replay_var ra_nan(replay_t *t, ad_status s) {
  ra_fail(t, s);
  return replay__var(t, __builtin_nan(""), 0);
}

static void *ra_alloc(replay_t *t, size_t n) {
  struct replay_arrays *A = ra_side(t);
  if (!A) {
    ra_fail(t, AD_ENOMEM);
    return NULL;
  }
  void *p = ad_arena_alloc(&A->arena, n);
  if (!p) ra_fail(t, A->arena.status != AD_OK ? A->arena.status : AD_ENOMEM);
  return p;
}
static double *ra_doubles(replay_t *t, int64_t n) { return (double *)ra_alloc(t, (size_t)n * sizeof(double)); }

/* 1 if active array x is not this tape's (another tape, or before a reset). */
static int ra_foreign_arr(const replay_t *t, ad_arr x) { return x.rec && x.tag != t->tag; }

/* A new record, n adjoint slots for an array result, and its statement (value v); NULL (status set) on failure. */
static replay_arec *ra_push(replay_t *t, int kind, int64_t n, double v) {
  struct replay_arrays *A = ra_side(t);
  if (!A) {
    ra_fail(t, AD_ENOMEM);
    return NULL;
  }
  if ((uint64_t)A->adj_n + (uint64_t)n >= UINT32_MAX || A->nrec + 1u >= UINT32_MAX / 2) {
    ra_fail(t, AD_ERANGE);
    return NULL;
  }
  if (A->nrec == A->caprec) {
    uint32_t cap = A->caprec ? 2 * A->caprec : 64;
    replay_arec *p = (replay_arec *)ad_realloc(A->recs, A->caprec * sizeof *p, cap * sizeof *p);
    if (!p) {
      ra_fail(t, AD_ENOMEM);
      return NULL;
    }
    A->recs = p;
    A->caprec = cap;
  }
  uint32_t s = replay__push(t, REPLAY_CODE_ARRAY, 1, A->nrec + 1u, 0, 0, 0.0, v);
  if (t->status != AD_OK) return NULL;
  replay_arec *r = &A->recs[A->nrec++];
  memset(r, 0, sizeof *r);
  r->s = s;
  r->kind = (uint8_t)kind;
  r->n = (uint32_t)n;
  r->aoff = A->adj_n;
  A->adj_n += (uint32_t)n;
  return r;
}

static ad_arr ra_result(replay_t *t, double *v, ad_shape s, const replay_arec *r) {
  ad_arr x;
  x.v = v;
  x.shape = s;
  x.rec = r ? (uint32_t)(r - t->arrays->recs) + 1u : 0;
  x.aoff = r ? r->aoff : 0;
  x.tag = r ? t->tag : 0;
  return x;
}

static replay_var ra_scalar(replay_t *t, double v, const replay_arec *r) { return replay__var(t, v, r ? r->s : 0); }

static replay_aref ra_ref(ad_arr x, uint32_t stride) {
  replay_aref o;
  memset(&o, 0, sizeof o);
  o.v = x.v;
  o.rec = x.rec;
  o.aoff = x.aoff;
  o.stride = stride;
  return o;
}

/* The elementwise kernel of op (ad_kernels.h): the interpreter's one switch over ops. */
static void ra_kernel(unsigned op, size_t n, const double *a, size_t sa, const double *b, size_t sb, double *v,
                      double *pa, double *pb) {
  switch (op) {
#define AD_OP(name, kind, torch, facts, pre, value, da, db)                                                    \
  case AD_OP_##name: ad_k_##name(n, a, sa, b, sb, v, pa, pb); break;
#include "../ad_ops.def"
#undef AD_OP
  default: assert(0 && "bad op in an array record");
  }
}

/* Where the kernel reads operand o: an array's values, a scalar statement's value or the constant. */
static const double *ra_src(const replay_aref *o, const double *val) {
  return o->rec || o->v ? o->v : o->si ? &val[o->si] : &o->k;
}

/* ---- recording ---- */

ad_arr replay__arr_ew(replay_t *t, ad_op op, unsigned facts, ad_shape s, const replay_aopnd *a, const replay_aopnd *b) {
  if ((a->rec && a->tag != t->tag) || (b->rec && b->tag != t->tag) || (a->si && a->tag != t->tag) ||
      (b->si && b->tag != t->tag))
    return replay__foreign(t), replay__arr_bad(t, AD_OK);
  int64_t n = ad_shape_n(s);
  double *v = ra_doubles(t, n);
  if (!v) return replay__arr_bad(t, AD_OK);
  const double *av = a->v ? a->v : &a->k, *bv = b->v ? b->v : &b->k;
  ra_kernel(op, (size_t)n, av, a->stride, bv, b->stride, v, NULL, NULL);
  if (!a->rec && !a->si && !b->rec && !b->si) return ra_result(t, v, s, NULL);
  replay_arec *r = ra_push(t, RA_EW, n, 0.0);
  if (!r) return replay__arr_bad(t, AD_OK);
  r->op = (uint8_t)op;
  r->v = v;
  r->a.v = a->v;
  r->a.rec = a->rec, r->a.aoff = a->aoff, r->a.si = a->si, r->a.stride = (uint32_t)a->stride, r->a.k = a->k;
  r->b.v = b->v;
  r->b.rec = b->rec, r->b.aoff = b->aoff, r->b.si = b->si, r->b.stride = (uint32_t)b->stride, r->b.k = b->k;
  if (!(facts & AD_SAVES)) { /* constant partials: the rule's own, evaluated once */
    double w;
    ad_op_eval(op, 1.0, 1.0, &w, &r->ca, &r->cb);
  }
  return ra_result(t, v, s, r);
}

ad_arr replay__arr_stack(replay_t *t, const replay_var *x, int64_t n) {
  if (!x || n < 1 || n > AD_ARR_MAX_N) return replay__arr_bad(t, AD_EINVAL);
  for (int64_t j = 0; j < n; ++j)
    if (!replay__ours(t, x[j])) return replay__foreign(t), replay__arr_bad(t, AD_OK);
  double *v = ra_doubles(t, n);
  if (!v) return replay__arr_bad(t, AD_OK);
  int active = 0, run = x[0].i != 0;
  for (int64_t j = 0; j < n; ++j) {
    v[j] = x[j].v;
    active |= x[j].i != 0;
    run = run && x[j].i == x[0].i + (uint32_t)j;
  }
  if (!active) return ra_result(t, v, ad_shape_1((int32_t)n), NULL);
  uint32_t *si = NULL;
  if (!run) {
    if (!(si = (uint32_t *)ra_alloc(t, (size_t)n * sizeof *si))) return replay__arr_bad(t, AD_OK);
    for (int64_t j = 0; j < n; ++j) si[j] = x[j].i;
  }
  replay_arec *r = ra_push(t, RA_STACK, n, 0.0);
  if (!r) return replay__arr_bad(t, AD_OK);
  r->a.si = x[0].i;
  r->si = si;
  r->v = v;
  return ra_result(t, v, ad_shape_1((int32_t)n), r);
}

ad_arr replay__arr_view(replay_t *t, ad_arr x, int kind, int64_t p, int64_t q) {
  int64_t off = 0;
  ad_shape s;
  ad_status st = kind == REPLAY__VIEW_SLICE ? ad_v_slice(x.shape, p, q, &off, &s)
                 : kind == REPLAY__VIEW_ROW ? ad_v_row(x.shape, p, &off, &s)
                                            : ad_v_reshape(x.shape, p, q, &s);
  if (st != AD_OK) return replay__arr_bad(t, st);
  if (ra_foreign_arr(t, x)) return replay__foreign(t), replay__arr_bad(t, AD_OK);
  x.v += off;
  if (x.rec) x.aoff += (uint32_t)off;
  x.shape = s;
  return x;
}

replay_var replay__arr_get(replay_t *t, ad_arr x, int64_t i) {
  if (x.shape.ndim == 0) return ra_nan(t, AD_EINVAL);
  if (i < 0 || i >= ad_shape_n(x.shape)) return ra_nan(t, AD_ERANGE);
  if (ra_foreign_arr(t, x)) return replay__foreign(t);
  if (!x.rec) return ra_scalar(t, x.v[i], NULL);
  replay_arec *r = ra_push(t, RA_GET, 0, x.v[i]);
  if (!r) return ra_nan(t, AD_OK);
  r->a = ra_ref(x, 1);
  r->k = i;
  return ra_scalar(t, x.v[i], r);
}

ad_arr replay__arr_gather(replay_t *t, ad_arr x, const int32_t *idx, int64_t n) {
  ad_status st = ad_v_gather_check(x.shape, idx, n);
  if (st != AD_OK) return replay__arr_bad(t, st);
  if (ra_foreign_arr(t, x)) return replay__foreign(t), replay__arr_bad(t, AD_OK);
  double *v = ra_doubles(t, n);
  if (!v) return replay__arr_bad(t, AD_OK);
  for (int64_t j = 0; j < n; ++j) v[j] = x.v[idx[j]];
  if (!x.rec) return ra_result(t, v, ad_shape_1((int32_t)n), NULL);
  int32_t *ic = (int32_t *)ra_alloc(t, (size_t)n * sizeof *ic);
  if (!ic) return replay__arr_bad(t, AD_OK);
  memcpy(ic, idx, (size_t)n * sizeof *ic);
  replay_arec *r = ra_push(t, RA_GATHER, n, 0.0);
  if (!r) return replay__arr_bad(t, AD_OK);
  r->a = ra_ref(x, 1);
  r->idx = ic;
  r->v = v;
  return ra_result(t, v, ad_shape_1((int32_t)n), r);
}

static replay_var ra_reduce(replay_t *t, ad_arr x, int kind) {
  if (x.shape.ndim == 0) return ra_nan(t, AD_EINVAL);
  if (ra_foreign_arr(t, x)) return replay__foreign(t);
  int64_t n = ad_shape_n(x.shape);
  double v = kind == RA_SUM ? ad_v_sum(x.v, n) : ad_v_max(x.v, n);
  if (!x.rec) return ra_scalar(t, v, NULL);
  replay_arec *r = ra_push(t, kind, 0, v);
  if (!r) return ra_nan(t, AD_OK);
  r->a = ra_ref(x, 1);
  r->sa = x.shape;
  return ra_scalar(t, v, r);
}
replay_var replay__arr_sum(replay_t *t, ad_arr x) { return ra_reduce(t, x, RA_SUM); }
replay_var replay__arr_max(replay_t *t, ad_arr x) { return ra_reduce(t, x, RA_MAX); }

static ad_arr ra_reduce_axis(replay_t *t, ad_arr x, int axis, int kind) {
  ad_shape s;
  ad_status st = ad_v_axis_shape(x.shape, axis, &s);
  if (st != AD_OK) return replay__arr_bad(t, st);
  if (ra_foreign_arr(t, x)) return replay__foreign(t), replay__arr_bad(t, AD_OK);
  double *v = ra_doubles(t, ad_shape_n(s));
  if (!v) return replay__arr_bad(t, AD_OK);
  if (kind == RA_SUM_AXIS) ad_v_sum_axis(x.v, x.shape, axis, v);
  else ad_v_max_axis(x.v, x.shape, axis, v);
  if (!x.rec) return ra_result(t, v, s, NULL);
  replay_arec *r = ra_push(t, kind, ad_shape_n(s), 0.0);
  if (!r) return replay__arr_bad(t, AD_OK);
  r->a = ra_ref(x, 1);
  r->sa = x.shape;
  r->ta = (int8_t)axis;
  r->v = v;
  return ra_result(t, v, s, r);
}
ad_arr replay__arr_sum_axis(replay_t *t, ad_arr x, int axis) { return ra_reduce_axis(t, x, axis, RA_SUM_AXIS); }
ad_arr replay__arr_max_axis(replay_t *t, ad_arr x, int axis) { return ra_reduce_axis(t, x, axis, RA_MAX_AXIS); }

replay_var replay__arr_dot(replay_t *t, ad_arr x, ad_arr y) {
  if (x.shape.ndim != 1 || !ad_shape_eq(x.shape, y.shape)) return ra_nan(t, AD_EINVAL);
  if (ra_foreign_arr(t, x) || ra_foreign_arr(t, y)) return replay__foreign(t);
  double v = ad_v_dot(x.v, 1, y.v, 1, x.shape.cols);
  if (!x.rec && !y.rec) return ra_scalar(t, v, NULL);
  replay_arec *r = ra_push(t, RA_DOT, 0, v);
  if (!r) return ra_nan(t, AD_OK);
  r->a = ra_ref(x, 1);
  r->b = ra_ref(y, 1);
  r->sa = x.shape;
  return ra_scalar(t, v, r);
}

ad_arr replay__arr_mv(replay_t *t, ad_arr a, int ta, ad_arr x) {
  ad_shape s;
  if (ad_v_mv_shape(a.shape, ta, x.shape, &s) != AD_OK) return replay__arr_bad(t, AD_EINVAL);
  if (ra_foreign_arr(t, a) || ra_foreign_arr(t, x)) return replay__foreign(t), replay__arr_bad(t, AD_OK);
  double *v = ra_doubles(t, ad_shape_n(s));
  if (!v) return replay__arr_bad(t, AD_OK);
  ad_v_mv(a.v, a.shape, ta, x.v, v);
  if (!a.rec && !x.rec) return ra_result(t, v, s, NULL);
  replay_arec *r = ra_push(t, RA_MV, ad_shape_n(s), 0.0);
  if (!r) return replay__arr_bad(t, AD_OK);
  r->a = ra_ref(a, 1);
  r->b = ra_ref(x, 1);
  r->sa = a.shape;
  r->sb = x.shape;
  r->ta = (int8_t)(ta != 0);
  r->v = v;
  return ra_result(t, v, s, r);
}

ad_arr replay__arr_mm(replay_t *t, ad_arr a, int ta, ad_arr b, int tb) {
  ad_shape s;
  if (ad_v_mm_shape(a.shape, ta, b.shape, tb, &s) != AD_OK) return replay__arr_bad(t, AD_EINVAL);
  if (ra_foreign_arr(t, a) || ra_foreign_arr(t, b)) return replay__foreign(t), replay__arr_bad(t, AD_OK);
  double *v = ra_doubles(t, ad_shape_n(s));
  if (!v) return replay__arr_bad(t, AD_OK);
  ad_v_mm(a.v, a.shape, ta, b.v, b.shape, tb, v);
  if (!a.rec && !b.rec) return ra_result(t, v, s, NULL);
  replay_arec *r = ra_push(t, RA_MM, ad_shape_n(s), 0.0);
  if (!r) return replay__arr_bad(t, AD_OK);
  r->a = ra_ref(a, 1);
  r->b = ra_ref(b, 1);
  r->sa = a.shape;
  r->sb = b.shape;
  r->ta = (int8_t)(ta != 0);
  r->tb = (int8_t)(tb != 0);
  r->v = v;
  return ra_result(t, v, s, r);
}

/* ---- the tape's hooks (replay.h) ---- */

void replay__arr_free(replay_t *t) {
  struct replay_arrays *A = t->arrays;
  if (!A) return;
  ad_arena_free(&A->arena);
  ad_free(A->recs, A->caprec * sizeof *A->recs);
  ad_free(A->aadj, A->aadj_cap * sizeof(double));
  ad_free(A, sizeof *A);
  t->arrays = NULL;
}

void replay__arr_reset(replay_t *t) {
  struct replay_arrays *A = t->arrays;
  if (!A) return;
  ad_arena_reset(&A->arena);
  A->nrec = 0;
  A->adj_n = 0;
}

uint32_t replay__arr_count(const replay_t *t) { return t->arrays ? t->arrays->nrec : 0; }

uint64_t replay__arr_bytes_used(const replay_t *t) {
  const struct replay_arrays *A = t->arrays;
  return A ? (uint64_t)A->arena.used + (uint64_t)A->nrec * sizeof(replay_arec) : 0;
}
uint64_t replay__arr_bytes_held(const replay_t *t) {
  const struct replay_arrays *A = t->arrays;
  return A ? sizeof *A + A->arena.held + (uint64_t)A->caprec * sizeof(replay_arec) + A->aadj_cap * sizeof(double)
           : 0;
}

ad_status replay__arr_adjoints(replay_t *t) {
  struct replay_arrays *A = t->arrays;
  if (!A || !A->adj_n) return AD_OK;
  if (A->aadj_cap < A->adj_n) {
    ad_free(A->aadj, A->aadj_cap * sizeof(double));
    A->aadj = (double *)ad_malloc((size_t)A->adj_n * sizeof(double));
    A->aadj_cap = A->aadj ? A->adj_n : 0;
    if (!A->aadj) return AD_ENOMEM;
  }
  memset(A->aadj, 0, (size_t)A->adj_n * sizeof(double));
  return AD_OK;
}

void replay__arr_clear(replay_t *t) {
  struct replay_arrays *A = t->arrays;
  if (A && A->aadj && A->aadj_cap >= A->adj_n) memset(A->aadj, 0, (size_t)A->adj_n * sizeof(double));
}

int replay__arr_ready(const replay_t *t) {
  const struct replay_arrays *A = t->arrays;
  return !A || !A->adj_n || (A->aadj && A->aadj_cap >= A->adj_n);
}

/* ---- forward replay ---- */

double replay__arr_fwd(replay_t *t, uint32_t ri, const double *val) {
  struct replay_arrays *A = t->arrays;
  assert(A && ri >= 1 && ri <= A->nrec && "an array statement without its record");
  replay_arec *r = &A->recs[ri - 1];
  switch (r->kind) {
  case RA_EW:
    ra_kernel(r->op, r->n, ra_src(&r->a, val), r->a.stride, ra_src(&r->b, val), r->b.stride, r->v, NULL, NULL);
    return 0.0;
  case RA_STACK:
    for (uint32_t j = 0; j < r->n; ++j) {
      uint32_t s = r->si ? r->si[j] : r->a.si + j;
      if (s) r->v[j] = val[s]; /* a passive element keeps its recorded constant */
    }
    return 0.0;
  case RA_GET: return r->a.v[r->k];
  case RA_GATHER:
    for (uint32_t j = 0; j < r->n; ++j) r->v[j] = r->a.v[r->idx[j]];
    return 0.0;
  case RA_SUM: return ad_v_sum(r->a.v, ad_shape_n(r->sa));
  case RA_MAX: return ad_v_max(r->a.v, ad_shape_n(r->sa));
  case RA_SUM_AXIS: ad_v_sum_axis(r->a.v, r->sa, r->ta, r->v); return 0.0;
  case RA_MAX_AXIS: ad_v_max_axis(r->a.v, r->sa, r->ta, r->v); return 0.0;
  case RA_DOT: return ad_v_dot(r->a.v, 1, r->b.v, 1, r->sa.cols);
  case RA_MV: ad_v_mv(r->a.v, r->sa, r->ta, r->b.v, r->v); return 0.0;
  case RA_MM: ad_v_mm(r->a.v, r->sa, r->ta, r->b.v, r->sb, r->tb, r->v); return 0.0;
  default: assert(0 && "unknown array record"); return 0.0;
  }
}

/* ---- reverse sweep ---- */

/* The statement of array operand o (its record's), marked reached. */
AD_INLINE void ra_reach(const struct replay_arrays *A, uint8_t *reach, const replay_aref *o) {
  if (o->rec) reach[A->recs[o->rec - 1].s] = 1;
  else if (o->si) reach[o->si] = 1;
}

/* The gradient share of element x of a max whose result is m: 1/ties at the largest elements (NaN: at NaNs). */
static int ra_is_max(double x, double m) { return x == m || (m != m && x != x); }

enum { RA_BLOCK = 256 };

/* Operand o += partial * ybar over block [i0, i0 + m): p the block's partials (NULL: the constant cp). */
static void ra_ew_acc(struct replay_arrays *A, double *adj, const replay_aref *o, const double *p, double cp,
                      const double *ybar, uint32_t i0, uint32_t m) {
  if (o->rec && o->stride) {
    double *ob = A->aadj + o->aoff + i0;
    if (p)
      for (uint32_t i = 0; i < m; ++i) ob[i] += p[i] * ybar[i];
    else
      for (uint32_t i = 0; i < m; ++i) ob[i] += cp * ybar[i];
    return;
  }
  double acc = 0.0;
  if (p)
    for (uint32_t i = 0; i < m; ++i) acc += p[i] * ybar[i];
  else
    for (uint32_t i = 0; i < m; ++i) acc += cp * ybar[i];
  if (o->rec) A->aadj[o->aoff] += acc;
  else if (o->si) adj[o->si] += acc;
}

void replay__arr_rev(replay_t *t, uint32_t ri, double w, int reached, const double *val, double *adj,
                     uint8_t *reach) {
  struct replay_arrays *A = t->arrays;
  assert(A && ri >= 1 && ri <= A->nrec && "an array statement without its record");
  const replay_arec *r = &A->recs[ri - 1];
  if (!reached) return; /* the non-finite policy of ad_ops.def: an unreached statement propagates nothing */
  ra_reach(A, reach, &r->a);
  ra_reach(A, reach, &r->b);
  const double *ybar = A->aadj + r->aoff;
  double *xb = r->a.rec ? A->aadj + r->a.aoff : NULL;
  switch (r->kind) {
  case RA_EW: {
    int act_a = r->a.rec || r->a.si, act_b = r->b.rec || r->b.si;
    const double *as = ra_src(&r->a, val), *bs = ra_src(&r->b, val);
    const int saves = (ad_op_facts[r->op] & AD_SAVES) != 0;
    double vb[RA_BLOCK], pa[RA_BLOCK], pb[RA_BLOCK];
    for (uint32_t i0 = 0; i0 < r->n; i0 += RA_BLOCK) {
      uint32_t m = r->n - i0 < RA_BLOCK ? r->n - i0 : RA_BLOCK;
      if (saves) /* the partials of this block, recomputed by the op's kernel from the stored operand values */
        ra_kernel(r->op, m, as + (size_t)i0 * r->a.stride, r->a.stride, bs + (size_t)i0 * r->b.stride, r->b.stride,
                  vb, act_a ? pa : NULL, act_b ? pb : NULL);
      if (act_a) ra_ew_acc(A, adj, &r->a, saves ? pa : NULL, r->ca, ybar + i0, i0, m);
      if (act_b) ra_ew_acc(A, adj, &r->b, saves ? pb : NULL, r->cb, ybar + i0, i0, m);
    }
    break;
  }
  case RA_STACK:
    for (uint32_t j = 0; j < r->n; ++j) {
      uint32_t s = r->si ? r->si[j] : r->a.si + j;
      if (s) {
        adj[s] += ybar[j];
        reach[s] = 1;
      }
    }
    break;
  case RA_GET: xb[r->k] += w; break;
  case RA_GATHER:
    for (uint32_t j = 0; j < r->n; ++j) xb[r->idx[j]] += ybar[j];
    break;
  case RA_SUM:
    for (int64_t i = 0, n = ad_shape_n(r->sa); i < n; ++i) xb[i] += w;
    break;
  case RA_MAX: {
    int64_t n = ad_shape_n(r->sa), ties = 0;
    double m = val[r->s];
    for (int64_t i = 0; i < n; ++i) ties += ra_is_max(r->a.v[i], m);
    double share = w / (double)ties;
    for (int64_t i = 0; i < n; ++i)
      if (ra_is_max(r->a.v[i], m)) xb[i] += share;
    break;
  }
  case RA_SUM_AXIS:
  case RA_MAX_AXIS: {
    int axis = r->ta;
    int64_t len = ad_v_axis_len(r->sa, axis);
    for (uint32_t j = 0; j < r->n; ++j) {
      if (r->kind == RA_SUM_AXIS) {
        for (int64_t k = 0; k < len; ++k) xb[ad_v_axis_at(r->sa, axis, j, k)] += ybar[j];
        continue;
      }
      int64_t ties = 0;
      for (int64_t k = 0; k < len; ++k) ties += ra_is_max(r->a.v[ad_v_axis_at(r->sa, axis, j, k)], r->v[j]);
      double share = ybar[j] / (double)ties;
      for (int64_t k = 0; k < len; ++k)
        if (ra_is_max(r->a.v[ad_v_axis_at(r->sa, axis, j, k)], r->v[j])) xb[ad_v_axis_at(r->sa, axis, j, k)] += share;
    }
    break;
  }
  case RA_DOT: {
    int64_t n = r->sa.cols;
    if (xb)
      for (int64_t k = 0; k < n; ++k) xb[k] += w * r->b.v[k];
    if (r->b.rec) {
      double *yb = A->aadj + r->b.aoff;
      for (int64_t k = 0; k < n; ++k) yb[k] += w * r->a.v[k];
    }
    break;
  }
  case RA_MV: {
    int ta = r->ta;
    int32_t rows = ad_mat_rows(r->sa, ta), kk = ad_mat_cols(r->sa, ta);
    double *bb = r->b.rec ? A->aadj + r->b.aoff : NULL;
    for (int32_t i = 0; i < rows; ++i) {
      double yb = ybar[i];
      for (int32_t k = 0; k < kk; ++k) {
        size_t at = ad_mat_at(r->sa, ta, i, k);
        if (xb) xb[at] += yb * r->b.v[k];
        if (bb) bb[k] += r->a.v[at] * yb;
      }
    }
    break;
  }
  case RA_MM: {
    int ta = r->ta, tb = r->tb;
    int32_t rows = ad_mat_rows(r->sa, ta), kk = ad_mat_cols(r->sa, ta), m = ad_mat_cols(r->sb, tb);
    double *bb = r->b.rec ? A->aadj + r->b.aoff : NULL;
    for (int32_t i = 0; i < rows; ++i)
      for (int32_t j = 0; j < m; ++j) {
        double cb = ybar[(size_t)i * m + j];
        for (int32_t k = 0; k < kk; ++k) {
          size_t ai = ad_mat_at(r->sa, ta, i, k), bi = ad_mat_at(r->sb, tb, k, j);
          if (xb) xb[ai] += cb * r->b.v[bi];
          if (bb) bb[bi] += r->a.v[ai] * cb;
        }
      }
    break;
  }
  default: assert(0 && "unknown array record");
  }
}
