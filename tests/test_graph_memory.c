/* test_graph_memory: the graph engine's arena. A 10,000-iteration training loop (build, backward, release) holds
 * memory flat, in the engine's own count and in ad_alloc's; large graphs span chunks; every byte returns at
 * graph_free; failed allocations (ad_alloc_fail_after) give AD_ENOMEM through the sticky status, lose nothing
 * recorded before, and leak nothing. Gradients are checked against hand-derived formulas. */
#include <stdlib.h>

#include "graph/graph_ops.h"
#include "testkit.h"

/* The extended Rosenbrock function of n parameters on the op interface (7 nodes per term, 8 from the second). */
static graph_node *rosenbrock(graph_ctx *g, graph_node *const *x, int n) {
  graph_node *f = NULL;
  for (int i = 0; i + 1 < n; ++i) {
    graph_node *t = ad_sub_cv(g, 1.0, x[i]);
    graph_node *u = ad_sub_vv(g, x[i + 1], ad_sqr(g, x[i]));
    graph_node *term = ad_add_vv(g, ad_sqr(g, t), ad_mul_vc(g, ad_sqr(g, u), 100.0));
    f = f ? ad_add_vv(g, f, term) : term;
  }
  return f;
}

/* Its value and gradient by hand: d/dx_i of (1 - x_i)^2 + 100 (x_{i+1} - x_i^2)^2. */
static double rosenbrock_manual(const double *x, int n, double *g) {
  double f = 0.0;
  for (int i = 0; i < n; ++i) g[i] = 0.0;
  for (int i = 0; i + 1 < n; ++i) {
    double t = 1.0 - x[i], u = x[i + 1] - x[i] * x[i];
    f += t * t + 100.0 * (u * u);
    g[i] += -2.0 * t - 400.0 * u * x[i];
    g[i + 1] += 200.0 * u;
  }
  return f;
}

/* The engines' sine (SLEEF), to compare values bit for bit. */
static double sin_after(double v) { return ad_m_sincos(v).x; }

static int64_t bytes_now(void) { return ad_alloc_get_stats().bytes_now; }

/* Training loop: parameters are leaves created once before a mark; each iteration builds the loss, runs backward
 * (freeing saved values), compares the gradient with the manual one, takes a gradient step, zeroes the grads and
 * releases the iteration's nodes. Memory must not move after the first iteration. */
static void test_training_loop(void) {
  enum { N = 12, ITERS = 10000 };
  int64_t start = bytes_now();
  graph_ctx *g = graph_new();
  double xv[N], gm[N], fm;
  for (int i = 0; i < N; ++i) xv[i] = -1.5 + 0.25 * i;
  graph_node *p[N];
  for (int i = 0; i < N; ++i) p[i] = graph_leaf(g, xv[i], 1);
  graph_mark_t mark = graph_mark(g);
  int64_t held_after_first = 0, bytes_after_first = 0;
  uint64_t allocs_after_first = 0;
  int grad_bad = 0, mem_bad = 0;
  double max_err = 0;
  for (int it = 0; it < ITERS; ++it) {
    graph_node *f = rosenbrock(g, p, N);
    if (graph_status(g) != AD_OK || graph_backward(g, f, 1.0, 0) != AD_OK) {
      grad_bad++;
      break;
    }
    for (int i = 0; i < N; ++i) xv[i] = graph_value(p[i]);
    fm = rosenbrock_manual(xv, N, gm);
    if (!tk_near(graph_value(f), fm, 1e-14)) grad_bad++;
    for (int i = 0; i < N; ++i) {
      double d = 0;
      if (!graph_grad(g, p[i], &d)) grad_bad++;
      double e = fabs(d - gm[i]) / (fabs(gm[i]) > 1 ? fabs(gm[i]) : 1);
      if (e > max_err) max_err = e;
      /* The step: parameters are leaves whose value the optimizer updates in place (under no_grad in PyTorch). */
      p[i]->value -= 1e-4 * d;
      graph_zero_grad(g, p[i], 1);
    }
    graph_stats st = graph_get_stats(g);
    if (st.nodes != (uint64_t)N + 8u * (N - 1) - 1u) grad_bad++;
    if (graph_release(g, mark) != AD_OK) mem_bad++;
    st = graph_get_stats(g);
    if (st.nodes != (uint64_t)N) mem_bad++;
    if (it == 0) {
      held_after_first = (int64_t)st.bytes_held;
      bytes_after_first = bytes_now();
      allocs_after_first = ad_alloc_get_stats().allocs;
    } else if ((int64_t)st.bytes_held != held_after_first || bytes_now() != bytes_after_first ||
               ad_alloc_get_stats().allocs != allocs_after_first) {
      mem_bad++;
    }
  }
  CHECK(grad_bad == 0);
  CHECK(max_err <= 1e-12);
  CHECK(mem_bad == 0);
  CHECK(bytes_now() == bytes_after_first);
  CHECK(graph_get_stats(g).bytes_held == (uint64_t)held_after_first);
  /* The engine's count is all that the context allocated. */
  CHECK((int64_t)graph_get_stats(g).bytes_held == bytes_after_first - start);
  graph_free(g);
  CHECK(bytes_now() == start);
}

