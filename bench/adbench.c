/* adbench: the benchmark binary: every workload x engine x mode x size, timed by Google Benchmark.
 *
 *   adbench                                     default sweep: 10 .. 10^6 nodes, every engine and workload
 *   adbench --sweep=quick                       10 .. 10^4 nodes, short runs (--sweep=full: up to 10^7 nodes)
 *   adbench --workload=poly,chain --engine=tape  some workloads and engines only (names as in adcheck)
 *   adbench --benchmark_filter='rosenbrock/.*' --benchmark_repetitions=5
 *   adbench --benchmark_out=r.json              the JSON report with its context, written atomically
 *   adbench --benchmark_list_tests              the names, without running anything
 *   adbench --help                              Google Benchmark's flags, then adbench's own
 *
 * Names are <workload>/<engine>/<mode>/<size>, size being the workload's size parameter (adcheck's --size).
 * Modes, chosen by the engine's kind (eng.h), so engines added to ENG_LIST join by themselves:
 *   value    the primal engine: the function alone, the baseline of every ratio;
 *   jvp      forward engines: one directional derivative (one pass);
 *   grad     the full gradient, or the full Jacobian where n_out > 1: forward engines by n_in passes, reverse
 *            engines by one recording and one reverse sweep per output (n_out sweeps);
 *   reverse  reverse engines: the reverse sweep alone (vjp) on a recording made once before the timed loop;
 *   replay   engines that can re-evaluate a recording (eng_api.replay): value and full gradient at the same
 *            inputs by replaying the recording made once before the timed loop, without recording again.
 *            After the timed loop the same recording is replayed at AB_GUARD_TRIALS inputs drawn with other
 *            seeds: the counter guard_refusals is the fraction refused because control flow changed (AD_EGUARD).
 * Sizes: for node targets from --min-nodes to --max-nodes in --steps logarithmic steps per decade, each
 * workload's smallest size that reaches the target (wl_size_for_nodes); sizes that coincide run once.
 * The Jacobian workload `mix` (f: R^n -> R^m) runs a crossover grid instead, in mode grad only (every engine that
 * differentiates): m = 1, 16, 256 (and 4096 with --sweep=full) and, for each m, n = 1, 2, 4, ... up to 16 m while
 * the shape has at most --max-nodes nodes and nodes * max(n, m), the work of the dearer of n forward passes and
 * m reverse sweeps, stays within --jacobian-budget (which bounds the dual's n_in * nodes there, in place of
 * --dual-budget). Forward mode wins while n is small against m, so each m's line of sizes shows where forward
 * and reverse cross; the size in the name is still mix's size index, and the counters n_in, n_out give the shape.
 * Steady state: every run evaluates once before its timed loop, so the storage an engine keeps between
 * evaluations (a tape's chunks, its adjoint vector) is already allocated when timing starts.
 * Counters on every result: nodes (measured by engines that record, else the workload's count), n_in, n_out, size,
 * bytes (bytes the engine holds after the loop), bytes_per_node and ns_per_node (CPU time per iteration per node);
 * engines that record add args, bytes_used (of the recording) and bytes_per_arg (bytes_used / args). The memory
 * manager adds allocs_per_iter and max_bytes_used (the engine's peak, set-up included).
 * Skips: an unaffordable run reports an error message starting with "skipped:" that gives the reason, so the JSON
 * records what was left out and why: the dual gradient where n_in * nodes exceeds --dual-budget (off the grid); a
 * size where one evaluation takes more than --max-eval-time CPU seconds, or would at a larger size by linear
 * extrapolation from the largest size measured (on the grid: from the costliest shape, in nodes times passes);
 * with --sweep=full a size whose estimated memory exceeds half the available memory; a peer tool beyond its own
 * limits (peer_skip_reason).
 * Context (the report's "context" block, beside Google Benchmark's date, host, CPUs and caches): git_commit,
 * build_type, compiler, cflags, build_isa, cpu_model, cpu_flags (those that bear on speed), sleef_version and
 * sleef_variant, the sweep's parameters (adbench_*, adbench_jacobian_grid the grid's shapes) and wl_<name>, what
 * each workload computes.
 * --context=KEY=VALUE adds or overrides one entry (scripts/main sets git_commit to the checkout's state).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "adbench_build.h"
#include "eng.h"
#include "gb_shim.h"
#include "peers/peers.h"
#include "wl.h"

/* ---- Modes and the plan ------------------------------------------------------------------------------------ */

typedef enum ab_mode { AB_VALUE, AB_JVP, AB_GRAD, AB_REVERSE, AB_REPLAY, AB_MODE_COUNT } ab_mode;
static const char *const ab_mode_name[AB_MODE_COUNT] = {"value", "jvp", "grad", "reverse", "replay"};

/* One registered benchmark: a workload, an engine, a mode; Google Benchmark's argument is the size. */
typedef struct ab_case {
  const wl_info *w;
  const eng_api *e;
  ab_mode mode;
  int index, n_sizes;
  int grid;                      /* 1: the sizes are the Jacobian crossover grid (grid_sizes) */
  double last_work, last_eval_s; /* the costliest size measured so far: its run_work and CPU seconds per evaluation */
} ab_case;

