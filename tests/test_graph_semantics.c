/* test_graph_semantics: the graph engine reproduces PyTorch's autograd rules for scalars (graph.h): leaves and
 * requires_grad, grad_fn names and next_functions, backward's seeding and accumulation, retain_grad,
 * retain_graph and its two error cases, no_grad, detach, requires_grad_, zero_grad, hooks, NULL handles.
 * Gradients are checked against hand-derived formulas or central finite differences, never against the engine. */
#include <stdint.h>

#include "graph/graph_ops.h"
#include "testkit.h"

/* The seed graph y = (x + w) * (w + 1), with a = x + w retained. */
typedef struct seed {
  graph_node *w, *x, *a, *b, *y;
} seed;

static seed build_seed(graph_ctx *g, double wv, double xv) {
  seed s;
  s.w = graph_leaf(g, wv, 1);
  s.x = graph_leaf(g, xv, 1);
  s.a = ad_add_vv(g, s.x, s.w);
  s.b = ad_add_vc(g, s.w, 1.0);
  s.y = ad_mul_vv(g, s.a, s.b);
  return s;
}

static double grad_of(graph_ctx *g, graph_node *n) {
  double d = -12345.0;
  return graph_grad(g, n, &d) ? d : NAN;
}

static int has_grad(graph_ctx *g, graph_node *n) { return graph_grad(g, n, NULL); }

static void test_seed_graph(void) {
  graph_ctx *g = graph_new();
  const double wv = 1.0, xv = 2.0;
  seed s = build_seed(g, wv, xv);
  CHECK(graph_status(g) == AD_OK);
  CHECK(graph_retain_grad(g, s.a) == AD_OK);

  /* is_leaf: True True False False False; everything requires grad. */
  CHECK(graph_is_leaf(s.w) && graph_is_leaf(s.x));
  CHECK(!graph_is_leaf(s.a) && !graph_is_leaf(s.b) && !graph_is_leaf(s.y));
  CHECK(graph_requires_grad(s.w) && graph_requires_grad(s.x) && graph_requires_grad(s.a));
  CHECK(graph_requires_grad(s.b) && graph_requires_grad(s.y));
  CHECK(graph_value(s.y) == (xv + wv) * (wv + 1.0));

  /* grad_fn: None None <AddBackward0> <AddBackward0> <MulBackward0> */
  CHECK_STR(graph_grad_fn_name(s.w), NULL);
  CHECK_STR(graph_grad_fn_name(s.x), NULL);
  CHECK_STR(graph_grad_fn_name(s.a), "AddBackward0");
  CHECK_STR(graph_grad_fn_name(s.b), "AddBackward0");
  CHECK_STR(graph_grad_fn_name(s.y), "MulBackward0");

  /* next_functions, exactly as PyTorch lists them. */
  graph_edge e[2];
  int n = -1;
  CHECK(graph_next_functions(g, s.y, e, &n) == AD_OK && n == 2);
  CHECK_STR(e[0].name, "AddBackward0");
  CHECK(e[0].node == s.a);
  CHECK_STR(e[1].name, "AddBackward0");
  CHECK(e[1].node == s.b);
  CHECK(graph_next_functions(g, s.a, e, &n) == AD_OK && n == 2);
  CHECK_STR(e[0].name, "AccumulateGrad");
  CHECK(e[0].node == s.x);
  CHECK_STR(e[1].name, "AccumulateGrad");
  CHECK(e[1].node == s.w);
  CHECK(graph_next_functions(g, s.b, e, &n) == AD_OK && n == 2); /* w + 1: the 1 is a tensor without grad */
  CHECK_STR(e[0].name, "AccumulateGrad");
  CHECK(e[0].node == s.w);
  CHECK_STR(e[1].name, NULL);
  CHECK(e[1].node == NULL);
  CHECK(graph_next_functions(g, s.w, e, &n) == AD_OK && n == 0); /* a leaf has no grad_fn */

  /* Before backward every grad is None. */
  CHECK(!has_grad(g, s.w) && !has_grad(g, s.x) && !has_grad(g, s.a));

  /* grad: 5 2 2 None None, from dy/dw = (w + 1) + (x + w), dy/dx = w + 1, dy/da = b. */
  CHECK(graph_backward(g, s.y, 1.0, 0) == AD_OK);
  CHECK_NEAR(grad_of(g, s.w), (wv + 1.0) + (xv + wv), 0);
  CHECK_NEAR(grad_of(g, s.x), wv + 1.0, 0);
  CHECK_NEAR(grad_of(g, s.a), wv + 1.0, 0);
  CHECK(!has_grad(g, s.b)); /* not retained: None, though its gradient was a = 3 */
  CHECK(!has_grad(g, s.y));
  graph_free(g);
}

