/* checker.c: the agreement checks (checker.h). */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include "checker.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "run.h"

enum { REPLAY_TRIALS = 20 };

/* Rough costs in primal evaluations, for the time budget: a forward pass per input, a recording and reverse
 * sweep per output, two evaluations per finite-difference level. Generous, so a skip errs on the safe side. */
#define COST_FORWARD 4.0
#define COST_REVERSE 25.0

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void ck_defaults(ck_config *c) {
  memset(c, 0, sizeof *c);
  c->seed = 42;
  c->fd_max = 64;
  c->max_seconds = 60;
}

double ck_tol(const ck_config *c, const eng_api *e, jd_check check) {
  return check >= 0 && check < JD_CHECK_COUNT && c->tol[check] > 0 ? c->tol[check] : jd_tol(e, check);
}

int ck_exit_status(const ck_tally *t) {
  return t->fails ? CK_EXIT_DISAGREE : t->nomem ? CK_EXIT_NOMEM : CK_EXIT_OK;
}

void ck_header(FILE *f) {
  if (f) fprintf(f, "%-11s %8s %8s %-7s %-8s %-9s %-9s %-20s %s\n", "workload", "size", "n_in", "engine", "value",
                 "engines", "manual", "fd", "result");
}

typedef struct res {
  const eng_api *e;
  ad_status st;
  const char *skip; /* why it did not run (a peer's limit, the time budget), or NULL */
  char why[128];
  double *y, *J;    /* J: NULL for the primal engine */
  eng_stats stats;
  double err[JD_CHECK_COUNT]; /* NAN: disagreement on a NaN; -1: not checked */
  int kinks, bad;
  int rp_ok, rp_trials, rp_near, rp_far; /* replay: accepted, tried, refused near and far */
} res;

/* One case's state. */
typedef struct ctx {
  const ck_config *c;
  const wl_info *w;
  int size, n, m, nfd;
  size_t nJ;
  double *x, *data, *yp, *ym, *gm, *fd;
  int *fd_idx, have_manual, fd_kinks;
  double t0, tp; /* the case's start; one primal evaluation */
  ck_tally *t;
} ctx;

/* 1 (and a message, counted) if est seconds would pass the case's budget. */
static int over_budget(ctx *k, double est, const char *what, char *why, size_t len) {
  double left = k->c->max_seconds - (now() - k->t0);
  if (k->c->max_seconds <= 0 || est <= left) return 0;
  snprintf(why, len, "%s would take about %.2g s, over the time budget (--max-seconds %g)", what, est,
           k->c->max_seconds);
  k->t->skipped++;
  return 1;
}

/* Where entry idx of a result is: "y[i]" for values, "d y[i] / d x[j]" for Jacobians. */
static void where(const ctx *k, size_t idx, int jac, char *buf, size_t len) {
  if (jac) snprintf(buf, len, "d y[%zu] / d x[%zu]", idx / (size_t)k->n, idx % (size_t)k->n);
  else snprintf(buf, len, "y[%zu]", idx);
}

/* Prints the FAIL line of a check that failed: engine, workload, size, check, error and the deciding entry. */
static void fail_line(const ctx *k, const eng_api *e, const char *check, jd_diff d, double tol, size_t idx, int jac,
                      double got, const char *ref, double want) {
  char at[64];
  where(k, idx, jac, at, sizeof at);
  if (k->c->table)
    fprintf(k->c->table, "  FAIL engine %s, workload %s, size %d: %s error %.1e over %.0e at %s: %.17g, %s %.17g\n",
            e->name, k->w->name, k->size, check, d.err, tol, at, got, ref, want);
}

static void run_engine(ctx *k, res *r) {
  const eng_api *e = r->e;
  if ((r->skip = eng_skip_reason(e, k->w, k->size)) != NULL) return;
  double est = e->kind == ENG_PRIMAL   ? k->tp
               : e->kind == ENG_FORWARD ? COST_FORWARD * k->n * k->tp
                                        : COST_REVERSE * k->m * k->tp;
  if (over_budget(k, est, "its Jacobian", r->why, sizeof r->why)) {
    r->skip = r->why;
    return;
  }
  run_case rc;
  run_mode mode = e->kind == ENG_PRIMAL ? RUN_VALUE : RUN_GRAD;
  r->st = run_open(&rc, k->w, e, mode, k->size, k->c->seed);
  if (r->st != AD_OK) return;
  for (int i = 0; i < k->m; ++i) rc.y[i] = NAN; /* an entry the engine leaves unwritten fails every check */
  for (size_t i = 0; i < rc.n_outbuf; ++i) rc.out[i] = NAN;
  r->st = run_eval(&rc);
  r->stats = e->stats(rc.s);
  r->y = rc.y, rc.y = NULL; /* run_close frees the rest */
  if (mode == RUN_GRAD) r->J = rc.out, rc.out = NULL;
  run_close(&rc);
}