enum { AB_MAX_GRID_M = 8 };

/* The crossover grid's limits. n stops at AB_GRID_N_PER_M * m: forward and reverse cross near n = m, and four
 * doublings beyond show the trend. --jacobian-budget of each sweep, the largest nodes * max(n, m) of a shape: the
 * default sweep reaches (n, m) = (512, 256) (2.7e8), one doubling past m = 256's crossing, where one Jacobian
 * took 0.06 s (graph), 0.27 s (tape) and 0.5 to 0.6 s (replay, dual) on an AMD EPYC; its whole grid about 18 CPU
 * seconds. The quick sweep's grid is held by its --max-nodes, 10^4 (about 2 s). */
enum { AB_GRID_N_PER_M = 16 };
#define AB_JAC_BUDGET_QUICK 1e7
#define AB_JAC_BUDGET_DEFAULT 3e8
#define AB_JAC_BUDGET_FULL 3e9

typedef struct ab_opts {
  const char *sweep;
  double min_nodes, max_nodes;
  int steps;            /* node targets per decade */
  double dual_budget;   /* largest n_in * nodes for the dual full gradient */
  double jac_budget;    /* crossover grid: largest nodes * max(n_in, n_out) */
  int grid_m[AB_MAX_GRID_M], n_grid_m; /* crossover grid: its values of n_out */
  double min_time;      /* default --benchmark_min_time of the sweep */
  double max_eval_s;    /* skip sizes where one evaluation takes (or would take) longer, in CPU seconds */
  int memory_check;     /* skip sizes whose estimated memory exceeds half the available memory */
  int memory_manager;
  int progress;
  uint64_t seed;
  const wl_info *wl[WL_COUNT];
  int n_wl;
  const eng_api *eng[64];
  int n_eng;
  int modes;            /* bit set of ab_mode; 0: all */
  double mem_available; /* bytes, 0 if unknown */
} ab_opts;

static ab_opts g_opts;
static int g_n_cases;

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

/* A rough upper bound of the bytes one run needs: what engines that record keep per node (the tape about 25,
 * a graph of nodes several times more), inputs, outputs, scratch and the Jacobian. */
static double mem_estimate(const ab_case *c, int size) {
  double per_node = c->e->kind == ENG_REVERSE ? 256.0 : 0.0;
  double n = c->w->n_in(size), m = c->w->n_out(size);
  return per_node * c->w->nodes(size) + 64.0 * (n + m + c->w->n_scratch(size)) + 8.0 * n * m;
}

/* Writes why the run of c at size is not affordable into why and returns 1; returns 0 if it is. */
static int skip_reason(const ab_case *c, int size, char *why, size_t cap) {
  double nodes = c->w->nodes(size), n = c->w->n_in(size);
  const char *peer = peer_skip_reason(c->e, c->w, size); /* a peer tool's own limits */
  if (peer) {
    snprintf(why, cap, "skipped: %s", peer);
    return 1;
  }
  if (c->mode == AB_GRAD && c->e->kind == ENG_FORWARD && !c->grid && n * nodes > g_opts.dual_budget) {
    snprintf(why, cap, "skipped: n_in * nodes = %.3g exceeds the forward-gradient budget %.3g (--dual-budget)",
             n * nodes, g_opts.dual_budget);
    return 1;
  }
  if (g_opts.memory_check && g_opts.mem_available > 0 && mem_estimate(c, size) > 0.5 * g_opts.mem_available) {
    snprintf(why, cap, "skipped: needs about %.0f MB, more than half of the %.0f MB available",
             mem_estimate(c, size) / 1e6, g_opts.mem_available / 1e6);
    return 1;
  }
  return 0;
}

/* What one evaluation of c at size costs, in node evaluations, for extrapolating times. On node-target sweeps
 * the nodes (linear: an optimistic guess for the forward gradient, which costs n_in passes). On the crossover
 * grid, whose shapes change n_in and n_out independently, a Jacobian's passes count: nodes times n_in forward
 * passes, or times one recording and n_out reverse sweeps. */
static double run_work(const ab_case *c, int size) {
  double nodes = c->w->nodes(size);
  if (!c->grid || c->mode != AB_GRAD) return nodes;
  return nodes * (c->e->kind == ENG_FORWARD ? (double)c->w->n_in(size) : c->w->n_out(size) + 1.0);
}

/* Whether a size is out of reach because a cheaper one was already slow: one evaluation at the costliest size
 * measured so far, scaled linearly to this size's run_work, exceeds the limit. */
static int too_slow(const ab_case *c, int size, char *why, size_t cap) {
  double work = run_work(c, size);
  if (c->last_eval_s <= 0 || work <= c->last_work) return 0;
  double guess = c->last_eval_s * work / c->last_work;
  if (guess <= g_opts.max_eval_s) return 0;
  snprintf(why, cap, "skipped: one evaluation took %.3g s at %.0f %s, so at least %.3g s here, above "
           "--max-eval-time=%g", c->last_eval_s, c->last_work, c->grid && c->mode == AB_GRAD ? "node passes" : "nodes",
           guess, g_opts.max_eval_s);
  return 1;
}