/* Leaves (and retained non-leaves) accumulate over backward calls until zeroed. */
static void test_accumulation(void) {
  graph_ctx *g = graph_new();
  const double wv = 0.5, xv = -1.25;
  seed s = build_seed(g, wv, xv);
  const double gw = (wv + 1.0) + (xv + wv), gx = wv + 1.0;
  CHECK(graph_retain_grad(g, s.a) == AD_OK);
  CHECK(graph_backward(g, s.y, 1.0, 1) == AD_OK);
  CHECK(graph_backward(g, s.y, 1.0, 1) == AD_OK);
  CHECK_NEAR(grad_of(g, s.w), 2 * gw, 1e-15);
  CHECK_NEAR(grad_of(g, s.x), 2 * gx, 1e-15);
  CHECK_NEAR(grad_of(g, s.a), 2 * (wv + 1.0), 1e-15);
  /* A given seed gradient scales the whole pass. */
  CHECK(graph_backward(g, s.y, 2.5, 1) == AD_OK);
  CHECK_NEAR(grad_of(g, s.w), 4.5 * gw, 1e-15);
  /* zero_grad: zero_() keeps a defined 0, set_to_none makes it None. */
  CHECK(graph_zero_grad(g, s.w, 0) == AD_OK);
  CHECK(has_grad(g, s.w) && grad_of(g, s.w) == 0.0);
  CHECK(graph_zero_grad(g, s.x, 1) == AD_OK);
  CHECK(!has_grad(g, s.x));
  CHECK(graph_zero_grad(g, s.a, 1) == AD_OK);
  CHECK(!has_grad(g, s.a));
  CHECK(graph_zero_grad(g, s.b, 0) == AD_OK); /* nothing to zero */
  CHECK(graph_backward(g, s.y, 1.0, 0) == AD_OK);
  CHECK_NEAR(grad_of(g, s.w), gw, 1e-15);
  CHECK_NEAR(grad_of(g, s.x), gx, 1e-15);
  CHECK_NEAR(grad_of(g, s.a), wv + 1.0, 1e-15);
  graph_free(g);
}

/* Without retain_graph the saved values are freed: a second backward fails, says so, and changes nothing. */
static void test_second_backward_fails(void) {
  graph_ctx *g = graph_new();
  seed s = build_seed(g, 1.0, 2.0);
  CHECK(graph_retain_grad(g, s.a) == AD_OK);
  CHECK(graph_backward(g, s.y, 1.0, 0) == AD_OK);
  CHECK(graph_backward(g, s.y, 1.0, 0) == AD_EFREED);
  CHECK(strstr(graph_last_error(g), "Trying to backward through the graph a second time") != NULL);
  CHECK(strstr(graph_last_error(g), "Specify retain_graph=True") != NULL);
  CHECK(grad_of(g, s.w) == 5.0 && grad_of(g, s.x) == 2.0 && grad_of(g, s.a) == 2.0);
  CHECK(graph_backward(g, s.y, 1.0, 1) == AD_EFREED); /* retain_graph now does not bring them back */
  CHECK(grad_of(g, s.w) == 5.0);
  /* The subgraph a = x + w saved nothing (AddBackward0): it can still be run, as in PyTorch. */
  CHECK(graph_backward(g, s.a, 1.0, 0) == AD_OK);
  CHECK(grad_of(g, s.w) == 6.0 && grad_of(g, s.x) == 3.0 && grad_of(g, s.a) == 3.0);

  /* A graph that reaches a freed grad_fn only through add nodes fails too; a disjoint one does not. */
  graph_node *x = graph_leaf(g, 3.0, 1), *w = graph_leaf(g, 4.0, 1);
  graph_node *m = ad_mul_vv(g, x, w);          /* MulBackward0 saves x and w */
  graph_node *top = ad_add_vv(g, m, x);        /* AddBackward0 saves nothing */
  graph_node *other = ad_sin(g, w);
  CHECK(graph_backward(g, m, 1.0, 0) == AD_OK); /* frees m's saved values */
  CHECK(grad_of(g, x) == 4.0 && grad_of(g, w) == 3.0);
  CHECK(graph_backward(g, top, 1.0, 0) == AD_EFREED);
  CHECK(grad_of(g, x) == 4.0 && grad_of(g, w) == 3.0); /* unchanged: not even the x edge of top ran */
  CHECK(graph_backward(g, other, 1.0, 0) == AD_OK);
  CHECK_NEAR(grad_of(g, w), 3.0 + cos(4.0), 1e-15);
  graph_free(g);
}

