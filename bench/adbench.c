/* adbench: the benchmark binary: every workload x engine x mode x size, timed by Google Benchmark.
 *
 *   adbench                                     default sweep: 10 .. 10^6 nodes, every engine and workload
 *   adbench --sweep quick                       10 .. 10^4 nodes, short runs (--sweep=full: up to 10^7 nodes)
 *   adbench --workload=poly,chain --engine tape  some workloads and engines only (names as in adcheck)
 *   adbench --benchmark_filter='rosenbrock/.*' --benchmark_repetitions=5
 *   adbench --benchmark_out=r.json              the JSON report with its context, replaced only by a complete one
 *   adbench --benchmark_list_tests              the names, without running anything
 *   adbench --help                              Google Benchmark's flags, then adbench's own
 *
 * Names are <workload>/<engine>/<mode>/<size>, size being the workload's size parameter (adcheck's --size);
 * vector modes (engines with jacobian_lanes) add their lane count: <workload>/<engine>/grad/lanes:K/<size>.
 * Modes (run.h's RUN_MODE_LIST), chosen by the engine's kind, so engines added to the registry join by themselves:
 *   value    the primal engine: the function alone, the baseline of every ratio;
 *   jvp      forward engines: one directional derivative (one pass);
 *   grad     the full gradient, or the full Jacobian where n_out > 1: forward engines by n_in passes, reverse
 *            engines by one recording and one reverse sweep per output;
 *   reverse  reverse engines: the reverse sweep alone (vjp) on a recording made once before the timed loop;
 *   replay   engines that can re-evaluate a recording: value and full Jacobian by replaying the recording made
 *            once before the timed loop; guard_refusals counts replays at other inputs refused by guards.
 * --lanes K,... (default 1,2,4,8,16 on the grid workloads only): grad of engines with vector modes again with K
 * directions per forward pass or reverse sweep, as cases grad/lanes:K; given explicitly, on every workload;
 * --lanes none: no vector cases.
 * The plan (sizes, the Jacobian crossover grid of workloads with the grid flag, skips and their reasons):
 * harness/plan.h. What one run does and its counters, x_primal among them (each engine's time over the
 * primal's, measured interleaved, with its spread): harness/bench.h. The report's context (build, machine,
 * sweep, adbench_grid_workloads): harness/context.h and plan_describe.
 * --context KEY=VALUE adds or overrides one entry (scripts/main sets git_commit to the checkout's state).
 * --ckpt SCHEDULE[,SCHEDULE...] adds, per schedule, the gradient of the engines that checkpoint (tape, tape_op, graph) on
 * the workloads whose recording has checkpointable steps (AD_STEPS, AD_STEPS_WHILE: found by recording each
 * workload once with store_all at its small check size), as cases <workload>/<engine>/grad/ckpt:SCHEDULE/<size>
 * at one node target (--ckpt-nodes, default the sweep's largest), with their counters peak_bytes, ckpt_steps and
 * recomputed; every other case runs as without --ckpt. The context's `ckpt` lists the schedules, `ckpt_cases`
 * the engines, workloads and node target (or why there are none: no selected engine checkpoints, no selected
 * workload has steps, --mode has neither grad nor reverse; a note on stderr, not an error). --ckpt none: none.
 * Exit status: 0 after a complete run; 1 if no benchmark matched or the results could not be written (the
 * results file is then left as it was); 2 for bad usage.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../engines/ckpt/ckpt_tape.h"
#include "bench.h"
#include "cli.h"
#include "context.h"
#include "gb_shim.h"
#include "plan.h"

static void help(void) {
  fprintf(stdout,
          "\nadbench's own flags (--flag value or --flag=value; every --benchmark_* flag above works too):\n"
          "  --sweep quick|default|full  node targets up to 10^4, 10^6 or 10^7 with matching run times\n"
          "  --quick, --full             short for --sweep quick, --sweep full\n"
          "  --workload NAME[,NAME...]   only these workloads\n"
          "  --engine NAME[,NAME...]     only these engines\n"
          "  --mode value|jvp|grad|reverse|replay[,...]  only these modes\n"
          "  --lanes K[,K...]|none       vector modes: grad also with K = 1, 2, 4, 8, 16 lanes (default: all five,\n"
          "                              on grid workloads only; given, on every workload)\n"
          "  --min-nodes N --max-nodes N --steps K  node targets from N to N in K steps per decade\n"
          "  --dual-budget X             largest n_in * nodes for the forward engines' full gradient\n"
          "  --jacobian-budget X         the crossover grid instead: largest nodes * max(n_in, n_out) of a shape\n"
          "  --max-eval-time S           skip sizes where one evaluation takes, or would take, over S CPU seconds\n"
          "                              (0: no limit)\n"
          "  --seed S                    input seed (default 42, as adcheck)\n"
          "  --x-primal-pairs N          pairs of interleaved batches for x_primal (default 11; 0: not measured)\n"
          "  --context KEY=VALUE         adds (or overrides) one entry of the report's context\n"
          "  --ckpt SCHEDULE[,...]       also the tape and graph engines' gradients with checkpointed time steps,\n"
          "                              one case per schedule (grad/ckpt:SCHEDULE): store_all, every:K, binomial:C, online:C or\n"
          "                              budget:BYTES (k, M, G suffixes), on the workloads with steps; context `ckpt`\n"
          "  --ckpt-nodes N              the node target of those cases (default: the sweep's largest)\n"
          "  --no-memory-manager         leave out the memory run (allocs_per_iter, max_bytes_used)\n"
          "  --progress                  say on stderr which workload, engine and mode is running\n"
          "workloads:");
  for (int i = 0; i < WL_COUNT; ++i) fprintf(stdout, " %s", wl_all[i]->name);
  fprintf(stdout, "\nengines:");
  for (int i = 0; i < eng_count; ++i) fprintf(stdout, " %s", eng_all[i]->name);
  fprintf(stdout, "\n");
}

enum { CKPT_MAX = 16 };

/* What the command line says beyond plan_opts: explicit values override the sweep's whatever their order. */
typedef struct args {
  const char *sweep;
  double min_nodes, max_nodes, dual_budget, jac_budget, max_eval_s; /* < 0: the sweep's */
  const char *context[CTX_MAX];
  int n_context, memory_manager, progress;
  ckpt_spec ckpt[CKPT_MAX]; /* --ckpt's schedules */
  int n_ckpt;
  double ckpt_nodes;        /* < 0: the sweep's largest node target */
} args;

