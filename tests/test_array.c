/* test_array: the arrays of engines/ad_array.h on the tape engine (native: one statement per array op), against
 * the scalar tape running the same computation element by element:
 *  - every op of ad_ops.def lifted elementwise, at sizes 1 .. 64, in every form (array op array, array op scalar variable, scalar
 *    variable op array, array op one-element array (broadcast), constant data op array, array op constant,
 *    constant op array): values bit-identical to the scalar ops, gradients to 1e-13;
 *  - sum, sum_axis, max, max_axis, dot, mv and mm with every transpose, slice, row, reshape, gather, get, stack
 *    (consecutive inputs and scattered, scaled variables), and scalar and array code mixed both ways;
 *  - the gradient of one array program against central finite differences;
 *  - bad input: mismatched shapes, out-of-range slices, rows, indices and axes, bad sizes: a clear status, an
 *    invalid array, a refused reverse sweep, nothing written out of bounds (run under ASan/UBSan);
 *  - every allocation failing in turn while recording: a status, never a crash or a leak;
 *  - the kernels: the build the loader chose computes the bits of the scalar ops on every op (values and
 *    partials, broadcasts and tails), and SLEEF's SSE2 vector build gives the bits of its scalar purec build.
 */
#include <emmintrin.h>
#include <math.h>
#include <sleef.h>
#include <stdlib.h>

#include "../engines/tape/tape_array.h"
#include "judge.h"
#include "testkit.h"

enum { N = 64 }; /* the largest array of the elementwise checks */

static uint64_t rng_s = 12345;
static double urand(double lo, double hi) {
  rng_s = rng_s * 6364136223846793005ull + 1442695040888963407ull;
  return lo + (hi - lo) * ((double)(rng_s >> 11) * 0x1.0p-53);
}
/* An operand in the op's domain: positive where AD_POS_A asks, else either sign; away from 0 always. */
static double operand(int positive) {
  double m = urand(0.5, 2.0);
  return positive || urand(0, 1) < 0.5 ? m : -m;
}


/* ---- every elementwise op, by a uniform signature (tests may use tables: no_dispatch checks workloads) ---- */

#include "array_op_cases.inc"
static const char *const form_name[F_COUNT] = {"array op array", "array op scalar", "scalar op array",
                                               "array op 1-element array", "data op array"};

/* One op in one form: the array program f = sum(W * op(A, B)) against the scalar one, on two tapes with the same
 * inputs (xa[0..n), xb[0..n), s). */
static void check_op(const op_case *oc, int form, int n) {
  int pos_a = (oc->facts & AD_POS_A) != 0;
  double xa[N], xb[N], w[N], d[N], sv = operand(0), ka = operand(pos_a), kb = operand(0);
  for (int i = 0; i < n; ++i) xa[i] = operand(pos_a), xb[i] = operand(0), w[i] = urand(-1, 1), d[i] = operand(pos_a);
  if (form == F_AS && pos_a) sv = fabs(sv);
  double fs = 0, fa = 0, ga[2 * N + 1], gs[2 * N + 1];
  for (int pass = 0; pass < 2; ++pass) {
    tape_t *t = tape_new();
    tape_var A[N], B[N], S;
    for (int i = 0; i < n; ++i) A[i] = tape_input(t, xa[i]);
    for (int i = 0; i < n; ++i) B[i] = tape_input(t, xb[i]);
    S = tape_input(t, sv);
    tape_var f;
    if (pass == 0) { /* scalar reference: acc = z0 * w0, acc = acc + zi * wi (the order of ad_arr_sum) */
      f = tape__var(0, 0, 0);
      for (int i = 0; i < n; ++i) {
        tape_var a = A[i], b = B[i];
        if (form == F_BS) b = S;
        if (form == F_AS) a = S;
        if (form == F_BCAST) b = B[0];
        if (form == F_DATA) a = ad_const(t, d[i]);
        tape_var z = ad_mul_vc(t, oc->s(t, a, b, ka, kb), w[i]);
        f = i ? ad_add_vv(t, f, z) : z;
      }
    } else {
      ad_arr XA = ad_arr_stack(t, A, n), XB = ad_arr_stack(t, B, n), Z;
      if (form == F_BS) Z = oc->bs(t, XA, S);
      else if (form == F_AS) Z = oc->as(t, S, XB);
      else if (form == F_BCAST) Z = oc->a(t, XA, ad_arr_slice(t, XB, 0, 1), ka, kb);
      else if (form == F_DATA) Z = oc->a(t, ad_arr_data(t, d, n), XB, ka, kb);
      else Z = oc->a(t, XA, XB, ka, kb);
      f = ad_arr_sum(t, ad_arr_mul_vv(t, Z, ad_arr_data(t, w, n)));
    }
    CHECKF(tape_status(t) == AD_OK, "%s, %s: %s", oc->name, form_name[form], ad_status_str(tape_status(t)));
    double *adj = tape_adjoints(t);
    tape_seed(t, f, 1.0);
    CHECK(tape_reverse(t) == AD_OK);
    double *g = pass ? ga : gs;
    for (int i = 0; i < n; ++i) g[i] = adj[A[i].i], g[n + i] = adj[B[i].i];
    g[2 * n] = adj[S.i];
    *(pass ? &fa : &fs) = f.v;
    tape_free(t);
  }
  CHECKF(memcmp(&fa, &fs, sizeof fa) == 0, "%s, %s, n %d: value %.17g, scalar ops %.17g", oc->name, form_name[form], n, fa, fs);
  double e = jd_rel_err(ga, gs, (size_t)(2 * n + 1));
  CHECKF(e <= 1e-13, "%s, %s, n %d: gradient error %.1e against the scalar tape", oc->name, form_name[form], n, e);
}

