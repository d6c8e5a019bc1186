/* test_array_replay: the replay engine's native arrays (replay/replay_array.h: one statement per array op),
 * recorded at one point and replayed at another:
 *  - every op of ad_ops.def lifted elementwise, in every form, sizes 1 .. 64, against the scalar replay tape
 *    running the same computation element by element (both recorded at x0 and replayed at x1): values bit for
 *    bit, gradients to 1e-13; and the replay against a fresh recording at x1, bit for bit;
 *  - the programs of array_programs.inc against their scalar form, replayed;
 *  - random array programs (array_random.inc) replayed at new inputs, against the tape (gradients to 1e-12) and
 *    the primal engine (values bit for bit);
 *  - guards: a comparison on an element read with ad_arr_get is a scalar guard; array kinks record none and give
 *    a fresh recording's derivative; vector mode (lanes) on array recordings; one statement per array op and
 *    bytes per element;
 *  - bad input (a clear status, a refused replay, nothing written out of bounds: run under ASan/UBSan), foreign
 *    arrays, every allocation failing in turn.
 */
#include <math.h>
#include <stdlib.h>

#include "../engines/replay/replay_array.h"
#include "array_rprog.h"
#include "testkit.h"

enum { N = 64, R = 3, C = 4 };

static uint64_t rng_s = 9898;
static double urand(double lo, double hi) {
  rng_s = rng_s * 6364136223846793005ull + 1442695040888963407ull;
  return lo + (hi - lo) * ((double)(rng_s >> 11) * 0x1.0p-53);
}
static double operand(int positive) {
  double m = urand(0.5, 2.0);
  return positive || urand(0, 1) < 0.5 ? m : -m;
}

#include "array_op_cases.inc"
#include "array_programs.inc"
#include "judge.h"

/* Records f at x0 (replays at x1 unless x1 is NULL), then one reverse sweep: value into *f, gradient into g. */
typedef replay_var (*build_fn)(replay_t *t, const replay_var *x, int n, const void *arg);
static ad_status run(build_fn build, const void *arg, int n, const double *x0, const double *x1, double *f, double *g) {
  replay_t *t = replay_new();
  replay_var x[2 * N + 1];
  for (int i = 0; i < n; ++i) x[i] = replay_input(t, x0[i]);
  replay_var y = build(t, x, n, arg);
  ad_status st = ad_arr_status(t);
  if (st == AD_OK && x1) st = replay_forward(t, x1, (size_t)n);
  *f = replay_value(t, y);
  double *adj = st == AD_OK ? replay_adjoints(t) : NULL;
  if (st == AD_OK && adj) {
    adj[y.i] = 1.0;
    st = replay_reverse(t);
    for (int i = 0; i < n; ++i) g[i] = adj[x[i].i];
  }
  replay_free(t);
  return st;
}

/* ---- every elementwise op ---- */

typedef struct op_arg {
  const op_case *oc;
  int form, arr, n;
  double ka, kb;
  const double *w, *d;
} op_arg;

/* f = sum(W * op(A, B)) over inputs A (n), B (n), S (1), in array or scalar form. */
static replay_var build_op(replay_t *c, const replay_var *x, int nx, const void *arg) {
  const op_arg *p = (const op_arg *)arg;
  const op_case *oc = p->oc;
  int n = p->n;
  const replay_var *A = x, *B = x + n, S = x[2 * n];
  (void)nx;
  if (!p->arr) {
    replay_var y = ad_const(c, 0.0);
    for (int i = 0; i < n; ++i) {
      replay_var a = A[i], b = B[i];
      if (p->form == F_BS) b = S;
      if (p->form == F_AS) a = S;
      if (p->form == F_BCAST) b = B[0];
      if (p->form == F_DATA) a = ad_const(c, p->d[i]);
      replay_var z = ad_mul_vc(c, oc->s(c, a, b, p->ka, p->kb), p->w[i]);
      y = i ? ad_add_vv(c, y, z) : z;
    }
    return y;
  }
  ad_arr XA = ad_arr_stack(c, A, n), XB = ad_arr_stack(c, B, n), Z;
  if (p->form == F_BS) Z = oc->bs(c, XA, S);
  else if (p->form == F_AS) Z = oc->as(c, S, XB);
  else if (p->form == F_BCAST) Z = oc->a(c, XA, ad_arr_slice(c, XB, 0, 1), p->ka, p->kb);
  else if (p->form == F_DATA) Z = oc->a(c, ad_arr_data(c, p->d, n), XB, p->ka, p->kb);
  else Z = oc->a(c, XA, XB, p->ka, p->kb);
  return ad_arr_sum(c, ad_arr_mul_vv(c, Z, ad_arr_data(c, p->w, n)));
}

