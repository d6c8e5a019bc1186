/* replaycost: what a static graph costs and saves against a dynamic one, phase by phase.
 *
 *   replaycost                                   rosenbrock, chain, poly, mlp, branchy at 10^5 and 10^6 nodes
 *   replaycost --workload poly --nodes 1e6       one workload, one node target (both options repeat)
 *   replaycost --all                             every visible workload
 *   replaycost --min-time 0.2 --reps 5           time per measurement and repetitions (the median is shown)
 *
 * For each workload and node target, on the same inputs:
 *   tape    the Jacobian tape (the dynamic graph: recorded on every evaluation): record, reverse sweep, and
 *           record + reverse (what a gradient costs when the graph is rebuilt each time);
 *   graph   the graph-object engine (PyTorch's dynamic graph), if built: graph rebuilt + backward pass;
 *   replay  the primal-value tape: record, reverse sweep, forward replay at other inputs, and forward replay +
 *           reverse (what a gradient costs when the graph is built once);
 *   bytes   bytes per node of each recording (bytes_used / nodes, inputs not counted as nodes);
 *   guards  the fraction of 20 replays at inputs from other seeds refused by guards (control flow changed).
 * Gradients are one reverse sweep with every output weighted 1 (a vector-Jacobian product). Times are the median
 * over --reps repetitions of a loop run for at least --min-time seconds, in nanoseconds per node.
 *
 * Why a program of its own and not an adbench mode: it times phases below the engine interface (eng.h), the
 * recording alone and the forward replay alone, driving the replay tape directly (replay_forward, its adjoint
 * vector), and reads the replay tape's own statistics (guards per node); adbench times what eng_api offers
 * (grad = record + reverse, reverse, replay = forward replay + reverse, guard_refusals), so its results stay
 * comparable across every engine and peer. Splitting those phases into eng_api calls for one engine would add
 * entry points no other engine has.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, CLOCK_THREAD_CPUTIME_ID */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../engines/replay/replay_ops.h"
#include "eng.h"
#include "wl.h"
#include "workloads/all.inc"

typedef void (*wl_fn_t)(ad_ctx *c, int size, const double *data, const ad_t *x, ad_t *y, ad_t *s);
static const wl_fn_t rc_fns[WL_COUNT] = {
#define WL__X(name) WL_FN(name),
    WL_LIST(WL__X)
#undef WL__X
};

enum { RC_GUARD_TRIALS = 20, RC_MAX = 64 };

static double rc_min_time = 0.1;
static int rc_reps = 3;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* One phase to time: fn(arg) once per iteration. Returns 0 on success. */
typedef int (*phase_fn)(void *arg);

/* Median over rc_reps of the mean time per call of fn, each repetition running at least rc_min_time. NaN if fn
 * fails. */
static double time_phase(phase_fn fn, void *arg) {
  double t[16];
  int reps = rc_reps < 16 ? rc_reps : 16;
  if (fn(arg)) return NAN; /* warm-up: storage in place */
  for (int r = 0; r < reps; ++r) {
    long iters = 0;
    double t0 = now_s(), t1;
    do {
      if (fn(arg)) return NAN;
      iters++;
      t1 = now_s();
    } while (t1 - t0 < rc_min_time);
    t[r] = (t1 - t0) / (double)iters;
  }
  for (int i = 1; i < reps; ++i) /* insertion sort, then the median */
    for (int j = i; j > 0 && t[j] < t[j - 1]; --j) {
      double tmp = t[j];
      t[j] = t[j - 1];
      t[j - 1] = tmp;
    }
  return t[reps / 2];
}

/* ---- the phases ---- */

typedef struct rc_case {
  const wl_info *w;
  int size, n, m;
  double *x, *x2, *data, *wts, *g;
  /* the Jacobian tape and the graph-object engine (NULL if absent), through their engine adapters */
  eng_session *ts;
  const eng_api *ge;
  eng_session *gs;
  /* the replay tape, driven directly */
  replay_t *rt;
  ad_t *in, *out, *scratch;
} rc_case;

static int tape_record(void *a) {
  rc_case *c = (rc_case *)a;
  return eng_tape.value(c->ts, c->x, c->g) != AD_OK;
}
static int tape_reverse(void *a) {
  rc_case *c = (rc_case *)a;
  return eng_tape.vjp(c->ts, c->wts, c->g) != AD_OK;
}
static int tape_both(void *a) { return tape_record(a) || tape_reverse(a); }
static int graph_both(void *a) {
  rc_case *c = (rc_case *)a;
  return c->ge->value(c->gs, c->x, c->g) != AD_OK || c->ge->vjp(c->gs, c->wts, c->g) != AD_OK;
}