/* The references: the primal value (timed: the budget's unit), the hand-written derivatives, finite
 * differences. Returns AD_OK, AD_ENOMEM or the primal engine's error. */
static ad_status references(ctx *k) {
  eng_session *s = eng_primal.open(k->w, k->size, k->data);
  if (!s) return AD_ENOMEM;
  double t = now();
  ad_status st = eng_primal.value(s, k->x, k->yp);
  k->tp = now() - t;
  eng_primal.close(s);
  if (st != AD_OK) return st;
  if (k->w->manual && k->m == 1) k->w->manual(k->size, k->data, k->x, k->ym, k->gm), k->have_manual = 1;
  else if (k->w->manual_jacobian) k->w->manual_jacobian(k->size, k->data, k->x, k->ym, k->gm), k->have_manual = 1;
  for (int j = 0; j < k->nfd; ++j) k->fd_idx[j] = k->nfd == k->n ? j : (int)((long long)j * (k->n - 1) / (k->nfd - 1));
  char why[128];
  if (over_budget(k, 2.0 * JD_FD_LEVELS * k->nfd * k->tp, "finite differences", why, sizeof why)) {
    if (k->c->table) fprintf(k->c->table, "%-11s %8d %8d %-7s  skipped: %s\n", k->w->name, k->size, k->n, "fd", why);
    k->nfd = 0;
    return AD_OK;
  }
  return jd_fd_jacobian(k->w, k->size, k->data, k->x, k->fd_idx, k->nfd, k->fd, &k->fd_kinks);
}

/* The value, engines, manual and fd checks of engine r against the references and the other engines. */
static void judge(ctx *k, res *r, res *all, int n_eng, char *vcol, char *ecol, char *mcol, char *fcol) {
  const eng_api *e = r->e;
  int peer = eng_is_peer(e);
  double tol = ck_tol(k->c, e, JD_ENGINES);
  jd_diff d = jd_compare(r->y, k->yp, (size_t)k->m);
  int same = jd_same_bits(r->y, k->yp, (size_t)k->m), near = peer && d.err <= tol;
  strcpy(vcol, same ? "=primal" : near ? "~primal" : "DIFFERS");
  if (!same && !near) {
    r->bad = 1;
    fail_line(k, e, "value", d, 0.0, d.worst, 0, r->y[d.worst], "primal", k->yp[d.worst]);
  }
  if (!r->J) return;
  jd_diff worst = {-1, 0};
  const res *wq = NULL;
  for (int q = 0; q < n_eng; ++q) {
    const res *o = &all[q];
    if (o == r || !o->J || o->st != AD_OK || o->skip || eng_is_peer(o->e)) continue; /* adlab's engines only */
    jd_diff dq = jd_compare(r->J, o->J, k->nJ);
    if (!(dq.err <= worst.err)) worst = dq, wq = o;
  }
  if (wq) {
    r->err[JD_ENGINES] = worst.err;
    snprintf(ecol, 32, "%.1e", worst.err);
    if (!(worst.err <= tol)) {
      r->bad = 1;
      char ref[64];
      snprintf(ref, sizeof ref, "engine %s", wq->e->name);
      fail_line(k, e, "engines", worst, tol, worst.worst, 1, r->J[worst.worst], ref, wq->J[worst.worst]);
    }
  }
  if (k->have_manual) {
    tol = ck_tol(k->c, e, JD_MANUAL);
    d = jd_compare(r->J, k->gm, k->nJ);
    r->err[JD_MANUAL] = d.err;
    snprintf(mcol, 32, "%.1e", d.err);
    if (!(d.err <= tol)) {
      r->bad = 1;
      fail_line(k, e, "manual", d, tol, d.worst, 1, r->J[d.worst], "manual", k->gm[d.worst]);
    }
  }
  if (k->nfd > 0) {
    size_t cap = (size_t)k->m * k->nfd, used = 0;
    double *a = (double *)malloc(cap * sizeof *a), *b = (double *)malloc(cap * sizeof *b);
    size_t *pos = (size_t *)malloc(cap * sizeof *pos);
    if (!a || !b || !pos) {
      k->t->nomem++;
      strcpy(fcol, "out of memory");
    } else {
      for (int i = 0; i < k->m; ++i)
        for (int c = 0; c < k->nfd; ++c) {
          double f = k->fd[(size_t)i * k->nfd + c];
          if (isnan(f)) continue; /* a kink: jd_fd_jacobian could not tell */
          pos[used] = (size_t)i * k->n + k->fd_idx[c];
          a[used] = r->J[pos[used]], b[used++] = f;
        }
      tol = ck_tol(k->c, e, JD_FD);
      d = jd_compare(a, b, used);
      r->err[JD_FD] = d.err;
      r->kinks = k->fd_kinks;
      if (k->fd_kinks) snprintf(fcol, 64, "%.1e (%d kinks)", d.err, k->fd_kinks);
      else snprintf(fcol, 64, "%.1e", d.err);
      if (!(d.err <= tol)) {
        r->bad = 1;
        fail_line(k, e, "fd", d, tol, pos[d.worst], 1, a[d.worst], "finite differences", b[d.worst]);
      }
      if ((size_t)k->fd_kinks * 4 > cap) {
        r->bad = 1;
        if (k->c->table)
          fprintf(k->c->table, "  FAIL engine %s, workload %s, size %d: fd: %d of %zu entries at kinks\n", e->name,
                  k->w->name, k->size, k->fd_kinks, cap);
      }
    }
    free(a), free(b), free(pos);
  }
}

