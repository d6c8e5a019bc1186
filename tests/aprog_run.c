/* aprog_run.c: the interpreter of array programs (aprog.h), written once against the array op interface
 * (engines/ad_array.h) and compiled once per engine with APROG_ENGINE set (tests/array.cmake), after that engine's
 * <engine>_array.h, as the workloads are: every engine runs every array op through its own array code.
 *
 * Two forms of the same program:
 *   array form   each instruction is one array op of the engine (ad_arr_exp, ad_arr_mm, ...);
 *   scalar form  each array is a plain C array of the engine's scalar variables and each array op is unrolled by
 *                hand into the engine's scalar ops (ad_exp per element, sums and products left to right in the
 *                order of ad_array_vals.h, views as pointer offsets): written here, independently of the array
 *                code under test. On the scalar tape it is the reference of test_fuzz_array.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define APROG_PRIMAL 1
#define APROG_DUAL 2
#define APROG_TAPE 3
#define APROG_TAPE_OP 4
#define APROG_GRAPH 5
#define APROG_REPLAY 6

#if APROG_ENGINE == APROG_PRIMAL
#include "primal/primal_array.h"
#elif APROG_ENGINE == APROG_DUAL
#include "dual/dual_array.h"
#elif APROG_ENGINE == APROG_TAPE || APROG_ENGINE == APROG_TAPE_OP
#if APROG_ENGINE == APROG_TAPE_OP
#define TAPE_PREACC 0
#endif
#include "tape/tape_array.h"
#elif APROG_ENGINE == APROG_GRAPH
#include "graph/graph_array.h"
#elif APROG_ENGINE == APROG_REPLAY
#include "replay/replay_array.h"
#else
#error "APROG_ENGINE: 1 primal, 2 dual, 3 tape, 4 tape_op, 5 graph, 6 replay"
#endif

#include "aprog.h"
#include "eng.h"

/* ---- scalar ops by number ---- */

#define AP__S_U(name) ad_##name(c, a)
#define AP__S_VV(name) ad_##name(c, a, b)
#define AP__S_VC(name) ad_##name(c, a, k)
#define AP__S_CV(name) ad_##name(c, k, a)
/* Op `op` of ad_ops.def on scalars: a (and b) variables, k the constant of VC and CV ops (CV: k op a). */
static ad_t ap_sop(ad_ctx *c, int op, ad_t a, ad_t b, double k) {
  (void)b, (void)k;
  switch (op) {
#define AD_OP(name, kind, torch, facts, pre, value, da, db)                                                    \
  case AD_OP_##name:                                                                                           \
    return AP__S_##kind(name);
#include "ad_ops.def"
#undef AD_OP
  }
  assert(0 && "aprog: no such op");
  return a;
}

/* ---- the array form ---- */

#define AP__A_U(name) return ad_arr_##name(c, A[in->a]);
#define AP__A_VC(name) return ad_arr_##name(c, A[in->a], in->k);
#define AP__A_CV(name) return ad_arr_##name(c, in->k, A[in->a]);
#define AP__A_VV(name)                                                                                         \
  if (in->form == AP_F_BS) return ad_arr_##name##_bs(c, A[in->a], S[in->b]);                                   \
  if (in->form == AP_F_AS) return ad_arr_##name##_as(c, S[in->a], A[in->b]);                                   \
  return ad_arr_##name(c, A[in->a], A[in->b]);
static ad_arr ap_ew(ad_ctx *c, const ap_ins *in, const ad_arr *A, const ad_t *S) {
  switch (in->op) {
#define AD_OP(name, kind, torch, facts, pre, value, da, db)                                                    \
  case AD_OP_##name: {                                                                                         \
    AP__A_##kind(name)                                                                                         \
  }
#include "ad_ops.def"
#undef AD_OP
  }
  assert(0 && "aprog: no such op");
  return A[in->a];
}

static ad_arr ap_shaped(ad_ctx *c, ad_arr x, int rows, int cols) { return rows > 0 ? ad_arr_reshape(c, x, rows, cols) : x; }