static double cpu_seconds(void) { return (double)clock() / CLOCKS_PER_SEC; }

/* ---- The Jacobian crossover grid ---------------------------------------------------------------------------- */

/* Whether w runs the crossover grid instead of node targets: mix, whose sizes enumerate shapes (n, m). */
static int uses_grid(const wl_info *w) { return w->id == WL_mix; }

/* w's size with n inputs and m outputs, or 0 if it has none. */
static int size_of_shape(const wl_info *w, int n, int m) {
  for (int s = 1; s <= w->max_size; ++s)
    if (w->n_in(s) == n && w->n_out(s) == m) return s;
  return 0;
}

/* Writes w's grid sizes into sz (at most cap), ordered by m (g_opts.grid_m) then n = 1, 2, 4, ...: for each m,
 * while n <= AB_GRID_N_PER_M * m, w has the shape, its nodes stay within --max-nodes and nodes * max(n, m) within
 * --jacobian-budget (all grow with n). Returns how many. */
static int grid_sizes(const wl_info *w, int *sz, int cap) {
  int ns = 0;
  for (int k = 0; k < g_opts.n_grid_m; ++k)
    for (int n = 1, m = g_opts.grid_m[k]; ns < cap && n <= AB_GRID_N_PER_M * m; n *= 2) {
      int s = size_of_shape(w, n, m);
      double nodes = s ? w->nodes(s) : 0;
      if (!s || nodes > g_opts.max_nodes * (1 + 1e-9) || nodes * (n > m ? n : m) > g_opts.jac_budget) break;
      sz[ns++] = s;
    }
  return ns;
}

/* ---- The benchmark function ------------------------------------------------------------------------------ */

static void progress(const ab_case *c) {
  static const ab_case *last;
  if (!g_opts.progress || c == last) return;
  last = c;
  fprintf(stderr, "adbench: [%d/%d] %s on %s, %s (%d size%s)\n", c->index + 1, g_n_cases, c->w->name, c->e->name,
          ab_mode_name[c->mode], c->n_sizes, c->n_sizes == 1 ? "" : "s");
}

/* One evaluation in c's mode. */
static ad_status eval_once(const ab_case *c, eng_session *s, const double *x, const double *dir, double *y,
                           double *out) {
  switch (c->mode) {
  case AB_VALUE: return c->e->value(s, x, y);
  case AB_JVP: return c->e->jvp(s, x, dir, y, out);
  case AB_GRAD: return c->e->jacobian(s, x, y, out);
  case AB_REVERSE: return c->e->vjp(s, dir, out);
  case AB_REPLAY: return c->e->replay(s, x, y, out);
  default: return AD_EINVAL;
  }
}

enum { AB_GUARD_TRIALS = 10 };

/* Replay mode, after timing: the fraction of AB_GUARD_TRIALS replays at inputs from other seeds (the recording's
 * data kept) that the engine refuses with AD_EGUARD; -1 if another error or out of memory interrupts it. */
static double guard_refusals(const ab_case *c, eng_session *s, int size, double *y, double *out) {
  const wl_info *w = c->w;
  double *x = (double *)malloc((size_t)w->n_in(size) * sizeof *x);
  double *junk = (double *)malloc(((size_t)w->n_data(size) + 1) * sizeof *junk);
  int refused = 0, k = 0;
  for (; x && junk && k < AB_GUARD_TRIALS; ++k) {
    w->init(size, g_opts.seed + 1 + (uint64_t)k, x, junk);
    ad_status rc = c->e->replay(s, x, y, out);
    if (rc == AD_EGUARD) refused++;
    else if (rc != AD_OK) break;
  }
  free(x), free(junk);
  return k == AB_GUARD_TRIALS ? (double)refused / AB_GUARD_TRIALS : -1.0;
}

