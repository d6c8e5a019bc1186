/* plan.h: what a benchmark sweep runs: the cases (workload x engine x mode), each case's sizes (node targets, or
 * the Jacobian crossover grid for grid workloads), and which sizes are skipped and why. Decisions are made once
 * per case and size and remembered, so every repetition of a case runs or skips alike.
 *
 *   plan_opts o;
 *   plan_defaults(&o);                               // the default sweep, every workload and engine
 *   plan_set_sweep(&o, "quick");
 *   plan p;
 *   if (plan_build(&p, &o) != AD_OK) ...;
 *   for (int i = 0; i < p.n_cases; ++i) register(p.cases[i].sizes, p.cases[i].n_sizes);
 *   // in a run of case c at size:
 *   char why[PLAN_WHY];
 *   plan_verdict v = plan_check(c, size, why);      // PLAN_SKIP: report why; PLAN_RUN: run
 *   if (v == PLAN_UNDECIDED) v = plan_decide(c, size, seconds_of_one_evaluation, why);
 *   plan_free(&p);
 *
 * Sizes: for node targets from min_nodes to max_nodes in `steps` logarithmic steps per decade, each workload's
 * smallest size that reaches the target (wl_size_for_nodes); sizes that coincide run once. A workload with the
 * grid flag (wl_info.grid: its sizes enumerate shapes (n, m)) runs the crossover grid instead, in mode grad only:
 * for each m of grid_m, n = 1, 2, 4, ... up to PLAN_GRID_N_PER_M * m while the shape has at most max_nodes nodes
 * and nodes * max(n, m), the work of the dearer of n forward passes and m reverse sweeps, stays within
 * jac_budget (which bounds the forward engines there in place of dual_budget).
 * Vector modes: engines with jacobian_lanes get, beside their grad case, one grad case per lane count K of
 * plan_opts.lanes (named <workload>/<engine>/grad/lanes:K), on grid workloads (and every workload if lanes_all).
 * Skips: a peer tool beyond its own limits (eng_skip_reason); the forward gradient where n_in * nodes exceeds
 * dual_budget (off the grid); an estimated memory above half of mem_available (memory_check); a size whose
 * evaluation took more than max_eval_s (> 0) CPU seconds, or would by linear extrapolation (in nodes, or on the grid in
 * nodes times passes) from the costliest size measured so far.
 */
#ifndef PLAN_H
#define PLAN_H

#include "context.h"
#include "eng.h"
#include "run.h"
#include "wl.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { PLAN_MAX_GRID_M = 8, PLAN_MAX_ENG = 64, PLAN_MAX_SIZES = 128, PLAN_WHY = 256, PLAN_GRID_N_PER_M = 16,
       PLAN_MAX_LANES = 5 };

typedef struct plan_opts {
  const char *sweep;                      /* quick, default or full (plan_set_sweep) */
  double min_nodes, max_nodes;            /* node targets */
  int steps;                              /* node targets per decade */
  double dual_budget;                     /* largest n_in * nodes for a forward engine's full gradient */
  double jac_budget;                      /* grid: largest nodes * max(n_in, n_out) of a shape */
  int grid_m[PLAN_MAX_GRID_M], n_grid_m;  /* grid: its values of n_out */
  double min_time;                        /* the sweep's default --benchmark_min_time */
  double max_eval_s;                      /* skip sizes where one evaluation takes (or would take) longer; 0: none */
  int memory_check;                       /* skip sizes whose estimated memory exceeds half of mem_available */
  double mem_available;                   /* bytes, 0 if unknown (plan_build reads /proc/meminfo if needed) */
  uint64_t seed;                          /* inputs (run_open) */
  int x_primal_pairs;                     /* pairs of batches for x_primal (pairs.h); 0: not measured */
  const wl_info *wl[WL_COUNT];            /* the workloads; none: every one */
  int n_wl;
  const eng_api *eng[PLAN_MAX_ENG];       /* the engines; none: all of eng_all */
  int n_eng;
  unsigned modes;                         /* bit set of 1 << run_mode; 0: every mode */
  int lanes[PLAN_MAX_LANES], n_lanes;     /* vector modes: the lane counts K of grad cases "lanes:K" (default 1, 2,
                                           * 4, 8, 16), for engines with jacobian_lanes; n_lanes 0: none */
  int lanes_all;                          /* 1: lanes cases on every workload; 0: on grid workloads only */
} plan_opts;