/* The replay check of r (see checker.h); returns 1 on a failure, sets r's replay counts. */
static int check_replay(ctx *k, res *r) {
  const eng_api *e = r->e;
  const wl_info *w = k->w;
  int n = k->n, m = k->m, peer = eng_is_peer(e), bad = 0;
  int trials = (double)m * w->nodes(k->size) * REPLAY_TRIALS > 2e8 ? 4 : REPLAY_TRIALS; /* huge Jacobians: fewer */
  if (over_budget(k, 2.0 * trials * COST_REVERSE * m * k->tp, "the replay check", r->why, sizeof r->why)) {
    if (k->c->table)
      fprintf(k->c->table, "%-11s %8d %8d %-7s  replay skipped: %s\n", w->name, k->size, n, e->name, r->why);
    return 0;
  }
  double tol = ck_tol(k->c, e, JD_REPLAY), emax = 0;
  size_t nJ = k->nJ;
  double *x = (double *)calloc((size_t)n, sizeof(double));
  double *junk = (double *)calloc((size_t)w->n_data(k->size) + 1, sizeof(double));
  double *y = (double *)calloc((size_t)m, sizeof(double)), *yf = (double *)calloc((size_t)m, sizeof(double));
  double *J = (double *)calloc(nJ, sizeof(double)), *Jf = (double *)calloc(nJ, sizeof(double));
  eng_session *rs = e->open(w, k->size, k->data), *fs = e->open(w, k->size, k->data);
  ad_status st = AD_ENOMEM;
  if (x && junk && y && yf && J && Jf && rs && fs) {
    st = e->value(rs, k->x, y);
    wl_rng rng = {k->c->seed ^ 0x7265706C6179ull};
    for (int t = 0; st == AD_OK && t < trials; ++t) {
      int near = t < trials / 2;
      if (near) {
        double scale = pow(10.0, -3.0 - 3.0 * t / (trials / 2));
        for (int i = 0; i < n; ++i) x[i] = k->x[i] * (1 + scale * wl_rng_uniform(&rng, -1.0, 1.0));
      } else {
        w->init(k->size, k->c->seed + 1 + (uint64_t)t, x, junk);
      }
      ad_status rst = e->replay(rs, x, y, J);
      if (rst == AD_EGUARD) {
        near ? r->rp_near++ : r->rp_far++;
        continue;
      }
      if (rst != AD_OK || (rst = e->jacobian(fs, x, yf, Jf)) != AD_OK) {
        st = rst;
        break;
      }
      r->rp_ok++;
      jd_diff dv = jd_compare_nan(y, yf, (size_t)m), dj = jd_compare_nan(J, Jf, nJ);
      int vbad = peer ? !(dv.err <= tol) : !jd_same_bits(y, yf, (size_t)m);
      if (!(dj.err <= emax)) emax = dj.err;
      if ((vbad || !(dj.err <= tol)) && !bad && k->c->table) {
        int jac = !vbad;
        jd_diff d = jac ? dj : dv;
        fprintf(k->c->table, "  FAIL engine %s, workload %s, size %d: replay %d (%s) against a fresh recording: ",
                e->name, w->name, k->size, t, near ? "near" : "far");
        char at[64];
        where(k, d.worst, jac, at, sizeof at);
        fprintf(k->c->table, "error %.1e at %s: %.17g, fresh %.17g\n", d.err, at, jac ? J[d.worst] : y[d.worst],
                jac ? Jf[d.worst] : yf[d.worst]);
      }
      bad |= vbad || !(dj.err <= tol);
    }
  }
  r->rp_trials = trials;
  r->err[JD_REPLAY] = emax;
  if (st == AD_ENOMEM) k->t->nomem++;
  else bad |= st != AD_OK;
  if (k->c->table) {
    if (st != AD_OK)
      fprintf(k->c->table, "%-11s %8d %8d %-7s  replay %s%s\n", w->name, k->size, n, e->name,
              st == AD_ENOMEM ? "out of memory" : "error: ", st == AD_ENOMEM ? "" : ad_status_str(st));
    else
      fprintf(k->c->table, "%-11s %8d %8d %-7s replays: %d of %d accepted, max err vs fresh %.1e; refused by guards: "
              "%d near, %d far  %s\n", w->name, k->size, n, e->name, r->rp_ok, trials, emax, r->rp_near, r->rp_far,
              bad ? "FAIL" : "ok");
  }
  e->close(rs), e->close(fs);
  free(x), free(junk), free(y), free(yf), free(J), free(Jf);
  return bad;
}