static ad_t ap_eval_array(ad_ctx *c, const aprog *p, const ad_t *x, int *failed_at) {
  ad_arr A[AP_MAX_INS];
  ad_t S[AP_MAX_INS], st[AP_MAX_STACK];
  memset(A, 0, sizeof A);
  memset(S, 0, sizeof S);
  for (int r = 0; r < p->n; ++r) {
    const ap_ins *in = &p->ins[r];
    const int *i = in->i;
    switch (in->code) {
    case AP_X: S[r] = x[i[0]]; break;
    case AP_IN: A[r] = ap_shaped(c, ad_arr_stack(c, x + i[0], i[1] - i[0]), i[2], i[3]); break;
    case AP_STACK:
      for (int j = 0; j < in->n; ++j) st[j] = S[p->idx[in->off + j]];
      A[r] = ad_arr_stack(c, st, in->n);
      break;
    case AP_DATA: A[r] = ap_shaped(c, ad_arr_data(c, p->data + in->off, in->n), i[2], i[3]); break;
    case AP_EW: A[r] = ap_ew(c, in, A, S); break;
    case AP_SOP: S[r] = ap_sop(c, in->op, S[in->a], in->b >= 0 ? S[in->b] : S[in->a], in->k); break;
    case AP_SUM: S[r] = ad_arr_sum(c, A[in->a]); break;
    case AP_MAX: S[r] = ad_arr_max(c, A[in->a]); break;
    case AP_SUM_AXIS: A[r] = ad_arr_sum_axis(c, A[in->a], i[0]); break;
    case AP_MAX_AXIS: A[r] = ad_arr_max_axis(c, A[in->a], i[0]); break;
    case AP_DOT: S[r] = ad_arr_dot(c, A[in->a], A[in->b]); break;
    case AP_MV: A[r] = ad_arr_mv(c, A[in->a], i[0], A[in->b]); break;
    case AP_MM: A[r] = ad_arr_mm(c, A[in->a], i[0], A[in->b], i[1]); break;
    case AP_SLICE: A[r] = ad_arr_slice(c, A[in->a], i[0], i[1]); break;
    case AP_ROW: A[r] = ad_arr_row(c, A[in->a], i[0]); break;
    case AP_RESHAPE: A[r] = ad_arr_reshape(c, A[in->a], i[2], i[3]); break;
    case AP_GATHER: A[r] = ad_arr_gather(c, A[in->a], p->idx + in->off, in->n); break;
    case AP_GET: S[r] = ad_arr_get(c, A[in->a], i[0]); break;
    default: assert(0 && "aprog: no such code");
    }
    if (*failed_at < 0 && ad_arr_status(c) != AD_OK) *failed_at = r;
  }
  ad_t f = ad_const(c, 0.0);
  for (int r = 0; r < p->n; ++r) {
    ad_t t = S[r];
    if (p->arr[r]) {
      ad_shape s = A[r].shape;
      ad_arr W = ad_arr_data(c, p->data + p->wofs[r], s.ndim ? ad_shape_n(s) : 1);
      if (s.ndim == 2) W = ad_arr_reshape(c, W, s.rows, s.cols);
      t = ad_arr_sum(c, ad_arr_mul_vv(c, A[r], W));
    }
    f = r ? ad_add_vv(c, f, t) : t;
  }
  return f;
}

/* ---- the scalar form: arrays of scalar variables, every array op unrolled by hand ---- */

typedef struct ap_sarr {
  ad_t *e;
  ad_shape s;
} ap_sarr;

typedef struct ap_spool {
  ad_t *mem[AP_MAX_INS];
  int n;
} ap_spool;

static ap_sarr ap_snew(ap_spool *pool, ad_shape s) {
  ap_sarr r;
  r.e = (ad_t *)malloc((size_t)ad_shape_n(s) * sizeof(ad_t));
  assert(r.e && pool->n < AP_MAX_INS);
  pool->mem[pool->n++] = r.e;
  r.s = s;
  return r;
}
static ad_shape ap_s1(int64_t n) { return ad_shape_1((int32_t)n); }
static ad_shape ap_sh(int rows, int cols) { return rows > 0 ? ad_shape_2(rows, cols) : ad_shape_1(cols); }
/* op(M)(i, k) of a 2-D M. */
static ad_t ap_mat(ap_sarr m, int trans, int64_t i, int64_t k) {
  return trans ? m.e[k * m.s.cols + i] : m.e[i * m.s.cols + k];
}