/* The default sweep: node targets 10 .. 10^6, one per decade, seed 42, every workload, engine and mode, lanes
 * 1, 2, 4, 8, 16 on the grid workloads. */
void plan_defaults(plan_opts *o);

/* Sets the sweep's node range, budgets, times and grid: "quick" (up to 10^4 nodes), "default" (10^6) or "full"
 * (10^7, memory check, m up to 4096). Returns 1, or 0 (o unchanged) for another name. */
int plan_set_sweep(plan_opts *o, const char *name);

typedef enum plan_verdict { PLAN_UNDECIDED, PLAN_RUN, PLAN_SKIP } plan_verdict;

typedef struct plan plan;

typedef struct plan_case {
  const wl_info *w;
  const eng_api *e;
  run_mode mode;
  int index;                     /* in plan.cases */
  int grid;                      /* 1: the sizes are the crossover grid */
  int lanes;                     /* grad mode, vector form: K lanes per pass or sweep (jacobian_lanes); 0: none */
  int n_sizes;
  int *sizes;                    /* the sizes, in run order */
  unsigned char *verdict;        /* per size: plan_verdict, once decided */
  char (*why)[PLAN_WHY];         /* per size: the reason of a skip */
  double last_work, last_eval_s; /* the costliest size measured so far: its work and CPU seconds per evaluation */
  double (*x_primal)[4];         /* per size: x_primal's median, min, max and pairs once measured (bench.h) */
  plan *p;
} plan_case;

struct plan {
  plan_opts o;
  plan_case *cases;
  int n_cases;
  int progress;                  /* bench.h: a line on stderr as each case starts */
  const plan_case *last_started; /* the case of the last progress line */
};

/* Builds the cases and sizes of o (copied into p). Returns AD_OK, AD_ENOMEM, or AD_EINVAL if o is inconsistent
 * (max_nodes below min_nodes, steps outside 1 .. 10). On error p holds nothing (plan_free is still allowed). */
ad_status plan_build(plan *p, const plan_opts *o);

/* Frees what plan_build allocated. */
void plan_free(plan *p);

/* The verdict for c at size: the remembered one, else PLAN_SKIP (remembered) if a fixed reason or the
 * extrapolation from cheaper sizes says so, else PLAN_UNDECIDED (measure one evaluation, then plan_decide). On
 * PLAN_SKIP, why (PLAN_WHY chars) holds "skipped: <reason>". size must be one of c's sizes. */
plan_verdict plan_check(plan_case *c, int size, char why[PLAN_WHY]);

/* Decides c at size from the CPU seconds of one evaluation, remembers it and notes it for extrapolation:
 * PLAN_SKIP (why filled) above max_eval_s (never with max_eval_s 0: no limit), else PLAN_RUN. A size already decided keeps its verdict (why filled
 * again for a skip), so a later, noisier measurement cannot change it. */
plan_verdict plan_decide(plan_case *c, int size, double eval_s, char why[PLAN_WHY]);

/* Writes the sweep's parameters into t: adbench_sweep, adbench_node_targets, adbench_dual_budget,
 * adbench_jacobian_grid (the grid's shapes), adbench_grid_workloads (names of the grid workloads, comma
 * separated, "" if none), adbench_min_time, adbench_max_eval_time, adbench_seed, adbench_x_primal_pairs,
 * adbench_lanes (the lane counts and where they run), wl_<name> (what each workload computes), peers and
 * peer_<name>. Returns 1, or 0 if a ctx_set failed. */
int plan_describe(const plan *p, ctx_table *t);

#ifdef __cplusplus
}
#endif
#endif
