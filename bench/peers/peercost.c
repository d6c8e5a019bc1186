/* peercost: adlab's engines and the peer AD tools side by side on one workload near a node count, in one run:
 * time and bytes per node of a full gradient (record + reverse sweep) or of one forward pass, and the ratios
 * of each peer to each of adlab's engines.
 *
 *   peercost                                  rosenbrock, chain, mlp and gmm near 10^6 nodes
 *   peercost --nodes 1e5 --workload chain     one workload, another node count (both options repeat)
 *   peercost --min-time 0.5                   seconds each measurement runs for at least (default 0.3)
 *
 * Per engine and workload: mode (grad for engines that record, jvp for forward ones: one pass), seconds per
 * evaluation (the median of the repetitions that fit in --min-time, at least one, after one untimed run), ns per
 * node and that time over the primal engine's; nodes as the engine counts them and bytes_used / bytes per node
 * from its stats. Per-node figures divide by the tape engine's node count (the workload's statements), so every
 * engine is measured against the same graph. A peer beyond its limits prints the reason (peer_skip_reason).
 * This is a quick loop on the wall clock, not the benchmark: adbench measures the same engines with Google
 * Benchmark; this tool gives the side-by-side table and ratios of the peers issue in one small run.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eng.h"
#include "peers/peers.h"
#include "wl.h"

#define MAX_ITEMS 16

typedef struct row {
  const eng_api *e;
  const char *mode, *skip;
  double sec, bytes;
  uint64_t nodes;
  int ok;
} row;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Median seconds of one evaluation of e in its mode; 0 on failure. */
static double measure(const eng_api *e, eng_session *s, const double *x, const double *v, double *y, double *g,
                      double min_time, const char **mode) {
  double t[64];
  int k = 0;
  ad_status st;
  *mode = e->kind == ENG_PRIMAL ? "value" : e->kind == ENG_FORWARD ? "jvp" : "grad";
  double start = now();
  for (int rep = -1; rep < 64; ++rep) { /* rep -1: untimed, brings the engine to its steady state */
    double t0 = now();
    if (e->kind == ENG_PRIMAL) st = e->value(s, x, y);
    else if (e->kind == ENG_FORWARD) st = e->jvp(s, x, v, y, g);
    else st = e->jacobian(s, x, y, g);
    double t1 = now();
    if (st != AD_OK) return 0;
    if (rep >= 0) t[k++] = t1 - t0;
    if (rep >= 0 && (t1 - start >= min_time || t1 - t0 > 2.0)) break;
  }
  qsort(t, (size_t)k, sizeof t[0], cmp_double);
  return t[k / 2];
}