static int add_ckpt(const char *text, void *ctx) {
  args *a = (args *)ctx;
  ckpt_spec sp;
  if (!strcmp(text, "none")) return a->n_ckpt == 0; /* alone */
  if (ckpt_parse(text, &sp) != AD_OK || a->n_ckpt == CKPT_MAX) return 0;
  for (int i = 0; i < a->n_ckpt; ++i)
    if (a->ckpt[i].kind == sp.kind && a->ckpt[i].arg == sp.arg) return 0;
  a->ckpt[a->n_ckpt++] = sp;
  return 1;
}

static int add_workload(const char *name, void *ctx) {
  plan_opts *o = (plan_opts *)ctx;
  const wl_info *w = wl_find(name);
  if (!w || o->n_wl >= WL_COUNT) return 0;
  o->wl[o->n_wl++] = w;
  return 1;
}

static int add_engine(const char *name, void *ctx) {
  plan_opts *o = (plan_opts *)ctx;
  const eng_api *e = eng_find(name);
  if (!e || o->n_eng >= PLAN_MAX_ENG) return 0;
  o->eng[o->n_eng++] = e;
  return 1;
}

static int add_lanes(const char *name, void *ctx) {
  plan_opts *o = (plan_opts *)ctx;
  long k;
  if (!cli_long(name, 1, 16, &k) || (k & (k - 1)) || o->n_lanes >= PLAN_MAX_LANES) return 0;
  for (int i = 0; i < o->n_lanes; ++i)
    if (o->lanes[i] == (int)k) return 0;
  o->lanes[o->n_lanes++] = (int)k;
  return 1;
}

static int add_mode(const char *name, void *ctx) {
  int m = run_mode_find(name);
  if (m >= 0) ((plan_opts *)ctx)->modes |= 1u << m;
  return m >= 0;
}