static void ab_run(gb_state *st, void *arg) {
  ab_case *c = (ab_case *)arg;
  const wl_info *w = c->w;
  const eng_api *e = c->e;
  int size = (int)gb_range(st, 0);
  char why[256];
  progress(c);
  if (skip_reason(c, size, why, sizeof why) || too_slow(c, size, why, sizeof why)) {
    gb_skip_with_error(st, why);
    return;
  }
  int n = w->n_in(size), m = w->n_out(size);
  size_t n_out_buf = c->mode == AB_GRAD || c->mode == AB_REPLAY ? (size_t)n * m
                     : c->mode == AB_REVERSE                  ? (size_t)n
                                                              : (size_t)m;
  size_t n_dir = c->mode == AB_REVERSE ? (size_t)m : (size_t)n;
  double *x = (double *)malloc((size_t)n * sizeof *x);
  double *data = (double *)malloc(((size_t)w->n_data(size) + 1) * sizeof *data);
  double *y = (double *)malloc((size_t)m * sizeof *y);
  double *dir = (double *)malloc(n_dir * sizeof *dir); /* jvp: tangent; reverse: output weights */
  double *out = (double *)malloc(n_out_buf * sizeof *out);
  eng_session *s = NULL;
  if (x && data && y && dir && out) {
    w->init(size, g_opts.seed, x, data);
    wl_rng r = {g_opts.seed + 1};
    for (size_t i = 0; i < n_dir; ++i) dir[i] = c->mode == AB_REVERSE ? 1.0 : wl_rng_uniform(&r, -1.0, 1.0);
    s = e->open(w, size, data);
  }
  ad_status rc = s ? AD_OK : AD_ENOMEM;
  double t0 = cpu_seconds();
  if (rc == AD_OK && (c->mode == AB_REVERSE || c->mode == AB_REPLAY)) rc = e->value(s, x, y); /* the recording */
  if (rc == AD_OK) rc = eval_once(c, s, x, dir, y, out);              /* warm-up: storage in place */
  double eval_s = cpu_seconds() - t0;
  if (rc == AD_OK && run_work(c, size) >= c->last_work) c->last_work = run_work(c, size), c->last_eval_s = eval_s;
  if (rc != AD_OK) {
    snprintf(why, sizeof why, "error: %s", ad_status_str(rc));
    gb_skip_with_error(st, why);
  } else if (eval_s > g_opts.max_eval_s) {
    snprintf(why, sizeof why, "skipped: one evaluation took %.3g s, above --max-eval-time=%g", eval_s,
             g_opts.max_eval_s);
    gb_skip_with_error(st, why);
  } else {
    while (gb_keep_running(st)) {
      rc = eval_once(c, s, x, dir, y, out);
      if (AD_UNLIKELY(rc != AD_OK)) {
        snprintf(why, sizeof why, "error: %s", ad_status_str(rc));
        gb_skip_with_error(st, why);
        break;
      }
    }
    gb_do_not_optimize(out);
    if (rc == AD_OK && c->mode == AB_REPLAY)
      gb_counter(st, "guard_refusals", guard_refusals(c, s, size, y, out), GB_COUNTER_PLAIN);
    eng_stats es = e->stats(s);
    double nodes = es.nodes ? (double)es.nodes : w->nodes(size);
    if (nodes < 1) nodes = 1;
    gb_counter(st, "nodes", nodes, GB_COUNTER_PLAIN);
    gb_counter(st, "n_in", n, GB_COUNTER_PLAIN);
    gb_counter(st, "n_out", m, GB_COUNTER_PLAIN);
    gb_counter(st, "size", size, GB_COUNTER_PLAIN);
    gb_counter(st, "bytes", (double)es.bytes_held, GB_COUNTER_PLAIN);
    gb_counter(st, "bytes_per_node", (double)es.bytes_held / nodes, GB_COUNTER_PLAIN);
    gb_counter(st, "ns_per_node", nodes * 1e-9, GB_COUNTER_TIME_PER);
    if (es.args) {
      gb_counter(st, "args", (double)es.args, GB_COUNTER_PLAIN);
      gb_counter(st, "bytes_used", (double)es.bytes_used, GB_COUNTER_PLAIN);
      gb_counter(st, "bytes_per_arg", (double)es.bytes_used / (double)es.args, GB_COUNTER_PLAIN);
    }
  }
  e->close(s);
  free(x), free(data), free(y), free(dir), free(out);
}

/* ---- Options ------------------------------------------------------------------------------------------------ */

static void help(void) {
  fprintf(stdout,
          "\nadbench's own flags (every --benchmark_* flag above works too):\n"
          "  --sweep=quick|default|full  node targets up to 10^4, 10^6 or 10^7 with matching run times\n"
          "  --quick, --full             short for --sweep=quick, --sweep=full\n"
          "  --workload=NAME[,NAME...]   only these workloads\n"
          "  --engine=NAME[,NAME...]     only these engines\n"
          "  --mode=value|jvp|grad|reverse|replay[,...]  only these modes\n"
          "  --min-nodes=N --max-nodes=N --steps=K  node targets from N to N in K steps per decade\n"
          "  --dual-budget=X             largest n_in * nodes for the forward engines' full gradient\n"
          "  --jacobian-budget=X         mix's crossover grid instead: largest nodes * max(n_in, n_out) of a shape\n"
          "  --max-eval-time=S           skip sizes where one evaluation takes, or would take, over S CPU seconds\n"
          "  --seed=S                    input seed (default 42, as adcheck)\n"
          "  --context=KEY=VALUE         adds (or overrides) one entry of the report's context\n"
          "  --no-memory-manager         leave out the memory run (allocs_per_iter, max_bytes_used)\n"
          "  --progress                  say on stderr which workload, engine and mode is running\n"
          "workloads:");
  for (int i = 0; i < WL_COUNT; ++i) fprintf(stdout, " %s", wl_all[i]->name);
  fprintf(stdout, "\nengines:");
  for (int i = 0; i < eng_count; ++i) fprintf(stdout, " %s", eng_all[i]->name);
  fprintf(stdout, "\n");
}

