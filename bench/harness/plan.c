/* plan.c: the cases, sizes and skip decisions of a benchmark sweep (plan.h). */
#include "plan.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The crossover grid's budgets, the largest nodes * max(n, m) of a shape: the default sweep reaches (n, m) =
 * (512, 256) (2.7e8), one doubling past m = 256's crossing, where one Jacobian took 0.06 s (graph), 0.27 s (tape)
 * and 0.5 to 0.6 s (replay, dual) on an AMD EPYC; its whole grid about 18 CPU seconds. The quick sweep's grid is
 * held by its max_nodes, 10^4 (about 2 s). */
#define PLAN_JAC_BUDGET_QUICK 1e7
#define PLAN_JAC_BUDGET_DEFAULT 3e8
#define PLAN_JAC_BUDGET_FULL 3e9

void plan_defaults(plan_opts *o) {
  memset(o, 0, sizeof *o);
  o->min_nodes = 10, o->steps = 1, o->seed = 42, o->x_primal_pairs = 11;
  static const int lanes[PLAN_MAX_LANES] = {1, 2, 4, 8, 16};
  memcpy(o->lanes, lanes, sizeof lanes);
  o->n_lanes = PLAN_MAX_LANES;
  plan_set_sweep(o, "default");
}

int plan_set_sweep(plan_opts *o, const char *name) {
  static const int grid_m[] = {1, 16, 256, 4096};
  if (!name) return 0;
  if (!strcmp(name, "quick")) {
    o->max_nodes = 1e4, o->min_time = 0.01, o->dual_budget = 1e7, o->memory_check = 0;
    o->max_eval_s = 0.5, o->jac_budget = PLAN_JAC_BUDGET_QUICK, o->n_grid_m = 3, o->sweep = "quick";
  } else if (!strcmp(name, "default")) {
    o->max_nodes = 1e6, o->min_time = 0.05, o->dual_budget = 1e8, o->memory_check = 0;
    o->max_eval_s = 1.0, o->jac_budget = PLAN_JAC_BUDGET_DEFAULT, o->n_grid_m = 3, o->sweep = "default";
  } else if (!strcmp(name, "full")) {
    o->max_nodes = 1e7, o->min_time = 0.5, o->dual_budget = 1e9, o->memory_check = 1;
    o->max_eval_s = 20.0, o->jac_budget = PLAN_JAC_BUDGET_FULL, o->n_grid_m = 4, o->sweep = "full";
  } else {
    return 0;
  }
  memcpy(o->grid_m, grid_m, sizeof grid_m);
  return 1;
}

/* Bytes of memory available to a new process (MemAvailable), 0 if unknown. */
static double mem_available(void) {
  FILE *f = fopen("/proc/meminfo", "r");
  if (!f) return 0;
  char line[256];
  double kb = 0;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "MemAvailable: %lf kB", &kb) == 1) break;
  fclose(f);
  return kb * 1024.0;
}

/* w's size with n inputs and m outputs, or 0 if it has none. */
static int size_of_shape(const wl_info *w, int n, int m) {
  for (int s = 1; s <= w->max_size; ++s)
    if (w->n_in(s) == n && w->n_out(s) == m) return s;
  return 0;
}

/* w's grid sizes into sz (at most cap), ordered by m then n = 1, 2, 4, ... (see plan.h). Returns how many. */
static int grid_sizes(const plan_opts *o, const wl_info *w, int *sz, int cap) {
  int ns = 0;
  for (int k = 0; k < o->n_grid_m; ++k)
    for (int n = 1, m = o->grid_m[k]; ns < cap && n <= PLAN_GRID_N_PER_M * m; n *= 2) {
      int s = size_of_shape(w, n, m);
      double nodes = s ? w->nodes(s) : 0;
      if (!s || nodes > o->max_nodes * (1 + 1e-9) || nodes * (n > m ? n : m) > o->jac_budget) break;
      sz[ns++] = s;
    }
  return ns;
}