/* The same loop with graph_reset and hooks and retained grads on released nodes: the side tables stay flat. */
static double hook_identity(void *user, graph_node *n, double grad) {
  (void)n;
  ++*(int *)user;
  return grad;
}

static void test_reset_loop(void) {
  enum { ITERS = 10000 };
  int64_t start = bytes_now();
  graph_ctx *g = graph_new();
  int calls = 0, bad = 0;
  int64_t after_first = 0;
  for (int it = 0; it < ITERS; ++it) {
    graph_reset(g);
    double xv = 0.5 + 1e-4 * it, wv = 1.5;
    graph_node *x = graph_leaf(g, xv, 1), *w = graph_leaf(g, wv, 1);
    graph_node *h = ad_tanh(g, ad_mul_vv(g, x, w));
    graph_node *y = ad_mul_vv(g, h, x);
    graph_set_name(g, y, "y");
    if (graph_retain_grad(g, h) != AD_OK || graph_register_hook(g, h, hook_identity, &calls) != AD_OK) bad++;
    if (graph_backward(g, y, 1.0, 0) != AD_OK) bad++;
    double t = tanh(xv * wv), dx = 0, dw = 0, dh = 0;
    graph_grad(g, x, &dx);
    graph_grad(g, w, &dw);
    graph_grad(g, h, &dh);
    if (!tk_near(dx, t + xv * (1 - t * t) * wv, 1e-15) || !tk_near(dw, xv * (1 - t * t) * xv, 1e-15) ||
        dh != xv)
      bad++;
    if (it == 0) after_first = bytes_now();
    else if (bytes_now() != after_first) bad++;
  }
  CHECK(bad == 0);
  CHECK(calls == ITERS);
  graph_free(g);
  CHECK(bytes_now() == start);
}

/* graph_release drops the released nodes' names, retained grads and hooks; those of older nodes survive and
 * still run. A new node that reuses a released node's index inherits nothing. */
static void test_release_side_table(void) {
  graph_ctx *g = graph_new();
  int p_calls = 0, t_calls = 0;
  graph_node *p = graph_leaf(g, 0.5, 1);
  CHECK(graph_set_name(g, p, "p") == AD_OK);
  CHECK(graph_register_hook(g, p, hook_identity, &p_calls) == AD_OK);
  graph_mark_t mark = graph_mark(g);
  for (int round = 0; round < 3; ++round) {
    graph_node *t = ad_sin(g, p);
    if (round == 0) {
      CHECK(graph_set_name(g, t, "t") == AD_OK);
      CHECK(graph_retain_grad(g, t) == AD_OK);
      CHECK(graph_register_hook(g, t, hook_identity, &t_calls) == AD_OK);
    } else {
      CHECK(t->id == mark);                       /* the index of round 0's t */
      CHECK(graph_name(g, t) == NULL);            /* no name, retained grad or hook inherited */
      CHECK(!(t->meta & (GRAPH_F_RETAIN | GRAPH_F_HOOK)));
    }
    CHECK(graph_backward(g, t, 1.0, 0) == AD_OK);
    CHECK(graph_grad(g, t, NULL) == (round == 0));
    CHECK(graph_release(g, mark) == AD_OK);
  }
  CHECK(p_calls == 3 && t_calls == 1);
  CHECK_STR(graph_name(g, p), "p");
  CHECK(g->n_side == 1 && g->n_hooks == 1);
  graph_free(g);
}