static int replay_record(void *a) {
  rc_case *c = (rc_case *)a;
  replay_reset(c->rt);
  for (int i = 0; i < c->n; ++i) c->in[i] = replay_input(c->rt, c->x[i]);
  rc_fns[c->w->id](c->rt, c->size, c->data, c->in, c->out, c->scratch);
  return replay_status(c->rt) != AD_OK;
}
static int replay_rev(void *a) {
  rc_case *c = (rc_case *)a;
  double *adj = replay_adjoints(c->rt);
  if (!adj) return 1;
  for (int i = 0; i < c->m; ++i) adj[c->out[i].i] += c->wts[i];
  if (replay_reverse(c->rt) != AD_OK) return 1;
  for (int j = 0; j < c->n; ++j) c->g[j] = adj[c->in[j].i];
  return 0;
}
static int replay_fwd(void *a) {
  rc_case *c = (rc_case *)a;
  return replay_forward(c->rt, c->x2, (size_t)c->n) != AD_OK;
}
static int replay_both(void *a) { return replay_fwd(a) || replay_rev(a); }

/* Fraction of RC_GUARD_TRIALS replays at inputs from other seeds that guards refuse; -1 on another error. */
static double guard_rate(rc_case *c) {
  double *junk = (double *)calloc((size_t)c->w->n_data(c->size) + 1, sizeof(double));
  double *xs = (double *)calloc((size_t)c->n, sizeof(double));
  int refused = 0, k = 0;
  for (; junk && xs && k < RC_GUARD_TRIALS; ++k) {
    c->w->init(c->size, 1000 + (uint64_t)k, xs, junk);
    ad_status st = replay_forward(c->rt, xs, (size_t)c->n);
    if (st == AD_EGUARD) refused++;
    else if (st != AD_OK) break;
  }
  free(junk), free(xs);
  return k == RC_GUARD_TRIALS ? (double)refused / RC_GUARD_TRIALS : -1;
}

static void run_case(const wl_info *w, double target, int *header) {
  rc_case c;
  memset(&c, 0, sizeof c);
  c.w = w;
  c.size = wl_size_for_nodes(w, target);
  c.n = w->n_in(c.size);
  c.m = w->n_out(c.size);
  c.x = (double *)calloc((size_t)c.n, sizeof(double));
  c.x2 = (double *)calloc((size_t)c.n, sizeof(double));
  c.g = (double *)calloc((size_t)c.n + (size_t)c.m, sizeof(double));
  c.data = (double *)calloc((size_t)w->n_data(c.size) + 1, sizeof(double));
  c.wts = (double *)calloc((size_t)c.m, sizeof(double));
  c.in = (ad_t *)calloc((size_t)c.n, sizeof(ad_t));
  c.out = (ad_t *)calloc((size_t)c.m, sizeof(ad_t));
  c.scratch = (ad_t *)calloc((size_t)w->n_scratch(c.size) + 1, sizeof(ad_t));
  c.rt = replay_new();
  if (c.x && c.x2 && c.g && c.data && c.wts && c.in && c.out && c.scratch && c.rt) {
    w->init(c.size, 42, c.x, c.data);
    /* Replays run at a point near x (1e-9 relative), so that every workload stays on its recorded path. */
    for (int i = 0; i < c.n; ++i) c.x2[i] = c.x[i] * (1 + 1e-9 * ((i % 7) - 3));
    for (int i = 0; i < c.m; ++i) c.wts[i] = 1.0;
    c.ts = eng_tape.open(w, c.size, c.data);
    c.ge = eng_find("graph");
    if (c.ge && c.ge->vjp) c.gs = c.ge->open(w, c.size, c.data);
  }
  if (!c.ts) {
    fprintf(stderr, "replaycost: out of memory at %s size %d\n", w->name, c.size);
  } else {
    double t_rec = time_phase(tape_record, &c);
    eng_stats es = eng_tape.stats(c.ts);
    double t_rev = time_phase(tape_reverse, &c), t_both = time_phase(tape_both, &c);
    double r_rec = time_phase(replay_record, &c);
    replay_stats rs = replay_get_stats(c.rt);
    double r_rev = time_phase(replay_rev, &c);
    double r_fwd = time_phase(replay_fwd, &c), r_both = time_phase(replay_both, &c);
    double g_both = c.gs ? time_phase(graph_both, &c) : NAN;
    double gr = guard_rate(&c);
    double nodes = (double)(rs.statements - rs.inputs);
    if (nodes < 1) nodes = 1;
    if (!*header) {
      printf("| workload | size | nodes | tape B/node | replay B/node | guards/node | tape record | tape reverse | "
             "tape record+reverse | graph record+reverse | replay record | replay reverse | replay forward | replay forward+reverse | "
             "replay vs re-record | guards fired |\n");
      printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
      *header = 1;
    }
    const double ns = 1e9 / nodes;
    printf("| %s | %d | %.0f | %.1f | %.1f | %.3f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2fx | ",
           w->name, c.size, nodes, (double)es.bytes_used / (double)(es.nodes ? es.nodes : 1),
           (double)rs.bytes_used / nodes, (double)rs.guards / nodes, t_rec * ns, t_rev * ns, t_both * ns, g_both * ns,
           r_rec * ns, r_rev * ns, r_fwd * ns, r_both * ns, r_both / t_both);
    if (gr < 0) printf("error |\n");
    else printf("%.0f%% |\n", 100 * gr);
    fflush(stdout);
  }
  eng_tape.close(c.ts);
  if (c.ge) c.ge->close(c.gs);
  replay_free(c.rt);
  free(c.x), free(c.x2), free(c.g), free(c.data), free(c.wts), free(c.in), free(c.out), free(c.scratch);
}