static ad_t ap_eval_scalar(ad_ctx *c, const aprog *p, const ad_t *x) {
  ap_sarr A[AP_MAX_INS];
  ad_t S[AP_MAX_INS];
  ap_spool pool;
  pool.n = 0;
  memset(A, 0, sizeof A);
  memset(S, 0, sizeof S);
  for (int r = 0; r < p->n; ++r) {
    const ap_ins *in = &p->ins[r];
    const int *i = in->i;
    ap_sarr a = in->a >= 0 ? A[in->a] : A[r], b = in->b >= 0 ? A[in->b] : A[r], o;
    switch (in->code) {
    case AP_X: S[r] = x[i[0]]; break;
    case AP_IN:
      o = ap_snew(&pool, ap_s1(i[1] - i[0]));
      if (i[2] > 0) o.s = ad_shape_2(i[2], i[3]);
      for (int j = 0; j < i[1] - i[0]; ++j) o.e[j] = x[i[0] + j];
      A[r] = o;
      break;
    case AP_STACK:
      o = ap_snew(&pool, ap_s1(in->n));
      for (int j = 0; j < in->n; ++j) o.e[j] = S[p->idx[in->off + j]];
      A[r] = o;
      break;
    case AP_DATA:
      o = ap_snew(&pool, i[2] > 0 ? ad_shape_2(i[2], i[3]) : ap_s1(in->n));
      for (int j = 0; j < in->n; ++j) o.e[j] = ad_const(c, p->data[in->off + j]);
      A[r] = o;
      break;
    case AP_EW: {
      ad_shape s = in->form == AP_F_AS ? b.s : a.s;
      int64_t sa = 1, sb = 1;
      if (in->form == AP_F_AA && !ad_shape_eq(a.s, b.s)) { /* one of them has one element */
        if (ad_shape_n(b.s) == 1) sb = 0;
        else sa = 0, s = b.s;
      }
      o = ap_snew(&pool, s);
      for (int64_t j = 0; j < ad_shape_n(s); ++j) {
        switch (in->form) {
        case AP_F_AA: o.e[j] = ap_sop(c, in->op, a.e[j * sa], b.e[j * sb], 0.0); break;
        case AP_F_BS: o.e[j] = ap_sop(c, in->op, a.e[j], S[in->b], 0.0); break;
        case AP_F_AS: o.e[j] = ap_sop(c, in->op, S[in->a], b.e[j], 0.0); break;
        default: o.e[j] = ap_sop(c, in->op, a.e[j], a.e[j], in->k); break; /* U, VC, CV */
        }
      }
      A[r] = o;
      break;
    }
    case AP_SOP: S[r] = ap_sop(c, in->op, S[in->a], in->b >= 0 ? S[in->b] : S[in->a], in->k); break;
    case AP_SUM: case AP_MAX: {
      ad_t acc = a.e[0];
      for (int64_t j = 1; j < ad_shape_n(a.s); ++j)
        acc = in->code == AP_SUM ? ad_add_vv(c, acc, a.e[j]) : ad_fmax_vv(c, acc, a.e[j]);
      S[r] = acc;
      break;
    }
    case AP_SUM_AXIS: case AP_MAX_AXIS: {
      int axis = i[0], m = axis == 0 ? a.s.cols : a.s.rows, len = axis == 0 ? a.s.rows : a.s.cols;
      o = ap_snew(&pool, ap_s1(m));
      for (int j = 0; j < m; ++j) {
        ad_t acc = ap_mat(a, axis == 0, j, 0);
        for (int q = 1; q < len; ++q) {
          ad_t e = ap_mat(a, axis == 0, j, q);
          acc = in->code == AP_SUM_AXIS ? ad_add_vv(c, acc, e) : ad_fmax_vv(c, acc, e);
        }
        o.e[j] = acc;
      }
      A[r] = o;
      break;
    }
    case AP_DOT: {
      ad_t acc = ad_mul_vv(c, a.e[0], b.e[0]);
      for (int j = 1; j < a.s.cols; ++j) acc = ad_add_vv(c, acc, ad_mul_vv(c, a.e[j], b.e[j]));
      S[r] = acc;
      break;
    }
    case AP_MV: case AP_MM: {
      int ta = i[0], tb = in->code == AP_MM ? i[1] : 0;
      int rows = ta ? a.s.cols : a.s.rows, inner = ta ? a.s.rows : a.s.cols;
      int m = in->code == AP_MV ? 1 : tb ? b.s.rows : b.s.cols;
      ap_sarr bm = b;
      if (in->code == AP_MV) bm.s = ad_shape_2(inner, 1); /* x as a column */
      o = ap_snew(&pool, in->code == AP_MV ? ap_s1(rows) : ad_shape_2(rows, m));
      for (int q = 0; q < rows; ++q)
        for (int j = 0; j < m; ++j) {
          ad_t acc = ad_mul_vv(c, ap_mat(a, ta, q, 0), ap_mat(bm, tb, 0, j));
          for (int kk = 1; kk < inner; ++kk)
            acc = ad_add_vv(c, acc, ad_mul_vv(c, ap_mat(a, ta, q, kk), ap_mat(bm, tb, kk, j)));
          o.e[q * m + j] = acc;
        }
      A[r] = o;
      break;
    }
    case AP_SLICE:
      o = a;
      if (a.s.ndim == 1) o.e += i[0], o.s = ap_s1(i[1] - i[0]);
      else o.e += (int64_t)i[0] * a.s.cols, o.s = ad_shape_2(i[1] - i[0], a.s.cols);
      A[r] = o;
      break;
    case AP_ROW:
      o = a;
      o.e += (int64_t)i[0] * a.s.cols;
      o.s = ap_s1(a.s.cols);
      A[r] = o;
      break;
    case AP_RESHAPE:
      o = a;
      o.s = ap_sh(i[2], i[3]);
      A[r] = o;
      break;
    case AP_GATHER:
      o = ap_snew(&pool, ap_s1(in->n));
      for (int j = 0; j < in->n; ++j) o.e[j] = a.e[p->idx[in->off + j]];
      A[r] = o;
      break;
    case AP_GET: S[r] = a.e[i[0]]; break;
    default: assert(0 && "aprog: no such code");
    }
  }
  ad_t f = ad_const(c, 0.0);
  for (int r = 0; r < p->n; ++r) {
    ad_t t = S[r];
    if (p->arr[r]) {
      const double *w = p->data + p->wofs[r];
      t = ad_mul_vc(c, A[r].e[0], w[0]);
      for (int64_t j = 1; j < ad_shape_n(A[r].s); ++j) t = ad_add_vv(c, t, ad_mul_vc(c, A[r].e[j], w[j]));
    }
    f = r ? ad_add_vv(c, f, t) : t;
  }
  for (int j = 0; j < pool.n; ++j) free(pool.mem[j]);
  return f;
}

