/* wltime: gradient-to-primal time ratios of the benchmark problems, and the forward-vs-reverse crossover of the
 * `mix` workload. A quick timing loop (the fastest of several batches, C11's timespec_get), beside adbench.
 *
 *   wltime ratios                          each problem at adbench's largest default size (the smallest size
 *                                          with at least 10^6 nodes): primal time, then tape, dual and manual
 *                                          gradient (or Jacobian) time as multiples of it
 *   wltime ratios --nodes 1e5 --workload gmm --workload det
 *   wltime crossover                       mix: dual Jacobian (n forward passes) against the tape's (one recording
 *                                          and m reverse sweeps), for m = 1, 4, 16, 64, 256 and n = 1, 2, 4, ...
 *   wltime crossover --m 8 --m 32
 *
 * Where the dual Jacobian would take more than --dual-budget node evaluations (n_in * nodes, default 2e9), its
 * time is estimated as n_in times one forward pass (jvp) and marked "~". Exit status: 0, or 2 on bad usage.
 *
 * Why a program of its own beside adbench: it times the hand-written derivatives (wl_info.manual and
 * manual_jacobian), which are not an engine and so have no adbench mode, and it produces the two tables of
 * bench/workloads/README.md (ratios with a manual column; the crossover on a finer grid of m than adbench's).
 * For engine-to-primal ratios that hold still, use adbench's x_primal counters (measured interleaved); for the
 * crossover across every engine, adbench's grid on the grid workloads.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eng.h"
#include "wl.h"

#define MAX_LIST 32

static double now(void) {
  struct timespec ts;
  timespec_get(&ts, TIME_UTC); /* C11; the machine's clock is not adjusted during a run */
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* What one timed call does. */
typedef enum job_kind { JOB_VALUE, JOB_JACOBIAN, JOB_JVP, JOB_MANUAL } job_kind;
typedef struct job {
  job_kind kind;
  const eng_api *e;
  eng_session *s;
  const wl_info *w;
  int size;
  const double *data, *x, *v;
  double *y, *J;
  ad_status st;
} job;

static void run(job *j) {
  switch (j->kind) {
  case JOB_VALUE: j->st = j->e->value(j->s, j->x, j->y); break;
  case JOB_JACOBIAN: j->st = j->e->jacobian(j->s, j->x, j->y, j->J); break;
  case JOB_JVP: j->st = j->e->jvp(j->s, j->x, j->v, j->y, j->J); break;
  case JOB_MANUAL:
    if (j->w->n_out(j->size) == 1 && j->w->manual) j->w->manual(j->size, j->data, j->x, j->y, j->J);
    else j->w->manual_jacobian(j->size, j->data, j->x, j->y, j->J);
    j->st = AD_OK;
    break;
  }
}

/* Seconds per call: the fastest of up to 5 batches of at least 50 ms each (one call per batch, and fewer
 * batches, for slow calls). */
static double time_job(job *j) {
  run(j); /* warm-up: first-touch of memory, tape chunks */
  double best = INFINITY, spent = 0;
  for (int rep = 0; rep < 5 && (rep < 2 || spent < 3.0); ++rep) {
    double t0 = now(), t;
    long k = 0;
    do {
      run(j);
      ++k;
      t = now() - t0;
    } while (t < 0.05);
    spent += t;
    if (t / k < best) best = t / k;
  }
  return best;
}

static int usage(const char *msg) {
  if (msg) fprintf(stderr, "wltime: %s\n", msg);
  fprintf(stderr, "usage: wltime ratios [--nodes N] [--workload NAME]... [--dual-budget N] [--seed S]\n"
                  "       wltime crossover [--m M]...\n");
  return 2;
}

/* ---- ratios ---- */

