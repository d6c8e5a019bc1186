/* adcheck: do all engines agree on every workload's derivatives?
 *
 *   adcheck                                   every workload and engine at each workload's two check sizes
 *   adcheck --workload rosenbrock --size 50   one workload, one size (--workload and --size repeat)
 *   adcheck --engine tape --seed 7            one engine against the references, another input seed
 *   adcheck --json out.json                   also write inputs, values and derivatives of every engine
 *
 * For each workload and size it computes f and its Jacobian (the gradient when f is scalar) with every engine
 * and compares:
 *   value    every engine's f(x) must equal the primal engine's bit for bit (they share ops and SLEEF calls);
 *   engines  every pair of derivative engines: max |a - b| / max |b|, must be <= 1e-12;
 *   manual   each engine against the hand-written gradient or Jacobian, where there is one: <= 1e-12;
 *   fd       each engine against central finite differences refined by Ridders' extrapolation (steps
 *            h0 / 2^q, h0 = 1e-3 max(1, |x_j|), q < 12) on up to --fd-max coordinates: <= 1e-6. A coordinate
 *            whose extrapolation error estimate exceeds 1e-7 relative (the stencil met a branch or a kink) is
 *            skipped and counted as a kink; more than a quarter skipped is a failure.
 *   replay   engines that replay a recording (eng_api.replay: static graphs): recorded at x, replayed at 20 other
 *            inputs (10 near x, 10 from other seeds); every replay accepted must equal a fresh recording at the
 *            same inputs (value bit for bit, Jacobian <= 1e-12). Replays refused by a guard (control flow
 *            changed since recording) are counted, near and far, and are not failures.
 * Errors are relative to the largest reference entry, so they measure agreement of the whole vector; a wrong
 * partial in any op of the graph shows up as an error far above 1e-12.
 * Peers (bench/peers/peers.h: other AD tools, built with -DADLAB_PEERS=ON) use their own elementary functions:
 * their value must agree with the primal engine's, and their derivatives with adlab's derivative engines and the
 * manual gradient, to PEER_TOL (1e-10) rather than bit for bit and 1e-12; adlab's engines are compared with each
 * other only. A peer that cannot run a workload or size says why (skipped), which is not a failure.
 * Exit status: 0 if everything agrees, 1 on any disagreement or engine error, 2 on bad usage.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eng.h"
#include "peers/peers.h"
#include "wl.h"

#define TOL_ENGINES 1e-12
#define TOL_MANUAL 1e-12
#define TOL_FD 1e-6
#define MAX_LIST 64

#define FD_LEVELS 12

/* Ridders' extrapolation (Numerical Recipes, dfridr) of central differences d[q] taken at steps h0 / 2^q:
 * returns the estimate with the smallest error estimate, and that estimate in *err. */
static double ridders(const double *d, double *err) {
  double a[FD_LEVELS][FD_LEVELS], best = d[0];
  *err = INFINITY;
  for (int i = 0; i < FD_LEVELS; ++i) {
    a[0][i] = d[i];
    double fac = 4.0;
    for (int j = 1; j <= i; ++j, fac *= 4.0) {
      a[j][i] = (a[j - 1][i] * fac - a[j - 1][i - 1]) / (fac - 1.0);
      double e1 = fabs(a[j][i] - a[j - 1][i]), e2 = fabs(a[j][i] - a[j - 1][i - 1]);
      double e = e1 > e2 ? e1 : e2;
      if (e <= *err) {
        *err = e;
        best = a[j][i];
      }
    }
    if (i > 0 && fabs(a[i][i] - a[i - 1][i - 1]) >= 2.0 * *err) break;
  }
  return best;
}

typedef struct opts {
  const wl_info *wl[MAX_LIST];
  int n_wl;
  const eng_api *eng[MAX_LIST];
  int n_eng;
  int sizes[MAX_LIST];
  int n_sizes;
  uint64_t seed;
  int fd_max;
  double dual_budget; /* skip the dual Jacobian when n_in * nodes exceeds this */
  const char *json;
} opts;