/* The program in either form; the array form's memory comes from the thread's current arena or the engine's. */
static ad_t ap_eval(ad_ctx *c, const aprog *p, const ad_t *x, int scalar_form, aprog_out *o) {
  o->failed_at = -1;
  return scalar_form ? ap_eval_scalar(c, p, x) : ap_eval_array(c, p, x, &o->failed_at);
}

/* The first error: the array ops' (sticky in the arena), else the engine's. */
static inline ad_status ap_first(ad_status arr, ad_status eng) { return arr != AD_OK ? arr : eng; }

/* ---- the runners ---- */

#if APROG_ENGINE == APROG_PRIMAL

static void ap_run(const aprog *p, int sf, const double *dir, aprog_out *o) {
  (void)dir;
  ad_arena arena;
  ad_arena_init(&arena);
  ad_arena *prev = ad_arena_use(&arena);
  ad_t x[AP_MAX_K];
  for (int j = 0; j < p->k; ++j) x[j] = p->x[j];
  o->y = ap_eval(NULL, p, x, sf, o);
  o->st = ad_arr_status(NULL);
  o->st_rev = AD_OK;
  ad_arena_use(prev);
  ad_arena_free(&arena);
}
const aprog_api aprog_primal = {"primal", ENG_PRIMAL, 1, ap_run};

#elif APROG_ENGINE == APROG_DUAL

/* One forward pass with tangents dir (NULL: input `unit` seeded with 1); the tangent of f into *d. */
static void ap_pass(const aprog *p, int sf, const double *dir, int unit, aprog_out *o, double *d) {
  ad_arena arena;
  ad_arena_init(&arena);
  ad_arena *prev = ad_arena_use(&arena);
  ad_t x[AP_MAX_K];
  for (int j = 0; j < p->k; ++j) x[j] = dual_make(p->x[j], dir ? dir[j] : j == unit ? 1.0 : 0.0);
  ad_t f = ap_eval(NULL, p, x, sf, o);
  o->y = f.v;
  o->st = ap_first(o->st, ad_arr_status(NULL));
  *d = dual_tangent(f);
  ad_arena_use(prev);
  ad_arena_free(&arena);
}
static void ap_run(const aprog *p, int sf, const double *dir, aprog_out *o) {
  o->st = o->st_rev = AD_OK;
  if (dir) ap_pass(p, sf, dir, -1, o, &o->g[0]);
  else
    for (int j = 0; j < p->k; ++j) ap_pass(p, sf, NULL, j, o, &o->g[j]);
}
const aprog_api aprog_dual = {"dual", ENG_FORWARD, 1, ap_run};