static void run(const wl_info *w, double target, double min_time) {
  int size = wl_size_for_nodes(w, target);
  int n = w->n_in(size);
  double *x = (double *)calloc((size_t)n, sizeof(double)), *v = (double *)calloc((size_t)n, sizeof(double));
  double *g = (double *)calloc((size_t)n * w->n_out(size) + 1, sizeof(double));
  double *data = (double *)calloc((size_t)w->n_data(size) + 1, sizeof(double));
  double *y = (double *)calloc((size_t)w->n_out(size), sizeof(double));
  row r[64];
  int nr = 0;
  if (!x || !v || !g || !data || !y) {
    fprintf(stderr, "peercost: out of memory\n");
    exit(1);
  }
  w->init(size, 42, x, data);
  for (int i = 0; i < n; ++i) v[i] = 1.0;
  double nodes = 0, primal = 0;
  for (int i = 0; i < eng_count && nr < 64; ++i) {
    const eng_api *e = eng_all[i];
    row *ri = &r[nr++];
    memset(ri, 0, sizeof *ri);
    ri->e = e;
    if ((ri->skip = eng_skip_reason(e, w, size)) != NULL) continue;
    eng_session *s = e->open(w, size, data);
    if (!s) {
      ri->skip = "could not open a session (out of memory)";
      continue;
    }
    ri->sec = measure(e, s, x, v, y, g, min_time, &ri->mode);
    eng_stats es = e->stats(s);
    ri->nodes = es.nodes;
    ri->bytes = (double)es.bytes_used;
    ri->ok = ri->sec > 0;
    if (!strcmp(e->name, "tape")) nodes = (double)es.nodes;
    if (e->kind == ENG_PRIMAL && !primal) primal = ri->sec;
    e->close(s);
  }
  if (nodes <= 0) nodes = w->nodes(size);
  printf("\n%s, size %d: %.0f nodes (tape engine's statements), %d inputs\n", w->name, size, nodes, n);
  printf("%-12s %-5s %12s %9s %9s %12s %13s %9s\n", "engine", "mode", "s/eval", "ns/node", "x primal",
         "own nodes", "bytes_used", "B/node");
  for (int i = 0; i < nr; ++i) {
    const row *ri = &r[i];
    int p = eng_is_peer(ri->e);
    char name[40];
    snprintf(name, sizeof name, "%s%s", ri->e->name, p ? "*" : "");
    if (ri->skip || !ri->ok) {
      printf("%-12s skipped: %s\n", name, ri->skip ? ri->skip : "evaluation failed");
      continue;
    }
    printf("%-12s %-5s %12.6f %9.1f %9.1f %12llu %13.0f %9.1f\n", name, ri->mode, ri->sec, 1e9 * ri->sec / nodes,
           primal > 0 ? ri->sec / primal : 0.0, (unsigned long long)ri->nodes, ri->bytes, ri->bytes / nodes);
  }
  /* ratios: peer over adlab engine, same mode family (reverse with reverse, forward with forward) */
  printf("ratios peer / adlab (time, bytes_used), same run:\n");
  for (int i = 0; i < nr; ++i) {
    const row *pi = &r[i];
    if (!eng_is_peer(pi->e) || !pi->ok || pi->skip) continue;
    printf("  %-12s", pi->e->name);
    for (int j = 0; j < nr; ++j) {
      const row *aj = &r[j];
      if (eng_is_peer(aj->e) || !aj->ok || aj->skip || aj->e->kind != pi->e->kind) continue;
      if (aj->bytes > 0 && pi->bytes > 0)
        printf("  vs %s: %.1fx time, %.1fx bytes", aj->e->name, pi->sec / aj->sec, pi->bytes / aj->bytes);
      else
        printf("  vs %s: %.1fx time", aj->e->name, pi->sec / aj->sec);
    }
    printf("\n");
  }
  fflush(stdout);
  free(x), free(v), free(g), free(data), free(y);
}

int main(int argc, char **argv) {
  const wl_info *wl[MAX_ITEMS];
  double targets[MAX_ITEMS], min_time = 0.3;
  int nw = 0, nt = 0;
  for (int i = 1; i < argc; ++i) {
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(argv[i], "--workload") && v && nw < MAX_ITEMS) {
      if (!(wl[nw++] = wl_find(v))) {
        fprintf(stderr, "peercost: unknown workload %s\n", v);
        return 2;
      }
      i++;
    } else if (!strcmp(argv[i], "--nodes") && v && nt < MAX_ITEMS) {
      targets[nt++] = atof(v);
      i++;
    } else if (!strcmp(argv[i], "--min-time") && v) {
      min_time = atof(v);
      i++;
    } else {
      fprintf(stderr, "usage: peercost [--workload NAME]... [--nodes N]... [--min-time SECONDS]\n");
      return 2;
    }
  }
  if (!nw) {
    const char *def[] = {"rosenbrock", "chain", "mlp", "gmm"};
    for (int i = 0; i < 4; ++i)
      if (wl_find(def[i])) wl[nw++] = wl_find(def[i]);
  }
  if (!nt) targets[nt++] = 1e6;
  printf("peercost: * marks a peer tool");
  for (int i = eng_own_count; i < eng_count; ++i)
    printf("%s %s %s (%s)", i > eng_own_count ? ";" : ":", eng_all[i]->name, eng_all[i]->version, eng_all[i]->about);
  printf("\n");
  for (int t = 0; t < nt; ++t)
    for (int i = 0; i < nw; ++i) run(wl[i], targets[t], min_time);
  return 0;
}