static int usage(const char *msg) {
  if (msg) fprintf(stderr, "adcheck: %s\n", msg);
  fprintf(stderr,
          "usage: adcheck [--workload NAME]... [--engine NAME]... [--size N]... [--seed S] [--fd-max K]\n"
          "               [--json FILE|-]\n"
          "workloads:");
  for (int i = 0; i < WL_COUNT; ++i) fprintf(stderr, " %s", wl_all[i]->name);
  fprintf(stderr, "\nengines:");
  for (int i = 0; i < eng_count; ++i) fprintf(stderr, " %s", eng_all[i]->name);
  fprintf(stderr, "\n");
  return 2;
}

static int parse_long(const char *s, long lo, long hi, long *out) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || end == s || *end || v < lo || v > hi) return 0;
  *out = v;
  return 1;
}

/* For two results that must be the same (a replay and a fresh recording): max |a - b| / max |b| over the entries
 * that differ, where NaN in both agrees whatever its sign (C leaves a NaN's sign and payload unspecified: which
 * operand of a commutative op the compiler puts first decides it) and so does the same infinity. */
static double rel_err_same(const double *a, const double *b, size_t n) {
  double num = 0, den = 0;
  for (size_t i = 0; i < n; ++i) {
    if ((isnan(a[i]) && isnan(b[i])) || (isinf(b[i]) && a[i] == b[i])) continue;
    double d = fabs(a[i] - b[i]);
    if (!(d <= num)) num = d; /* NaN wins */
    if (fabs(b[i]) > den) den = fabs(b[i]);
  }
  return den > 0 ? num / den : num;
}

/* Bit for bit, except that any NaN equals any NaN (see rel_err_same). */
static int same_bits(const double *a, const double *b, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (memcmp(&a[i], &b[i], sizeof(double)) && !(isnan(a[i]) && isnan(b[i]))) return 0;
  return 1;
}

static FILE *g_out; /* where the table goes: stdout, or stderr when the JSON goes to stdout */

typedef struct result {
  const eng_api *e;
  ad_status st;
  int skipped; /* the dual Jacobian was too costly at this size */
  const char *peer_skip; /* why a peer does not run this workload or size, or NULL */
  double *y, *J;
  eng_stats stats;
} result;

static void json_array(FILE *f, const double *v, size_t n) {
  fputc('[', f);
  for (size_t i = 0; i < n; ++i) {
    if (i) fputc(',', f);
    if (isfinite(v[i])) fprintf(f, "%.17g", v[i]);
    else fprintf(f, "\"%g\"", v[i]); /* JSON has no NaN or Inf: written as strings */
  }
  fputc(']', f);
}

#define REPLAY_TRIALS 20

/* For an engine with replay(): records at x0, then replays at REPLAY_TRIALS other inputs, half near x0 (relative
 * perturbations 1e-6 .. 1e-3) and half from other seeds (keeping the recording's data), and compares each accepted
 * replay with a fresh recording at the same inputs. Prints one line; returns 1 on a disagreement or on an error
 * other than AD_EGUARD, else 0. */