/* A graph of several chunks: v <- tanh(1.7 sin(v)) + x, 25,000 times (4 nodes each, x used by every step), its
 * gradient against the derivative carried forward by hand; then release and rebuild without a single new
 * allocation, then shrink back to what graph_new allocated. */
static void test_large_graph(void) {
  enum { STEPS = 25000 };
  const double x0 = 0.37;
  double vh = x0, dh = 1.0; /* value and dv/dx by hand, with the engines' elementary functions */
  for (int k = 0; k < STEPS; ++k) {
    ad_m2 sc = ad_m_sincos(vh);
    double u = ad_m_tanh(sc.x * 1.7);
    dh = (1.0 - u * u) * 1.7 * sc.y * dh + 1.0;
    vh = u + x0;
  }
  int64_t start = bytes_now();
  graph_ctx *g = graph_new();
  uint64_t held0 = graph_get_stats(g).bytes_held;
  graph_node *x = graph_leaf(g, x0, 1);
  graph_mark_t mark = graph_mark(g);
  for (int round = 0; round < 3; ++round) {
    uint64_t allocs = ad_alloc_get_stats().allocs;
    graph_node *v = x;
    for (int k = 0; k < STEPS; ++k) v = ad_add_vv(g, ad_tanh(g, ad_mul_vc(g, ad_sin(g, v), 1.7)), x);
    CHECK(graph_status(g) == AD_OK);
    CHECK(graph_value(v) == vh);
    CHECK(graph_zero_grad(g, x, 1) == AD_OK);
    CHECK(graph_backward(g, v, 1.0, 0) == AD_OK);
    double d = 0;
    CHECK(graph_grad(g, x, &d));
    CHECK_NEAR(d, dh, 1e-12);
    graph_stats st = graph_get_stats(g);
    CHECK(st.nodes == 4u * STEPS + 1u && st.edges == 5u * STEPS);
    CHECK(st.bytes_used == st.nodes * sizeof(graph_node) && st.bytes_per_node == 48);
    CHECK(st.bytes_held >= st.bytes_used && st.bytes_held < st.bytes_used + st.bytes_used / 4 + 65536);
    /* Every node in its place: graph_node_at inverts graph_node.id, and parents precede children. */
    CHECK(graph_node_at(g, v->id) == v && graph_node_at(g, x->id) == x);
    CHECK(v->a < v->id && graph_node_at(g, v->a) != NULL && v->b == x->id);
    if (round > 0) CHECK(ad_alloc_get_stats().allocs == allocs); /* the chunks of round 0 are reused */
    CHECK(graph_release(g, mark) == AD_OK);
  }
  /* Marks that are not positions of the arena are refused. */
  CHECK(graph_release(g, 0) == AD_EINVAL);
  CHECK(graph_release(g, graph_mark(g) + 1) == AD_EINVAL);
  graph_shrink(g);
  CHECK(graph_get_stats(g).bytes_held == held0);
  graph_free(g);
  CHECK(bytes_now() == start);
}

