/* test_array_graph: the graph engine's native array nodes (graph/graph_array.h: one node per array op):
 *  - every op of ad_ops.def lifted elementwise, in every form (array op array, array op scalar node, scalar node
 *    op array, array op one-element array, data op array, array op constant, constant op array), sizes 1 .. 64,
 *    against the scalar graph running the same computation element by element: values bit-identical, gradients
 *    to 1e-13;
 *  - the programs of array_programs.inc (sums and maxima along axes, dot, mv, mm with every transpose, row, get,
 *    gather, mixed scalar and array code) against their scalar form;
 *  - random array programs (array_random.inc) against the tape (gradients to 1e-12) and the primal engine
 *    (values bit for bit);
 *  - PyTorch's rules on array nodes: grad_fn names, next_functions, leaves' grads accumulating, requires_grad
 *    and no_grad, freed saved tensors, retain_grad and hooks (scalar results) or their refusal (array results),
 *    release and reset;
 *  - memory: one node per op, bytes per element;
 *  - bad input (a clear status, an invalid array, nothing written out of bounds: run under ASan/UBSan), foreign
 *    arrays, every allocation failing in turn.
 */
#include <math.h>
#include <stdlib.h>

#include "../engines/graph/graph_array.h"
#include "array_rprog.h"
#include "testkit.h"

enum { N = 64, R = 3, C = 4 };

static uint64_t rng_s = 4242;
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

/* ---- every elementwise op, array against scalar ---- */

/* f = sum(W * op(A, B)) in scalar (pass 0) or array form (pass 1) at the same inputs; value and gradient. */
static void check_op(const op_case *oc, int form, int n) {
  int pos_a = (oc->facts & AD_POS_A) != 0;
  double xa[N], xb[N], w[N], d[N], sv = operand(0), ka = operand(pos_a), kb = operand(0);
  for (int i = 0; i < n; ++i) xa[i] = operand(pos_a), xb[i] = operand(0), w[i] = urand(-1, 1), d[i] = operand(pos_a);
  if (form == F_AS && pos_a) sv = fabs(sv);
  double f[2], g[2][2 * N + 1];
  for (int pass = 0; pass < 2; ++pass) {
    graph_ctx *c = graph_new();
    graph_node *A[N], *B[N], *S, *y;
    for (int i = 0; i < n; ++i) A[i] = graph_leaf(c, xa[i], 1);
    for (int i = 0; i < n; ++i) B[i] = graph_leaf(c, xb[i], 1);
    S = graph_leaf(c, sv, 1);
    if (pass == 0) {
      y = NULL;
      for (int i = 0; i < n; ++i) {
        graph_node *a = A[i], *b = B[i];
        if (form == F_BS) b = S;
        if (form == F_AS) a = S;
        if (form == F_BCAST) b = B[0];
        if (form == F_DATA) a = ad_const(c, d[i]);
        graph_node *z = ad_mul_vc(c, oc->s(c, a, b, ka, kb), w[i]);
        y = i ? ad_add_vv(c, y, z) : z;
      }
    } else {
      ad_arr XA = ad_arr_stack(c, A, n), XB = ad_arr_stack(c, B, n), Z;
      if (form == F_BS) Z = oc->bs(c, XA, S);
      else if (form == F_AS) Z = oc->as(c, S, XB);
      else if (form == F_BCAST) Z = oc->a(c, XA, ad_arr_slice(c, XB, 0, 1), ka, kb);
      else if (form == F_DATA) Z = oc->a(c, ad_arr_data(c, d, n), XB, ka, kb);
      else Z = oc->a(c, XA, XB, ka, kb);
      y = ad_arr_sum(c, ad_arr_mul_vv(c, Z, ad_arr_data(c, w, n)));
      CHECKF(ad_arr_status(c) == AD_OK, "%s form %d: %s", oc->name, form, ad_status_str(ad_arr_status(c)));
      CHECKF(graph_grad_fn_name(y) && strcmp(graph_grad_fn_name(y), "SumBackward0") == 0, "%s", oc->name);
    }
    f[pass] = graph_value(y);
    CHECK(graph_backward(c, y, 1.0, 0) == AD_OK);
    for (int i = 0; i < n; ++i) graph_grad(c, A[i], &g[pass][i]), graph_grad(c, B[i], &g[pass][n + i]);
    graph_grad(c, S, &g[pass][2 * n]);
    graph_free(c);
  }
  CHECKF(memcmp(&f[0], &f[1], sizeof f[0]) == 0, "%s form %d n %d: value %.17g, scalar %.17g", oc->name, form, n,
         f[1], f[0]);
  double e = jd_rel_err(g[1], g[0], (size_t)(2 * n + 1));
  CHECKF(e <= 1e-13, "%s form %d n %d: gradient error %.1e against the scalar graph", oc->name, form, n, e);
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

/* ---- the structural programs, array against scalar ---- */

static double run_program(int p, int arr, const double *xv, const double *vv, double *g) {
  graph_ctx *c = graph_new();
  graph_node *x[R * C], *v[C];
  for (int i = 0; i < R * C; ++i) x[i] = graph_leaf(c, xv[i], 1);
  for (int i = 0; i < C; ++i) v[i] = graph_leaf(c, vv[i], 1);
  graph_node *f = program(c, p, arr, x, v);
  CHECKF(ad_arr_status(c) == AD_OK, "%s: %s", program_name[p], ad_status_str(ad_arr_status(c)));
  CHECK(graph_backward(c, f, 1.0, 0) == AD_OK);
  for (int i = 0; i < R * C; ++i) graph_grad(c, x[i], &g[i]);
  for (int i = 0; i < C; ++i) graph_grad(c, v[i], &g[R * C + i]);
  double fv = graph_value(f);
  graph_free(c);
  return fv;
}

static void test_programs(void) {
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
    CHECKF(e <= 1e-13, "%s: gradient error %.1e against the scalar graph", program_name[p], e);
  }
}