static int check_replay(const eng_api *e, const wl_info *w, int size, const double *x0, const double *data,
                        uint64_t seed) {
  int n = w->n_in(size), m = w->n_out(size), ok = 0, near_refused = 0, far_refused = 0, bad = 0;
  int peer = peer_find(e) != NULL; /* peers: to PEER_TOL */
  int trials = (double)m * w->nodes(size) * REPLAY_TRIALS > 2e8 ? 4 : REPLAY_TRIALS; /* huge Jacobians: fewer */
  size_t nJ = (size_t)n * m;
  double *x = (double *)calloc((size_t)n, sizeof(double));
  double *junk = (double *)calloc((size_t)w->n_data(size) + 1, sizeof(double));
  double *y = (double *)calloc((size_t)m, sizeof(double)), *yf = (double *)calloc((size_t)m, sizeof(double));
  double *J = (double *)calloc(nJ, sizeof(double)), *Jf = (double *)calloc(nJ, sizeof(double));
  eng_session *rs = e->open(w, size, data), *fs = e->open(w, size, data);
  double emax = 0;
  ad_status st = AD_ENOMEM;
  if (x && junk && y && yf && J && Jf && rs && fs) {
    st = e->value(rs, x0, y);
    wl_rng r = {seed ^ 0x7265706C6179ull};
    for (int k = 0; st == AD_OK && k < trials; ++k) {
      int near = k < trials / 2;
      if (near) {
        double scale = pow(10.0, -3.0 - 3.0 * k / (trials / 2));
        for (int i = 0; i < n; ++i) x[i] = x0[i] * (1 + scale * wl_rng_uniform(&r, -1.0, 1.0));
      } else {
        w->init(size, seed + 1 + (uint64_t)k, x, junk);
      }
      ad_status rst = e->replay(rs, x, y, J);
      if (rst == AD_EGUARD) {
        near ? near_refused++ : far_refused++;
        continue;
      }
      if (rst != AD_OK || (rst = e->jacobian(fs, x, yf, Jf)) != AD_OK) {
        st = rst;
        break;
      }
      ok++;
      if (peer) bad |= !(eng_rel_err(y, yf, (size_t)m) <= PEER_TOL); /* a peer's replay may round differently */
      else bad |= !same_bits(y, yf, (size_t)m);
      double err = rel_err_same(J, Jf, nJ);
      if (!(err <= emax)) emax = err;
    }
  }
  bad |= st != AD_OK || !(emax <= (peer ? PEER_TOL : TOL_ENGINES));
  if (st != AD_OK)
    fprintf(g_out, "%-11s %8d %8d %-7s  replay error: %s\n", w->name, size, n, e->name, ad_status_str(st));
  else
    fprintf(g_out, "%-11s %8d %8d %-7s replays: %d of %d accepted, max err vs fresh %.1e%s; refused by guards: %d near, "
            "%d far  %s\n", w->name, size, n, e->name, ok, trials, emax, bad ? " (values differ)" : "", near_refused,
            far_refused, bad ? "FAIL" : "ok");
  e->close(rs);
  e->close(fs);
  free(x), free(junk), free(y), free(yf), free(J), free(Jf);
  return bad;
}

