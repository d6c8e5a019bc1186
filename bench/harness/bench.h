/* bench.h: one plan case (plan.h) run under Google Benchmark (gbench/gb_shim.h): set-up, the skip decision, the
 * timed loop of run_eval, then the counters. adbench registers bench_case for each case and size.
 *
 *   plan p;  plan_build(&p, &opts);
 *   bench_progress(&p, 1);                              // a line on stderr as each case starts
 *   for (int i = 0; i < p.n_cases; ++i) {
 *     gb_bench *b = gb_register(bench_name(&p.cases[i], name, sizeof name), bench_case, &p.cases[i]);
 *     for (int k = 0; k < p.cases[i].n_sizes; ++k) gb_bench_arg(b, p.cases[i].sizes[k]);
 *   }
 *   gb_run();
 *
 * Each run: run_open at the size (inputs from the plan's seed), one untimed evaluation (storage in place; its
 * CPU time feeds plan_decide), the timed loop, then counters: nodes (measured by engines that record, else the
 * workload's count), n_in, n_out, size, bytes (held after the loop), bytes_per_node, ns_per_node (CPU time per
 * iteration per node, a plain number); tensor-form workloads and their scalar twins add elements (wl_elements),
 * bytes_per_element and ns_per_element; engines that record add args, bytes_used and bytes_per_arg; replay adds
 * guard_refusals (the share of BENCH_GUARD_TRIALS replays at other seeds' inputs refused by guards); every
 * non-primal case adds x_primal, x_primal_min, x_primal_max and x_primal_pairs: the time of one evaluation over
 * the primal's at the same workload, size and inputs, measured interleaved (pairs.h; the median of per-pair
 * ratios and their range; up to plan_opts.x_primal_pairs pairs within BENCH_X_PRIMAL_BUDGET times the min time),
 * once per case and size and kept for its repetitions. A skip is reported as an error
 * whose message starts with "skipped:" and gives the reason; a failing evaluation as "error: <status>".
 */
#ifndef BENCH_H
#define BENCH_H

#include <stddef.h>

#include "gb_shim.h"
#include "plan.h"

#ifdef __cplusplus
extern "C" {
#endif

/* x_primal's pairs of batches stop after BENCH_X_PRIMAL_BUDGET times the sweep's min time (plan_opts.min_time,
 * or --benchmark_min_time) once 3 are done: 0.02 s in the quick sweep, 0.1 s in the default one. */
enum { BENCH_GUARD_TRIALS = 10, BENCH_X_PRIMAL_BUDGET = 2 };

/* The benchmark function: arg is a plan_case of a plan that outlives the run; gb_range(st, 0) is the size. */
void bench_case(gb_state *st, void *arg);

/* Writes c's name "<workload>/<engine>/<mode>", "<workload>/<engine>/grad/lanes:K" for a vector mode, into buf
 * (cap bytes) and returns buf. */
const char *bench_name(const plan_case *c, char *buf, size_t cap);

/* Turns the progress lines on stderr ("adbench: [k/n] <workload> on <engine>, <mode> (s sizes)") on or off. */
void bench_progress(plan *p, int on);

#ifdef __cplusplus
}
#endif
#endif