/* An add/sub/neg/rsub graph saves nothing: it can be run again without retain_graph, accumulating. */
static void test_no_saved_values(void) {
  graph_ctx *g = graph_new();
  graph_node *x = graph_leaf(g, 2.0, 1), *w = graph_leaf(g, -3.0, 1);
  graph_node *y = ad_sub_cv(g, 1.0, ad_neg(g, ad_sub_vc(g, ad_add_vv(g, ad_sub_vv(g, x, w), x), 4.0)));
  /* y = 1 - (-((x - w) + x - 4)) = 2x - w - 3: dy/dx = 2, dy/dw = -1 */
  CHECK(graph_value(y) == 2 * 2.0 - (-3.0) - 3.0);
  CHECK(graph_backward(g, y, 1.0, 0) == AD_OK);
  CHECK(graph_backward(g, y, 1.0, 0) == AD_OK);
  CHECK(grad_of(g, x) == 4.0 && grad_of(g, w) == -2.0);
  graph_free(g);
}

/* Backward from a node that does not require grad fails with PyTorch's message and changes nothing. */
static void test_backward_without_grad(void) {
  graph_ctx *g = graph_new();
  graph_node *c = graph_leaf(g, 3.0, 0);
  graph_node *d = ad_mul_vc(g, c, 2.0);
  CHECK(graph_is_leaf(d) && !graph_requires_grad(d) && graph_grad_fn_name(d) == NULL);
  CHECK(graph_value(d) == 6.0);
  CHECK(graph_backward(g, d, 1.0, 0) == AD_ENOGRAD);
  CHECK_STR(graph_last_error(g), "element 0 of tensors does not require grad and does not have a grad_fn");
  CHECK(graph_backward(g, c, 1.0, 0) == AD_ENOGRAD);
  seed s = build_seed(g, 1.0, 2.0);
  graph_node *roots[2] = {s.y, d};
  CHECK(graph_backward_many(g, 2, roots, NULL, 0) == AD_ENOGRAD);
  CHECK_STR(graph_last_error(g), "element 1 of tensors does not require grad and does not have a grad_fn");
  CHECK(!has_grad(g, s.w) && !has_grad(g, s.x)); /* nothing ran */
  CHECK(graph_backward(g, s.y, 1.0, 0) == AD_OK);  /* and nothing was freed */
  CHECK(grad_of(g, s.w) == 5.0);
  graph_free(g);
}

/* Several roots in one pass: grads are the seeded sum; a root may be a leaf, or an ancestor of another root. */
static void test_many_roots(void) {
  graph_ctx *g = graph_new();
  const double xv = 0.7, wv = -0.4;
  graph_node *x = graph_leaf(g, xv, 1), *w = graph_leaf(g, wv, 1);
  graph_node *p = ad_mul_vv(g, x, w);
  graph_node *q = ad_exp(g, p);
  graph_node *roots[3] = {q, p, x};
  double seeds[3] = {2.0, 3.0, 5.0};
  CHECK(graph_backward_many(g, 3, roots, seeds, 0) == AD_OK);
  /* 2 d exp(xw) + 3 d(xw) + 5 dx */
  CHECK_NEAR(grad_of(g, x), 2.0 * exp(xv * wv) * wv + 3.0 * wv + 5.0, 1e-15);
  CHECK_NEAR(grad_of(g, w), 2.0 * exp(xv * wv) * xv + 3.0 * xv, 1e-15);
  /* A leaf root: x.backward() sets x.grad = 1. */
  graph_node *z = graph_leaf(g, 9.0, 1);
  CHECK(graph_backward(g, z, 1.0, 0) == AD_OK && grad_of(g, z) == 1.0);
  /* Fan-out of one operand: x * x and x + x. */
  graph_node *sq = ad_mul_vv(g, x, x), *dbl = ad_add_vv(g, w, w);
  CHECK(graph_zero_grad(g, x, 1) == AD_OK && graph_zero_grad(g, w, 1) == AD_OK);
  CHECK(graph_backward(g, sq, 1.0, 0) == AD_OK && graph_backward(g, dbl, 1.0, 0) == AD_OK);
  CHECK(grad_of(g, x) == 2.0 * xv && grad_of(g, w) == 2.0);
  graph_free(g);
}