/* The lane counts of eng_api.jacobian_lanes. */
static const int ck_lane_counts[] = {1, 2, 4, 8, 16};
enum { CK_N_LANES = (int)(sizeof ck_lane_counts / sizeof ck_lane_counts[0]) };

/* The lanes check of r (engines with jacobian_lanes): K = 1 against the primal value (bit for bit; a peer within
 * its tolerance) and the manual derivatives (JD_MANUAL), every other K against K = 1 (value bit for bit, Jacobian
 * within JD_LANES: the same arithmetic, lane by lane). Returns 1 on a failure; sets r->err[JD_LANES]. */
static int check_lanes(ctx *k, res *r) {
  const eng_api *e = r->e;
  int n = k->n, m = k->m, peer = eng_is_peer(e), bad = 0;
  double est = (e->kind == ENG_FORWARD ? COST_FORWARD * n : COST_REVERSE * m) * k->tp * 2.0 * CK_N_LANES;
  if (over_budget(k, est, "the lanes check", r->why, sizeof r->why)) {
    if (k->c->table)
      fprintf(k->c->table, "%-11s %8d %8d %-7s  lanes skipped: %s\n", k->w->name, k->size, n, e->name, r->why);
    return 0;
  }
  size_t nJ = k->nJ;
  double *y1 = (double *)malloc((size_t)m * sizeof(double)), *yk = (double *)malloc((size_t)m * sizeof(double));
  double *J1 = (double *)malloc((nJ + 1) * sizeof(double)), *Jk = (double *)malloc((nJ + 1) * sizeof(double));
  eng_session *s = e->open(k->w, k->size, k->data);
  ad_status st = AD_ENOMEM;
  double tol = ck_tol(k->c, e, JD_LANES), emax = 0;
  char at[64], ref[32];
  for (int q = 0; y1 && yk && J1 && Jk && s && q < CK_N_LANES; ++q) {
    int K = ck_lane_counts[q];
    double *y = q ? yk : y1, *J = q ? Jk : J1;
    for (int i = 0; i < m; ++i) y[i] = NAN; /* an entry left unwritten fails */
    for (size_t i = 0; i < nJ; ++i) J[i] = NAN;
    if ((st = e->jacobian_lanes(s, K, k->x, y, J)) != AD_OK) {
      if (k->c->table && st != AD_ENOMEM)
        fprintf(k->c->table, "  FAIL engine %s, workload %s, size %d: lanes %d: %s\n", e->name, k->w->name, k->size, K,
                ad_status_str(st));
      break;
    }
    snprintf(at, sizeof at, "lanes %d", K);
    const double *yref = q ? y1 : k->yp;
    jd_diff dv = jd_compare(y, yref, (size_t)m);
    if (peer && q == 0 ? !(dv.err <= ck_tol(k->c, e, JD_ENGINES)) : !jd_same_bits(y, yref, (size_t)m)) {
      bad = 1;
      fail_line(k, e, at, dv, 0.0, dv.worst, 0, y[dv.worst], q ? "lanes 1" : "primal", yref[dv.worst]);
    }
    if (q == 0) {
      if (k->have_manual) {
        double mtol = ck_tol(k->c, e, JD_MANUAL);
        jd_diff d = jd_compare(J, k->gm, nJ);
        if (!(d.err <= mtol)) {
          bad = 1;
          snprintf(at, sizeof at, "lanes %d manual", K);
          fail_line(k, e, at, d, mtol, d.worst, 1, J[d.worst], "manual", k->gm[d.worst]);
        }
      }
      continue;
    }
    jd_diff d = jd_compare_nan(J, J1, nJ);
    if (!(d.err <= emax)) emax = d.err;
    if (!(d.err <= tol)) {
      bad = 1;
      snprintf(ref, sizeof ref, "lanes 1");
      fail_line(k, e, at, d, tol, d.worst, 1, J[d.worst], ref, J1[d.worst]);
    }
  }
  r->err[JD_LANES] = emax;
  if (st == AD_ENOMEM) k->t->nomem++;
  else bad |= st != AD_OK;
  if (k->c->table) {
    if (st == AD_ENOMEM)
      fprintf(k->c->table, "%-11s %8d %8d %-7s  lanes: out of memory\n", k->w->name, k->size, n, e->name);
    else
      fprintf(k->c->table, "%-11s %8d %8d %-7s lanes 1 2 4 8 16: max err vs lanes 1 %.1e  %s\n", k->w->name, k->size,
              n, e->name, emax, bad ? "FAIL" : "ok");
  }
  if (s) e->close(s);
  free(y1), free(yk), free(J1), free(Jk);
  return bad;
}