enum { OPT_SWEEP = 256, OPT_QUICK, OPT_FULL, OPT_WORKLOAD, OPT_ENGINE, OPT_MODE, OPT_MIN_NODES, OPT_MAX_NODES,
       OPT_STEPS, OPT_DUAL_BUDGET, OPT_JAC_BUDGET, OPT_MAX_EVAL, OPT_SEED, OPT_PAIRS, OPT_CONTEXT, OPT_NO_MM,
       OPT_PROGRESS, OPT_CKPT, OPT_CKPT_NODES, OPT_LANES };

/* Parses adbench's own flags (Google Benchmark's are gone) into o and a. Returns 0, or 2 after a message. */
static int parse(int argc, char **argv, plan_opts *o, args *a) {
  static const struct option opts[] = {
      {"sweep", required_argument, NULL, OPT_SWEEP},         {"ckpt", required_argument, NULL, OPT_CKPT},         {"quick", no_argument, NULL, OPT_QUICK},
      {"full", no_argument, NULL, OPT_FULL},                 {"workload", required_argument, NULL, OPT_WORKLOAD},
      {"engine", required_argument, NULL, OPT_ENGINE},       {"mode", required_argument, NULL, OPT_MODE},
      {"min-nodes", required_argument, NULL, OPT_MIN_NODES}, {"max-nodes", required_argument, NULL, OPT_MAX_NODES},
      {"steps", required_argument, NULL, OPT_STEPS},         {"dual-budget", required_argument, NULL, OPT_DUAL_BUDGET},
      {"jacobian-budget", required_argument, NULL, OPT_JAC_BUDGET},
      {"max-eval-time", required_argument, NULL, OPT_MAX_EVAL}, {"seed", required_argument, NULL, OPT_SEED},
      {"x-primal-pairs", required_argument, NULL, OPT_PAIRS}, {"context", required_argument, NULL, OPT_CONTEXT},
      {"no-memory-manager", no_argument, NULL, OPT_NO_MM},   {"progress", no_argument, NULL, OPT_PROGRESS},
      {"lanes", required_argument, NULL, OPT_LANES},         {"ckpt-nodes", required_argument, NULL, OPT_CKPT_NODES},
      {NULL, 0, NULL, 0}};
  const char *P = "adbench";
  long num;
  int c;
  opterr = 1;
  while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch (c) {
    case OPT_SWEEP:
      if (!plan_set_sweep(o, optarg)) return cli_usage_error(P, "--sweep", "expected quick, default or full");
      a->sweep = o->sweep;
      break;
    case OPT_QUICK: case OPT_FULL: a->sweep = c == OPT_QUICK ? "quick" : "full"; break;
    case OPT_WORKLOAD:
      if (cli_each(optarg, add_workload, o) < 0) return cli_usage_error(P, "--workload", "unknown workload or empty");
      break;
    case OPT_ENGINE:
      if (cli_each(optarg, add_engine, o) < 0) return cli_usage_error(P, "--engine", "unknown engine or empty");
      break;
    case OPT_MODE:
      if (cli_each(optarg, add_mode, o) < 0) return cli_usage_error(P, "--mode", "expected value, jvp, grad, reverse or replay");
      break;
    case OPT_MIN_NODES: case OPT_MAX_NODES:
      if (!cli_double(optarg, 1, 1e9, c == OPT_MIN_NODES ? &a->min_nodes : &a->max_nodes))
        return cli_usage_error(P, c == OPT_MIN_NODES ? "--min-nodes" : "--max-nodes", "expected a number from 1 to 10^9");
      break;
    case OPT_STEPS:
      if (!cli_long(optarg, 1, 10, &num)) return cli_usage_error(P, "--steps", "expected 1 to 10 steps");
      o->steps = (int)num;
      break;
    case OPT_DUAL_BUDGET: case OPT_JAC_BUDGET:
      if (!cli_double(optarg, 0, 1e15, c == OPT_DUAL_BUDGET ? &a->dual_budget : &a->jac_budget))
        return cli_usage_error(P, c == OPT_DUAL_BUDGET ? "--dual-budget" : "--jacobian-budget", "expected a number from 0 to 10^15");
      break;
    case OPT_MAX_EVAL:
      if (!cli_double(optarg, 0, 1e6, &a->max_eval_s)) return cli_usage_error(P, "--max-eval-time", "expected seconds from 0 to 10^6");
      break;
    case OPT_SEED:
      if (!cli_long(optarg, 0, 2147483647L, &num)) return cli_usage_error(P, "--seed", "expected 0 .. 2^31-1");
      o->seed = (uint64_t)num;
      break;
    case OPT_PAIRS:
      if (!cli_long(optarg, 0, 101, &num)) return cli_usage_error(P, "--x-primal-pairs", "expected 0 to 101");
      o->x_primal_pairs = (int)num;
      break;
    case OPT_CONTEXT:
      if (!strchr(optarg, '=') || *optarg == '=') return cli_usage_error(P, "--context", "expected KEY=VALUE");
      if (a->n_context == CTX_MAX) return cli_usage_error(P, "--context", "too many");
      a->context[a->n_context++] = optarg;
      break;
    case OPT_LANES:
      o->n_lanes = 0, o->lanes_all = strcmp(optarg, "none") != 0;
      if (o->lanes_all && cli_each(optarg, add_lanes, o) < 0)
        return cli_usage_error(P, "--lanes", "expected lane counts from 1, 2, 4, 8, 16 (each once), or none");
      break;
    case OPT_NO_MM: a->memory_manager = 0; break;
    case OPT_CKPT:
      a->n_ckpt = 0;
      if (cli_each(optarg, add_ckpt, a) < 0 || (a->n_ckpt && strstr(optarg, "none")))
        return cli_usage_error(P, "--ckpt", "expected schedules store_all, every:K, binomial:C, online:C or "
                                            "budget:BYTES, each once, at most 16 (or none)");
      break;
    case OPT_CKPT_NODES:
      if (!cli_double(optarg, 1, 1e10, &a->ckpt_nodes))
        return cli_usage_error(P, "--ckpt-nodes", "expected a number from 1 to 10^10");
      break;
    case OPT_PROGRESS: a->progress = 1; break;
    default: return cli_usage_error(P, "arguments", "unknown flag or missing value");
    }
  }
  if (optind < argc) return cli_usage_error(P, argv[optind], "unexpected argument");
  if (a->sweep) plan_set_sweep(o, a->sweep);
  if (a->min_nodes >= 0) o->min_nodes = a->min_nodes;
  if (a->max_nodes >= 0) o->max_nodes = a->max_nodes;
  if (a->dual_budget >= 0) o->dual_budget = a->dual_budget;
  if (a->jac_budget >= 0) o->jac_budget = a->jac_budget;
  if (a->max_eval_s >= 0) o->max_eval_s = a->max_eval_s;
  if (o->max_nodes < o->min_nodes) return cli_usage_error(P, "--max-nodes", "below --min-nodes");
  return 0;
}