static void check_op(const op_case *oc, int form, int n) {
  int pos_a = (oc->facts & AD_POS_A) != 0;
  double x0[2 * N + 1], x1[2 * N + 1], w[N], d[N];
  for (int i = 0; i < n; ++i) x0[i] = operand(pos_a), x0[n + i] = operand(0), w[i] = urand(-1, 1), d[i] = operand(pos_a);
  x0[2 * n] = form == F_AS && pos_a ? fabs(operand(0)) : operand(0);
  for (int i = 0; i <= 2 * n; ++i) x1[i] = x0[i] * urand(0.8, 1.25); /* same signs: no guard on abs etc. */
  op_arg arg = {oc, form, 0, n, operand(pos_a), operand(0), w, d};
  double fs, fa, ff, gs[2 * N + 1], ga[2 * N + 1], gf[2 * N + 1];
  ad_status s1 = run(build_op, &arg, 2 * n + 1, x0, x1, &fs, gs);
  arg.arr = 1;
  ad_status s2 = run(build_op, &arg, 2 * n + 1, x0, x1, &fa, ga);
  ad_status s3 = run(build_op, &arg, 2 * n + 1, x1, NULL, &ff, gf); /* a fresh recording at x1 */
  CHECKF(s2 == AD_OK && s3 == AD_OK, "%s form %d n %d: %s, %s", oc->name, form, n, ad_status_str(s2), ad_status_str(s3));
  if (s1 != AD_OK) { /* a scalar kink guard may refuse the scalar replay; arrays record none */
    CHECKF(s1 == AD_EGUARD && (oc->facts & (AD_KINK_ORDER | AD_KINK_SIGN)), "%s: scalar %s", oc->name, ad_status_str(s1));
    s1 = run(build_op, &(op_arg){oc, form, 0, n, arg.ka, arg.kb, w, d}, 2 * n + 1, x1, NULL, &fs, gs);
  }
  CHECKF(memcmp(&fa, &fs, sizeof fa) == 0, "%s form %d n %d: value %.17g, scalar %.17g", oc->name, form, n, fa, fs);
  CHECKF(memcmp(&fa, &ff, sizeof fa) == 0 && memcmp(ga, gf, (size_t)(2 * n + 1) * sizeof *ga) == 0,
         "%s form %d n %d: the replay differs from a fresh recording", oc->name, form, n);
  double e = jd_rel_err(ga, gs, (size_t)(2 * n + 1));
  CHECKF(e <= 1e-13, "%s form %d n %d: gradient error %.1e against the scalar replay", oc->name, form, n, e);
}

static void test_elementwise(void) {
  static const int sizes[] = {1, 2, 3, 7, 8, 13, 64};
  for (size_t k = 0; k < sizeof op_cases / sizeof *op_cases; ++k)
    for (size_t si = 0; si < sizeof sizes / sizeof *sizes; ++si) {
      check_op(&op_cases[k], F_AA, sizes[si]);
      if (op_cases[k].kind == AD_KIND_VV)
        for (int f = F_BS; f < F_COUNT; ++f) check_op(&op_cases[k], f, sizes[si]);
    }
}

/* ---- the structural programs ---- */

typedef struct prog_arg {
  int p, arr;
} prog_arg;
static replay_var build_prog(replay_t *c, const replay_var *x, int n, const void *arg) {
  const prog_arg *a = (const prog_arg *)arg;
  (void)n;
  return program(c, a->p, a->arr, x, x + R * C);
}

static void test_programs(void) {
  double x0[R * C + C], x1[R * C + C];
  for (int i = 0; i < R * C + C; ++i) x0[i] = urand(-1.5, 1.5), x1[i] = urand(-1.5, 1.5);
  for (int p = 0; p < PROGRAMS; ++p) {
    double ga[R * C + C], gs[R * C + C], gf[R * C + C], fa, fs, ff;
    prog_arg pa = {p, 1}, ps = {p, 0};
    ad_status sa = run(build_prog, &pa, R * C + C, x0, x1, &fa, ga);
    ad_status sf = run(build_prog, &pa, R * C + C, x1, NULL, &ff, gf);
    ad_status ss = run(build_prog, &ps, R * C + C, x1, NULL, &fs, gs); /* fmax guards: record the scalar form at x1 */
    CHECKF(sa == AD_OK && sf == AD_OK && ss == AD_OK, "%s: %s %s %s", program_name[p], ad_status_str(sa),
           ad_status_str(sf), ad_status_str(ss));
    CHECKF(memcmp(&fa, &ff, sizeof fa) == 0 && memcmp(ga, gf, sizeof ga) == 0, "%s: replay differs from a fresh recording",
           program_name[p]);
    if (p == 13)
      CHECKF(fabs(fa - fs) <= 1e-14 * fabs(fs), "%s: value %.17g, scalar %.17g", program_name[p], fa, fs);
    else
      CHECKF(memcmp(&fa, &fs, sizeof fa) == 0, "%s: value %.17g, scalar %.17g", program_name[p], fa, fs);
    double e = jd_rel_err(ga, gs, (size_t)(R * C + C));
    CHECKF(e <= 1e-13, "%s: gradient error %.1e against the scalar replay", program_name[p], e);
  }
}

