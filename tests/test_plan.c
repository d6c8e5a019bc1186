/* test_plan: the benchmark plan (bench/harness/plan.h), the interleaved ratios (pairs.h) and the report's context
 * (context.h): sizes and the Jacobian grid from the grid flag, skip decisions made once per case and size (so
 * every repetition of a case agrees), extrapolation, ratios with their spread, and the context table. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "testkit.h"
#include "context.h"
#include "pairs.h"
#include "plan.h"

static plan_case *find_case(plan *p, const char *w, const char *e, run_mode m) {
  for (int i = 0; i < p->n_cases; ++i)
    if (!strcmp(p->cases[i].w->name, w) && !strcmp(p->cases[i].e->name, e) && p->cases[i].mode == m)
      return &p->cases[i];
  return NULL;
}

/* A size decided once keeps its verdict, whatever later measurements say; max_eval_s 0 sets no limit. */
static void test_decide_once(void) {
  plan_opts o;
  plan_defaults(&o);
  o.wl[o.n_wl++] = wl_find("poly");
  o.eng[o.n_eng++] = eng_find("tape");
  o.min_nodes = 1e3, o.max_nodes = 1e6, o.max_eval_s = 0.01;
  plan p;
  CHECKF(plan_build(&p, &o) == AD_OK, "plan_build");
  plan_case *c = find_case(&p, "poly", "tape", RUN_GRAD);
  CHECKF(c && c->n_sizes == 4, "poly/tape/grad: 4 node targets, got %d", c ? c->n_sizes : -1);
  CHECKF(find_case(&p, "poly", "tape", RUN_REVERSE) != NULL, "poly/tape/reverse planned");
  if (!c || c->n_sizes < 4) return plan_free(&p);
  char why[PLAN_WHY];
  int s0 = c->sizes[0], s1 = c->sizes[1], s2 = c->sizes[2];
  CHECKF(plan_check(c, s0, why) == PLAN_UNDECIDED, "first look at a size: undecided");
  CHECKF(plan_decide(c, s0, 0.001, why) == PLAN_RUN, "0.001 s under the 0.01 s limit: run");
  /* a later repetition measures above the limit: the decision holds */
  CHECKF(plan_decide(c, s0, 0.5, why) == PLAN_RUN, "a repetition's slower measurement keeps the size running");
  CHECKF(plan_check(c, s0, why) == PLAN_RUN, "remembered: run");
  CHECKF(plan_decide(c, s1, 0.02, why) == PLAN_SKIP && strstr(why, "--max-eval-time=0.01"),
         "0.02 s over the limit: skipped with the reason, got %s", why);
  CHECKF(plan_decide(c, s1, 0.0001, why) == PLAN_SKIP && !strncmp(why, "skipped: one evaluation took", 28),
         "a repetition's faster measurement keeps the size skipped, got %s", why);
  CHECKF(plan_check(c, s2, why) == PLAN_SKIP && strstr(why, "so at least"),
         "a larger size is skipped by extrapolation before it runs, got %s", why);
  CHECKF(plan_check(c, 12345, why) == PLAN_SKIP, "a size outside the plan is refused");
  plan_free(&p);

  /* max_eval_s 0: no limit (neither a measurement nor the extrapolation skips a size). */
  o.max_eval_s = 0;
  CHECKF(plan_build(&p, &o) == AD_OK, "plan_build");
  c = find_case(&p, "poly", "tape", RUN_GRAD);
  if (!c || c->n_sizes < 4) return plan_free(&p);
  CHECKF(plan_decide(c, c->sizes[0], 5.0, why) == PLAN_RUN, "max_eval_s 0: 5 s at the first size runs");
  CHECKF(plan_check(c, c->sizes[1], why) == PLAN_UNDECIDED, "max_eval_s 0: no extrapolated skip, got %s",
         plan_check(c, c->sizes[1], why) == PLAN_SKIP ? why : "no skip");
  CHECKF(plan_decide(c, c->sizes[1], 1e3, why) == PLAN_RUN, "max_eval_s 0: 1000 s runs");
  plan_free(&p);
}

/* Vector modes: one grad case per lane count for engines with jacobian_lanes, named grad/lanes:K, on the grid by
 * default and on every workload with lanes_all; no lane cases on engines without it; a lane count other than 1, 2,
 * 4, 8, 16 is refused. */