/* ---- random array programs against the tape and the primal engine ---- */

static void test_random_programs(void) {
  for (uint64_t seed = 1; seed <= 300; ++seed) {
    int n = rprog_inputs(seed);
    double x[RP_MAXN_INPUTS], gg[RP_MAXN_INPUTS], gt[RP_MAXN_INPUTS], fg, ft, fp;
    for (int i = 0; i < n; ++i) x[i] = urand(-1.2, 1.2);
    ad_status sg = rprog_graph(seed, x, &fg, gg), st = rprog_tape(seed, x, &ft, gt), sp = rprog_primal(seed, x, &fp);
    CHECKF(sg == AD_OK && st == AD_OK && sp == AD_OK, "program %llu: graph %s, tape %s, primal %s",
           (unsigned long long)seed, ad_status_str(sg), ad_status_str(st), ad_status_str(sp));
    CHECKF(memcmp(&fg, &fp, sizeof fg) == 0 && memcmp(&ft, &fp, sizeof ft) == 0,
           "program %llu: values graph %.17g, tape %.17g, primal %.17g", (unsigned long long)seed, fg, ft, fp);
    double e = jd_rel_err(gg, gt, (size_t)n);
    CHECKF(e <= 1e-12, "program %llu (%d inputs): gradient error %.1e against the tape", (unsigned long long)seed, n, e);
  }
}

/* ---- PyTorch's rules on array nodes ---- */

static double double_it(void *user, graph_node *n, double g) {
  (void)n;
  ++*(int *)user;
  return 2.0 * g;
}