static void test_elementwise(void) {
  for (size_t k = 0; k < sizeof op_cases / sizeof *op_cases; ++k) {
    const op_case *oc = &op_cases[k];
    static const int sizes[] = {1, 2, 3, 5, 7, 8, 13, 31, 64}; /* tails of every kernel width, 1 .. 64 */
    for (size_t si = 0; si < sizeof sizes / sizeof *sizes; ++si) {
      check_op(oc, F_AA, sizes[si]); /* U: a only; VC: a op constant; CV: constant op b */
      if (oc->kind == AD_KIND_VV)
        for (int f = F_BS; f < F_COUNT; ++f) check_op(oc, f, sizes[si]);
    }
  }
}

/* ---- reductions, products, access: each against its scalar form ---- */

enum { R = 3, C = 4 };

#include "array_programs.inc"

/* f and its gradient (R*C + C entries) for program p in array or scalar form at (xv, vv). */
static double run_program(int p, int arr, const double *xv, const double *vv, double *g) {
  tape_t *t = tape_new();
  tape_var x[R * C], v[C];
  for (int i = 0; i < R * C; ++i) x[i] = tape_input(t, xv[i]);
  for (int i = 0; i < C; ++i) v[i] = tape_input(t, vv[i]);
  tape_var f = program(t, p, arr, x, v);
  CHECKF(tape_status(t) == AD_OK, "%s: %s", program_name[p], ad_status_str(tape_status(t)));
  double *adj = tape_adjoints(t);
  if (g && adj) {
    tape_seed(t, f, 1.0);
    CHECK(tape_reverse(t) == AD_OK);
    for (int i = 0; i < R * C; ++i) g[i] = adj[x[i].i];
    for (int i = 0; i < C; ++i) g[R * C + i] = adj[v[i].i];
  }
  double fv = f.v;
  tape_free(t);
  return fv;
}

static void test_structural(void) {
  double xv[R * C], vv[C];
  for (int i = 0; i < R * C; ++i) xv[i] = urand(-1.5, 1.5);
  for (int i = 0; i < C; ++i) vv[i] = urand(-1.5, 1.5);
  for (int p = 0; p < PROGRAMS; ++p) {
    double ga[R * C + C], gs[R * C + C];
    double fa = run_program(p, 1, xv, vv, ga), fs = run_program(p, 0, xv, vv, gs);
    if (p == 13) /* the scalar form multiplies by cos(s) before the dot: the same value up to rounding */
      CHECKF(fabs(fa - fs) <= 1e-14 * fabs(fs), "%s: value %.17g, scalar %.17g", program_name[p], fa, fs);
    else
      CHECKF(memcmp(&fa, &fs, sizeof fa) == 0, "%s: value %.17g, scalar %.17g", program_name[p], fa, fs);
    double e = jd_rel_err(ga, gs, (size_t)(R * C + C));
    CHECKF(e <= 1e-13, "%s: gradient error %.1e against the scalar tape", program_name[p], e);
    /* and against central differences */
    double gf[R * C + C], xp[R * C], vp[C];
    for (int j = 0; j < R * C + C; ++j) {
      double h = 1e-6;
      memcpy(xp, xv, sizeof xp), memcpy(vp, vv, sizeof vp);
      double *at = j < R * C ? &xp[j] : &vp[j - R * C], x0 = *at;
      *at = x0 + h;
      double fp = run_program(p, 1, xp, vp, NULL);
      *at = x0 - h;
      double fm = run_program(p, 1, xp, vp, NULL);
      gf[j] = (fp - fm) / (2 * h);
    }
    e = jd_rel_err(ga, gf, (size_t)(R * C + C));
    CHECKF(e <= 1e-6, "%s: gradient error %.1e against central differences", program_name[p], e);
  }
}

