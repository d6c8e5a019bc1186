/* test_ckpt_graph: checkpointed time steps on the graph engine (engines/ckpt/ckpt_graph.h): through the engine
 * registry, every schedule's gradient equals store-all's bit for bit on ode, lstm and recur (and store-all's equals
 * the plain graph's), with the counters the plan promises (steps, recomputed steps = the plan's advances); memory:
 * binomial checkpointing holds less than store-all, a budget is respected, a budget too small for one checkpoint is
 * AD_EBUDGET; failed allocations give AD_ENOMEM or the right answer. Through the graph API: PyTorch's semantics
 * around a region (a second backward with retain_graph re-runs it and accumulates the same gradient, a second
 * backward without it fails with AD_EFREED, the boundary's grad_fn and its refusals, two regions in one graph,
 * graph_release and detach).
 */
#include <stdlib.h>
#include <string.h>

#include "../engines/ckpt/ckpt_graph.h"
#include "../engines/ckpt/ckpt_tape.h"
#include "../engines/graph/graph_ops.h"
#include "eng.h"
#include "run.h"
#include "ckpt_grad.h"
#include "testkit.h"
#include "wl.h"

static grad gradient(const char *wname, int size, const char *spec) {
  return ckpt_gradient("graph", wname, size, spec);
}
static int same_bits(const grad *a, const grad *b) { return ckpt_same_bits(a, b); }

/* Every schedule against store-all, bit for bit, with the counters the plan promises. */
static void test_schedules(const char *wname, int size, uint64_t steps) {
  grad plain = gradient(wname, size, ""), all = gradient(wname, size, "store_all");
  CHECKF(all.st == AD_OK && plain.st == AD_OK, "%s: %s", wname, ad_status_str(all.st));
  CHECKF(same_bits(&all, &plain), "%s: store_all differs from the plain graph", wname);
  CHECKF(all.es.ckpt_steps == steps && all.es.recomputed == 0, "%s: store_all %llu steps, %llu recomputed", wname,
         (unsigned long long)all.es.ckpt_steps, (unsigned long long)all.es.recomputed);
  CHECKF(all.es.nodes == plain.es.nodes && all.es.bytes_held == plain.es.bytes_held, "%s: store_all's graph", wname);
  const char *specs[] = {"binomial:1", "binomial:2", "binomial:3", "binomial:16", "every:1", "every:2", "every:3",
                         "online:2",   "online:4",   "budget:1G"};
  for (size_t j = 0; j < sizeof specs / sizeof specs[0]; ++j) {
    grad g = gradient(wname, size, specs[j]);
    CHECKF(g.st == AD_OK, "%s %s: %s", wname, specs[j], ad_status_str(g.st));
    CHECKF(same_bits(&g, &all), "%s %s: not bit-identical to store_all", wname, specs[j]);
    /* The nodes the store-all graph would hold, counted across the dropped steps. */
    CHECKF(g.es.nodes == all.es.nodes, "%s %s: %llu nodes, store_all %llu", wname, specs[j],
           (unsigned long long)g.es.nodes, (unsigned long long)all.es.nodes);
    ckpt_spec sp;
    ckpt_parse(specs[j], &sp);
    if (sp.kind != CKPT_BUDGET) { /* recomputed steps: the plan's advances (the forward pass's included) */
      ckpt_plan p;
      CHECK(ckpt_plan_make(&p, sp, steps) == AD_OK);
      CHECKF(g.es.ckpt_steps == steps && g.es.recomputed == p.advances, "%s %s: %llu recomputed, plan %llu", wname,
             specs[j], (unsigned long long)g.es.recomputed, (unsigned long long)p.advances);
      if (sp.kind == CKPT_BINOMIAL) {
        unsigned s = sp.arg > steps ? (unsigned)steps : (unsigned)sp.arg;
        CHECK(g.es.recomputed == ckpt_binomial_cost(steps, s));
      }
      ckpt_plan_free(&p);
    }
    free(g.g);
  }
  free(plain.g), free(all.g);
}

