/* test_misuse: wrong uses of the engines are refused with a status, never silently wrong or out of bounds.
 *
 *  - graph, two contexts:  an op on a node of another context gives AD_EFOREIGN (sticky), and no gradient reaches
 *                          the other context's leaves;
 *  - graph, stale handle:  a node kept across graph_reset is refused by ops, graph_backward, graph_grad and the
 *                          other calls until a new node takes its slot (handles are pointers into the arena: from
 *                          then on the handle is that node, see graph_reset);
 *  - graph, hooks:         graph_shrink and graph_reset from a hook return AD_ESTATE and change nothing (shrinking
 *                          under the sweep was a use after free), and the backward completes correctly;
 *  - graph, full disk:     graph_write_dot to /dev/full returns AD_EIO;
 *  - ode_adapt:            a finite input of 1e308 stops at the step cap with a NaN value (it recorded until memory
 *                          ran out), on every engine;
 *  (replay: tests/test_replay_misuse.c)
 *  - tape stats:           after an allocation failure, tape_get_stats and the engine adapter report what was
 *                          recorded before it (it reported 1.84e19 nodes).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eng.h"
#include "graph/graph_ops.h"
#include "tape/tape.h"

#include "testkit.h"

static void test_graph_two_contexts(void) {
  graph_ctx *g1 = graph_new(), *g2 = graph_new();
  CHECKF(g1 && g2, "graph_new");
  if (!g1 || !g2) return;
  graph_node *x = graph_leaf(g1, 2.0, 1), *w = graph_leaf(g2, 3.0, 1), *u = graph_leaf(g2, 5.0, 1);
  graph_node *y = ad_mul_vv(g2, x, w); /* x belongs to g1 */
  CHECKF(graph_status(g2) == AD_EFOREIGN, "graph_status after a foreign operand: %s", ad_status_str(graph_status(g2)));
  ad_status st = graph_backward(g2, y, 1.0, 0);
  CHECKF(st != AD_OK, "backward from the refused op's result returned ok");
  double gx = 0, gu = 0;
  CHECKF(!graph_grad(g1, x, &gx) && !graph_grad(g2, u, &gu), "a gradient reached a leaf: x %g, u %g", gx, gu);
  CHECKF(graph_backward(g1, w, 1.0, 0) == AD_EFOREIGN, "backward in g1 from a root of g2");
  CHECKF(graph_retain_grad(g1, w) == AD_EFOREIGN, "retain_grad with a node of another context");
  CHECKF(graph_status(g1) == AD_OK, "g1 was not misused");
  graph_free(g1);
  graph_free(g2);

  /* The foreign node in every operand position: second of a VV op, the variable of a CV, VC and U op. */
  for (int pos = 0; pos < 4; ++pos) {
    g1 = graph_new(), g2 = graph_new();
    CHECKF(g1 && g2, "graph_new");
    if (!g1 || !g2) break;
    x = graph_leaf(g1, 2.0, 1), w = graph_leaf(g2, 3.0, 1);
    y = pos == 0 ? ad_mul_vv(g2, w, x) : pos == 1 ? ad_div_cv(g2, 1.0, x) : pos == 2 ? ad_add_vc(g2, x, 1.0)
                                                                          : ad_exp(g2, x);
    CHECKF(graph_status(g2) == AD_EFOREIGN, "a foreign operand in position %d: %s", pos,
           ad_status_str(graph_status(g2)));
    CHECKF(graph_backward(g2, y, 1.0, 0) != AD_OK, "position %d: backward from the refused op's result", pos);
    gx = 0;
    CHECKF(!graph_grad(g1, x, &gx), "position %d: a gradient reached the foreign leaf: %g", pos, gx);
    graph_free(g1);
    graph_free(g2);
  }
}