/* The non-finite policy of ad_ops.def across scalar and array statements: program q in array or scalar form at
 * x (4), y (4, y[1] = 0 where sqrt has an infinite partial); gradient into g (8).
 *  q 0: f = sum(X) + 0 * sum(sqrt(Y)): sqrt is reached with a zero adjoint: d/dy1 = 0 * Inf = NaN;
 *  q 1: f = sum(exp(X)) + sum(sin(X)) with an unused sqrt(y1) * y2 between them (an unreached infinite partial:
 *       the fast sweep hands over to the careful one there): d/dy = 0, no NaN;
 *  q 2: f = sum(X * g), g = sum(sqrt(Y)) * 0 broadcast: reached through an array op with zero adjoints. */
static void nonfinite_program(int q, int arr, double *g) {
  double xv[4] = {0.5, -1.0, 2.0, 0.25}, yv[4] = {1.0, 0.0, 4.0, 2.0};
  tape_t *t = tape_new();
  tape_var x[4], y[4], f;
  for (int i = 0; i < 4; ++i) x[i] = tape_input(t, xv[i]);
  for (int i = 0; i < 4; ++i) y[i] = tape_input(t, yv[i]);
  if (arr) {
    ad_arr X = ad_arr_stack(t, x, 4), Y = ad_arr_stack(t, y, 4);
    if (q == 0) f = ad_add_vv(t, ad_arr_sum(t, X), ad_mul_vc(t, ad_arr_sum(t, ad_arr_sqrt(t, Y)), 0.0));
    else if (q == 1) {
      tape_var a = ad_arr_sum(t, ad_arr_exp(t, X));
      tape_var unused = ad_mul_vv(t, ad_sqrt(t, y[1]), y[2]);
      (void)unused;
      f = ad_add_vv(t, a, ad_arr_sum(t, ad_arr_sin(t, X)));
    } else
      f = ad_arr_sum(t, ad_arr_mul_vv_bs(t, X, ad_mul_vc(t, ad_arr_sum(t, ad_arr_sqrt(t, Y)), 0.0)));
  } else {
    tape_var sx = x[0], sy = ad_sqrt(t, y[0]);
    for (int i = 1; i < 4; ++i) sx = ad_add_vv(t, sx, x[i]), sy = ad_add_vv(t, sy, ad_sqrt(t, y[i]));
    if (q == 0) f = ad_add_vv(t, sx, ad_mul_vc(t, sy, 0.0));
    else if (q == 1) {
      tape_var a = ad_exp(t, x[0]);
      for (int i = 1; i < 4; ++i) a = ad_add_vv(t, a, ad_exp(t, x[i]));
      tape_var unused = ad_mul_vv(t, ad_sqrt(t, y[1]), y[2]);
      (void)unused;
      tape_var b = ad_sin(t, x[0]);
      for (int i = 1; i < 4; ++i) b = ad_add_vv(t, b, ad_sin(t, x[i]));
      f = ad_add_vv(t, a, b);
    } else {
      tape_var k = ad_mul_vc(t, sy, 0.0);
      f = ad_mul_vv(t, x[0], k);
      for (int i = 1; i < 4; ++i) f = ad_add_vv(t, f, ad_mul_vv(t, x[i], k));
    }
  }
  f = tape_settle(t, f); /* the output one statement: reached as a whole (the non-finite policy) */
  CHECK(tape_status(t) == AD_OK);
  double *adj = tape_adjoints(t);
  tape_seed(t, f, 1.0);
  CHECK(tape_reverse(t) == AD_OK);
  for (int i = 0; i < 4; ++i) g[i] = adj[x[i].i], g[4 + i] = adj[y[i].i];
  tape_free(t);
}