/* Runs one workload at one size; returns the number of failed checks (or -1 on out-of-memory). */
static int check_one(const opts *o, const wl_info *w, int size, FILE *json, int *json_first) {
  int n = w->n_in(size), m = w->n_out(size), fails = 0;
  size_t nJ = (size_t)n * m;
  double *x = (double *)calloc((size_t)n, sizeof *x);
  double *data = (double *)calloc((size_t)w->n_data(size) + 1, sizeof *data);
  double *gm = (double *)calloc(nJ, sizeof *gm);
  result *r = (result *)calloc((size_t)o->n_eng, sizeof *r);
  if (!x || !data || !gm || !r) {
    free(x), free(data), free(gm), free(r);
    return -1;
  }
  w->init(size, o->seed, x, data);

  /* Every engine: value and Jacobian. */
  const result *primal = NULL;
  for (int k = 0; k < o->n_eng; ++k) {
    result *rk = &r[k];
    rk->e = o->eng[k];
    if ((rk->peer_skip = peer_skip_reason(rk->e, w, size)) != NULL) continue;
    rk->y = (double *)calloc((size_t)m, sizeof(double));
    rk->J = (double *)calloc(nJ, sizeof(double));
    eng_session *s = rk->e->open(w, size, data);
    if (!s || !rk->y || !rk->J) {
      rk->st = AD_ENOMEM;
      rk->e->close(s);
      continue;
    }
    if (rk->e->kind == ENG_PRIMAL) {
      rk->st = rk->e->value(s, x, rk->y);
      if (!primal) primal = rk;
    } else if (rk->e->kind == ENG_FORWARD && (double)n * w->nodes(size) > o->dual_budget) {
      rk->skipped = 1;
      rk->st = rk->e->value(s, x, rk->y);
    } else {
      rk->st = rk->e->jacobian(s, x, rk->y, rk->J);
    }
    rk->stats = rk->e->stats(s);
    rk->e->close(s);
  }

  /* References: manual gradient (or Jacobian) and finite differences (on the primal engine). */
  double fm = 0;
  double *ym = (double *)calloc((size_t)m, sizeof(double));
  int have_manual = 0;
  if (w->manual && m == 1) {
    w->manual(size, data, x, &fm, gm);
    have_manual = 1;
  } else if (w->manual_jacobian && ym) {
    w->manual_jacobian(size, data, x, ym, gm);
    have_manual = 1;
  }
  int nfd = n < o->fd_max ? n : o->fd_max, fd_skipped = 0;
  int *fd_idx = (int *)calloc((size_t)nfd + 1, sizeof(int));
  double *fd = (double *)calloc((size_t)nfd * m + 1, sizeof(double));
  double *fd_eng = (double *)calloc((size_t)nfd * m + 1, sizeof(double));
  double *fd_ref = (double *)calloc((size_t)nfd * m + 1, sizeof(double));
  double *yp = (double *)calloc((size_t)m * 2, sizeof(double));
  double *fd_tab = (double *)calloc((size_t)m * FD_LEVELS, sizeof(double));
  int fd_ok = 0;
  eng_session *ps = eng_primal.open(w, size, data);
  if (fd_idx && fd && fd_eng && fd_ref && yp && fd_tab && ps) {
    fd_ok = 1;
    for (int j = 0; j < nfd; ++j) fd_idx[j] = nfd == n ? j : (int)((long long)j * (n - 1) / (nfd - 1));
    for (int j = 0; j < nfd; ++j) {
      int c = fd_idx[j];
      double xc = x[c], h0 = 1e-3 * (fabs(xc) > 1 ? fabs(xc) : 1);
      for (int q = 0; q < FD_LEVELS; ++q) { /* central differences at h0, h0/2, h0/4, ... */
        double h = ldexp(h0, -q);
        x[c] = xc + h;
        eng_primal.value(ps, x, yp);
        x[c] = xc - h;
        eng_primal.value(ps, x, yp + m);
        for (int i = 0; i < m; ++i) fd_tab[(size_t)i * FD_LEVELS + q] = (yp[i] - yp[m + i]) / (2 * h);
      }
      x[c] = xc;
      for (int i = 0; i < m; ++i) {
        double err;
        double d = ridders(fd_tab + (size_t)i * FD_LEVELS, &err);
        /* An estimate whose error bound is not small is not smooth here (a kink or branch within reach). */
        fd[(size_t)i * nfd + j] = err <= 1e-7 * (fabs(d) > 1 ? fabs(d) : 1) ? d : NAN;
      }
    }
  }
  eng_primal.close(ps);

  /* Compare and print. */
  for (int k = 0; k < o->n_eng; ++k) {
    result *rk = &r[k];
    char vcol[32] = "-", ecol[32] = "-", mcol[32] = "-", fcol[64] = "-";
    const char *verdict = "ok";
    int bad = 0;
    const peer_info *peer = peer_find(rk->e);
    if (rk->peer_skip) {
      fprintf(g_out, "%-11s %8d %8d %-7s  skipped: %s\n", w->name, size, n, rk->e->name, rk->peer_skip);
      continue;
    }
    if (rk->st != AD_OK) {
      fprintf(g_out, "%-11s %8d %8d %-7s  error: %s\n", w->name, size, n, rk->e->name, ad_status_str(rk->st));
      fails++;
      continue;
    }
    if (primal && primal->st == AD_OK) {
      int same = memcmp(rk->y, primal->y, (size_t)m * sizeof(double)) == 0;
      int near = peer && !same && eng_rel_err(rk->y, primal->y, (size_t)m) <= PEER_TOL; /* "~": within PEER_TOL */
      snprintf(vcol, sizeof vcol, "%s", same ? "=primal" : near ? "~primal" : "DIFFERS");
      same |= near;
      bad |= !same;
    }
    if (rk->e->kind != ENG_PRIMAL && !rk->skipped) {
      double emax = -1;
      for (int q = 0; q < o->n_eng; ++q) {
        if (q == k || r[q].st != AD_OK || r[q].e->kind == ENG_PRIMAL || r[q].skipped || r[q].peer_skip) continue;
        if (peer_find(r[q].e)) continue; /* against adlab's engines only */
        double e = eng_rel_err(rk->J, r[q].J, nJ);
        if (e > emax || isnan(e)) emax = e;
      }
      if (emax >= 0 || isnan(emax)) {
        snprintf(ecol, sizeof ecol, "%.1e", emax);
        bad |= !(emax <= (peer ? PEER_TOL : TOL_ENGINES));
      }
      if (have_manual) {
        double e = eng_rel_err(rk->J, gm, nJ);
        snprintf(mcol, sizeof mcol, "%.1e", e);
        bad |= !(e <= (peer ? PEER_TOL : TOL_MANUAL));
      }
      if (fd_ok) {
        int used = 0, skipped = 0;
        for (int i = 0; i < m; ++i)
          for (int j = 0; j < nfd; ++j) {
            double f = fd[(size_t)i * nfd + j];
            if (isnan(f)) {
              skipped++;
              continue;
            }
            fd_ref[used] = f;
            fd_eng[used] = rk->J[(size_t)i * n + fd_idx[j]];
            used++;
          }
        double e = eng_rel_err(fd_eng, fd_ref, (size_t)used);
        if (skipped) snprintf(fcol, sizeof fcol, "%.1e (%d kinks)", e, skipped);
        else snprintf(fcol, sizeof fcol, "%.1e", e);
        bad |= !(e <= TOL_FD) || skipped * 4 > nfd * m;
        fd_skipped = skipped;
      }
    } else if (rk->skipped) {
      snprintf(ecol, sizeof ecol, "skipped");
    }
    if (bad) {
      verdict = "FAIL";
      fails++;
    }
    fprintf(g_out, "%-11s %8d %8d %-7s %-8s %-9s %-9s %-20s %s\n", w->name, size, n, rk->e->name, vcol, ecol, mcol,
           fcol, verdict);
  }
  (void)fd_skipped;
  for (int k = 0; k < o->n_eng; ++k)
    if (r[k].e->replay && r[k].st == AD_OK && !r[k].peer_skip)
      fails += check_replay(r[k].e, w, size, x, data, o->seed);

  if (json) {
    fprintf(json, "%s\n{\"workload\":\"%s\",\"size\":%d,\"seed\":%llu,\"n_in\":%d,\"n_out\":%d,\"inputs\":",
            *json_first ? "" : ",", w->name, size, (unsigned long long)o->seed, n, m);
    *json_first = 0;
    json_array(json, x, (size_t)n);
    fprintf(json, ",\"data\":");
    json_array(json, data, (size_t)w->n_data(size));
    if (have_manual) {
      fprintf(json, ",\"manual\":{\"value\":");
      json_array(json, m == 1 ? &fm : ym, (size_t)m);
      fprintf(json, ",\"%s\":", m == 1 ? "gradient" : "jacobian");
      json_array(json, gm, nJ);
      fprintf(json, "}");
    }
    fprintf(json, ",\"engines\":{");
    for (int k = 0; k < o->n_eng; ++k) {
      const peer_info *peer = peer_find(r[k].e);
      fprintf(json, "%s\"%s\":{", k ? "," : "", r[k].e->name);
      if (peer) fprintf(json, "\"peer\":\"%s %s\",", peer->tool, peer->version);
      if (r[k].peer_skip) {
        fprintf(json, "\"skipped\":\"%s\"}", r[k].peer_skip);
        continue;
      }
      fprintf(json, "\"status\":\"%s\",\"value\":", ad_status_str(r[k].st));
      json_array(json, r[k].y ? r[k].y : gm, r[k].y ? (size_t)m : 0);
      if (r[k].e->kind != ENG_PRIMAL && !r[k].skipped && r[k].J) {
        fprintf(json, ",\"%s\":", m == 1 ? "gradient" : "jacobian");
        json_array(json, r[k].J, nJ);
      }
      fprintf(json, ",\"nodes\":%llu,\"bytes_used\":%llu}", (unsigned long long)r[k].stats.nodes,
              (unsigned long long)r[k].stats.bytes_used);
    }
    fprintf(json, "}}");
  }

  for (int k = 0; k < o->n_eng; ++k) free(r[k].y), free(r[k].J);
  free(r), free(x), free(data), free(gm), free(fd_idx), free(fd), free(fd_eng), free(fd_ref), free(yp), free(fd_tab);
  free(ym);
  return fails;
}