static int usage(const char *msg) {
  if (msg) fprintf(stderr, "replaycost: %s\n", msg);
  fprintf(stderr, "usage: replaycost [--workload NAME]... [--all] [--nodes N]... [--min-time S] [--reps R]\n");
  return 2;
}

int main(int argc, char **argv) {
  const wl_info *wls[RC_MAX];
  double targets[RC_MAX];
  int nw = 0, nt = 0, all = 0;
  for (int i = 1; i < argc; ++i) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    char *end;
    if (!strcmp(a, "--workload") && v) {
      const wl_info *w = wl_find(v);
      if (!w) return usage("unknown workload");
      if (nw < RC_MAX) wls[nw++] = w;
      i++;
    } else if (!strcmp(a, "--all")) {
      all = 1;
    } else if (!strcmp(a, "--nodes") && v) {
      errno = 0;
      double t = strtod(v, &end);
      if (errno || *end || !(t >= 1 && t <= 1e9)) return usage("--nodes takes a number from 1 to 1e9");
      if (nt < RC_MAX) targets[nt++] = t;
      i++;
    } else if (!strcmp(a, "--min-time") && v) {
      rc_min_time = strtod(v, &end);
      if (*end || !(rc_min_time > 0 && rc_min_time <= 60)) return usage("--min-time takes seconds in (0, 60]");
      i++;
    } else if (!strcmp(a, "--reps") && v) {
      rc_reps = (int)strtol(v, &end, 10);
      if (*end || rc_reps < 1 || rc_reps > 15) return usage("--reps takes 1 to 15");
      i++;
    } else {
      return usage(strcmp(a, "-h") && strcmp(a, "--help") ? "unknown option or missing value" : NULL);
    }
  }
  if (all) {
    nw = 0;
    for (int i = 0; i < WL_COUNT && nw < RC_MAX; ++i)
      wls[nw++] = wl_all[i];
  } else if (!nw) {
    static const char *const def[] = {"rosenbrock", "chain", "poly", "mlp", "branchy"};
    for (size_t i = 0; i < sizeof def / sizeof def[0]; ++i)
      if (wl_find(def[i])) wls[nw++] = wl_find(def[i]);
  }
  if (!nt) targets[nt++] = 1e5, targets[nt++] = 1e6;
  printf("Times in ns per node (median of %d runs of >= %.2g s); bytes per node of the recording; guards fired: "
         "share of %d replays at other seeds' inputs refused.\n\n",
         rc_reps, rc_min_time, RC_GUARD_TRIALS);
  int header = 0;
  for (int t = 0; t < nt; ++t)
    for (int i = 0; i < nw; ++i) run_case(wls[i], targets[t], &header);
  return 0;
}