static void test_nonfinite(void) {
  for (int q = 0; q < 3; ++q) {
    double ga[8], gs[8];
    nonfinite_program(q, 1, ga);
    nonfinite_program(q, 0, gs);
    for (int i = 0; i < 8; ++i)
      CHECKF((ga[i] != ga[i] && gs[i] != gs[i]) || fabs(ga[i] - gs[i]) <= 1e-14 * (1 + fabs(gs[i])),
             "non-finite program %d, entry %d: array %g, scalar %g", q, i, ga[i], gs[i]);
  }
  double g[8];
  nonfinite_program(0, 1, g);
  CHECK(g[0] == 1.0 && g[4] == 0.0 && g[5] != g[5]); /* (1, ..., 0, NaN, ...) */
  nonfinite_program(1, 1, g);
  CHECK(g[5] == 0.0 && g[6] == 0.0);
}

/* Ties in max share the gradient evenly (AmaxBackward0). */
static void test_max_ties(void) {
  tape_t *t = tape_new();
  tape_var x[4] = {tape_input(t, 2.0), tape_input(t, 5.0), tape_input(t, 5.0), tape_input(t, 1.0)};
  tape_var m = ad_arr_max(t, ad_arr_stack(t, x, 4));
  double *adj = tape_adjoints(t);
  tape_seed(t, m, 1.0);
  CHECK(tape_reverse(t) == AD_OK);
  CHECK(m.v == 5.0 && adj[x[0].i] == 0.0 && adj[x[1].i] == 0.5 && adj[x[2].i] == 0.5 && adj[x[3].i] == 0.0);
  tape_free(t);
}

/* One statement per array op, whatever the size; views and passive ops record nothing. */
static void test_one_statement(void) {
  tape_t *t = tape_new();
  tape_var x[100];
  for (int i = 0; i < 100; ++i) x[i] = tape_input(t, 0.01 * i);
  uint64_t before = tape_get_stats(t).statements;
  ad_arr X = ad_arr_stack(t, x, 100);                                  /* 1 */
  ad_arr Y = ad_arr_exp(t, ad_arr_slice(t, X, 10, 60));                /* 1: the slice is a view */
  ad_arr D = ad_arr_exp(t, ad_arr_data(t, (const double *)x, 10));     /* passive: 0 (x read as doubles) */
  (void)D;
  tape_var f = ad_arr_sum(t, ad_arr_mul_vc(t, Y, 2.0));                /* 2 */
  CHECKF(tape_get_stats(t).statements - before == 4, "statements %llu",
         (unsigned long long)(tape_get_stats(t).statements - before));
  double *adj = tape_adjoints(t);
  tape_seed(t, f, 1.0);
  CHECK(tape_reverse(t) == AD_OK);
  CHECK(adj[x[9].i] == 0.0 && adj[x[60].i] == 0.0);
  CHECK(adj[x[10].i] == 2.0 * ad_m_exp(x[10].v) && adj[x[59].i] == 2.0 * ad_m_exp(x[59].v));
  /* a second sweep gives the same (array adjoints start from zero each sweep) */
  tape_clear_adjoints(t);
  tape_seed(t, f, 1.0);
  CHECK(tape_reverse(t) == AD_OK);
  CHECK(adj[x[10].i] == 2.0 * ad_m_exp(x[10].v));
  /* reset forgets the arrays */
  tape_reset(t);
  CHECK(ad_arr_status(t) == AD_OK && tape_get_stats(t).statements == 0);
  /* shrink frees the array side; the next array op creates it again */
  tape_t *fresh = tape_new();
  uint64_t held = tape_get_stats(fresh).bytes_held;
  tape_free(fresh);
  tape_shrink(t);
  CHECKF(tape_get_stats(t).bytes_held == held, "bytes held after shrink: %llu, a new tape: %llu",
         (unsigned long long)tape_get_stats(t).bytes_held, (unsigned long long)held);
  x[0] = tape_input(t, 1.0);
  x[1] = tape_input(t, 2.0);
  f = ad_arr_sum(t, ad_arr_sqr(t, ad_arr_stack(t, x, 2)));
  adj = tape_adjoints(t);
  tape_seed(t, f, 1.0);
  CHECK(tape_reverse(t) == AD_OK && f.v == 5.0 && adj[x[0].i] == 2.0 && adj[x[1].i] == 4.0);
  /* the vector sweep and a sweep in pieces (checkpointing's) take scalar statements only: refused, not wrong */
  CHECK(tape_adjoints_lanes(t, 4) != NULL);
  CHECK(tape_reverse_lanes(t, 4) == AD_ESTATE);
  tape_cursor cur = tape_cursor_end(t);
  CHECK(tape_sweep_down(t, &cur, x[1].i) == AD_ESTATE);
  tape_free(t);
}