static void write_json(const ctx *k, const res *r, int n_eng) {
  js_writer *j = k->c->json;
  js_obj(j, NULL);
  js_str(j, "workload", k->w->name);
  js_int(j, "size", k->size);
  js_int(j, "seed", (long long)k->c->seed);
  js_int(j, "n_in", k->n);
  js_int(j, "n_out", k->m);
  js_doubles(j, "inputs", k->x, (size_t)k->n);
  js_doubles(j, "data", k->data, (size_t)k->w->n_data(k->size));
  js_doubles(j, "primal_value", k->yp, (size_t)k->m);
  if (k->have_manual) {
    js_obj(j, "manual");
    js_doubles(j, "value", k->ym, (size_t)k->m);
    js_doubles(j, k->m == 1 ? "gradient" : "jacobian", k->gm, k->nJ);
    js_end(j);
  }
  js_int(j, "fd_coordinates", k->nfd);
  js_int(j, "fd_kinks", k->fd_kinks);
  js_obj(j, "engines");
  for (int q = 0; q < n_eng; ++q) {
    const res *rq = &r[q];
    js_obj(j, rq->e->name);
    if (eng_is_peer(rq->e)) {
      js_str(j, "tool", rq->e->tool);
      js_str(j, "version", rq->e->version);
    }
    if (rq->skip) {
      js_str(j, "skipped", rq->skip);
      js_end(j);
      continue;
    }
    js_str(j, "status", ad_status_str(rq->st));
    js_str(j, "result", rq->st == AD_ENOMEM ? "out of memory" : rq->bad || rq->st != AD_OK ? "FAIL" : "ok");
    if (rq->y) js_doubles(j, "value", rq->y, (size_t)k->m);
    if (rq->J) js_doubles(j, k->m == 1 ? "gradient" : "jacobian", rq->J, k->nJ);
    js_obj(j, "errors"); /* null: not checked, or a disagreement on a NaN (the result says which) */
    for (int c = 0; c < JD_CHECK_COUNT; ++c)
      if (!(rq->err[c] < 0)) js_num(j, jd_check_name[c], rq->err[c]);
    js_end(j);
    if (rq->rp_trials) {
      js_obj(j, "replay");
      js_int(j, "trials", rq->rp_trials);
      js_int(j, "accepted", rq->rp_ok);
      js_int(j, "refused_near", rq->rp_near);
      js_int(j, "refused_far", rq->rp_far);
      js_end(j);
    }
    js_int(j, "nodes", (long long)rq->stats.nodes);
    js_int(j, "bytes_used", (long long)rq->stats.bytes_used);
    js_end(j);
  }
  js_end(j);
  js_end(j);
}