static void test_graph_stale_handle(void) {
  graph_ctx *g = graph_new();
  CHECKF(g != NULL, "graph_new");
  if (!g) return;
  graph_node *b = graph_leaf(g, 4.0, 1);
  graph_node *y = ad_add_vv(g, b, b);
  CHECKF(graph_status(g) == AD_OK, "recording: %s", ad_status_str(graph_status(g)));
  CHECKF(graph_reset(g) == AD_OK, "graph_reset");
  graph_node *n1 = graph_leaf(g, 1.0, 1), *n2 = graph_leaf(g, 1.0, 1), *n3 = graph_leaf(g, 1.0, 1);
  CHECKF(n1 == b, "the new leaf reuses the old one's slot (the aliasing this test is about)");
  (void)n2, (void)n3;
  /* y's slot now holds n2, a leaf: y is a stale handle whose memory is a live node. */
  CHECKF(graph_backward(g, y, 1.0, 0) == AD_OK, "n2 (in y's slot) is live itself");
  graph_node *z = graph_leaf(g, 0.0, 1); /* slot 4 */
  CHECKF(graph_reset(g) == AD_OK, "graph_reset");
  graph_node *m1 = graph_leaf(g, 1.0, 1), *m2 = graph_leaf(g, 1.0, 1), *m3 = graph_leaf(g, 1.0, 1);
  (void)m1, (void)m2, (void)m3; /* slots 1-3: z's slot is not taken yet, so z is recognisably stale */
  CHECKF(graph_backward(g, z, 1.0, 0) == AD_EFOREIGN, "backward from a node of before the reset");
  double gv = 0;
  CHECKF(!graph_grad(g, z, &gv), "graph_grad of a stale node");
  CHECKF(graph_set_name(g, z, "s") == AD_EFOREIGN, "set_name on a stale node");
  graph_node *s2 = ad_sin(g, z);
  CHECKF(graph_status(g) == AD_EFOREIGN && s2 != z, "an op on a stale node: %s", ad_status_str(graph_status(g)));
  graph_free(g);
}

typedef struct hook_calls {
  graph_ctx *g;
  int mode; /* 0: shrink, 1: reset */
  ad_status got;
} hook_calls;

static double hook_misuse(void *user, graph_node *node, double grad) {
  hook_calls *h = (hook_calls *)user;
  (void)node;
  h->got = h->mode == 0 ? graph_shrink(h->g) : graph_reset(h->g);
  return grad;
}

static void test_graph_hooks(void) {
  for (int mode = 0; mode < 2; ++mode) {
    graph_ctx *g = graph_new();
    CHECKF(g != NULL, "graph_new");
    if (!g) return;
    graph_node *x = graph_leaf(g, 0.5, 1);
    graph_node *y = x;
    for (int i = 0; i < 2000; ++i) y = ad_add_vc(g, ad_mul_vc(g, y, 1.0), 0.0); /* several chunks */
    graph_node *mid = ad_sin(g, y);
    graph_node *out = ad_mul_vc(g, mid, 3.0);
    hook_calls h = {g, mode, AD_OK};
    CHECKF(graph_register_hook(g, mid, hook_misuse, &h) == AD_OK, "register_hook");
    CHECKF(graph_backward(g, out, 1.0, 0) == AD_OK, "backward");
    CHECKF(h.got == AD_ESTATE, "graph_%s from a hook returned %s", mode ? "reset" : "shrink", ad_status_str(h.got));
    double gx = 0;
    CHECKF(graph_grad(g, x, &gx) && fabs(gx - 3.0 * cos(0.5)) < 1e-12, "grad %g after the refused %s", gx,
           mode ? "reset" : "shrink");
    graph_free(g);
  }
}

static void test_graph_full_disk(void) {
  FILE *f = fopen("/dev/full", "w");
  if (!f) {
    printf("graph_write_dot to a full disk: no /dev/full here, skipped\n");
    return;
  }
  graph_ctx *g = graph_new();
  CHECKF(g != NULL, "graph_new");
  if (g) {
    graph_node *x = graph_leaf(g, 2.0, 1);
    graph_node *y = ad_exp(g, ad_mul_vc(g, x, 3.0));
    ad_status st = graph_write_dot(g, y, f);
    CHECKF(st == AD_EIO, "graph_write_dot to /dev/full returned %s", ad_status_str(st));
    graph_free(g);
  }
  fclose(f);
}