/* ---- bad input ---- */

static void expect_bad(tape_t *t, ad_arr r, ad_status want, const char *what) {
  CHECKF(r.shape.ndim == 0 && r.v == NULL, "%s: an invalid array", what);
  CHECKF(ad_arr_status(t) == want, "%s: status %s, want %s", what, ad_status_str(ad_arr_status(t)),
         ad_status_str(want));
  CHECKF(tape_status(t) == want, "%s: tape status %s", what, ad_status_str(tape_status(t)));
  tape_reset(t);
}

static void test_bad_input(void) {
  tape_t *t = tape_new();
  tape_var x[6];
  int32_t idx_lo[2] = {0, -1}, idx_hi[2] = {5, 6};
  double d[6] = {1, 2, 3, 4, 5, 6};
#define FRESH()                                                                                                \
  for (int i = 0; i < 6; ++i) x[i] = tape_input(t, 1.0 + i)
  FRESH();
  ad_arr X = ad_arr_stack(t, x, 6);
  expect_bad(t, ad_arr_add_vv(t, X, ad_arr_slice(t, X, 0, 4)), AD_EINVAL, "add of 6 and 4 elements");
  FRESH(); X = ad_arr_stack(t, x, 6);
  expect_bad(t, ad_arr_slice(t, X, 2, 7), AD_ERANGE, "slice past the end");
  FRESH(); X = ad_arr_stack(t, x, 6);
  expect_bad(t, ad_arr_slice(t, X, -1, 3), AD_ERANGE, "slice before the start");
  FRESH(); X = ad_arr_stack(t, x, 6);
  expect_bad(t, ad_arr_slice(t, X, 3, 3), AD_ERANGE, "empty slice");
  FRESH(); X = ad_arr_stack(t, x, 6);
  expect_bad(t, ad_arr_gather(t, X, idx_lo, 2), AD_ERANGE, "gather index -1");
  FRESH(); X = ad_arr_stack(t, x, 6);
  expect_bad(t, ad_arr_gather(t, X, idx_hi, 2), AD_ERANGE, "gather index 6 of 6");
  FRESH(); X = ad_arr_stack(t, x, 6);
  expect_bad(t, ad_arr_row(t, ad_arr_reshape(t, X, 2, 3), 2), AD_ERANGE, "row 2 of 2");
  FRESH(); X = ad_arr_stack(t, x, 6);
  expect_bad(t, ad_arr_reshape(t, X, 4, 2), AD_EINVAL, "reshape 6 to 4 x 2");
  FRESH(); X = ad_arr_stack(t, x, 6);
  expect_bad(t, ad_arr_sum_axis(t, ad_arr_reshape(t, X, 2, 3), 2), AD_ERANGE, "axis 2");
  FRESH(); X = ad_arr_stack(t, x, 6);
  expect_bad(t, ad_arr_sum_axis(t, X, 0), AD_EINVAL, "axis sum of a 1-D array");
  FRESH(); X = ad_arr_stack(t, x, 6);
  expect_bad(t, ad_arr_mv(t, ad_arr_reshape(t, X, 2, 3), 0, ad_arr_slice(t, X, 0, 2)), AD_EINVAL, "mv 2x3 by 2");
  FRESH(); X = ad_arr_stack(t, x, 6);
  expect_bad(t, ad_arr_mm(t, ad_arr_reshape(t, X, 2, 3), 0, ad_arr_reshape(t, X, 2, 3), 0), AD_EINVAL,
             "mm 2x3 by 2x3");
  FRESH();
  expect_bad(t, ad_arr_stack(t, x, 0), AD_EINVAL, "stack of 0");
  expect_bad(t, ad_arr_data(t, NULL, 3), AD_EINVAL, "data NULL");
  expect_bad(t, ad_arr_data(t, d, 0), AD_EINVAL, "data of 0");
  /* scalar results: a NaN constant and the status */
  FRESH(); X = ad_arr_stack(t, x, 6);
  tape_var g = ad_arr_get(t, X, 6);
  CHECK(g.v != g.v && g.i == 0 && ad_arr_status(t) == AD_ERANGE);
  tape_reset(t);
  FRESH(); X = ad_arr_stack(t, x, 6);
  g = ad_arr_dot(t, X, ad_arr_slice(t, X, 0, 5));
  CHECK(g.v != g.v && ad_arr_status(t) == AD_EINVAL);
  /* an error is sticky, later ops on invalid arrays stay invalid, and the reverse sweep refuses */
  ad_arr bad = ad_arr_slice(t, X, 0, 9);
  ad_arr still = ad_arr_exp(t, ad_arr_mul_vv(t, bad, X));
  CHECK(still.shape.ndim == 0 && ad_arr_status(t) == AD_EINVAL);
  tape_var s = ad_arr_sum(t, still);
  CHECK(s.v != s.v);
  tape_adjoints(t);
  CHECK(tape_reverse(t) == AD_ESTATE);
  tape_reset(t);
  CHECK(ad_arr_status(t) == AD_OK && tape_status(t) == AD_OK);
  tape_free(t);
#undef FRESH
}