int ck_case(const ck_config *c, const wl_info *w, int size, const eng_api *const *engs, int n_eng, ck_tally *t) {
  ctx k = {.c = c, .w = w, .size = size, .n = w->n_in(size), .m = w->n_out(size), .t0 = now(), .t = t};
  k.nfd = k.n < c->fd_max ? k.n : c->fd_max;
  k.nJ = (size_t)k.n * k.m;
  int fails = 0;
  t->cases++;
  k.x = (double *)calloc((size_t)k.n, sizeof(double));
  k.data = (double *)calloc((size_t)w->n_data(size) + 1, sizeof(double));
  k.yp = (double *)calloc((size_t)k.m, sizeof(double)), k.ym = (double *)calloc((size_t)k.m, sizeof(double));
  k.gm = (double *)calloc(k.nJ, sizeof(double));
  k.fd = (double *)calloc((size_t)k.m * k.nfd + 1, sizeof(double));
  k.fd_idx = (int *)calloc((size_t)k.nfd + 1, sizeof(int));
  res *r = (res *)calloc((size_t)n_eng + 1, sizeof *r);
  ad_status st = AD_ENOMEM;
  if (k.x && k.data && k.yp && k.ym && k.gm && k.fd && k.fd_idx && r) {
    w->init(size, c->seed, k.x, k.data);
    st = references(&k);
  }
  if (st != AD_OK) {
    if (c->table)
      fprintf(c->table, "%-11s %8d %8d %-7s  %s%s\n", w->name, size, k.n, "primal",
              st == AD_ENOMEM ? "out of memory" : "error: ", st == AD_ENOMEM ? "" : ad_status_str(st));
    if (st == AD_ENOMEM) t->nomem++;
    else fails++;
    n_eng = 0;
  }
  for (int q = 0; q < n_eng; ++q) {
    r[q].e = engs[q];
    for (int ch = 0; ch < JD_CHECK_COUNT; ++ch) r[q].err[ch] = -1;
    run_engine(&k, &r[q]);
  }
  for (int q = 0; q < n_eng; ++q) {
    res *rq = &r[q];
    char vcol[32] = "-", ecol[32] = "-", mcol[32] = "-", fcol[64] = "-";
    if (rq->skip) {
      if (c->table) fprintf(c->table, "%-11s %8d %8d %-7s  skipped: %s\n", w->name, size, k.n, rq->e->name, rq->skip);
      continue;
    }
    if (rq->st != AD_OK) {
      if (c->table)
        fprintf(c->table, "%-11s %8d %8d %-7s  %s%s\n", w->name, size, k.n, rq->e->name,
                rq->st == AD_ENOMEM ? "out of memory" : "error: ", rq->st == AD_ENOMEM ? "" : ad_status_str(rq->st));
      if (rq->st == AD_ENOMEM) t->nomem++;
      else fails++, rq->bad = 1;
      continue;
    }
    judge(&k, rq, r, n_eng, vcol, ecol, mcol, fcol);
    fails += rq->bad;
    if (c->table)
      fprintf(c->table, "%-11s %8d %8d %-7s %-8s %-9s %-9s %-20s %s\n", w->name, size, k.n, rq->e->name, vcol, ecol,
              mcol, fcol, rq->bad ? "FAIL" : "ok");
  }
  for (int q = 0; q < n_eng; ++q)
    if (r[q].e->replay && r[q].st == AD_OK && !r[q].skip) {
      int b = check_replay(&k, &r[q]);
      r[q].bad |= b;
      fails += b;
    }
  for (int q = 0; q < n_eng; ++q)
    if (r[q].e->jacobian_lanes && r[q].st == AD_OK && !r[q].skip) {
      int b = check_lanes(&k, &r[q]);
      r[q].bad |= b;
      fails += b;
    }
  if (c->json && st == AD_OK) write_json(&k, r, n_eng);
  if (c->table) fflush(c->table);
  for (int q = 0; q < n_eng; ++q) free(r[q].y), free(r[q].J);
  free(r), free(k.x), free(k.data), free(k.yp), free(k.ym), free(k.gm), free(k.fd), free(k.fd_idx);
  t->fails += fails;
  return fails;
}