/* ---- random array programs, replayed, against the tape and the primal engine ---- */

static void test_random_programs(void) {
  for (uint64_t seed = 1; seed <= 300; ++seed) {
    int n = rprog_inputs(seed);
    double x0[RP_MAXN_INPUTS], x[RP_MAXN_INPUTS], gr[RP_MAXN_INPUTS], gt[RP_MAXN_INPUTS], fr, ft, fp;
    for (int i = 0; i < n; ++i) x0[i] = urand(-1.2, 1.2), x[i] = urand(-1.2, 1.2);
    ad_status sr = rprog_replay(seed, x0, x, &fr, gr), st = rprog_tape(seed, x, &ft, gt), sp = rprog_primal(seed, x, &fp);
    CHECKF(sr == AD_OK && st == AD_OK && sp == AD_OK, "program %llu: replay %s, tape %s, primal %s",
           (unsigned long long)seed, ad_status_str(sr), ad_status_str(st), ad_status_str(sp));
    CHECKF(memcmp(&fr, &fp, sizeof fr) == 0 && memcmp(&ft, &fp, sizeof ft) == 0,
           "program %llu: values replay %.17g, tape %.17g, primal %.17g", (unsigned long long)seed, fr, ft, fp);
    double e = jd_rel_err(gr, gt, (size_t)n);
    CHECKF(e <= 1e-12, "program %llu (%d inputs): gradient error %.1e against the tape", (unsigned long long)seed, n, e);
  }
}

/* ---- guards, lanes, statements and memory ---- */

static void test_guards_and_lanes(void) {
  replay_t *t = replay_new();
  replay_var x[4];
  double x0[4] = {0.5, 1.5, -0.5, 2.0}, xa[4] = {0.7, 1.1, -0.9, 2.5}, xb[4] = {0.5, -1.5, -0.5, 2.0};
  for (int i = 0; i < 4; ++i) x[i] = replay_input(t, x0[i]);
  uint64_t before = replay_get_stats(t).statements;
  ad_arr X = ad_arr_stack(t, x, 4);                                     /* 1 */
  replay_var e = ad_arr_get(t, X, 1);                                   /* 1 */
  ad_arr Y = ad_arr_abs(t, ad_arr_slice(t, X, 0, 3));                   /* 1: the slice is a view; abs: no guard */
  replay_var f = ad_gt_vc(t, e, 0.0) ? ad_arr_sum(t, ad_arr_mul_vv(t, Y, Y)) : ad_arr_max(t, Y); /* a guard, 2 */
  CHECKF(replay_get_stats(t).statements - before == 5 && replay_get_stats(t).guards == 1, "statements %llu, guards %llu",
         (unsigned long long)(replay_get_stats(t).statements - before), (unsigned long long)replay_get_stats(t).guards);
  /* replay where x1 stays positive and x2 changes sign (an array kink: no guard) */
  CHECK(replay_forward(t, xa, 4) == AD_OK);
  double *adj = replay_adjoints(t);
  adj[f.i] = 1.0;
  CHECK(replay_reverse(t) == AD_OK);
  CHECK(replay_value(t, f) == 0.7 * 0.7 + 1.1 * 1.1 + 0.9 * 0.9);
  CHECK(adj[x[0].i] == 2 * 0.7 && adj[x[1].i] == 2 * 1.1 && adj[x[2].i] == 2 * -0.9 && adj[x[3].i] == 0.0);
  /* the comparison on an element read from the array is a scalar guard */
  CHECK(replay_forward(t, xb, 4) == AD_EGUARD);
  CHECK(replay_reverse(t) == AD_EGUARD);
  char msg[200];
  replay_guard_message(t, msg, sizeof msg);
  CHECK(strstr(msg, "gt_vc") != NULL);
  /* lanes: two outputs of one recording, each lane what a one-adjoint sweep gives */
  replay_reset(t);
  for (int i = 0; i < 4; ++i) x[i] = replay_input(t, x0[i]);
  X = ad_arr_stack(t, x, 4);
  replay_var y0 = ad_arr_sum(t, ad_arr_sin(t, X)), y1 = ad_arr_dot(t, X, ad_arr_exp(t, X));
  double *L = replay_adjoints_lanes(t, 2);
  CHECK(L != NULL);
  L[y0.i * 2 + 0] = 1.0;
  L[y1.i * 2 + 1] = 1.0;
  CHECK(replay_reverse_lanes(t, 2) == AD_OK);
  for (int i = 0; i < 4; ++i) {
    double d0 = cos(x0[i]), d1 = exp(x0[i]) * (1.0 + x0[i]);
    CHECK_NEAR(L[x[i].i * 2 + 0], d0, 1e-15);
    CHECK_NEAR(L[x[i].i * 2 + 1], d1, 1e-15);
  }
  replay_free(t);
}