/* Every allocation failing in turn while recording and sweeping an array program: a status, no crash, no leak. */
static void test_alloc_failure(void) {
  int failed = 0, ok = 0;
  for (long k = 0; k < 60; ++k) {
    int64_t base = ad_alloc_get_stats().bytes_now;
    ad_alloc_fail_after(k);
    tape_t *t = tape_new();
    if (t) {
      tape_var x[50];
      for (int i = 0; i < 50; ++i) x[i] = tape_input(t, 0.02 * i);
      ad_arr X = ad_arr_stack(t, x, 50);
      tape_var f = ad_arr_sum(t, ad_arr_mul_vv(t, ad_arr_exp(t, X), ad_arr_sin(t, X)));
      ad_status st = tape_status(t);
      double *adj = tape_adjoints(t);
      if (st == AD_OK && adj) {
        tape_seed(t, f, 1.0);
        st = tape_reverse(t);
      }
      if (st == AD_OK && adj) ++ok;
      else {
        ++failed;
        CHECKF(st == AD_ENOMEM || !adj || st == AD_ESTATE, "after %ld allocations: %s", k, ad_status_str(st));
      }
      tape_free(t);
    }
    ad_alloc_fail_after(-1);
    CHECKF(ad_alloc_get_stats().bytes_now == base, "after %ld allocations: leaked %lld bytes", k,
           (long long)(ad_alloc_get_stats().bytes_now - base));
  }
  CHECK(failed > 0 && ok > 0);
  /* the arena alone */
  ad_arena a;
  ad_arena_init(&a);
  ad_alloc_fail_after(0);
  CHECK(ad_arena_alloc(&a, 100) == NULL && a.status == AD_ENOMEM);
  ad_alloc_fail_after(-1);
  ad_arena_reset(&a);
  CHECK(a.status == AD_OK);
  CHECK(ad_arena_alloc(&a, (size_t)1 << 41) == NULL && a.status == AD_ERANGE);
  void *p = ad_arena_alloc(&a, 100), *q = ad_arena_alloc(&a, 1 << 20);
  CHECK(p && q && ((uintptr_t)p & 31) == 0 && ((uintptr_t)q & 31) == 0);
  ad_arena_reset(&a);
  CHECK(ad_arena_alloc(&a, 100) == p); /* reset keeps and reuses the chunks */
  ad_arena_free(&a);
}

/* ---- the kernels ---- */