/* no_grad: ops record nothing; scopes nest; end without begin fails. */
static void test_no_grad(void) {
  graph_ctx *g = graph_new();
  graph_node *x = graph_leaf(g, 2.0, 1), *w = graph_leaf(g, 3.0, 1);
  CHECK(graph_is_grad_enabled(g));
  CHECK(graph_no_grad_begin(g) == AD_OK);
  CHECK(!graph_is_grad_enabled(g));
  graph_node *z = ad_mul_vv(g, x, w);
  CHECK(graph_value(z) == 6.0);
  CHECK(graph_is_leaf(z) && !graph_requires_grad(z) && graph_grad_fn_name(z) == NULL);
  CHECK(graph_no_grad_begin(g) == AD_OK);
  CHECK(graph_no_grad_end(g) == AD_OK);
  graph_node *z2 = ad_sin(g, x); /* still inside the outer scope */
  CHECK(!graph_requires_grad(z2) && graph_is_leaf(z2));
  graph_node *leaf = graph_leaf(g, 1.0, 1); /* a leaf may require grad under no_grad */
  CHECK(graph_requires_grad(leaf));
  CHECK(graph_no_grad_end(g) == AD_OK);
  CHECK(graph_is_grad_enabled(g));
  CHECK(graph_no_grad_end(g) == AD_ESTATE);
  graph_node *y = ad_mul_vv(g, z, x); /* z is a constant now: y = 6 x */
  CHECK(graph_requires_grad(y) && !graph_is_leaf(y));
  graph_edge e[2];
  int n = 0;
  CHECK(graph_next_functions(g, y, e, &n) == AD_OK && n == 2 && e[0].node == NULL && e[1].node == x);
  CHECK(graph_backward(g, y, 1.0, 0) == AD_OK);
  CHECK(grad_of(g, x) == 6.0 && !has_grad(g, w));
  graph_free(g);
}

/* detach: a leaf with the same value that does not require grad; gradient does not flow through it. */
static void test_detach(void) {
  graph_ctx *g = graph_new();
  const double xv = 1.5;
  graph_node *x = graph_leaf(g, xv, 1);
  graph_node *s = ad_sin(g, x);
  graph_node *d = graph_detach(g, s);
  CHECK(graph_value(d) == graph_value(s));
  CHECK(graph_is_leaf(d) && !graph_requires_grad(d) && graph_grad_fn_name(d) == NULL);
  graph_node *y = ad_mul_vv(g, s, d); /* y = sin(x) * const: dy/dx = cos(x) sin(x), not 2 cos(x) sin(x) */
  CHECK(graph_backward(g, y, 1.0, 0) == AD_OK);
  CHECK_NEAR(grad_of(g, x), cos(xv) * sin(xv), 1e-15);
  CHECK(!has_grad(g, d));
  graph_free(g);
}

/* requires_grad_: changes a leaf's flag; a non-leaf's only to 1 (no-op); ops recorded before keep what they saw. */
static void test_requires_grad_(void) {
  graph_ctx *g = graph_new();
  graph_node *c = graph_leaf(g, 3.0, 0);
  graph_node *before = ad_mul_vc(g, c, 2.0);
  CHECK(graph_requires_grad_(g, c, 1) == AD_OK && graph_requires_grad(c));
  CHECK(!graph_requires_grad(before) && graph_is_leaf(before));
  graph_node *q = ad_mul_vc(g, c, 2.0);
  CHECK(graph_requires_grad(q) && !graph_is_leaf(q));
  CHECK(graph_requires_grad_(g, q, 0) == AD_ESTATE);
  CHECK(strstr(graph_last_error(g), "you can only change requires_grad flags of leaf variables") != NULL);
  CHECK(graph_requires_grad_(g, q, 1) == AD_OK && graph_requires_grad(q));
  CHECK(graph_backward(g, q, 1.0, 1) == AD_OK);
  CHECK(grad_of(g, c) == 2.0);
  /* A leaf that stopped requiring grad after recording gets nothing more (PyTorch's AccumulateGrad skips it). */
  CHECK(graph_requires_grad_(g, c, 0) == AD_OK && !graph_requires_grad(c));
  CHECK(graph_backward(g, q, 1.0, 1) == AD_OK);
  CHECK(grad_of(g, c) == 2.0);
  /* The op result of a no-grad leaf can itself be made a leaf that requires grad. */
  CHECK(graph_requires_grad_(g, before, 1) == AD_OK);
  graph_node *r = ad_sqr(g, before);
  CHECK(graph_backward(g, r, 1.0, 0) == AD_OK);
  CHECK(grad_of(g, before) == 2.0 * 6.0);
  graph_free(g);
}