/* w's node-target sizes into sz (at most cap). Returns how many. */
static int target_sizes(const plan_opts *o, const wl_info *w, int *sz, int cap) {
  int ns = 0;
  for (int k = 0; ns < cap; ++k) {
    double t = o->min_nodes * pow(10.0, (double)k / o->steps);
    if (t > o->max_nodes * (1 + 1e-9)) break;
    int s = wl_size_for_nodes(w, t);
    if (ns == 0 || s != sz[ns - 1]) sz[ns++] = s;
  }
  return ns;
}

void plan_free(plan *p) {
  for (int i = 0; p->cases && i < p->n_cases; ++i)
    free(p->cases[i].sizes), free(p->cases[i].verdict), free(p->cases[i].why), free(p->cases[i].x_primal);
  free(p->cases);
  memset(p, 0, sizeof *p);
}

ad_status plan_build(plan *p, const plan_opts *o) {
  memset(p, 0, sizeof *p);
  if (o->max_nodes < o->min_nodes || o->steps < 1 || o->steps > 10) return AD_EINVAL;
  p->o = *o;
  plan_opts *po = &p->o;
  if (!po->n_wl)
    for (int i = 0; i < WL_COUNT; ++i)
      po->wl[po->n_wl++] = wl_all[i];
  if (!po->n_eng)
    for (int i = 0; i < eng_count && i < PLAN_MAX_ENG; ++i) po->eng[po->n_eng++] = eng_all[i];
  if (po->memory_check && po->mem_available <= 0) po->mem_available = mem_available();
  if (po->n_lanes < 0 || po->n_lanes > PLAN_MAX_LANES) return AD_EINVAL;
  for (int k = 0; k < po->n_lanes; ++k)
    if (po->lanes[k] != 1 && po->lanes[k] != 2 && po->lanes[k] != 4 && po->lanes[k] != 8 && po->lanes[k] != 16)
      return AD_EINVAL;
  p->cases = (plan_case *)calloc((size_t)po->n_wl * po->n_eng * (RUN_MODE_COUNT + PLAN_MAX_LANES) + 1,
                                 sizeof *p->cases);
  if (!p->cases) return AD_ENOMEM;
  int sz[PLAN_MAX_SIZES];
  for (int a = 0; a < po->n_wl; ++a) {
    const wl_info *w = po->wl[a];
    int ns = w->grid ? grid_sizes(po, w, sz, PLAN_MAX_SIZES) : target_sizes(po, w, sz, PLAN_MAX_SIZES);
    for (int b = 0; b < po->n_eng && ns > 0; ++b)
      for (int m = 0; m < RUN_MODE_COUNT; ++m) {
        if (!run_mode_applies(po->eng[b], (run_mode)m) || (w->grid && m != RUN_GRAD)) continue;
        if (po->modes && !(po->modes & (1u << m))) continue;
        int vec = m == RUN_GRAD && po->eng[b]->jacobian_lanes && (w->grid || po->lanes_all) ? po->n_lanes : 0;
        for (int q = -1; q < vec; ++q) { /* the case itself, then one per lane count */
          plan_case *c = &p->cases[p->n_cases];
          c->w = w, c->e = po->eng[b], c->mode = (run_mode)m, c->index = p->n_cases, c->grid = w->grid, c->p = p;
          c->lanes = q < 0 ? 0 : po->lanes[q];
          c->n_sizes = ns;
          c->sizes = (int *)malloc((size_t)ns * sizeof *c->sizes);
          c->verdict = (unsigned char *)calloc((size_t)ns, 1);
          c->why = (char(*)[PLAN_WHY])calloc((size_t)ns, PLAN_WHY);
          c->x_primal = (double(*)[4])calloc((size_t)ns, sizeof *c->x_primal);
          p->n_cases++;
          if (!c->sizes || !c->verdict || !c->why || !c->x_primal) {
            plan_free(p);
            return AD_ENOMEM;
          }
          memcpy(c->sizes, sz, (size_t)ns * sizeof *sz);
        }
      }
  }
  return AD_OK;
}

/* ---- decisions ---- */