static void test_semantics(void) {
  graph_ctx *c = graph_new();
  graph_node *x[6];
  for (int i = 0; i < 6; ++i) x[i] = graph_leaf(c, 0.5 + 0.25 * i, 1);
  graph_node *k = graph_leaf(c, 3.0, 0); /* does not require grad */
  ad_arr X = ad_arr_stack(c, x, 6);
  ad_arr M = ad_arr_reshape(c, X, 2, 3);
  ad_arr S = ad_arr_sin(c, X);
  ad_arr P = ad_arr_mul_vv(c, S, X);
  ad_arr V = ad_arr_mv(c, M, 0, ad_arr_slice(c, X, 0, 3));
  ad_arr MM = ad_arr_mm(c, M, 0, M, 1);
  graph_node *sum = ad_arr_sum(c, P), *dot = ad_arr_dot(c, V, ad_arr_slice(c, X, 2, 4));
  graph_node *mx = ad_arr_max(c, ad_arr_sum_axis(c, MM, 0)), *el = ad_arr_get(c, ad_arr_gather(c, X, (const int32_t[]){5, 1}, 2), 0);
  CHECK_STR(graph_grad_fn_name(X.node), "StackBackward0");
  CHECK_STR(graph_grad_fn_name(M.node), "ViewBackward0");
  CHECK_STR(graph_grad_fn_name(S.node), "SinBackward0");
  CHECK_STR(graph_grad_fn_name(P.node), "MulBackward0");
  CHECK_STR(graph_grad_fn_name(V.node), "MvBackward0");
  CHECK_STR(graph_grad_fn_name(MM.node), "MmBackward0");
  CHECK_STR(graph_grad_fn_name(sum), "SumBackward0");
  CHECK_STR(graph_grad_fn_name(dot), "DotBackward0");
  CHECK_STR(graph_grad_fn_name(mx), "AmaxBackward0");
  CHECK_STR(graph_grad_fn_name(el), "SelectBackward0");
  CHECK_STR(graph_grad_fn_name(ad_arr_slice(c, X, 1, 2).node), "SliceBackward0");
  CHECK(graph_arr_is_array_node(X.node) && graph_arr_is_array_node(V.node) && !graph_arr_is_array_node(sum) &&
        !graph_arr_is_array_node(x[0]) && !graph_arr_is_array_node(NULL));
  CHECK(!graph_is_leaf(X.node) && graph_requires_grad(X.node) && !graph_is_leaf(sum) && graph_requires_grad(sum));
  /* next_functions: the stack lists every element (AccumulateGrad), graph_next_functions the first two */
  graph_edge e[8];
  int cnt = 0;
  CHECK(graph_arr_next_functions(c, X.node, e, 8, &cnt) == AD_OK && cnt == 6);
  CHECK_STR(e[5].name, "AccumulateGrad");
  CHECK(e[5].node == x[5]);
  CHECK(graph_next_functions(c, X.node, e, &cnt) == AD_OK && cnt == 2 && e[1].node == x[1]);
  CHECK(graph_arr_next_functions(c, P.node, e, 8, &cnt) == AD_OK && cnt == 2);
  CHECK_STR(e[0].name, "SinBackward0");
  CHECK_STR(e[1].name, "StackBackward0");
  /* elementwise ops with a constant: as for scalar nodes (x * 2: two entries, the constant's None; 1 - x: one) */
  CHECK(graph_arr_next_functions(c, ad_arr_mul_vc(c, X, 2.0).node, e, 8, &cnt) == AD_OK && cnt == 2 && e[1].node == NULL);
  CHECK_STR(e[0].name, "StackBackward0");
  CHECK(graph_arr_next_functions(c, ad_arr_sub_cv(c, 1.0, S).node, e, 8, &cnt) == AD_OK && cnt == 1);
  CHECK_STR(e[0].name, "SinBackward0");
  CHECK(graph_arr_next_functions(c, sum, e, 1, &cnt) == AD_OK && cnt == 1);
  CHECK_STR(e[0].name, "MulBackward0");
  CHECK(graph_arr_next_functions(c, x[0], e, 8, &cnt) == AD_OK && cnt == 0);
  CHECK(graph_arr_next_functions(c, ad_add_vv(c, x[0], x[1]), e, 8, &cnt) == AD_OK && cnt == 2);
  CHECK(graph_arr_next_functions(c, NULL, e, 8, &cnt) == AD_EINVAL);
  /* an operand that does not require grad: None; an op of such operands only: passive */
  ad_arr Kx = ad_arr_mul_vv_bs(c, X, k);
  CHECK(graph_arr_next_functions(c, Kx.node, e, 8, &cnt) == AD_OK && cnt == 2 && e[1].name == NULL && e[1].node == NULL);
  graph_node *kk[2] = {k, k};
  ad_arr K = ad_arr_exp(c, ad_arr_stack(c, kk, 2));
  CHECK(K.node == NULL && K.v[0] == exp(3.0));
  CHECK(!graph_requires_grad(ad_arr_sum(c, K)));
  /* no_grad: nothing recorded */
  graph_no_grad_begin(c);
  ad_arr Q = ad_arr_exp(c, X);
  graph_node *qs = ad_arr_sum(c, Q);
  graph_no_grad_end(c);
  CHECK(Q.node == NULL && !graph_requires_grad(qs) && graph_is_leaf(qs));
  /* retain_grad and hooks: scalar results yes, array results refused */
  CHECK(graph_retain_grad(c, S.node) == AD_EINVAL && graph_register_hook(c, S.node, double_it, NULL) == AD_EINVAL);
  CHECK(strstr(graph_last_error(c), "array") != NULL);
  graph_node *f = ad_add_vv(c, ad_add_vv(c, sum, dot), ad_add_vv(c, mx, el));
  int calls = 0;
  CHECK(graph_retain_grad(c, sum) == AD_OK && graph_register_hook(c, dot, double_it, &calls) == AD_OK);
  /* backward with retain_graph twice: leaves' grads accumulate (2x the single pass) */
  CHECK(graph_backward(c, f, 1.0, 1) == AD_OK);
  double g1[6], g2[6], gs;
  for (int i = 0; i < 6; ++i) graph_grad(c, x[i], &g1[i]);
  CHECK(graph_grad(c, sum, &gs) && gs == 1.0 && calls == 1);
  CHECK(graph_backward(c, f, 1.0, 1) == AD_OK);
  for (int i = 0; i < 6; ++i) {
    graph_grad(c, x[i], &g2[i]);
    CHECKF(g2[i] == 2.0 * g1[i], "x[%d]: grad %.17g after two passes, %.17g after one", i, g2[i], g1[i]);
  }
  /* without retain_graph: a second pass through saved tensors fails, nothing changes */
  for (int i = 0; i < 6; ++i) graph_zero_grad(c, x[i], 1);
  CHECK(graph_backward(c, f, 1.0, 0) == AD_OK);
  CHECK(graph_backward(c, f, 1.0, 0) == AD_EFREED);
  CHECK(graph_backward(c, ad_arr_sum(c, X), 1.0, 0) == AD_OK); /* stack and sum save nothing */
  graph_node *again = ad_arr_sum(c, ad_arr_add_vc(c, ad_arr_slice(c, X, 0, 2), 1.0));
  CHECK(graph_backward(c, again, 1.0, 0) == AD_OK && graph_backward(c, again, 1.0, 0) == AD_OK);
  CHECK(graph_backward(c, ad_arr_sum(c, P), 1.0, 0) == AD_EFREED); /* through MulBackward0, freed */
  /* DOT output: array nodes are drawn with their first two inputs */
  FILE *dev = tmpfile();
  if (dev) {
    CHECK(graph_write_dot(c, again, dev) == AD_OK);
    fclose(dev);
  }
  /* stats: edges of array nodes counted, arena bytes in bytes_used */
  graph_stats st = graph_get_stats(c);
  CHECK(st.bytes_used > st.nodes * sizeof(graph_node) && st.bytes_held >= st.bytes_used && st.edges >= st.nodes / 2);
  /* release: array records after the mark go; with none left the arena is reset */
  graph_reset(c);
  for (int i = 0; i < 6; ++i) x[i] = graph_leaf(c, 0.5 + 0.25 * i, 1);
  graph_mark_t mark = graph_mark(c);
  uint64_t base = graph_get_stats(c).bytes_used;
  for (int it = 0; it < 3; ++it) {
    graph_node *y = ad_arr_sum(c, ad_arr_sqr(c, ad_arr_stack(c, x, 6)));
    CHECK(graph_backward(c, y, 1.0, 0) == AD_OK);
    double g;
    graph_grad(c, x[3], &g);
    CHECKF(g == 2.0 * (it + 1) * graph_value(x[3]), "iteration %d: grad %.17g", it, g);
    CHECK(graph_release(c, mark) == AD_OK);
    CHECK(graph_get_stats(c).bytes_used == base);
  }
  graph_free(c);
}