/* A second backward over the same recording (the engine passes retain_graph; the forward checkpoints are rebuilt)
 * gives the same gradient, and counts the forward actions again. */
static void test_two_passes(void) {
  ckpt_spec sp;
  ckpt_parse("binomial:3", &sp);
  ckpt_tape_set_default(&sp);
  run_case rc;
  ad_status st = run_open(&rc, wl_find("ode"), eng_find("graph"), RUN_REVERSE, 3, 7);
  CHECK(st == AD_OK);
  if (st == AD_OK) {
    CHECK(run_eval(&rc) == AD_OK);
    double *g1 = (double *)malloc((size_t)rc.n_in * sizeof(double));
    memcpy(g1, rc.out, (size_t)rc.n_in * sizeof(double));
    uint64_t r1 = rc.e->stats(rc.s).recomputed;
    CHECK(run_eval(&rc) == AD_OK);
    CHECK(!memcmp(g1, rc.out, (size_t)rc.n_in * sizeof(double)));
    CHECKF(rc.e->stats(rc.s).recomputed > r1, "recomputed %llu after two passes",
           (unsigned long long)rc.e->stats(rc.s).recomputed);
    free(g1);
  }
  run_close(&rc);
  ckpt_tape_set_default(NULL);
}

/* Memory: checkpointing holds less than store-all, at every level the engine reports; a budget too small for one
 * checkpoint fails clearly. */
static void test_memory(void) {
  grad all = gradient("recur", 3, "store_all"), bin = gradient("recur", 3, "binomial:2");
  CHECK(all.st == AD_OK && bin.st == AD_OK);
  CHECKF(bin.peak * 4 < all.peak, "binomial:2 allocator peak %lld, store_all %lld", (long long)bin.peak,
         (long long)all.peak);
  CHECKF(bin.es.peak_bytes > 0 && bin.es.peak_bytes * 4 < all.es.peak_bytes, "peak_bytes %llu vs %llu",
         (unsigned long long)bin.es.peak_bytes, (unsigned long long)all.es.peak_bytes);
  CHECK(same_bits(&bin, &all));
  grad tiny = gradient("ode", 5, "budget:100");
  CHECKF(tiny.st == AD_EBUDGET, "budget:100: %s", ad_status_str(tiny.st));
  free(all.g), free(bin.g), free(tiny.g);
}

/* A budget is respected: it bounds the checkpoints plus two steps' nodes; on top come the rest of the graph, the
 * session, the plan and the arena's chunk rounding (chunks double up to 16384 nodes, 768 KB), so the allocator's
 * high-water mark stays within twice the budget here (1.14 times: 300 KB for 256 KB), where store-all needs over
 * ten times as much (3.9 MB). */
static void test_budget(void) {
  const int64_t B = 256 << 10;
  grad all = gradient("recur", 3, "store_all"), bud = gradient("recur", 3, "budget:256k");
  CHECKF(bud.st == AD_OK, "%s", ad_status_str(bud.st));
  CHECK(same_bits(&bud, &all));
  CHECKF(all.peak > 10 * B, "store_all peak %lld: the budget would not matter", (long long)all.peak);
  CHECKF(bud.peak <= 2 * B, "budget:256k: allocator peak %lld", (long long)bud.peak);
  CHECKF(bud.es.recomputed > 0 && bud.es.ckpt_steps == 100, "recomputed %llu", (unsigned long long)bud.es.recomputed);
  free(all.g), free(bud.g);
}

/* Allocation failure at every allocation of a checkpointed gradient: AD_ENOMEM or the right answer, never a crash
 * (the sanitizer build checks leaks). Large enough that segments re-recorded in backward need new chunks. */