static void test_kernels(void) {
  enum { M = 1003 };
  static double a[M], b[M], v[M], pa[M], pb[M];
  const char *variant = ad_kernels_variant();
  CHECK(strcmp(variant, "avx2") == 0 || strcmp(variant, "sse2") == 0 || strcmp(variant, "purec") == 0);
  for (size_t k = 0; k < sizeof op_cases / sizeof *op_cases; ++k) {
    const op_case *oc = &op_cases[k];
    ad_op op = (ad_op)k;
    int pos = (oc->facts & AD_POS_A) != 0;
    for (int i = 0; i < M; ++i) a[i] = operand(pos) * (i % 3 ? 1.0 : 4.0), b[i] = operand(0);
    if (oc->kind == AD_KIND_CV && pos) b[0] = fabs(b[0]);
    for (int bc = 0; bc < 3; ++bc) { /* 0: both arrays; 1: b broadcast; 2: a broadcast */
      size_t sa = bc == 2 ? 0 : 1, sb = bc == 1 ? 0 : 1;
      for (size_t n = 1; n <= M; n += n < 12 ? 1 : 497) { /* tails 1..11 and long runs */
        /* the bound kernel (what every engine calls) */
#define AD_OP(name, kind, torch, facts, pre, value, da, db)                                                    \
  if (op == AD_OP_##name) ad_k_##name(n, a, sa, b, sb, v, pa, pb);
#include "../engines/ad_ops.def"
#undef AD_OP
        int bad = 0;
        for (size_t i = 0; i < n && !bad; ++i) {
          double rv, ra, rb;
          ad_op_eval(op, a[i * sa], b[i * sb], &rv, &ra, &rb);
          if (oc->kind == AD_KIND_CV) pa[i] = 0.0; /* the rule writes 0 for a constant's partial */
          if (oc->kind != AD_KIND_VV && oc->kind != AD_KIND_CV) pb[i] = 0.0;
          bad = memcmp(&rv, &v[i], 8) || memcmp(&ra, &pa[i], 8) || memcmp(&rb, &pb[i], 8);
          if (bad && !(rv != rv && v[i] != v[i]))
            CHECKF(0, "kernel %s (%s) at n %zu, element %zu, a %.17g b %.17g: v %.17g/%.17g da %.17g/%.17g "
                   "db %.17g/%.17g", oc->name, variant, n, i, a[i * sa], b[i * sb], v[i], rv, pa[i], ra, pb[i], rb);
        }
        CHECKF(!bad || v[0] != v[0], "kernel %s", oc->name);
      }
    }
  }
  /* SLEEF's SSE2 builds give the bits of its non-FMA scalar builds (what the loader binds on CPUs without FMA) */
  long diff = 0;
  for (int i = 0; i < 100000; i += 2) {
    double x[2] = {urand(-30, 30), urand(-30, 30)}, y[2] = {urand(0.01, 5), urand(-3, 3)}, r[2];
    __m128d vx = _mm_loadu_pd(x), vy = _mm_loadu_pd(y);
#define SSE_CMP(vexpr, sexpr)                                                                                  \
  _mm_storeu_pd(r, vexpr);                                                                                     \
  for (int l = 0; l < 2; ++l) {                                                                                \
    double s = sexpr;                                                                                          \
    diff += memcmp(&s, &r[l], 8) != 0;                                                                         \
  }
    SSE_CMP(Sleef_expd2_u10sse2(vx), Sleef_expd1_u10purec(x[l]))
    SSE_CMP(Sleef_logd2_u10sse2(vy), Sleef_logd1_u10purec(y[l]))
    SSE_CMP(Sleef_tand2_u10sse2(vx), Sleef_tand1_u10purec(x[l]))
    SSE_CMP(Sleef_tanhd2_u10sse2(vx), Sleef_tanhd1_u10purec(x[l]))
    SSE_CMP(Sleef_powd2_u10sse2(vy, vx), Sleef_powd1_u10purec(y[l], x[l]))
    SSE_CMP(Sleef_sincosd2_u10sse2(vx).x, Sleef_sincosd1_u10purec(x[l]).x)
    SSE_CMP(Sleef_sincosd2_u10sse2(vx).y, Sleef_sincosd1_u10purec(x[l]).y)
  }
  CHECKF(diff == 0, "SLEEF sse2 against purec: %ld results differ", diff);
  /* and the test hook refuses what it cannot run */
  CHECK(ad_k_eval_variant(3, AD_OP_exp, 1, a, 1, b, 1, v, NULL, NULL) == 0);
  CHECK(ad_k_eval_variant(1, AD_OP_exp, 1, a, 1, b, 1, v, NULL, NULL) == 1);
}

int main(void) {
  test_kernels();
  test_elementwise();
  test_structural();
  test_max_ties();
  test_nonfinite();
  test_one_statement();
  test_bad_input();
  test_alloc_failure();
  printf("kernels: %s\n", ad_kernels_variant());
  return test_report("test_array");
}