/* retain_grad: a no-op on a leaf, an error on a node that does not require grad. */
static void test_retain_grad(void) {
  graph_ctx *g = graph_new();
  graph_node *x = graph_leaf(g, 2.0, 1), *k = graph_leaf(g, 5.0, 0);
  CHECK(graph_retain_grad(g, x) == AD_OK);
  CHECK(graph_retain_grad(g, k) == AD_ESTATE);
  CHECK_STR(graph_last_error(g), "can't retain_grad on Tensor that has requires_grad=False");
  graph_node *t = ad_tanh(g, x), *y = ad_mul_vv(g, t, k);
  CHECK(graph_retain_grad(g, t) == AD_OK);
  CHECK(graph_retain_grad(g, t) == AD_OK); /* twice is once */
  CHECK(!has_grad(g, t));
  CHECK(graph_backward(g, y, 1.0, 0) == AD_OK);
  CHECK(grad_of(g, t) == 5.0 && !has_grad(g, y) && !has_grad(g, k));
  CHECK_NEAR(grad_of(g, x), 5.0 * (1.0 - tanh(2.0) * tanh(2.0)), 1e-15);
  graph_free(g);
}

/* Hooks: see the total incoming gradient, may replace it, run in registration order before accumulation. */
typedef struct hook_log {
  int calls;
  double seen[4];
  double scale, add;
  graph_ctx *g;
  ad_status reentry;
} hook_log;

static double hook_scale(void *user, graph_node *n, double grad) {
  hook_log *h = (hook_log *)user;
  (void)n;
  if (h->calls < 4) h->seen[h->calls] = grad;
  h->calls++;
  return grad * h->scale + h->add;
}

static double hook_reenter(void *user, graph_node *n, double grad) {
  hook_log *h = (hook_log *)user;
  h->calls++;
  h->reentry = graph_backward(h->g, n, 1.0, 1);
  return grad;
}

static void test_hooks(void) {
  graph_ctx *g = graph_new();
  seed s = build_seed(g, 1.0, 2.0); /* a = 3, b = 2 */
  hook_log ha = {0, {0}, 2.0, 0.0, g, AD_OK};
  CHECK(graph_register_hook(g, s.a, hook_scale, &ha) == AD_OK);
  CHECK(graph_retain_grad(g, s.a) == AD_OK);
  hook_log hw1 = {0, {0}, 1.0, 1.0, g, AD_OK}, hw2 = {0, {0}, 10.0, 0.0, g, AD_OK};
  CHECK(graph_register_hook(g, s.w, hook_scale, &hw1) == AD_OK);
  CHECK(graph_register_hook(g, s.w, hook_scale, &hw2) == AD_OK);
  CHECK(graph_backward(g, s.y, 1.0, 0) == AD_OK);
  /* a's gradient b = 2 is seen once and doubled to 4; a's retained grad is the hooked value. */
  CHECK(ha.calls == 1 && ha.seen[0] == 2.0);
  CHECK(grad_of(g, s.a) == 4.0);
  CHECK(grad_of(g, s.x) == 4.0);
  /* w receives 4 through a and a = 3 through b: 7, then (7 + 1) * 10 in registration order. */
  CHECK(hw1.calls == 1 && hw1.seen[0] == 7.0 && hw2.calls == 1 && hw2.seen[0] == 8.0);
  CHECK(grad_of(g, s.w) == 80.0);
  /* A hook on a node that does not require grad is refused; a hook cannot start a backward pass. */
  graph_node *k = graph_leaf(g, 1.0, 0);
  CHECK(graph_register_hook(g, k, hook_scale, &ha) == AD_ESTATE);
  CHECK_STR(graph_last_error(g), "cannot register a hook on a tensor that doesn't require gradient");
  graph_node *x2 = graph_leaf(g, 0.25, 1);
  graph_node *y2 = ad_exp(g, x2);
  hook_log hr = {0, {0}, 1.0, 0.0, g, AD_OK};
  CHECK(graph_register_hook(g, y2, hook_reenter, &hr) == AD_OK);
  CHECK(graph_backward(g, y2, 1.0, 0) == AD_OK);
  CHECK(hr.calls == 1 && hr.reentry == AD_ESTATE);
  CHECK_NEAR(grad_of(g, x2), exp(0.25), 1e-15);
  graph_free(g);
}