static void test_alloc_failure(const char *wname, int size, const char *spec, long max_n) {
  grad ref = gradient(wname, size, spec);
  CHECK(ref.st == AD_OK);
  ckpt_spec sp;
  ckpt_parse(spec, &sp);
  int failures = 0, ok = 0;
  for (long n = 0; n < max_n && !ok; ++n) {
    ckpt_tape_set_default(&sp);
    run_case rc;
    ad_alloc_fail_after(n);
    ad_status st = run_open(&rc, wl_find(wname), eng_find("graph"), RUN_GRAD, size, 42);
    if (st == AD_OK) st = run_eval(&rc);
    ad_alloc_fail_after(-1);
    if (st == AD_OK) {
      ok = 1;
      CHECK(!memcmp(rc.out, ref.g, (size_t)ref.n * sizeof(double)));
    } else {
      ++failures;
      CHECKF(st == AD_ENOMEM, "%s %s after %ld allocations: %s", wname, spec, n, ad_status_str(st));
    }
    run_close(&rc);
    ckpt_tape_set_default(NULL);
  }
  CHECKF(ok && failures > 0, "%s %s: %d failures, ok %d", wname, spec, failures, ok);
  free(ref.g);
}

/* ---- The graph API ---- */

/* A step mixing its state: s_i <- s_i * p_i + sin(s_{i+1}) (ring), with s_0 also fed by p_1 / (1 + s_0^2). */
static void mix_step(graph_ctx *c, const void *env, int k, graph_node *const *p, graph_node **s) {
  const int n = *(const int *)env;
  graph_node *t[64];
  for (int i = 0; i < n; ++i) t[i] = ad_add_vv(c, ad_mul_vv(c, s[i], p[i]), ad_sin(c, s[(i + 1) % n]));
  t[0] = ad_add_vv(c, t[0], ad_div_vv(c, p[1], ad_add_vc(c, ad_sqr(c, s[0]), 1.0)));
  for (int i = 0; i < n; ++i) s[i] = ad_mul_vc(c, t[i], 0.5 + 0.01 * k);
}

/* A step that is itself a loop of two mix steps written with ckpt_graph_steps: the inner loop records through. */
static void nested_step(graph_ctx *c, const void *env, int k, graph_node *const *p, graph_node **s) {
  (void)k;
  ckpt_graph_steps(c, mix_step, env, sizeof(int), 2, 3, p, 3, s);
}

typedef struct mix_out {
  ad_status st[3];  /* record, first backward, second backward */
  double grad[7];   /* grads of the 3 parameters and 4 state leaves after the passes */
  double y;
} mix_out;

/* Two regions (12 steps, and 7 steps of two nested steps each) on a graph with 3 parameter leaves and a state of 3 (one state leaf passive), then
 * y = sum of the state; backward twice (retain_graph on the first as given). */
static mix_out run_mix(const char *spec, int retain_first, int retain_second) {
  mix_out o;
  memset(&o, 0, sizeof o);
  graph_ctx *c = graph_new();
  ckpt_spec sp;
  if (*spec) {
    ckpt_parse(spec, &sp);
    CHECK(ckpt_graph_attach(c, sp) == AD_OK);
  }
  graph_node *p[3], *s[3], *lv[7];
  for (int i = 0; i < 3; ++i) lv[i] = p[i] = graph_leaf(c, 0.7 + 0.1 * i, 1);
  for (int i = 0; i < 3; ++i) lv[3 + i] = s[i] = graph_leaf(c, 0.3 - 0.2 * i, i != 2);
  lv[6] = graph_leaf(c, 1.5, 1);
  const int n = 3;
  ckpt_graph_steps(c, mix_step, &n, sizeof n, 12, 3, p, 3, s);
  s[1] = ad_mul_vv(c, s[1], lv[6]);
  ckpt_graph_steps(c, nested_step, &n, sizeof n, 7, 3, p, 3, s);
  graph_node *y = ad_add_vv(c, ad_add_vv(c, s[0], s[1]), s[2]);
  o.y = graph_value(y);
  o.st[0] = graph_status(c);
  o.st[1] = graph_backward(c, y, 1.0, retain_first);
  o.st[2] = graph_backward(c, y, 1.0, retain_second);
  for (int i = 0; i < 7; ++i) graph_grad(c, lv[i], &o.grad[i]);
  ckpt_graph_detach(c);
  graph_free(c);
  return o;
}