/* ---- --ckpt: one plan per schedule ---- */

/* The engines whose sessions checkpoint AD_STEPS regions (eng_tape.c and eng_graph.c attach ckpt_tape_default()). */
static const char *const ckpt_engines[] = {"tape", "tape_op", "graph"};

/* Makes sp the schedule that sessions opened from now on attach (NULL: none). */
static void ckpt_select(const ckpt_spec *sp) { ckpt_tape_set_default(sp); }

/* 1 if w's recording on engine e has checkpointable steps: recorded once with store_all at its small check size
 * (the graph engine checkpoints AD_STEPS but runs AD_STEPS_WHILE as a plain loop). */
static int ckpt_has_steps(const wl_info *w, const eng_api *e) {
  ckpt_spec all = {CKPT_STORE_ALL, 0};
  run_case rc;
  ckpt_select(&all);
  ad_status st = e ? run_open(&rc, w, e, RUN_GRAD, w->check_sizes[0], 42) : AD_EINVAL;
  if (st == AD_OK) st = run_eval(&rc);
  int has = st == AD_OK && rc.e->stats(rc.s).ckpt_steps > 0;
  if (e) run_close(&rc);
  ckpt_select(NULL);
  return has;
}

/* One registered checkpointed case: a case of its schedule's plan and the schedule. */
typedef struct ckpt_bench {
  plan_case *c;
  ckpt_spec sp;
} ckpt_bench;

static void ckpt_case(gb_state *st, void *arg) {
  ckpt_bench *b = (ckpt_bench *)arg;
  ckpt_select(&b->sp);
  bench_case(st, b->c);
  ckpt_select(NULL);
}

typedef struct ckpt_plans {
  plan p[CKPT_MAX];
  int n;
  ckpt_bench *b;
  int n_b;
  char cases[512]; /* the context's ckpt_cases */
} ckpt_plans;