/* Every op's grad_fn name (PyTorch's, written out here) and next_functions shape, its gradient against a
 * central finite difference of its value, and whether a second backward without retain_graph fails (PyTorch's
 * grad_fns that save no tensor: AddBackward0, SubBackward0, RsubBackward1, NegBackward0), which checks the
 * AD_SAVES and AD_TORCH1 facts of ad_ops.def against PyTorch's behaviour typed out here. */
typedef struct op_case {
  ad_op op;
  const char *torch;
  int n_next;   /* next_functions entries */
  int none_at;  /* index of the None entry (constant operand), -1 if none */
} op_case;

/* PyTorch's grad_fns that save nothing for backward, by name. */
static int torch_saves_nothing(const char *torch) {
  static const char *const names[] = {"AddBackward0", "SubBackward0", "RsubBackward1", "NegBackward0"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; ++i)
    if (!strcmp(torch, names[i])) return 1;
  return 0;
}

static const op_case op_cases[] = {
    {AD_OP_add_vv, "AddBackward0", 2, -1},     {AD_OP_sub_vv, "SubBackward0", 2, -1},
    {AD_OP_mul_vv, "MulBackward0", 2, -1},     {AD_OP_div_vv, "DivBackward0", 2, -1},
    {AD_OP_pow_vv, "PowBackward1", 2, -1},     {AD_OP_fmax_vv, "MaximumBackward0", 2, -1},
    {AD_OP_fmin_vv, "MinimumBackward0", 2, -1}, {AD_OP_add_vc, "AddBackward0", 2, 1},
    {AD_OP_sub_vc, "SubBackward0", 2, 1},      {AD_OP_mul_vc, "MulBackward0", 2, 1},
    {AD_OP_div_vc, "DivBackward0", 2, 1},      {AD_OP_pow_vc, "PowBackward0", 1, -1},
    {AD_OP_fmax_vc, "MaximumBackward0", 2, 1}, {AD_OP_fmin_vc, "MinimumBackward0", 2, 1},
    {AD_OP_sub_cv, "RsubBackward1", 1, -1},    {AD_OP_div_cv, "DivBackward0", 2, 0},
    {AD_OP_pow_cv, "PowBackward2", 1, -1},     {AD_OP_neg, "NegBackward0", 1, -1},
    {AD_OP_sqr, "PowBackward0", 1, -1},        {AD_OP_sqrt, "SqrtBackward0", 1, -1},
    {AD_OP_exp, "ExpBackward0", 1, -1},        {AD_OP_log, "LogBackward0", 1, -1},
    {AD_OP_sin, "SinBackward0", 1, -1},        {AD_OP_cos, "CosBackward0", 1, -1},
    {AD_OP_tan, "TanBackward0", 1, -1},        {AD_OP_tanh, "TanhBackward0", 1, -1},
    {AD_OP_logistic, "SigmoidBackward0", 1, -1}, {AD_OP_abs, "AbsBackward0", 1, -1},
};

/* Records op on operands a and b (leaves or the constant k), through the inline op of that name. */
static graph_node *apply_op(graph_ctx *g, ad_op op, graph_node *a, graph_node *b, double k) {
  switch (op) {
#define TEST_CALL_add_vv ad_add_vv(g, a, b)
#define TEST_CALL_sub_vv ad_sub_vv(g, a, b)
#define TEST_CALL_mul_vv ad_mul_vv(g, a, b)
#define TEST_CALL_div_vv ad_div_vv(g, a, b)
#define TEST_CALL_pow_vv ad_pow_vv(g, a, b)
#define TEST_CALL_fmax_vv ad_fmax_vv(g, a, b)
#define TEST_CALL_fmin_vv ad_fmin_vv(g, a, b)
#define TEST_CALL_add_vc ad_add_vc(g, a, k)
#define TEST_CALL_sub_vc ad_sub_vc(g, a, k)
#define TEST_CALL_mul_vc ad_mul_vc(g, a, k)
#define TEST_CALL_div_vc ad_div_vc(g, a, k)
#define TEST_CALL_pow_vc ad_pow_vc(g, a, k)
#define TEST_CALL_fmax_vc ad_fmax_vc(g, a, k)
#define TEST_CALL_fmin_vc ad_fmin_vc(g, a, k)
#define TEST_CALL_sub_cv ad_sub_cv(g, k, b)
#define TEST_CALL_div_cv ad_div_cv(g, k, b)
#define TEST_CALL_pow_cv ad_pow_cv(g, k, b)
#define TEST_CALL_neg ad_neg(g, a)
#define TEST_CALL_sqr ad_sqr(g, a)
#define TEST_CALL_sqrt ad_sqrt(g, a)
#define TEST_CALL_exp ad_exp(g, a)
#define TEST_CALL_log ad_log(g, a)
#define TEST_CALL_sin ad_sin(g, a)
#define TEST_CALL_cos ad_cos(g, a)
#define TEST_CALL_tan ad_tan(g, a)
#define TEST_CALL_tanh ad_tanh(g, a)
#define TEST_CALL_logistic ad_logistic(g, a)
#define TEST_CALL_abs ad_abs(g, a)
#define AD_OP(name, kind, torch, facts, pre, value, da, db)                                                    \
  case AD_OP_##name:                                                                                           \
    return TEST_CALL_##name;
#include "ad_ops.def"
#undef AD_OP
  default:
    return NULL;
  }
}