static int bad_usage(const char *flag, const char *msg) {
  fprintf(stderr, "adbench: %s: %s (see --help)\n", flag, msg);
  return 2;
}

static int parse_double(const char *s, double lo, double hi, double *out) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || end == s || *end || !(v >= lo && v <= hi)) return 0;
  *out = v;
  return 1;
}

static int set_sweep(const char *name) {
  static const int grid_m[] = {1, 16, 256, 4096};
  g_opts.sweep = name;
  g_opts.n_grid_m = 3;
  if (!strcmp(name, "quick")) {
    g_opts.max_nodes = 1e4, g_opts.min_time = 0.01, g_opts.dual_budget = 1e7, g_opts.memory_check = 0;
    g_opts.max_eval_s = 0.5, g_opts.jac_budget = AB_JAC_BUDGET_QUICK;
  } else if (!strcmp(name, "default")) {
    g_opts.max_nodes = 1e6, g_opts.min_time = 0.05, g_opts.dual_budget = 1e8, g_opts.memory_check = 0;
    g_opts.max_eval_s = 1.0, g_opts.jac_budget = AB_JAC_BUDGET_DEFAULT;
  } else if (!strcmp(name, "full")) {
    g_opts.max_nodes = 1e7, g_opts.min_time = 0.5, g_opts.dual_budget = 1e9, g_opts.memory_check = 1;
    g_opts.max_eval_s = 20.0, g_opts.jac_budget = AB_JAC_BUDGET_FULL, g_opts.n_grid_m = 4;
  } else {
    return 0;
  }
  memcpy(g_opts.grid_m, grid_m, sizeof grid_m);
  return 1;
}

/* Calls add(name) for each name of a comma-separated list; returns 0 at the first it rejects. */
static int each_name(const char *list, int (*add)(const char *name)) {
  char buf[256];
  while (*list) {
    size_t k = strcspn(list, ",");
    if (k == 0 || k >= sizeof buf) return 0;
    memcpy(buf, list, k);
    buf[k] = 0;
    if (!add(buf)) return 0;
    list += k + (list[k] == ',');
  }
  return 1;
}

static int add_workload(const char *name) {
  const wl_info *w = wl_find(name);
  if (!w || g_opts.n_wl >= WL_COUNT) return 0;
  g_opts.wl[g_opts.n_wl++] = w;
  return 1;
}

static int add_engine(const char *name) {
  const eng_api *e = eng_find(name);
  if (!e || g_opts.n_eng >= (int)(sizeof g_opts.eng / sizeof g_opts.eng[0])) return 0;
  g_opts.eng[g_opts.n_eng++] = e;
  return 1;
}

static int add_mode(const char *name) {
  for (int k = 0; k < AB_MODE_COUNT; ++k)
    if (!strcmp(name, ab_mode_name[k])) {
      g_opts.modes |= 1 << k;
      return 1;
    }
  return 0;
}

/* ---- Context -------------------------------------------------------------------------------------------------- */

#define AB_MAX_CONTEXT 256
static const char *g_ctx_key[AB_MAX_CONTEXT], *g_ctx_val[AB_MAX_CONTEXT];
static char *g_ctx_own[AB_MAX_CONTEXT]; /* copies made for --context and for values built here */
static int g_n_ctx;

/* Sets key to value (a later call for the same key replaces it). Returns 0 if the table is full. */
static int ctx_set(const char *key, const char *value) {
  for (int i = 0; i < g_n_ctx; ++i)
    if (!strcmp(g_ctx_key[i], key)) {
      g_ctx_val[i] = value;
      return 1;
    }
  if (g_n_ctx == AB_MAX_CONTEXT) return 0;
  g_ctx_key[g_n_ctx] = key;
  g_ctx_val[g_n_ctx++] = value;
  return 1;
}

/* A copy of s kept until exit (freed by ctx_free); NULL if memory is exhausted. */
static char *ctx_keep(const char *s) {
  static int n;
  if (n == AB_MAX_CONTEXT) return NULL;
  size_t k = strlen(s) + 1;
  char *p = (char *)malloc(k);
  if (p) memcpy(p, s, k), g_ctx_own[n++] = p;
  return p;
}

static void ctx_free(void) {
  for (int i = 0; i < AB_MAX_CONTEXT; ++i) free(g_ctx_own[i]);
}

/* The value of the first /proc/cpuinfo line starting with field ("model name", "flags"), or "unknown". */
static const char *cpuinfo(const char *field) {
  FILE *f = fopen("/proc/cpuinfo", "r");
  static char line[8192];
  const char *res = "unknown";
  if (!f) return res;
  size_t k = strlen(field);
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, field, k) != 0) continue;
    char *p = strchr(line, ':');
    if (!p) continue;
    p += 1 + (p[1] == ' ');
    p[strcspn(p, "\n")] = 0;
    res = ctx_keep(p);
    break;
  }
  fclose(f);
  return res ? res : "unknown";
}

/* The flags of a /proc/cpuinfo flags line that bear on floating-point speed (vector units, FMA, bit
 * manipulation, fast string copies) or on timing (hypervisor), in the line's order; "unknown" if none. */