static void test_lanes(void) {
  plan_opts o;
  plan_defaults(&o);
  plan_set_sweep(&o, "quick");
  o.wl[o.n_wl++] = wl_find("mix"), o.wl[o.n_wl++] = wl_find("chain");
  o.eng[o.n_eng++] = &eng_dual, o.eng[o.n_eng++] = &eng_graph; /* graph: no vector mode */
  plan p;
  CHECKF(plan_build(&p, &o) == AD_OK, "plan_build");
  int on_grid[17] = {0}, on_chain = 0;
  for (int i = 0; i < p.n_cases; ++i) {
    const plan_case *c = &p.cases[i];
    if (!c->lanes) continue;
    CHECKF(c->e == &eng_dual && c->mode == RUN_GRAD, "lanes only on the dual engine's grad: %s %s", c->e->name,
           run_mode_name[c->mode]);
    if (c->w->grid && c->lanes <= 16) on_grid[c->lanes]++;
    else on_chain++;
  }
  CHECKF(on_grid[1] == 1 && on_grid[2] == 1 && on_grid[4] == 1 && on_grid[8] == 1 && on_grid[16] == 1 && !on_chain,
         "lanes 1, 2, 4, 8, 16 once each on mix only (chain: %d)", on_chain);
  plan_free(&p);
  o.lanes_all = 1, o.n_lanes = 2, o.lanes[0] = 4, o.lanes[1] = 16;
  CHECKF(plan_build(&p, &o) == AD_OK, "plan_build, lanes 4 and 16 everywhere");
  int n = 0;
  for (int i = 0; i < p.n_cases; ++i) n += p.cases[i].lanes != 0;
  CHECKF(n == 4, "lanes 4 and 16 on mix and chain: %d cases", n);
  plan_free(&p);
  o.lanes[1] = 3;
  CHECKF(plan_build(&p, &o) == AD_EINVAL, "lane count 3 refused");
  plan_free(&p);
  o.n_lanes = 0;
  CHECKF(plan_build(&p, &o) == AD_OK, "plan_build without lanes");
  n = 0;
  for (int i = 0; i < p.n_cases; ++i) n += p.cases[i].lanes != 0;
  CHECKF(n == 0, "no lane cases with n_lanes = 0: %d", n);
  plan_free(&p);
}

/* The grid flag, not the name, selects the crossover grid; the context names the grid workloads. */
static void test_grid(void) {
  int n_grid = 0;
  for (int i = 0; i < WL_COUNT; ++i) n_grid += wl_all[i]->grid != 0;
  CHECKF(wl_find("mix")->grid && n_grid == 1, "mix is the one grid workload (%d)", n_grid);
  plan_opts o;
  plan_defaults(&o);
  plan_set_sweep(&o, "quick");
  o.wl[o.n_wl++] = wl_find("mix"), o.wl[o.n_wl++] = wl_find("chain");
  plan p;
  CHECKF(plan_build(&p, &o) == AD_OK, "plan_build");
  int grid_cases = 0;
  for (int i = 0; i < p.n_cases; ++i)
    if (p.cases[i].w->grid && !eng_is_peer(p.cases[i].e)) { /* adlab's own engines (peers may be built too) */
      grid_cases++;
      CHECKF(p.cases[i].mode == RUN_GRAD && p.cases[i].grid, "%s: the grid runs grad only", p.cases[i].e->name);
    }
  int n_vec = 0; /* adlab's engines with vector modes: one grad case more per lane count on the grid */
  for (int i = 0; i < eng_own_count; ++i) n_vec += eng_all[i]->jacobian_lanes != NULL;
  CHECKF(n_vec >= 1 && eng_dual.jacobian_lanes, "the dual engine has vector modes");
  CHECKF(grid_cases == 5 + PLAN_MAX_LANES * n_vec, "mix on dual, tape, tape_op, graph and replay, and lanes 1..16 on "
         "%d engine(s): %d cases", n_vec, grid_cases);
  plan_case *c = find_case(&p, "mix", "tape", RUN_GRAD);
  CHECKF(c && c->n_sizes == 5 + 8 + 4, "quick grid: 17 shapes, got %d", c ? c->n_sizes : -1);
  ctx_table t = {0};
  CHECKF(plan_describe(&p, &t), "plan_describe");
  const char *gw = ctx_get(&t, "adbench_grid_workloads"), *g = ctx_get(&t, "adbench_jacobian_grid");
  CHECKF(gw && !strcmp(gw, "mix"), "adbench_grid_workloads = mix, got %s", gw ? gw : "(none)");
  CHECKF(g && !strncmp(g, "mix: m = 1, 16, 256; n = 1, 2, 4, ...", 37), "grid description: %s", g ? g : "(none)");
  CHECKF(ctx_get(&t, "wl_chain") && ctx_get(&t, "adbench_x_primal_pairs"), "workload docs and pairs in context");
  const char *la = ctx_get(&t, "adbench_lanes");
  CHECKF(la && !strcmp(la, "1,2,4,8,16 (grid workloads)"), "adbench_lanes: %s", la ? la : "(none)");
  ctx_free(&t);
  plan_free(&p);
  plan_opts bad;
  plan_defaults(&bad);
  bad.min_nodes = 1e5, bad.max_nodes = 10;
  CHECKF(plan_build(&p, &bad) == AD_EINVAL, "max_nodes below min_nodes refused");
  CHECKF(!plan_set_sweep(&bad, "huge") && !plan_set_sweep(&bad, NULL), "unknown sweeps refused");
}