static void ckpt_plans_free(ckpt_plans *k) {
  for (int i = 0; i < k->n; ++i) plan_free(&k->p[i]);
  free(k->b);
  memset(k, 0, sizeof *k);
}

/* The plans of --ckpt's schedules from the main plan's options: the checkpointing engines and the workloads with
 * steps among the selected ones, grad (and reverse if --mode names it), one node target, no vector modes, at most
 * 5 x_primal pairs. 0, or 2 after a message. */
static int ckpt_plans_build(ckpt_plans *k, const plan *main_plan, const args *a) {
  const char *P = "adbench";
  memset(k, 0, sizeof *k);
  if (!a->n_ckpt) return 0;
  plan_opts o = main_plan->o;
  int n_eng = 0, n_wl = 0;
  for (int i = 0; i < o.n_eng; ++i)
    for (size_t j = 0; j < sizeof ckpt_engines / sizeof ckpt_engines[0]; ++j)
      if (!strcmp(o.eng[i]->name, ckpt_engines[j])) o.eng[n_eng++] = o.eng[i];
  o.n_eng = n_eng;
  for (int i = 0; i < o.n_wl; ++i)
    if (!o.wl[i]->grid && ckpt_has_steps(o.wl[i], eng_find("tape"))) o.wl[n_wl++] = o.wl[i];
  o.n_wl = n_wl;
  unsigned grad = 1u << RUN_GRAD, rev = 1u << RUN_REVERSE;
  o.modes = o.modes ? o.modes & (grad | rev) : grad;
  const char *none = !n_eng ? "no selected engine checkpoints (tape, tape_op, graph)"
                     : !n_wl ? "no selected workload has checkpointable steps"
                     : !o.modes ? "--mode has neither grad nor reverse" : NULL;
  if (none) { /* a note, not an error: the rest of the run is what was asked for */
    fprintf(stderr, "adbench: --ckpt: %s: no checkpointed cases\n", none);
    snprintf(k->cases, sizeof k->cases, "none: %s", none);
    return 0;
  }
  o.n_lanes = 0;
  o.min_nodes = o.max_nodes = a->ckpt_nodes > 0 ? a->ckpt_nodes : main_plan->o.max_nodes;
  if (o.x_primal_pairs > 5) o.x_primal_pairs = 5;
  size_t used = 0;
  for (int j = 0; j < o.n_eng; ++j)
    used += (size_t)snprintf(k->cases + used, sizeof k->cases - used, "%s%s", j ? "," : "", o.eng[j]->name);
  used += (size_t)snprintf(k->cases + used, sizeof k->cases - used, " on ");
  for (int j = 0; j < o.n_wl && used < sizeof k->cases; ++j)
    used += (size_t)snprintf(k->cases + used, sizeof k->cases - used, "%s%s", j ? "," : "", o.wl[j]->name);
  if (used < sizeof k->cases)
    snprintf(k->cases + used, sizeof k->cases - used, "; %s%s at %g nodes", o.modes & grad ? "grad" : "",
             o.modes & rev ? (o.modes & grad ? ", reverse" : "reverse") : "", o.min_nodes);
  int total = 0;
  for (int i = 0; i < a->n_ckpt; ++i) {
    ad_status st = plan_build(&k->p[i], &o);
    if (st != AD_OK) {
      ckpt_plans_free(k);
      return cli_usage_error(P, "--ckpt plan", ad_status_str(st));
    }
    k->n = i + 1;
    total += k->p[i].n_cases;
  }
  k->b = (ckpt_bench *)calloc((size_t)total + 1, sizeof *k->b);
  if (!k->b) {
    ckpt_plans_free(k);
    return cli_usage_error(P, "--ckpt", "out of memory");
  }
  /* every schedule's plan has the same cases in the same order: which of them checkpoint, asked once */
  unsigned char *has = (unsigned char *)calloc((size_t)k->p[0].n_cases + 1, 1);
  if (!has) {
    ckpt_plans_free(k);
    return cli_usage_error(P, "--ckpt", "out of memory");
  }
  for (int j = 0; j < k->p[0].n_cases; ++j) has[j] = (unsigned char)ckpt_has_steps(k->p[0].cases[j].w, k->p[0].cases[j].e);
  for (int i = 0; i < k->n; ++i)
    for (int j = 0; j < k->p[i].n_cases; ++j)
      if (has[j]) k->b[k->n_b++] = (ckpt_bench){&k->p[i].cases[j], a->ckpt[i]};
  free(has);
  return 0;
}