static void test_graph_api(void) {
  mix_out all = run_mix("store_all", 1, 0), plain = run_mix("", 1, 0);
  CHECK(all.st[0] == AD_OK && all.st[1] == AD_OK && all.st[2] == AD_OK);
  CHECK(!memcmp(&all, &plain, sizeof all));
  const char *specs[] = {"binomial:1", "binomial:2", "binomial:4", "every:3", "every:5", "online:2", "budget:4k"};
  for (size_t j = 0; j < sizeof specs / sizeof specs[0]; ++j) {
    /* retain_graph, then a second backward: leaves' grads accumulate twice, bit for bit as store-all's */
    mix_out g = run_mix(specs[j], 1, 0);
    CHECKF(g.st[0] == AD_OK && g.st[1] == AD_OK && g.st[2] == AD_OK, "%s: %s %s %s", specs[j],
           ad_status_str(g.st[0]), ad_status_str(g.st[1]), ad_status_str(g.st[2]));
    CHECKF(!memcmp(&g, &all, sizeof g), "%s: two regions, two passes: not bit-identical to store_all", specs[j]);
    /* without retain_graph: the second backward fails as PyTorch's does, and changes nothing */
    mix_out f = run_mix(specs[j], 0, 0), fa = run_mix("store_all", 0, 0);
    CHECKF(f.st[1] == AD_OK && f.st[2] == AD_EFREED && fa.st[2] == AD_EFREED, "%s: second backward %s", specs[j],
           ad_status_str(f.st[2]));
    CHECKF(!memcmp(f.grad, fa.grad, sizeof f.grad), "%s: one pass", specs[j]);
  }
  /* The boundary: grad_fn CheckpointFunctionBackward, no next_functions, no retain_grad or hooks; the message of a
   * second backward is PyTorch's. */
  graph_ctx *c = graph_new();
  ckpt_spec sp;
  ckpt_parse("binomial:2", &sp);
  CHECK(ckpt_graph_attach(c, sp) == AD_OK);
  graph_node *p[3], *s[3];
  for (int i = 0; i < 3; ++i) p[i] = graph_leaf(c, 0.5 + 0.1 * i, 1), s[i] = graph_leaf(c, 0.2 * i, 1);
  graph_mark_t before = graph_mark(c);
  const int n = 3;
  ckpt_graph_steps(c, mix_step, &n, sizeof n, 6, 3, p, 3, s);
  graph_node *y = ad_add_vv(c, s[0], s[1]);
  ckpt_graph_stats cs = ckpt_graph_get_stats(c);
  CHECK(cs.regions == 1 && cs.steps == 6 && cs.nodes_added == 3 && cs.nodes_dropped > 0);
  /* walk down from y to the boundary: nodes without parents among y's ancestors recorded after the region began */
  graph_node *b = NULL;
  for (uint32_t id = before; id < graph_mark(c) && !b; ++id) {
    graph_node *q = graph_node_at(c, id);
    if (q && graph_grad_fn_name(q) && !strcmp(graph_grad_fn_name(q), "CheckpointFunctionBackward")) b = q;
  }
  CHECK(b != NULL);
  if (b) {
    graph_edge e[2];
    int cnt = -1;
    CHECK(graph_next_functions(c, b, e, &cnt) == AD_OK && cnt == 0);
    CHECK(!graph_is_leaf(b) && graph_requires_grad(b));
    CHECK(graph_retain_grad(c, b) == AD_ESTATE);
  }
  CHECK(graph_backward(c, y, 1.0, 0) == AD_OK);
  CHECK(graph_backward(c, y, 1.0, 0) == AD_EFREED);
  CHECK(strstr(graph_last_error(c), "Trying to backward through the graph a second time") != NULL);
  /* graph_release below the region forgets it; a new region records and sweeps */
  CHECK(graph_release(c, before) == AD_OK);
  for (int i = 0; i < 3; ++i) s[i] = graph_leaf(c, 0.2 * i, 1);
  graph_node *s0 = s[0];
  ckpt_graph_steps(c, mix_step, &n, sizeof n, 6, 3, p, 3, s);
  y = ad_add_vv(c, s[0], s[1]);
  graph_zero_grad(c, p[0], 1);
  CHECK(graph_backward(c, y, 1.0, 0) == AD_OK);
  double g0 = 0;
  CHECK(graph_grad(c, p[0], &g0) && g0 != 0.0);
  CHECK(graph_grad(c, s0, &g0) && g0 != 0.0);
  /* detach with a region recorded: its boundary becomes constants, backward stops there */
  for (int i = 0; i < 3; ++i) s[i] = graph_leaf(c, 0.2 * i, 1);
  s0 = s[0];
  ckpt_graph_steps(c, mix_step, &n, sizeof n, 6, 3, p, 3, s);
  y = ad_add_vv(c, s[0], s[1]);
  ckpt_graph_detach(c);
  CHECK(graph_backward(c, y, 1.0, 0) == AD_OK);
  CHECK(!graph_grad(c, s0, &g0));
  graph_free(c);
}