static void ratios_one(const wl_info *w, double target, double dual_budget, uint64_t seed) {
  int size = wl_size_for_nodes(w, target), n = w->n_in(size), m = w->n_out(size);
  size_t nJ = (size_t)n * m;
  double *x = (double *)calloc((size_t)n, 8), *data = (double *)calloc((size_t)w->n_data(size) + 1, 8);
  double *y = (double *)calloc((size_t)m, 8), *J = (double *)calloc(nJ, 8), *v = (double *)calloc((size_t)n, 8);
  eng_session *sp = eng_primal.open(w, size, data), *st = eng_tape.open(w, size, data);
  eng_session *sd = eng_dual.open(w, size, data);
  if (!x || !data || !y || !J || !v || !sp || !st || !sd) {
    printf("%-10s %8d  out of memory\n", w->name, size);
    goto done;
  }
  w->init(size, seed, x, data);
  for (int i = 0; i < n; ++i) v[i] = 1.0;
  job j = {JOB_VALUE, &eng_primal, sp, w, size, data, x, v, y, J, AD_OK};
  double tp = time_job(&j);
  j.kind = JOB_JACOBIAN, j.e = &eng_tape, j.s = st;
  double tt = time_job(&j);
  eng_stats es = eng_tape.stats(st);
  ad_status tape_st = j.st;
  double td;
  const char *est = " ";
  if ((double)n * w->nodes(size) <= dual_budget) {
    j.kind = JOB_JACOBIAN, j.e = &eng_dual, j.s = sd;
    td = time_job(&j);
  } else {
    j.kind = JOB_JVP, j.e = &eng_dual, j.s = sd;
    td = n * time_job(&j);
    est = "~";
  }
  j.kind = JOB_MANUAL;
  double tm = time_job(&j);
  printf("%-10s %8d %8d %5d %11llu %11.1f %9.3g %s%11.4g %9.3g%s\n", w->name, size, n, m,
         (unsigned long long)es.nodes, tp * 1e6, tt / tp, est, td / tp, tm / tp,
         tape_st == AD_OK ? "" : "  (tape error)");
  fflush(stdout);
done:
  eng_primal.close(sp), eng_tape.close(st), eng_dual.close(sd);
  free(x), free(data), free(y), free(J), free(v);
}

static int cmd_ratios(int argc, char **argv) {
  static const char *const defaults[] = {"gmm", "ba", "lstm", "det", "lse", "ode", "ode_adapt", "llsq", "mix"};
  const wl_info *wl[MAX_LIST];
  int n_wl = 0;
  double target = 1e6, budget = 2e9;
  uint64_t seed = 42;
  for (int i = 0; i < argc; ++i) {
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(argv[i], "--workload") && v) {
      const wl_info *w = wl_find(v);
      if (!w) return usage("unknown workload");
      if (n_wl < MAX_LIST) wl[n_wl++] = w;
      ++i;
    } else if (!strcmp(argv[i], "--nodes") && v) {
      target = strtod(v, NULL), ++i;
      if (!(target >= 1)) return usage("--nodes takes a number >= 1");
    } else if (!strcmp(argv[i], "--dual-budget") && v) {
      budget = strtod(v, NULL), ++i;
    } else if (!strcmp(argv[i], "--seed") && v) {
      seed = strtoull(v, NULL, 10), ++i;
    } else {
      return usage("unknown option");
    }
  }
  if (!n_wl)
    for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; ++i) wl[n_wl++] = wl_find(defaults[i]);
  printf("# time of one gradient (Jacobian for n_out > 1) / time of one primal evaluation, at the smallest size\n"
         "# with at least %.3g nodes; dual = n_in forward passes (~: n_in x one jvp), tape = recording + n_out\n"
         "# reverse sweeps, manual = the hand-written derivative\n", target);
  printf("%-10s %8s %8s %5s %11s %11s %9s  %11s %9s\n", "workload", "size", "n_in", "n_out", "tape nodes",
         "primal us", "tape", "dual", "manual");
  for (int i = 0; i < n_wl; ++i) ratios_one(wl[i], target, budget, seed);
  return 0;
}

/* ---- crossover ---- */