static void test_memory(void) {
  enum { M = 100000 };
  replay_t *t = replay_new();
  static replay_var x[M];
  static double xv[M];
  for (int i = 0; i < M; ++i) x[i] = replay_input(t, xv[i] = 0.5 + 1e-5 * i);
  replay_stats before = replay_get_stats(t);
  ad_arr X = ad_arr_stack(t, x, M);
  ad_arr x0 = ad_arr_slice(t, X, 0, M - 1), x1 = ad_arr_slice(t, X, 1, M);
  ad_arr u = ad_arr_sub_cv(t, 1.0, x0), v = ad_arr_sub_vv(t, x1, ad_arr_sqr(t, x0));
  replay_var f = ad_arr_sum(t, ad_arr_add_vv(t, ad_arr_sqr(t, u), ad_arr_mul_vc(t, ad_arr_sqr(t, v), 100.0)));
  for (int i = 0; i < M; ++i) xv[i] += 1e-3;
  CHECK(replay_forward(t, xv, M) == AD_OK);
  double *adj = replay_adjoints(t);
  adj[f.i] = 1.0;
  CHECK(replay_reverse(t) == AD_OK);
  replay_stats after = replay_get_stats(t);
  CHECKF(after.statements - before.statements == 9, "statements %llu",
         (unsigned long long)(after.statements - before.statements));
  double used = (double)(after.bytes_used - before.bytes_used) / M;
  CHECKF(used < 80.0, "bytes used per element %.1f", used); /* values only: 8 arrays */
  int j = M / 2;
  double a = xv[j - 1], b = xv[j], cc = xv[j + 1];
  double want = 200.0 * (b - a * a) + (-2.0 * (1.0 - b) - 400.0 * b * (cc - b * b));
  CHECKF(fabs(adj[x[j].i] - want) <= 1e-12 * fabs(want), "rosenbrock gradient %.17g, by hand %.17g", adj[x[j].i], want);
  replay_free(t);
}

/* ---- bad input ---- */

static void expect_bad(replay_t *t, ad_arr r, ad_status want, const char *what) {
  CHECKF(r.shape.ndim == 0 && r.v == NULL && r.rec == 0, "%s: an invalid array", what);
  CHECKF(ad_arr_status(t) == want, "%s: status %s, want %s", what, ad_status_str(ad_arr_status(t)),
         ad_status_str(want));
  CHECKF(replay_status(t) == want, "%s: replay status %s", what, ad_status_str(replay_status(t)));
  replay_reset(t);
}