static void test_ode_adapt_cap(void) {
  const wl_info *w = wl_find("ode_adapt");
  CHECKF(w != NULL, "no ode_adapt");
  if (!w) return;
  int size = 2, n_in = w->n_in(size);
  double *x = (double *)malloc((size_t)n_in * sizeof *x);
  double *data = (double *)malloc(((size_t)w->n_data(size) + 1) * sizeof *data);
  double *J = (double *)malloc((size_t)n_in * sizeof *J), y = 0;
  CHECKF(x && data && J, "out of memory");
  if (!x || !data || !J) return;
  w->init(size, 42, x, data);
  x[0] = 1e308;
  for (int e = 0; e < eng_own_count; ++e) {
    const eng_api *eng = eng_all[e];
    eng_session *s = eng->open(w, size, data);
    ad_status st = s ? (eng->kind == ENG_PRIMAL ? eng->value(s, x, &y) : eng->jacobian(s, x, &y, J)) : AD_ENOMEM;
    CHECKF(st == AD_OK && isnan(y), "ode_adapt at 1e308 on %s: %s, value %g (expected NaN at the step cap)",
           eng->name, ad_status_str(st), y);
    if (s && eng->stats) {
      eng_stats es = eng->stats(s);
      CHECKF(es.nodes < 100000000ull, "%s recorded %llu nodes", eng->name, (unsigned long long)es.nodes);
    }
    eng->close(s);
  }
  double f, g[4];
  w->manual(size, data, x, &f, g);
  CHECKF(isnan(f) && isnan(g[0]), "manual gradient past the step cap: %g, %g", f, g[0]);
  free(x), free(data), free(J);
}

static void test_tape_stats_after_failure(void) {
  const wl_info *w = wl_find("ode"); /* few inputs, many statements (chain would fold to none) */
  const eng_api *eng = eng_find("tape");
  int size = 7, n_in = w->n_in(size);
  double *x = (double *)malloc((size_t)n_in * sizeof *x), y;
  double *data = (double *)malloc(((size_t)w->n_data(size) + 1) * sizeof *data);
  CHECKF(x && data, "out of memory");
  if (!x || !data) return;
  w->init(size, 42, x, data);
  eng_session *s = eng->open(w, size, data);
  CHECKF(s != NULL, "open");
  if (s) {
    ad_alloc_fail_after(3); /* a few chunks, then every allocation fails */
    ad_status st = eng->value(s, x, &y);
    ad_alloc_fail_after(-1);
    CHECKF(st == AD_ENOMEM, "recording under failing allocations: %s", ad_status_str(st));
    eng_stats es = eng->stats(s);
    CHECKF(es.statements > 0 && es.statements < (uint64_t)w->nodes(size), "statements after ENOMEM: %llu",
           (unsigned long long)es.statements);
    eng->close(s);
  }
  tape_t *t = tape_new();
  CHECKF(t != NULL, "tape_new");
  if (t) {
    ad_alloc_fail_after(2);
    for (int i = 0; i < 100000; ++i) tape_input(t, 1.0);
    ad_alloc_fail_after(-1);
    tape_stats ts = tape_get_stats(t);
    CHECKF(tape_status(t) == AD_ENOMEM && ts.statements > 0 && ts.statements < 100000,
           "statements after ENOMEM: %llu", (unsigned long long)ts.statements);
    tape_free(t);
  }
  free(x), free(data);
}

int main(void) {
  test_graph_two_contexts();
  test_graph_stale_handle();
  test_graph_hooks();
  test_graph_full_disk();
  test_ode_adapt_cap();
  test_tape_stats_after_failure();
  return test_report("test_misuse");
}