static const char *cpu_isa_flags(const char *all) {
  static const char *const keep[] = {"sse2", "ssse3", "sse4_1", "sse4_2", "avx", "avx2", "fma", "f16c", "bmi1",
                                     "bmi2", "adx", "popcnt", "erms", "fsrm", "hypervisor", "avx512f",
                                     "avx512dq", "avx512cd", "avx512bw", "avx512vl", "avx512ifma", "avx512vbmi",
                                     "avx512_vbmi2", "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_tile"};
  static char out[512];
  size_t len = 0;
  out[0] = 0;
  for (const char *p = all; *p;) {
    size_t k = strcspn(p, " ");
    for (size_t i = 0; i < sizeof keep / sizeof keep[0]; ++i)
      if (strlen(keep[i]) == k && !strncmp(p, keep[i], k) && len + k + 2 < sizeof out) {
        if (len) out[len++] = ' ';
        memcpy(out + len, p, k);
        out[len += k] = 0;
      }
    p += k + (p[k] == ' ');
  }
  return len ? out : "unknown";
}

/* Instruction sets the build targets, from the compiler's predefined macros. */
static const char *build_isa(void) {
  return ""
#ifdef __AVX512F__
         "avx512f "
#endif
#ifdef __AVX2__
         "avx2 "
#endif
#ifdef __FMA__
         "fma "
#endif
#ifdef __AVX__
         "avx "
#endif
#ifdef __SSE4_2__
         "sse4.2 "
#endif
#ifdef __SSE2__
         "sse2"
#endif
      ;
}

static int add_context(void) {
  char buf[64];
  const char *fixed[][2] = {
      {"adlab_version", ADBENCH_ADLAB_VERSION},
      {"git_commit", ADBENCH_GIT_COMMIT},
      {"build_type", ADBENCH_BUILD_TYPE},
      {"compiler", ADBENCH_C_COMPILER},
      {"compiler_cxx", ADBENCH_CXX_COMPILER},
      {"cflags", ADBENCH_C_FLAGS},
      {"build_isa", build_isa()},
      {"cpu_model", cpuinfo("model name")},
      {"cpu_flags", cpu_isa_flags(cpuinfo("flags"))},
      {"sleef_version", ADBENCH_SLEEF_VERSION},
      {"sleef_variant", ad_math_variant()},
      {"adbench_sweep", g_opts.sweep},
  };
  int ok = 1;
  for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; ++i) ok &= ctx_set(fixed[i][0], fixed[i][1]);
  const char *t;
  snprintf(buf, sizeof buf, "%.0f..%.0f, %d per decade", g_opts.min_nodes, g_opts.max_nodes, g_opts.steps);
  ok &= ctx_set("adbench_node_targets", (t = ctx_keep(buf)) ? t : "?");
  snprintf(buf, sizeof buf, "%g", g_opts.dual_budget);
  ok &= ctx_set("adbench_dual_budget", (t = ctx_keep(buf)) ? t : "?");
  char grid[256];
  int len = snprintf(grid, sizeof grid, "mix: m =");
  for (int k = 0; k < g_opts.n_grid_m && len < (int)sizeof grid; ++k)
    len += snprintf(grid + len, sizeof grid - (size_t)len, "%s %d", k ? "," : "", g_opts.grid_m[k]);
  if (len < (int)sizeof grid)
    snprintf(grid + len, sizeof grid - (size_t)len,
             "; n = 1, 2, 4, ... up to %d m while nodes <= %g and nodes * max(n, m) <= %g", AB_GRID_N_PER_M,
             g_opts.max_nodes, g_opts.jac_budget);
  ok &= ctx_set("adbench_jacobian_grid", (t = ctx_keep(grid)) ? t : "?");
  snprintf(buf, sizeof buf, "%g", g_opts.min_time);
  ok &= ctx_set("adbench_min_time", (t = ctx_keep(buf)) ? t : "?");
  snprintf(buf, sizeof buf, "%g", g_opts.max_eval_s);
  ok &= ctx_set("adbench_max_eval_time", (t = ctx_keep(buf)) ? t : "?");
  snprintf(buf, sizeof buf, "%llu", (unsigned long long)g_opts.seed);
  ok &= ctx_set("adbench_seed", (t = ctx_keep(buf)) ? t : "?");
  /* The peer AD tools in this binary: the report marks their engines as peers and lists their versions. */
  char list[512] = "";
  int used = 0;
  for (int i = 0; i < peer_count && used < (int)sizeof list; ++i) {
    const peer_info *p = peer_all[i];
    used += snprintf(list + used, sizeof list - (size_t)used, "%s%s", i ? ", " : "", p->eng->name);
    char key[64], val[512];
    snprintf(key, sizeof key, "peer_%s", p->eng->name);
    snprintf(val, sizeof val, "%s %s: %s", p->tool, p->version, p->mode);
    const char *k = ctx_keep(key), *v = ctx_keep(val);
    ok &= k && v && ctx_set(k, v);
  }
  ok &= ctx_set("peers", peer_count ? ((t = ctx_keep(list)) ? t : "?")
                                    : "none built (scripts/main --peers installs and builds them)");
  for (int i = 0; i < g_opts.n_wl; ++i) { /* what each workload computes, for the report */
    snprintf(buf, sizeof buf, "wl_%s", g_opts.wl[i]->name);
    ok &= (t = ctx_keep(buf)) && ctx_set(t, g_opts.wl[i]->doc);
  }
  return ok;
}