static void test_every_op(void) {
  CHECK(sizeof op_cases / sizeof op_cases[0] == AD_OP_COUNT);
  graph_ctx *g = graph_new();
  const double av = 1.3, bv = 0.6, k = 0.8, h = 1e-5;
  for (size_t i = 0; i < sizeof op_cases / sizeof op_cases[0]; ++i) {
    const op_case *oc = &op_cases[i];
    ad_kind kind = ad_op_kind[oc->op];
    graph_reset(g);
    graph_node *a = graph_leaf(g, av, 1), *b = graph_leaf(g, bv, 1);
    graph_node *y = apply_op(g, oc->op, a, b, k);
    CHECK(y != NULL);
    if (!y) continue;
    CHECK_STR(graph_grad_fn_name(y), oc->torch);
    graph_edge e[2];
    int n = -1;
    CHECK(graph_next_functions(g, y, e, &n) == AD_OK && n == oc->n_next);
    for (int j = 0; j < n; ++j) {
      graph_node *expect = j == oc->none_at ? NULL : kind == AD_KIND_CV ? b : j == 0 ? a : b;
      CHECK(e[j].node == expect);
      CHECK_STR(e[j].name, expect ? "AccumulateGrad" : NULL);
    }
    CHECK(graph_backward(g, y, 1.0, 0) == AD_OK);
    /* Finite differences of the value alone (ad_op_eval's value, central, step h). */
    double vp, vm, d1, d2, fd_a = 0, fd_b = 0;
    double ca = kind == AD_KIND_CV ? k : av, cb = kind == AD_KIND_VC ? k : kind == AD_KIND_U ? 0 : bv;
    if (kind != AD_KIND_CV) {
      ad_op_eval(oc->op, ca + h, cb, &vp, &d1, &d2);
      ad_op_eval(oc->op, ca - h, cb, &vm, &d1, &d2);
      fd_a = (vp - vm) / (2 * h);
    }
    if (kind == AD_KIND_VV || kind == AD_KIND_CV) {
      ad_op_eval(oc->op, ca, cb + h, &vp, &d1, &d2);
      ad_op_eval(oc->op, ca, cb - h, &vm, &d1, &d2);
      fd_b = (vp - vm) / (2 * h);
    }
    double ga = 0, gb = 0;
    graph_grad(g, a, &ga);
    graph_grad(g, b, &gb);
    CHECK_NEAR(ga, fd_a, 1e-8);
    CHECK_NEAR(gb, fd_b, 1e-8);
    /* A second backward: only grad_fns that saved nothing run again. */
    CHECK(graph_backward(g, y, 1.0, 0) == (torch_saves_nothing(oc->torch) ? AD_OK : AD_EFREED));
    /* With no operand requiring grad, the result is a leaf without grad_fn. */
    graph_node *ka = graph_leaf(g, av, 0), *kb = graph_leaf(g, bv, 0);
    graph_node *z = apply_op(g, oc->op, ka, kb, k);
    CHECK(graph_is_leaf(z) && !graph_requires_grad(z) && graph_grad_fn_name(z) == NULL);
    CHECK(graph_value(z) == graph_value(y));
  }
  graph_free(g);
}