static void test_bad_input(void) {
  replay_t *t = replay_new(), *other = replay_new();
  replay_var x[6];
  int32_t idx_lo[2] = {0, -1}, idx_hi[2] = {5, 6};
  double d[6] = {1, 2, 3, 4, 5, 6};
  ad_arr X;
#define FRESH()                                                                                                \
  do {                                                                                                         \
    for (int i = 0; i < 6; ++i) x[i] = replay_input(t, 1.0 + i);                                              \
    X = ad_arr_stack(t, x, 6);                                                                                 \
  } while (0)
  FRESH();
  expect_bad(t, ad_arr_add_vv(t, X, ad_arr_slice(t, X, 0, 4)), AD_EINVAL, "add of 6 and 4 elements");
  FRESH();
  expect_bad(t, ad_arr_slice(t, X, 2, 7), AD_ERANGE, "slice past the end");
  FRESH();
  expect_bad(t, ad_arr_slice(t, X, -1, 3), AD_ERANGE, "slice before the start");
  FRESH();
  expect_bad(t, ad_arr_gather(t, X, idx_lo, 2), AD_ERANGE, "gather index -1");
  FRESH();
  expect_bad(t, ad_arr_gather(t, X, idx_hi, 2), AD_ERANGE, "gather index 6 of 6");
  FRESH();
  expect_bad(t, ad_arr_row(t, ad_arr_reshape(t, X, 2, 3), 2), AD_ERANGE, "row 2 of 2");
  FRESH();
  expect_bad(t, ad_arr_reshape(t, X, 4, 2), AD_EINVAL, "reshape 6 to 4 x 2");
  FRESH();
  expect_bad(t, ad_arr_sum_axis(t, ad_arr_reshape(t, X, 2, 3), 2), AD_ERANGE, "axis 2");
  FRESH();
  expect_bad(t, ad_arr_mv(t, ad_arr_reshape(t, X, 2, 3), 1, ad_arr_slice(t, X, 0, 3)), AD_EINVAL, "mv 3x2 by 3");
  FRESH();
  expect_bad(t, ad_arr_mm(t, ad_arr_reshape(t, X, 2, 3), 1, ad_arr_reshape(t, X, 2, 3), 1), AD_EINVAL,
             "mm 3x2 by 3x2");
  FRESH();
  expect_bad(t, ad_arr_stack(t, x, 0), AD_EINVAL, "stack of 0");
  expect_bad(t, ad_arr_data(t, d, 0), AD_EINVAL, "data of 0");
  /* a scalar result: NaN, the status, and replays refused */
  FRESH();
  replay_var g = ad_arr_get(t, X, 6);
  CHECK(g.v != g.v && g.i == 0 && ad_arr_status(t) == AD_ERANGE);
  double xs[6] = {1, 2, 3, 4, 5, 6};
  CHECK(replay_forward(t, xs, 6) == AD_ESTATE && replay_adjoints(t) == NULL && replay_reverse(t) == AD_ESTATE);
  replay_reset(t);
  CHECK(ad_arr_status(t) == AD_OK);
  /* an array of another tape */
  replay_var o[2] = {replay_input(other, 1.0), replay_input(other, 2.0)};
  ad_arr OX = ad_arr_stack(other, o, 2);
  FRESH();
  CHECK(ad_arr_add_vv(t, ad_arr_slice(t, X, 0, 2), OX).shape.ndim == 0 && replay_status(t) == AD_EFOREIGN);
  replay_reset(t);
  FRESH();
  CHECK(ad_arr_stack(t, o, 2).shape.ndim == 0 && replay_status(t) == AD_EFOREIGN);
  replay_free(t);
  replay_free(other);
#undef FRESH
}

/* Every allocation failing in turn while recording, replaying and sweeping: a status, no crash, no leak. */
static void test_alloc_failure(void) {
  int failed = 0, ok = 0;
  double xv[50];
  for (int i = 0; i < 50; ++i) xv[i] = 0.03 * i;
  for (long k = 0; k < 60; ++k) {
    int64_t base = ad_alloc_get_stats().bytes_now;
    ad_alloc_fail_after(k);
    replay_t *t = replay_new();
    if (t) {
      replay_var x[50];
      for (int i = 0; i < 50; ++i) x[i] = replay_input(t, 0.02 * i);
      ad_arr X = ad_arr_stack(t, x, 50);
      replay_var f = ad_arr_sum(t, ad_arr_mul_vv(t, ad_arr_exp(t, X), ad_arr_sin(t, X)));
      ad_status st = ad_arr_status(t);
      if (st == AD_OK) st = replay_forward(t, xv, 50);
      double *adj = st == AD_OK ? replay_adjoints(t) : NULL;
      if (adj) {
        adj[f.i] = 1.0;
        st = replay_reverse(t);
      }
      if (st == AD_OK && adj) ++ok;
      else {
        ++failed;
        CHECKF(st == AD_ENOMEM || st == AD_ESTATE || !adj, "after %ld allocations: %s", k, ad_status_str(st));
      }
      replay_free(t);
    }
    ad_alloc_fail_after(-1);
    CHECKF(ad_alloc_get_stats().bytes_now == base, "after %ld allocations: leaked %lld bytes", k,
           (long long)(ad_alloc_get_stats().bytes_now - base));
  }
  CHECK(failed > 0 && ok > 0);
}

int main(void) {
  test_elementwise();
  test_programs();
  test_random_programs();
  test_guards_and_lanes();
  test_memory();
  test_bad_input();
  test_alloc_failure();
  return test_report("test_array_replay");
}