/* ---- memory: one node per op, bytes per element ---- */

static void test_memory(void) {
  enum { M = 100000 };
  graph_ctx *c = graph_new();
  static graph_node *x[M];
  for (int i = 0; i < M; ++i) x[i] = graph_leaf(c, 0.5 + 1e-5 * i, 1);
  graph_stats before = graph_get_stats(c);
  /* rosenbrock in tensor form */
  ad_arr X = ad_arr_stack(c, x, M);
  ad_arr x0 = ad_arr_slice(c, X, 0, M - 1), x1 = ad_arr_slice(c, X, 1, M);
  ad_arr t = ad_arr_sub_cv(c, 1.0, x0), u = ad_arr_sub_vv(c, x1, ad_arr_sqr(c, x0));
  graph_node *f = ad_arr_sum(c, ad_arr_add_vv(c, ad_arr_sqr(c, t), ad_arr_mul_vc(c, ad_arr_sqr(c, u), 100.0)));
  CHECK(graph_backward(c, f, 1.0, 1) == AD_OK);
  graph_stats after = graph_get_stats(c);
  CHECKF(after.nodes - before.nodes == 11, "nodes %llu", (unsigned long long)(after.nodes - before.nodes));
  double per = (double)(after.bytes_used - before.bytes_used) / M;
  /* stack ids 4, values 8 x 8, gradient buffers 4 x 8 (shared: 8 array results), no partial arrays */
  CHECKF(per < 110.0, "bytes per element %.1f", per);
  double g;
  graph_grad(c, x[M / 2], &g);
  double a = graph_value(x[M / 2 - 1]), b = graph_value(x[M / 2]), cc = graph_value(x[M / 2 + 1]);
  double want = 200.0 * (b - a * a) + (-2.0 * (1.0 - b) - 400.0 * b * (cc - b * b));
  CHECKF(fabs(g - want) <= 1e-12 * fabs(want), "rosenbrock gradient %.17g, by hand %.17g", g, want);
  graph_free(c);
}