/* Registers the checkpointed cases: <workload>/<engine>/<mode>/ckpt:SCHEDULE/<size>. */
static int register_ckpt(ckpt_plans *k) {
  char name[320], spec[64];
  for (int i = 0; i < k->n_b; ++i) {
    plan_case *c = k->b[i].c;
    bench_name(c, name, 256);
    size_t n = strlen(name);
    snprintf(name + n, sizeof name - n, "/ckpt:%s", ckpt_format(k->b[i].sp, spec, sizeof spec));
    gb_bench *b = gb_register(name, ckpt_case, &k->b[i]);
    if (!b) return 0;
    for (int s = 0; s < c->n_sizes; ++s) gb_bench_arg(b, c->sizes[s]);
  }
  return 1;
}

/* Registers p's cases with Google Benchmark. */
static int register_plan(plan *p) {
  char name[256];
  for (int i = 0; i < p->n_cases; ++i) {
    plan_case *c = &p->cases[i];
    gb_bench *b = gb_register(bench_name(c, name, sizeof name), bench_case, c);
    if (!b) return 0;
    for (int k = 0; k < c->n_sizes; ++k) gb_bench_arg(b, c->sizes[k]);
  }
  return 1;
}

/* The report's context: build, machine, sweep; --context entries last, so they override. */
static int add_context(const plan *p, const args *a, const ckpt_plans *k) {
  ctx_table t = {0};
  int ok = ctx_add_build(&t) && ctx_add_machine(&t) && plan_describe(p, &t);
  if (ok && a->n_ckpt) {
    char list[CKPT_MAX * 32] = "", spec[32];
    for (int i = 0; i < a->n_ckpt; ++i) {
      size_t n = strlen(list);
      snprintf(list + n, sizeof list - n, "%s%s", i ? "," : "", ckpt_format(a->ckpt[i], spec, sizeof spec));
    }
    ok = ctx_set(&t, "ckpt", list) && ctx_set(&t, "ckpt_cases", k->cases);
  }
  for (int i = 0; ok && i < a->n_context; ++i) ok = ctx_set_pair(&t, a->context[i]);
  for (int i = 0; ok && i < t.n; ++i) {
    ad_status st = gb_add_context(t.key[i], t.val[i]);
    if (st != AD_OK)
      fprintf(stderr, "adbench: context entry %s: %s\n", t.key[i],
              st == AD_EINVAL ? "Google Benchmark writes this key itself" : ad_status_str(st));
    ok = st == AD_OK;
  }
  ctx_free(&t);
  return ok;
}

int main(int argc, char **argv) {
  int rc = gb_init(&argc, argv, help); /* takes the --benchmark_* flags; --help exits here */
  if (rc != 0) return rc;
  plan_opts o;
  plan_defaults(&o);
  args a;
  memset(&a, 0, sizeof a);
  a.min_nodes = a.max_nodes = a.dual_budget = a.jac_budget = a.max_eval_s = a.ckpt_nodes = -1;
  a.memory_manager = 1;
  if ((rc = parse(argc, argv, &o, &a)) != 0) return rc;
  if (gb_min_time_flag() >= 0) o.min_time = gb_min_time_flag(); /* the user's flag wins over the sweep's */
  gb_default_min_time(o.min_time);
  plan p;
  ad_status st = plan_build(&p, &o);
  if (st != AD_OK) return cli_usage_error("adbench", "plan", ad_status_str(st));
  ckpt_plans k;
  if ((rc = ckpt_plans_build(&k, &p, &a)) != 0) {
    plan_free(&p);
    return rc;
  }
  bench_progress(&p, a.progress);
  for (int i = 0; i < k.n; ++i) bench_progress(&k.p[i], a.progress);
  if (!register_plan(&p) || !register_ckpt(&k)) rc = cli_usage_error("adbench", "registering", "out of memory");
  else if (!add_context(&p, &a, &k)) rc = 2;
  if (rc == 0) {
    if (a.memory_manager) gb_memory_manager_enable();
    rc = gb_run();
  }
  ckpt_plans_free(&k);
  plan_free(&p);
  return rc;
}