int main(int argc, char **argv) {
  opts o;
  memset(&o, 0, sizeof o);
  o.seed = 42;
  o.fd_max = 64;
  o.dual_budget = 2e9;
  for (int i = 1; i < argc; ++i) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    long num;
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      usage(NULL);
      return 0;
    } else if (!strcmp(a, "--workload") && v) {
      const wl_info *w = wl_find(v);
      if (!w) return usage("unknown workload");
      if (o.n_wl < MAX_LIST) o.wl[o.n_wl++] = w;
      i++;
    } else if (!strcmp(a, "--engine") && v) {
      const eng_api *e = eng_find(v);
      if (!e) return usage("unknown engine");
      if (o.n_eng < MAX_LIST) o.eng[o.n_eng++] = e;
      i++;
    } else if (!strcmp(a, "--size") && v) {
      if (!parse_long(v, 1, 1000000000L, &num)) return usage("--size takes a whole number from 1 to 10^9");
      if (o.n_sizes < MAX_LIST) o.sizes[o.n_sizes++] = (int)num;
      i++;
    } else if (!strcmp(a, "--seed") && v) {
      if (!parse_long(v, 0, 0x7fffffffL, &num)) return usage("--seed takes a whole number from 0 to 2^31-1");
      o.seed = (uint64_t)num;
      i++;
    } else if (!strcmp(a, "--fd-max") && v) {
      if (!parse_long(v, 2, 1000000L, &num)) return usage("--fd-max takes a whole number from 2 to 10^6");
      o.fd_max = (int)num;
      i++;
    } else if (!strcmp(a, "--json") && v) {
      o.json = v;
      i++;
    } else {
      return usage("unknown option or missing value");
    }
  }
  if (!o.n_wl)
    for (int i = 0; i < WL_COUNT; ++i)
      o.wl[o.n_wl++] = wl_all[i];
  if (!o.n_eng)
    for (int i = 0; i < eng_count; ++i) o.eng[o.n_eng++] = eng_all[i];

  FILE *json = NULL;
  char tmp[4096];
  if (o.json) {
    if (!strcmp(o.json, "-")) {
      json = stdout;
    } else {
      snprintf(tmp, sizeof tmp, "%s.tmp", o.json);
      json = fopen(tmp, "w");
      if (!json) {
        fprintf(stderr, "adcheck: cannot write %s: %s\n", tmp, strerror(errno));
        return 2;
      }
    }
    fprintf(json, "{\"tolerances\":{\"engines\":%g,\"manual\":%g,\"fd\":%g,\"peers\":%g},\"checks\":[",
            TOL_ENGINES, TOL_MANUAL, TOL_FD, PEER_TOL);
  }
  FILE *table = g_out = json == stdout ? stderr : stdout;
  fprintf(table, "%-11s %8s %8s %-7s %-8s %-9s %-9s %-20s %s\n", "workload", "size", "n_in", "engine", "value",
          "engines", "manual", "fd", "result");
  fflush(table);

  int fails = 0, checks = 0, json_first = 1;
  for (int a = 0; a < o.n_wl; ++a) {
    const wl_info *w = o.wl[a];
    int sizes[MAX_LIST], ns = 0;
    if (o.n_sizes) {
      for (int i = 0; i < o.n_sizes; ++i) sizes[ns++] = o.sizes[i] > w->max_size ? w->max_size : o.sizes[i];
    } else {
      sizes[ns++] = w->check_sizes[0];
      if (w->check_sizes[1] != w->check_sizes[0]) sizes[ns++] = w->check_sizes[1];
    }
    for (int i = 0; i < ns; ++i) {
      int f = check_one(&o, w, sizes[i], json, &json_first);
      if (f < 0) {
        fprintf(stderr, "adcheck: out of memory at %s size %d\n", w->name, sizes[i]);
        fails++;
      } else {
        fails += f;
      }
      checks++;
    }
  }
  if (json) {
    fprintf(json, "\n]}\n");
    if (json != stdout) {
      int bad = ferror(json);
      bad |= fclose(json) != 0;
      if (bad || rename(tmp, o.json) != 0) {
        fprintf(stderr, "adcheck: cannot write %s\n", o.json);
        remove(tmp);
        return 1;
      }
    }
  }
  fprintf(table, "%d workload/size cases, %d engine(s): %s\n", checks, o.n_eng,
          fails ? "DISAGREEMENT" : "all agree");
  return fails ? 1 : 0;
}