/* ---- bad input ---- */

static void expect_bad(graph_ctx *c, ad_arr r, ad_status want, const char *what) {
  CHECKF(r.shape.ndim == 0 && r.v == NULL && r.node == NULL, "%s: an invalid array", what);
  CHECKF(ad_arr_status(c) == want, "%s: status %s, want %s", what, ad_status_str(ad_arr_status(c)),
         ad_status_str(want));
  graph_reset(c);
}

static void test_bad_input(void) {
  graph_ctx *c = graph_new(), *other = graph_new();
  graph_node *x[6];
  int32_t idx_lo[2] = {0, -1}, idx_hi[2] = {5, 6};
  double d[6] = {1, 2, 3, 4, 5, 6};
  ad_arr X;
#define FRESH()                                                                                                \
  do {                                                                                                         \
    for (int i = 0; i < 6; ++i) x[i] = graph_leaf(c, 1.0 + i, 1);                                             \
    X = ad_arr_stack(c, x, 6);                                                                                 \
  } while (0)
  FRESH();
  expect_bad(c, ad_arr_add_vv(c, X, ad_arr_slice(c, X, 0, 4)), AD_EINVAL, "add of 6 and 4 elements");
  FRESH();
  expect_bad(c, ad_arr_slice(c, X, 2, 7), AD_ERANGE, "slice past the end");
  FRESH();
  expect_bad(c, ad_arr_slice(c, X, -1, 3), AD_ERANGE, "slice before the start");
  FRESH();
  expect_bad(c, ad_arr_slice(c, X, 3, 3), AD_ERANGE, "empty slice");
  FRESH();
  expect_bad(c, ad_arr_gather(c, X, idx_lo, 2), AD_ERANGE, "gather index -1");
  FRESH();
  expect_bad(c, ad_arr_gather(c, X, idx_hi, 2), AD_ERANGE, "gather index 6 of 6");
  FRESH();
  expect_bad(c, ad_arr_row(c, ad_arr_reshape(c, X, 2, 3), 2), AD_ERANGE, "row 2 of 2");
  FRESH();
  expect_bad(c, ad_arr_reshape(c, X, 4, 2), AD_EINVAL, "reshape 6 to 4 x 2");
  FRESH();
  expect_bad(c, ad_arr_sum_axis(c, ad_arr_reshape(c, X, 2, 3), 2), AD_ERANGE, "axis 2");
  FRESH();
  expect_bad(c, ad_arr_max_axis(c, X, 0), AD_EINVAL, "axis max of a 1-D array");
  FRESH();
  expect_bad(c, ad_arr_mv(c, ad_arr_reshape(c, X, 2, 3), 0, ad_arr_slice(c, X, 0, 2)), AD_EINVAL, "mv 2x3 by 2");
  FRESH();
  expect_bad(c, ad_arr_mm(c, ad_arr_reshape(c, X, 2, 3), 0, ad_arr_reshape(c, X, 2, 3), 0), AD_EINVAL,
             "mm 2x3 by 2x3");
  FRESH();
  expect_bad(c, ad_arr_stack(c, x, 0), AD_EINVAL, "stack of 0");
  expect_bad(c, ad_arr_data(c, NULL, 3), AD_EINVAL, "data NULL");
  expect_bad(c, ad_arr_data(c, d, 0), AD_EINVAL, "data of 0");
  /* scalar results: a NaN constant and the status */
  FRESH();
  graph_node *g = ad_arr_get(c, X, 6);
  CHECK(g->value != g->value && !graph_requires_grad(g) && ad_arr_status(c) == AD_ERANGE);
  graph_reset(c);
  FRESH();
  g = ad_arr_dot(c, X, ad_arr_slice(c, X, 0, 5));
  CHECK(g->value != g->value && ad_arr_status(c) == AD_EINVAL);
  /* sticky; ops on invalid arrays stay invalid */
  ad_arr still = ad_arr_exp(c, ad_arr_mul_vv(c, ad_arr_slice(c, X, 0, 9), X));
  CHECK(still.shape.ndim == 0 && ad_arr_status(c) == AD_EINVAL);
  graph_node *s = ad_arr_sum(c, still);
  CHECK(s->value != s->value);
  graph_reset(c);
  CHECK(ad_arr_status(c) == AD_OK);
  /* an array of another context: refused as foreign nodes are */
  graph_node *o[2] = {graph_leaf(other, 1.0, 1), graph_leaf(other, 2.0, 1)};
  ad_arr OX = ad_arr_stack(other, o, 2);
  FRESH();
  ad_arr mixed = ad_arr_add_vv(c, ad_arr_slice(c, X, 0, 2), OX);
  CHECK(mixed.shape.ndim == 0 && graph_status(c) == AD_EFOREIGN);
  graph_reset(c);
  FRESH();
  CHECK(ad_arr_stack(c, o, 2).shape.ndim == 0 && graph_status(c) == AD_EFOREIGN);
  graph_free(c);
  graph_free(other);
#undef FRESH
}