/* Interleaved ratios: the gradient over the primal, with a spread that brackets the median. */
static void test_pairs(void) {
  double v[] = {5, 1, 3, 2, 4};
  CHECKF(pairs_median(v, 5) == 3, "median of 5");
  double u[] = {4, 1, 3, 2};
  CHECKF(pairs_median(u, 4) == 2.5, "median of 4");
  const wl_info *w = wl_find("rosenbrock");
  int size = wl_size_for_nodes(w, 1e4);
  run_case a, b;
  CHECKF(run_open(&a, w, eng_find("tape"), RUN_GRAD, size, 42) == AD_OK, "open tape");
  CHECKF(run_open(&b, w, eng_find("primal"), RUN_VALUE, size, 42) == AD_OK, "open primal");
  pairs_opts o = {5, 1e-3, 0.05};
  pairs_ratio r;
  CHECKF(pairs_measure(&a, &b, &o, &r) == AD_OK, "pairs_measure");
  CHECKF(r.pairs >= 3 && r.pairs <= 5, "3 to 5 pairs, got %d", r.pairs);
  CHECKF(r.min <= r.median && r.median <= r.max, "min %g <= median %g <= max %g", r.min, r.median, r.max);
  CHECKF(r.median > 1.5 && r.median < 1000, "a gradient costs more than the primal: %g", r.median);
  CHECKF(r.batch_b >= r.batch_a, "the cheaper primal runs more evaluations per batch (%d, %d)", r.batch_a, r.batch_b);
  pairs_ratio self;
  CHECKF(pairs_measure(&b, &b, &o, &self) == AD_OK && self.median > 0.5 && self.median < 2,
         "the primal against itself: about 1, got %g", self.median);
  pairs_opts slow = {11, 1e-9, 1e-9}; /* one evaluation per batch, one pair over the budget: one pair only */
  CHECKF(pairs_measure(&a, &b, &slow, &r) == AD_OK && r.pairs == 1 && r.min == r.median && r.median == r.max,
         "a pair over the budget: 1 pair, got %d", r.pairs);
  pairs_opts none = {0, 1e-3, 0.05};
  CHECKF(pairs_measure(&a, &b, &none, &r) == AD_EINVAL, "0 pairs refused");
  run_close(&a), run_close(&b);
}

static void test_context(void) {
  ctx_table t = {0};
  CHECKF(ctx_set(&t, "k", "v1") && ctx_set(&t, "k", "v2") && t.n == 1 && !strcmp(ctx_get(&t, "k"), "v2"),
         "a later value replaces an earlier one");
  CHECKF(ctx_set_pair(&t, "a=b=c") && !strcmp(ctx_get(&t, "a"), "b=c"), "KEY=VALUE splits at the first =");
  CHECKF(!ctx_set_pair(&t, "=x") && !ctx_set_pair(&t, "novalue") && !ctx_set(&t, "", "x"), "bad pairs refused");
  CHECKF(ctx_add_build(&t) && ctx_get(&t, "compiler") && ctx_get(&t, "build_isa"), "build facts");
  CHECKF(ctx_add_machine(&t) && ctx_get(&t, "cpu_model") && ctx_get(&t, "sleef_variant"), "machine facts");
  ctx_free(&t);
  CHECKF(t.n == 0, "ctx_free empties the table");
}

int main(void) {
  test_decide_once();
  test_grid();
  test_lanes();
  test_pairs();
  test_context();
  return test_report("test_plan");
}