/* Allocation failures: graph_new, the arena growing, the side table and hook table growing. */
static void test_allocation_failure(void) {
  int64_t start = bytes_now();
  for (long k = 0; k < 3; ++k) { /* graph_new makes three allocations */
    ad_alloc_fail_after(k);
    graph_ctx *g = graph_new();
    ad_alloc_fail_after(-1);
    CHECK(g == NULL);
    CHECK(bytes_now() == start);
  }

  graph_ctx *g = graph_new();
  CHECK(g != NULL);
  graph_node *x = graph_leaf(g, 0.3, 1), *w = graph_leaf(g, 2.0, 1);
  graph_node *v = x;
  for (int i = 0; i < 200; ++i) v = ad_mul_vv(g, ad_sin(g, v), w); /* 400 nodes: past the first chunk */
  graph_node *before = v;
  double before_value = graph_value(v);
  uint32_t before_id = v->id;
  ad_alloc_fail_after(0);
  graph_node *fills = v;
  for (int i = 0; i < 40000; ++i) fills = ad_exp(g, ad_add_vv(g, fills, x)); /* needs new chunks: all fail */
  ad_alloc_fail_after(-1);
  CHECK(graph_status(g) == AD_ENOMEM);
  CHECK(fills != NULL && graph_leaf(g, 1.0, 1) != NULL); /* placeholders, never NULL */
  /* Everything recorded before the failure is intact: its value, and its gradient against a forward recurrence. */
  CHECK(graph_value(before) == before_value && before->id == before_id);
  CHECK(graph_backward(g, fills, 1.0, 0) == AD_EINVAL);
  graph_edge e[2];
  int n;
  CHECK(graph_next_functions(g, fills, e, &n) == AD_EINVAL);
  CHECK(graph_write_dot(g, fills, stdout) == AD_EINVAL);
  CHECK(graph_backward(g, before, 1.0, 1) == AD_OK);
  double vx = 0.3, dvx = 1.0, dvw = 0.0, wv = 2.0; /* v' = cos(v) v'... carried forward by hand */
  for (int i = 0; i < 200; ++i) {
    double s = sin(vx), c = cos(vx);
    dvw = c * dvw * wv + s;
    dvx = c * dvx * wv;
    vx = s * wv;
  }
  double gx = 0, gw = 0;
  CHECK(graph_grad(g, x, &gx) && graph_grad(g, w, &gw));
  CHECK_NEAR(gx, dvx, 1e-12);
  CHECK_NEAR(gw, dvw, 1e-12);
  graph_stats st = graph_get_stats(g);
  CHECK(st.nodes >= 402 && st.nodes < 402 + 2 * 40000); /* the real nodes only */
  /* Releasing to a mark before the failure clears the sticky status too; recording resumes from there. */
  graph_mark_t m = (graph_mark_t)before->id + 1u;
  CHECK(graph_release(g, m) == AD_OK && graph_status(g) == AD_OK);
  graph_node *again = ad_sin(g, before);
  CHECK(again->id == m && graph_value(again) == sin_after(before_value));
  CHECK(graph_backward(g, again, 1.0, 1) == AD_OK);
  /* Reset clears the sticky status; recording works again. */
  graph_reset(g);
  CHECK(graph_status(g) == AD_OK);
  graph_node *y = ad_sqr(g, graph_leaf(g, 3.0, 1));
  CHECK(graph_status(g) == AD_OK && graph_value(y) == 9.0 && y->id != 0);

  /* Side table and hook table: AD_ENOMEM, and the node is left as it was. */
  graph_node *t = ad_sin(g, y);
  ad_alloc_fail_after(0);
  CHECK(graph_retain_grad(g, t) == AD_ENOMEM);
  CHECK(graph_register_hook(g, t, hook_identity, NULL) == AD_ENOMEM);
  CHECK(graph_set_name(g, t, "t") == AD_ENOMEM);
  ad_alloc_fail_after(-1);
  CHECK(!(t->meta & (GRAPH_F_RETAIN | GRAPH_F_HOOK)) && graph_name(g, t) == NULL);
  CHECK(graph_backward(g, t, 1.0, 0) == AD_OK && !graph_grad(g, t, NULL));
  graph_free(g);
  CHECK(bytes_now() == start);

  /* A failure at every possible allocation of a build that needs several chunks and side entries. */
  for (long k = 0; k < 12; ++k) {
    graph_ctx *h = graph_new();
    ad_alloc_fail_after(k);
    graph_node *a = graph_leaf(h, 0.5, 1), *r = a;
    for (int i = 0; i < 3000; ++i) {
      r = ad_add_vc(h, ad_mul_vv(h, r, a), 0.25);
      if (i % 500 == 0) graph_retain_grad(h, r); /* may fail: AD_ENOMEM */
    }
    ad_alloc_fail_after(-1);
    ad_status s = graph_status(h);
    CHECK(s == AD_OK || s == AD_ENOMEM);
    if (s == AD_OK) CHECK(graph_backward(h, r, 1.0, 0) == AD_OK);
    graph_free(h);
    CHECK(bytes_now() == start);
  }
}

int main(void) {
  test_training_loop();
  test_reset_loop();
  test_release_side_table();
  test_large_graph();
  test_allocation_failure();
  return test_report("test_graph_memory");
}