/* NULL handles give AD_EINVAL (predicates 0), never a crash; so do placeholders and released nodes. */
static void test_null_handles(void) {
  graph_ctx *g = graph_new();
  graph_node *x = graph_leaf(g, 1.0, 1);
  graph_edge e[2];
  int n = 7;
  double d = 3.0;
  CHECK(graph_leaf(NULL, 1.0, 1) == NULL);
  CHECK(graph_detach(NULL, x) == NULL && graph_detach(g, NULL) == NULL);
  CHECK(isnan(graph_value(NULL)));
  CHECK(!graph_is_leaf(NULL) && !graph_requires_grad(NULL));
  CHECK(graph_grad(NULL, x, &d) == 0 && d == 0.0);
  CHECK(graph_grad(g, NULL, NULL) == 0);
  CHECK(graph_grad_fn_name(NULL) == NULL);
  CHECK(graph_next_functions(NULL, x, e, &n) == AD_EINVAL && n == 0);
  CHECK(graph_next_functions(g, NULL, e, &n) == AD_EINVAL);
  CHECK(graph_next_functions(g, x, NULL, &n) == AD_EINVAL);
  CHECK(graph_next_functions(g, x, e, NULL) == AD_EINVAL);
  CHECK(graph_requires_grad_(NULL, x, 1) == AD_EINVAL && graph_requires_grad_(g, NULL, 1) == AD_EINVAL);
  CHECK(graph_retain_grad(NULL, x) == AD_EINVAL && graph_retain_grad(g, NULL) == AD_EINVAL);
  CHECK(graph_zero_grad(NULL, x, 1) == AD_EINVAL && graph_zero_grad(g, NULL, 0) == AD_EINVAL);
  CHECK(graph_register_hook(NULL, x, hook_scale, NULL) == AD_EINVAL);
  CHECK(graph_register_hook(g, NULL, hook_scale, NULL) == AD_EINVAL);
  CHECK(graph_register_hook(g, x, NULL, NULL) == AD_EINVAL);
  CHECK(graph_set_name(NULL, x, "x") == AD_EINVAL && graph_set_name(g, NULL, "x") == AD_EINVAL);
  CHECK(graph_set_name(g, x, NULL) == AD_EINVAL);
  CHECK(graph_name(NULL, x) == NULL && graph_name(g, NULL) == NULL && graph_name(g, x) == NULL);
  CHECK(graph_no_grad_begin(NULL) == AD_EINVAL && graph_no_grad_end(NULL) == AD_EINVAL);
  CHECK(!graph_is_grad_enabled(NULL));
  CHECK(graph_backward(NULL, x, 1.0, 0) == AD_EINVAL && graph_backward(g, NULL, 1.0, 0) == AD_EINVAL);
  CHECK(graph_backward_many(g, 0, &x, NULL, 0) == AD_EINVAL);
  CHECK(graph_backward_many(g, 1, NULL, NULL, 0) == AD_EINVAL);
  CHECK(graph_write_dot(NULL, x, stdout) == AD_EINVAL && graph_write_dot(g, NULL, stdout) == AD_EINVAL);
  CHECK(graph_write_dot(g, x, NULL) == AD_EINVAL);
  CHECK(graph_status(NULL) == AD_EINVAL);
  CHECK(graph_last_error(NULL) != NULL);
  CHECK(graph_mark(NULL) == 0 && graph_release(NULL, 1) == AD_EINVAL);
  CHECK(graph_node_at(NULL, 1) == NULL && graph_node_at(g, 0) == NULL && graph_node_at(g, 2) == NULL);
  CHECK(graph_node_at(g, 1) == x);
  graph_stats st = graph_get_stats(NULL);
  CHECK(st.nodes == 0 && st.bytes_held == 0 && st.bytes_per_node == sizeof(graph_node));
  graph_reset(NULL);
  graph_shrink(NULL);
  graph_free(NULL);
  /* A released node is no longer a valid root. */
  graph_mark_t m = graph_mark(g);
  graph_node *t = ad_sin(g, x);
  CHECK(graph_release(g, m) == AD_OK);
  CHECK(graph_backward(g, t, 1.0, 0) == AD_EINVAL);
  CHECK(graph_retain_grad(g, t) == AD_EINVAL);
  graph_free(g);
}

int main(void) {
  test_seed_graph();
  test_accumulation();
  test_second_backward_fails();
  test_no_saved_values();
  test_backward_without_grad();
  test_many_roots();
  test_no_grad();
  test_detach();
  test_requires_grad_();
  test_retain_grad();
  test_hooks();
  test_every_op();
  test_null_handles();
  return test_report("test_graph_semantics");
}