static int size_index(const plan_case *c, int size) {
  for (int i = 0; i < c->n_sizes; ++i)
    if (c->sizes[i] == size) return i;
  return -1;
}

/* A rough upper bound of the bytes one run needs: what engines that record keep per node (the tape about 25,
 * a graph of nodes several times more), inputs, outputs, scratch and the Jacobian. */
static double mem_estimate(const plan_case *c, int size) {
  double per_node = c->e->kind == ENG_REVERSE ? 256.0 : 0.0;
  double n = c->w->n_in(size), m = c->w->n_out(size);
  return per_node * c->w->nodes(size) + 64.0 * (n + m + c->w->n_scratch(size)) + 8.0 * n * m;
}

/* What one evaluation of c at size costs, in node evaluations: the nodes; on the grid, whose shapes change n_in
 * and n_out independently, nodes times n_in forward passes, or times one recording and n_out reverse sweeps
 * (with K lanes: ceil(n_in / K) passes, ceil(n_out / K) sweeps). */
static double run_work(const plan_case *c, int size) {
  double nodes = c->w->nodes(size);
  if (!c->grid || c->mode != RUN_GRAD) return nodes;
  int k = c->lanes > 0 ? c->lanes : 1, n = c->w->n_in(size), m = c->w->n_out(size);
  return nodes * (c->e->kind == ENG_FORWARD ? (double)((n + k - 1) / k) : (m + k - 1) / k + 1.0);
}

/* A reason known before running: fixed limits, or the extrapolation from the costliest size measured. */
static int reason(const plan_case *c, int size, char *why) {
  const plan_opts *o = &c->p->o;
  double nodes = c->w->nodes(size), n = c->w->n_in(size), work = run_work(c, size);
  const char *peer = eng_skip_reason(c->e, c->w, size);
  if (peer) return snprintf(why, PLAN_WHY, "skipped: %s", peer), 1;
  if (c->mode == RUN_GRAD && c->e->kind == ENG_FORWARD && !c->grid && n * nodes > o->dual_budget)
    return snprintf(why, PLAN_WHY, "skipped: n_in * nodes = %.3g exceeds the forward-gradient budget %.3g "
                    "(--dual-budget)", n * nodes, o->dual_budget), 1;
  if (o->memory_check && o->mem_available > 0 && mem_estimate(c, size) > 0.5 * o->mem_available)
    return snprintf(why, PLAN_WHY, "skipped: needs about %.0f MB, more than half of the %.0f MB available",
                    mem_estimate(c, size) / 1e6, o->mem_available / 1e6), 1;
  if (o->max_eval_s <= 0 || c->last_eval_s <= 0 || work <= c->last_work ||
      c->last_eval_s * work / c->last_work <= o->max_eval_s)
    return 0; /* max_eval_s 0: no limit */
  snprintf(why, PLAN_WHY, "skipped: one evaluation took %.3g s at %.0f %s, so at least %.3g s here, above "
           "--max-eval-time=%g", c->last_eval_s, c->last_work, c->grid && c->mode == RUN_GRAD ? "node passes" : "nodes",
           c->last_eval_s * work / c->last_work, o->max_eval_s);
  return 1;
}

plan_verdict plan_check(plan_case *c, int size, char why[PLAN_WHY]) {
  int i = size_index(c, size);
  if (i < 0) return snprintf(why, PLAN_WHY, "skipped: size %d is not in the plan", size), PLAN_SKIP;
  if (c->verdict[i] == PLAN_UNDECIDED && reason(c, size, c->why[i])) c->verdict[i] = PLAN_SKIP;
  if (c->verdict[i] == PLAN_SKIP) snprintf(why, PLAN_WHY, "%s", c->why[i]);
  return (plan_verdict)c->verdict[i];
}