/* 10^(k / steps): the k-th node target factor. */
static double pow10_steps(int k, int steps) { return pow(10.0, (double)k / steps); }

/* ---- main ----------------------------------------------------------------------------------------------------- */

/* What main owns, freed when it returns whichever way. */
static char **g_gb_argv;
static ab_case *g_cases;
static int *g_sizes;

/* Parses argv, registers the plan and runs it; returns the exit status. */
static int adbench_main(int argc, char **argv) {
  g_opts.min_nodes = 10;
  g_opts.steps = 1;
  g_opts.seed = 42;
  g_opts.memory_manager = 1;
  set_sweep("default");
  const char *ctx_args[AB_MAX_CONTEXT];
  int n_ctx_args = 0, min_nodes_set = 0, max_nodes_set = 0, budget_set = 0;
  double min_nodes = 0, max_nodes = 0, budget = 0, user_min_time = -1, max_eval = -1, jac_budget = -1;

  /* adbench's flags are consumed here; everything else goes to Google Benchmark. A default min_time goes first
   * so that a --benchmark_min_time given by the user, coming later, wins. */
  char **gb_argv = g_gb_argv = (char **)calloc((size_t)argc + 2, sizeof *gb_argv);
  if (!gb_argv) return bad_usage("adbench", "out of memory");
  int gb_argc = 0;
  gb_argv[gb_argc++] = argv[0];
  char min_time_flag[64];
  gb_argv[gb_argc++] = min_time_flag;
  for (int i = 1; i < argc; ++i) {
    const char *a = argv[i], *v = strchr(a, '=');
    v = v ? v + 1 : "";
#define AB_IS(flag) (!strncmp(a, flag "=", sizeof flag) || !strcmp(a, flag))
    double num;
    if (AB_IS("--sweep")) {
      if (!set_sweep(v)) return bad_usage(a, "expected quick, default or full");
    } else if (!strcmp(a, "--quick") || !strcmp(a, "--full")) {
      set_sweep(a + 2);
    } else if (AB_IS("--workload")) {
      if (!each_name(v, add_workload)) return bad_usage(a, "unknown workload");
    } else if (AB_IS("--engine")) {
      if (!each_name(v, add_engine)) return bad_usage(a, "unknown engine");
    } else if (AB_IS("--mode")) {
      if (!each_name(v, add_mode)) return bad_usage(a, "expected value, jvp, grad, reverse or replay");
    } else if (AB_IS("--min-nodes")) {
      if (!parse_double(v, 1, 1e9, &min_nodes)) return bad_usage(a, "expected a number from 1 to 10^9");
      min_nodes_set = 1;
    } else if (AB_IS("--max-nodes")) {
      if (!parse_double(v, 1, 1e9, &max_nodes)) return bad_usage(a, "expected a number from 1 to 10^9");
      max_nodes_set = 1;
    } else if (AB_IS("--steps")) {
      if (!parse_double(v, 1, 10, &num) || num != (int)num) return bad_usage(a, "expected 1 to 10 steps");
      g_opts.steps = (int)num;
    } else if (AB_IS("--dual-budget")) {
      if (!parse_double(v, 0, 1e15, &budget)) return bad_usage(a, "expected a number from 0 to 10^15");
      budget_set = 1;
    } else if (AB_IS("--jacobian-budget")) {
      if (!parse_double(v, 0, 1e15, &jac_budget)) return bad_usage(a, "expected a number from 0 to 10^15");
    } else if (AB_IS("--max-eval-time")) {
      if (!parse_double(v, 0, 1e6, &max_eval)) return bad_usage(a, "expected seconds from 0 to 10^6");
    } else if (AB_IS("--seed")) {
      if (!parse_double(v, 0, 2147483647.0, &num) || num != (long)num) return bad_usage(a, "expected 0 .. 2^31-1");
      g_opts.seed = (uint64_t)num;
    } else if (AB_IS("--context")) {
      if (!strchr(v, '=') || *v == '=') return bad_usage(a, "expected KEY=VALUE");
      if (n_ctx_args == AB_MAX_CONTEXT) return bad_usage(a, "too many");
      ctx_args[n_ctx_args++] = v;
    } else if (!strcmp(a, "--no-memory-manager")) {
      g_opts.memory_manager = 0;
    } else if (!strcmp(a, "--progress")) {
      g_opts.progress = 1;
    } else {
      if (!strncmp(a, "--benchmark_min_time=", 21) && parse_double(v, 0, 1e6, &num)) user_min_time = num;
      gb_argv[gb_argc++] = argv[i];
    }
#undef AB_IS
  }
  if (min_nodes_set) g_opts.min_nodes = min_nodes;
  if (max_nodes_set) g_opts.max_nodes = max_nodes;
  if (budget_set) g_opts.dual_budget = budget;
  if (max_eval >= 0) g_opts.max_eval_s = max_eval;
  if (jac_budget >= 0) g_opts.jac_budget = jac_budget;
  if (g_opts.max_nodes < g_opts.min_nodes) return bad_usage("--max-nodes", "below --min-nodes");
  snprintf(min_time_flag, sizeof min_time_flag, "--benchmark_min_time=%g", g_opts.min_time);
  if (user_min_time >= 0) g_opts.min_time = user_min_time; /* for the context: the user's flag wins */
  if (!g_opts.n_wl)
    for (int i = 0; i < WL_COUNT; ++i)
      g_opts.wl[g_opts.n_wl++] = wl_all[i];
  if (!g_opts.n_eng)
    for (int i = 0; i < eng_count && i < 64; ++i) g_opts.eng[g_opts.n_eng++] = eng_all[i];
  if (g_opts.memory_check) g_opts.mem_available = mem_available();

  /* Node targets, then the plan: workload, engine, mode; each with its sizes (node targets, or the grid). */
  double targets[128];
  int n_targets = 0;
  for (int k = 0; n_targets < 128; ++k) {
    double t = g_opts.min_nodes * pow10_steps(k, g_opts.steps);
    if (t > g_opts.max_nodes * (1 + 1e-9)) break;
    targets[n_targets++] = t;
  }
  ab_case *cases = g_cases =
      (ab_case *)calloc((size_t)g_opts.n_wl * g_opts.n_eng * AB_MODE_COUNT + 1, sizeof *cases);
  int *sizes = g_sizes = (int *)calloc((size_t)g_opts.n_wl * 128 + 1, sizeof *sizes);
  if (!cases || !sizes) return bad_usage("adbench", "out of memory");
  int n_cases = 0;
  for (int a = 0; a < g_opts.n_wl; ++a) {
    const wl_info *w = g_opts.wl[a];
    int *sz = sizes + a * 128, ns = 0, grid = uses_grid(w);
    if (grid) {
      ns = grid_sizes(w, sz, 128);
    } else {
      for (int k = 0; k < n_targets; ++k) {
        int s = wl_size_for_nodes(w, targets[k]);
        if (ns == 0 || s != sz[ns - 1]) sz[ns++] = s;
      }
    }
    for (int b = 0; b < g_opts.n_eng && ns > 0; ++b) {
      const eng_api *e = g_opts.eng[b];
      for (int k = 0; k < AB_MODE_COUNT; ++k) {
        int has = k == AB_VALUE   ? e->kind == ENG_PRIMAL
                  : k == AB_JVP   ? e->kind == ENG_FORWARD && e->jvp
                  : k == AB_GRAD  ? e->kind != ENG_PRIMAL
                  : k == AB_REVERSE ? e->kind == ENG_REVERSE && e->vjp
                                    : e->replay != NULL;
        if (grid && k != AB_GRAD) has = 0; /* the grid measures Jacobians only */
        if (!has || (g_opts.modes && !(g_opts.modes & (1 << k)))) continue;
        ab_case *c = &cases[n_cases];
        c->w = w, c->e = e, c->mode = (ab_mode)k, c->index = n_cases, c->n_sizes = ns, c->grid = grid;
        char name[256];
        snprintf(name, sizeof name, "%s/%s/%s", w->name, e->name, ab_mode_name[k]);
        gb_bench *gb = gb_register(name, ab_run, c);
        if (!gb) return bad_usage("adbench", "out of memory");
        for (int i = 0; i < ns; ++i) gb_bench_arg(gb, sz[i]);
        n_cases++;
      }
    }
  }
  g_n_cases = n_cases;

  /* Context: the build, the machine, the sweep; --context entries last, so they override. */
  int ok = add_context();
  for (int i = 0; i < n_ctx_args; ++i) {
    char *kv = ctx_keep(ctx_args[i]);
    if (!kv) return bad_usage("--context", "too many or out of memory");
    char *eq = strchr(kv, '=');
    *eq = 0;
    ok &= ctx_set(kv, eq + 1);
  }
  for (int i = 0; ok && i < g_n_ctx; ++i) {
    ad_status st = gb_add_context(g_ctx_key[i], g_ctx_val[i]);
    if (st != AD_OK) {
      fprintf(stderr, "adbench: context entry %s: %s\n", g_ctx_key[i],
              st == AD_EINVAL ? "Google Benchmark writes this key itself" : ad_status_str(st));
      ok = 0;
    }
  }
  if (!ok) return 2;
  if (g_opts.memory_manager) gb_memory_manager_enable();

  return gb_main(gb_argc, gb_argv, help);
}

int main(int argc, char **argv) {
  int rc = adbench_main(argc, argv);
  ctx_free();
  free(g_cases), free(g_sizes), free(g_gb_argv);
  return rc;
}