/* Every allocation failing in turn while recording and in backward: a status, no crash, no leak. */
static void test_alloc_failure(void) {
  int failed = 0, ok = 0;
  for (long k = 0; k < 60; ++k) {
    int64_t base = ad_alloc_get_stats().bytes_now;
    ad_alloc_fail_after(k);
    graph_ctx *c = graph_new();
    if (c) {
      graph_node *x[50];
      for (int i = 0; i < 50; ++i) x[i] = graph_leaf(c, 0.02 * i, 1);
      ad_arr X = ad_arr_stack(c, x, 50);
      graph_node *f = ad_arr_sum(c, ad_arr_mul_vv(c, ad_arr_exp(c, X), ad_arr_sin(c, X)));
      ad_status st = ad_arr_status(c);
      if (st == AD_OK) st = graph_backward(c, f, 1.0, 0);
      if (st == AD_OK) ++ok;
      else {
        ++failed;
        CHECKF(st == AD_ENOMEM, "after %ld allocations: %s", k, ad_status_str(st));
      }
      graph_free(c);
    }
    ad_alloc_fail_after(-1);
    CHECKF(ad_alloc_get_stats().bytes_now == base, "after %ld allocations: leaked %lld bytes", k,
           (long long)(ad_alloc_get_stats().bytes_now - base));
  }
  CHECK(failed > 0 && ok > 0);
  /* backward that cannot allocate its gradient arrays fails, changes nothing, and works once memory is back
   * (whether the arrays need a new chunk of the arena depends on the size: several sizes) */
  int refused = 0;
  static graph_node *x[20000];
  for (int n = 500; n <= 20000; n += 500) {
    graph_ctx *c = graph_new();
    for (int i = 0; i < n; ++i) x[i] = graph_leaf(c, 0.001 * i, 1);
    graph_node *f = ad_arr_sum(c, ad_arr_exp(c, ad_arr_stack(c, x, n)));
    ad_alloc_fail_after(0);
    ad_status st = graph_backward(c, f, 1.0, 0);
    ad_alloc_fail_after(-1);
    double g;
    int has = graph_grad(c, x[7], &g);
    if (st != AD_OK) {
      refused++;
      CHECKF(st == AD_ENOMEM && !has && ad_arr_status(c) == AD_OK, "n %d: backward %s, grad %d, arrays %s", n,
             ad_status_str(st), has, ad_status_str(ad_arr_status(c)));
      st = graph_backward(c, f, 1.0, 0);
      has = graph_grad(c, x[7], &g);
    }
    CHECKF(st == AD_OK && has && g == ad_m_exp(0.007), "n %d: backward %s, grad %d: %.17g", n, ad_status_str(st), has, g);
    graph_free(c);
  }
  CHECK(refused > 0);
}

int main(void) {
  test_elementwise();
  test_programs();
  test_random_programs();
  test_semantics();
  test_memory();
  test_bad_input();
  test_alloc_failure();
  return test_report("test_array_graph");
}