/* Backward fails re-recording a segment (the arena cannot grow): AD_ENOMEM, and the graph stays usable: with
 * retain_graph the next backward gives store-all's gradient bit for bit, without it the next one fails with
 * AD_EFREED (grad_fns above the region were freed) instead of tripping over a freed node. */
static void test_backward_failure(void) {
  enum { NS = 64 };
  double ref[2][NS];
  for (int variant = 0; variant < 3; ++variant) { /* 0: store_all reference, 1: retain_graph, 2: without */
    graph_ctx *c = graph_new();
    ckpt_spec sp;
    ckpt_parse(variant ? "binomial:3" : "store_all", &sp);
    CHECK(ckpt_graph_attach(c, sp) == AD_OK);
    graph_node *p[NS], *s[NS], *s0[NS];
    for (int i = 0; i < NS; ++i) p[i] = graph_leaf(c, 0.9 + 0.001 * i, 1), s0[i] = s[i] = graph_leaf(c, 0.01 * i, 1);
    const int n = NS;
    ckpt_graph_steps(c, mix_step, &n, sizeof n, 9, NS, p, NS, s);
    graph_node *y = s[0];
    for (int i = 1; i < NS; ++i) y = ad_add_vv(c, y, s[i]);
    CHECK(graph_status(c) == AD_OK);
    if (variant) {
      ad_alloc_fail_after(0);
      ad_status st = graph_backward(c, y, 1.0, variant == 1);
      ad_alloc_fail_after(-1);
      CHECKF(st == AD_ENOMEM, "failing backward: %s", ad_status_str(st));
      double g;
      CHECK(!graph_grad(c, p[0], &g) && !graph_grad(c, s0[0], &g)); /* the leaves are below the region */
    }
    ad_status st = graph_backward(c, y, 1.0, 0);
    if (variant == 2) {
      CHECKF(st == AD_EFREED, "after a failed backward without retain_graph: %s", ad_status_str(st));
    } else {
      CHECK(st == AD_OK);
      int same = 1;
      for (int i = 0; i < NS; ++i) {
        double gp = 0, gs = 0;
        graph_grad(c, p[i], &gp);
        graph_grad(c, s0[i], &gs);
        if (variant == 0) ref[0][i] = gp, ref[1][i] = gs;
        else same &= !memcmp(&gp, &ref[0][i], sizeof gp) && !memcmp(&gs, &ref[1][i], sizeof gs);
      }
      CHECK(same);
    }
    ckpt_graph_detach(c);
    graph_free(c);
  }
}

int main(void) {
  test_schedules("ode", 1, 2);
  test_schedules("ode", 2, 4);
  test_schedules("ode", 3, 10);
  test_schedules("lstm", 1, 3);  /* l 1, c 4: 3 steps */
  test_schedules("lstm", 2, 15); /* l 2, c 16 */
  test_schedules("recur", 1, 3);
  test_schedules("recur", 2, 20);
  test_two_passes();
  test_memory();
  test_budget();
  test_graph_api();
  test_backward_failure();
  test_alloc_failure("ode", 2, "binomial:2", 400);
  test_alloc_failure("recur", 2, "binomial:3", 2000);
  return test_report("test_ckpt_graph");
}