static int mix_size(const wl_info *w, int n, int m) {
  for (int s = 1; s <= w->max_size; ++s)
    if (w->n_in(s) == n && w->n_out(s) == m) return s;
  return 0;
}

/* Times of the full Jacobian of mix at (n, m): dual (n passes) and tape (recording + m sweeps). */
static int time_mix(const wl_info *w, int n, int m, double *td, double *tt) {
  int size = mix_size(w, n, m);
  if (!size) return 0;
  double *x = (double *)calloc((size_t)n, 8), *data = (double *)calloc((size_t)w->n_data(size), 8);
  double *y = (double *)calloc((size_t)m, 8), *J = (double *)calloc((size_t)n * m, 8);
  eng_session *sd = eng_dual.open(w, size, data), *st = eng_tape.open(w, size, data);
  int ok = x && data && y && J && sd && st;
  if (ok) {
    w->init(size, 42, x, data);
    job j = {JOB_JACOBIAN, &eng_dual, sd, w, size, data, x, NULL, y, J, AD_OK};
    *td = time_job(&j);
    j.e = &eng_tape, j.s = st;
    *tt = time_job(&j);
    ok = j.st == AD_OK;
  }
  eng_dual.close(sd), eng_tape.close(st);
  free(x), free(data), free(y), free(J);
  return ok;
}

static int cmd_crossover(int argc, char **argv) {
  int ms[MAX_LIST], n_m = 0;
  for (int i = 0; i < argc; ++i) {
    if (!strcmp(argv[i], "--m") && i + 1 < argc) {
      int m = atoi(argv[++i]);
      if (m < 1 || m > 4096 || (m & (m - 1))) return usage("--m takes a power of 2 from 1 to 4096");
      if (n_m < MAX_LIST) ms[n_m++] = m;
    } else {
      return usage("unknown option");
    }
  }
  if (!n_m) ms[n_m++] = 1, ms[n_m++] = 4, ms[n_m++] = 16, ms[n_m++] = 64, ms[n_m++] = 256;
  const wl_info *w = wl_find("mix");
  printf("# mix: full Jacobian of n inputs mixed into m outputs (4 n m - m nodes)\n"
         "# dual: n forward passes; tape: one recording + m reverse sweeps. Times in microseconds.\n");
  printf("%6s %6s %12s %12s %10s  %s\n", "m", "n", "dual us", "tape us", "dual/tape", "faster");
  for (int k = 0; k < n_m; ++k) {
    int m = ms[k];
    double prev_n = 0, prev_q = 0, cross = 0;
    for (int n = 1; n <= 4096; n *= 2) {
      double td, tt;
      if (!time_mix(w, n, m, &td, &tt)) {
        printf("%6d %6d  error\n", m, n);
        break;
      }
      double q = td / tt;
      printf("%6d %6d %12.2f %12.2f %10.3f  %s\n", m, n, td * 1e6, tt * 1e6, q, q < 1 ? "dual" : "tape");
      fflush(stdout);
      if (prev_n > 0 && prev_q < 1 && q >= 1 && !cross) { /* interpolate log(q) = 0 in log n */
        double a = log(prev_q), b = log(q);
        cross = exp(log(prev_n) + (-a / (b - a)) * (log((double)n) - log(prev_n)));
      }
      prev_n = n, prev_q = q;
      if (q > 8 || td > 2.0) break; /* well past the crossover, or too slow to go on */
    }
    if (cross) printf("# m = %d: forward (dual) is faster up to n = %.3g, reverse (tape) beyond\n", m, cross);
    else printf("# m = %d: no crossover in the measured range\n", m);
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 2 && !strcmp(argv[1], "ratios")) return cmd_ratios(argc - 2, argv + 2);
  if (argc >= 2 && !strcmp(argv[1], "crossover")) return cmd_crossover(argc - 2, argv + 2);
  return usage(argc >= 2 ? "unknown command" : NULL);
}