plan_verdict plan_decide(plan_case *c, int size, double eval_s, char why[PLAN_WHY]) {
  int i = size_index(c, size);
  if (i < 0) return snprintf(why, PLAN_WHY, "skipped: size %d is not in the plan", size), PLAN_SKIP;
  if (c->verdict[i] == PLAN_UNDECIDED) {
    double work = run_work(c, size), max = c->p->o.max_eval_s;
    if (work >= c->last_work) c->last_work = work, c->last_eval_s = eval_s;
    if (max > 0 && eval_s > max) { /* max 0: no limit */
      snprintf(c->why[i], PLAN_WHY, "skipped: one evaluation took %.3g s, above --max-eval-time=%g", eval_s, max);
      c->verdict[i] = PLAN_SKIP;
    } else {
      c->verdict[i] = PLAN_RUN;
    }
  }
  if (c->verdict[i] == PLAN_SKIP) snprintf(why, PLAN_WHY, "%s", c->why[i]);
  return (plan_verdict)c->verdict[i];
}

/* ---- the context ---- */

int plan_describe(const plan *p, ctx_table *t) {
  const plan_opts *o = &p->o;
  char grid[512] = "", names[256] = "";
  int ok = ctx_set(t, "adbench_sweep", o->sweep);
  ok &= ctx_setf(t, "adbench_node_targets", "%.0f..%.0f, %d per decade", o->min_nodes, o->max_nodes, o->steps);
  ok &= ctx_setf(t, "adbench_dual_budget", "%g", o->dual_budget);
  size_t len = 0;
  for (int i = 0; i < o->n_wl; ++i)
    if (o->wl[i]->grid && len + strlen(o->wl[i]->name) + 2 < sizeof names)
      len += (size_t)snprintf(names + len, sizeof names - len, "%s%s", len ? "," : "", o->wl[i]->name);
  ok &= ctx_set(t, "adbench_grid_workloads", names);
  len = (size_t)snprintf(grid, sizeof grid, "%s: m =", names[0] ? names : "(none)");
  for (int k = 0; k < o->n_grid_m && len < sizeof grid; ++k)
    len += (size_t)snprintf(grid + len, sizeof grid - len, "%s %d", k ? "," : "", o->grid_m[k]);
  if (len < sizeof grid)
    snprintf(grid + len, sizeof grid - len, "; n = 1, 2, 4, ... up to %d m while nodes <= %g and nodes * max(n, m) "
             "<= %g", PLAN_GRID_N_PER_M, o->max_nodes, o->jac_budget);
  ok &= ctx_set(t, "adbench_jacobian_grid", grid);
  char lanes[64] = "";
  len = 0;
  for (int k = 0; k < o->n_lanes; ++k)
    len += (size_t)snprintf(lanes + len, sizeof lanes - len, "%s%d", k ? "," : "", o->lanes[k]);
  ok &= ctx_setf(t, "adbench_lanes", "%s%s", o->n_lanes ? lanes : "none",
                 o->n_lanes && !o->lanes_all ? " (grid workloads)" : "");
  ok &= ctx_setf(t, "adbench_min_time", "%g", o->min_time);
  ok &= ctx_setf(t, "adbench_max_eval_time", "%g", o->max_eval_s);
  ok &= ctx_setf(t, "adbench_seed", "%llu", (unsigned long long)o->seed);
  ok &= ctx_setf(t, "adbench_x_primal_pairs", "%d", o->x_primal_pairs);
  /* The peer AD tools in this binary: the report marks their engines as peers and lists their versions. */
  char list[512] = "", key[64];
  len = 0;
  for (int i = eng_own_count; i < eng_count && len < sizeof list; ++i) {
    const eng_api *e = eng_all[i];
    len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", i > eng_own_count ? ", " : "", e->name);
    snprintf(key, sizeof key, "peer_%s", e->name);
    ok &= ctx_setf(t, key, "%s %s: %s", e->tool, e->version, e->about);
  }
  ok &= ctx_set(t, "peers", eng_count > eng_own_count ? list
                                    : "none built (scripts/main --peers installs and builds them)");
  for (int i = 0; i < o->n_wl; ++i) { /* what each workload computes, for the report */
    snprintf(key, sizeof key, "wl_%s", o->wl[i]->name);
    ok &= ctx_set(t, key, o->wl[i]->doc);
  }
  return ok;
}