#elif APROG_ENGINE == APROG_TAPE || APROG_ENGINE == APROG_TAPE_OP

static void ap_run(const aprog *p, int sf, const double *dir, aprog_out *o) {
  (void)dir;
  tape_t *t = tape_new();
  assert(t);
  ad_t x[AP_MAX_K];
  for (int j = 0; j < p->k; ++j) x[j] = tape_input(t, p->x[j]);
  ad_t f = ap_eval(t, p, x, sf, o);
  o->y = f.v;
  o->st = ap_first(ad_arr_status(t), tape_status(t));
  double *adj = tape_adjoints(t);
  o->st_rev = AD_ENOMEM;
  if (adj) {
    tape_seed(t, f, 1.0);
    o->st_rev = tape_reverse(t);
    for (int j = 0; j < p->k; ++j) o->g[j] = adj[x[j].i];
  }
  tape_free(t);
}
#if APROG_ENGINE == APROG_TAPE
const aprog_api aprog_tape = {"tape", ENG_REVERSE, 1, ap_run};
#else
const aprog_api aprog_tape_op = {"tape_op", ENG_REVERSE, 1, ap_run};
#endif

#elif APROG_ENGINE == APROG_GRAPH

static void ap_run(const aprog *p, int sf, const double *dir, aprog_out *o) {
  (void)dir;
  ad_arena arena;
  ad_arena_init(&arena);
  ad_arena *prev = ad_arena_use(&arena);
  graph_ctx *c = graph_new();
  assert(c);
  ad_t x[AP_MAX_K];
  for (int j = 0; j < p->k; ++j) x[j] = graph_leaf(c, p->x[j], 1);
  ad_t f = ap_eval(c, p, x, sf, o);
  o->y = graph_value(f);
  o->st = ap_first(ad_arr_status(c), graph_status(c));
  o->st_rev = AD_OK;
  if (o->st == AD_OK && graph_requires_grad(f)) o->st_rev = graph_backward(c, f, 1.0, 0);
  for (int j = 0; j < p->k; ++j) o->g[j] = graph__leaf_grad(x[j]);
  graph_free(c);
  ad_arena_use(prev);
  ad_arena_free(&arena);
}
const aprog_api aprog_graph = {"graph", ENG_REVERSE, 0, ap_run};

#elif APROG_ENGINE == APROG_REPLAY

static void ap_run(const aprog *p, int sf, const double *dir, aprog_out *o) {
  (void)dir;
  ad_arena arena;
  ad_arena_init(&arena);
  ad_arena *prev = ad_arena_use(&arena);
  replay_t *t = replay_new();
  assert(t);
  ad_t x[AP_MAX_K];
  for (int j = 0; j < p->k; ++j) x[j] = replay_input(t, p->x[j]);
  ad_t f = ap_eval(t, p, x, sf, o);
  o->y = f.v;
  o->st = ap_first(ad_arr_status(t), replay_status(t));
  o->st_rev = AD_OK;
  double *adj = o->st == AD_OK ? replay_adjoints(t) : NULL;
  if (adj && f.i) {
    adj[f.i] = 1.0;
    o->st_rev = replay_reverse(t);
  }
  for (int j = 0; j < p->k; ++j) o->g[j] = adj && f.i ? adj[x[j].i] : 0.0;
  /* a replay at the recorded point gives the recording's value bit for bit */
  if (o->st == AD_OK && replay_forward(t, p->x, (size_t)p->k) == AD_OK) {
    double y2 = replay_value(t, f);
    if (memcmp(&y2, &o->y, sizeof y2) != 0 && !(y2 != y2 && o->y != o->y)) o->st_rev = AD_EGUARD;
  }
  replay_free(t);
  ad_arena_use(prev);
  ad_arena_free(&arena);
}
const aprog_api aprog_replay = {"replay", ENG_REVERSE, 0, ap_run};

#endif
