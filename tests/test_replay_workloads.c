/* test_replay_workloads: on every workload at its check sizes, the replay engine records
 * once and replays at 20 other inputs (10 near the recorded one, 10 from other seeds). Every replay it accepts
 * must give the value and Jacobian of a fresh recording at the same inputs bit for bit, and agree with the tape
 * engine and the hand-written gradient to 1e-12. Workloads without control flow (seed, chain, rosenbrock, poly,
 * mlp) must never be refused; those with data-dependent control flow (branchy, and the adaptive-step ode_adapt
 * where it is built) must replay near the recorded inputs and be refused at inputs off the recorded path. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eng.h"
#include "judge.h"
#include "wl.h"

#include "testkit.h"

enum { TRIALS = 20 };
#define TOL 1e-12

static int is_smooth(const char *name) {
  static const char *const smooth[] = {"seed", "chain", "rosenbrock", "poly", "mlp"};
  for (size_t i = 0; i < sizeof smooth / sizeof smooth[0]; ++i)
    if (!strcmp(name, smooth[i])) return 1;
  return 0;
}

/* Returns 0 if skipped (too costly a Jacobian for a unit test), else 1. */
static int check_workload(const wl_info *w, int size, int *near_ok, int *far_refused) {
  int n = w->n_in(size), m = w->n_out(size);
  if ((double)m * w->nodes(size) > 2e6) return 0;
  size_t nJ = (size_t)n * m;
  double *x0 = calloc((size_t)n, sizeof *x0), *x = calloc((size_t)n, sizeof *x);
  double *data = calloc((size_t)w->n_data(size) + 1, sizeof *data), *junk = calloc((size_t)w->n_data(size) + 1, 8);
  double *y = calloc((size_t)m, 8), *yf = calloc((size_t)m, 8), *yt = calloc((size_t)m, 8);
  double *J = calloc(nJ, 8), *Jf = calloc(nJ, 8), *Jt = calloc(nJ, 8), *gm = calloc((size_t)n, 8);
  eng_session *rs = eng_replay.open(w, size, data), *fs = eng_replay.open(w, size, data);
  eng_session *ts = eng_tape.open(w, size, data);
  int ok = 0, refused = 0;
  if (!x0 || !x || !data || !junk || !y || !yf || !yt || !J || !Jf || !Jt || !gm || !rs || !fs || !ts) {
    CHECKF(0, "%s: out of memory", w->name);
    goto done;
  }
  w->init(size, 42, x0, data);
  CHECKF(eng_replay.replay(rs, x0, y, J) == AD_ESTATE, "%s: replay before any recording", w->name);
  CHECKF(eng_replay.value(rs, x0, y) == AD_OK, "%s: recording", w->name);
  wl_rng r = {size * 1000003ull + (uint64_t)w->id};
  for (int k = 0; k < TRIALS; ++k) {
    int near = k < TRIALS / 2;
    if (near) { /* a relative perturbation of 1e-6 .. 1e-3 */
      double scale = pow(10.0, -3.0 - 3.0 * k / (TRIALS / 2));
      for (int i = 0; i < n; ++i) x[i] = x0[i] * (1 + scale * wl_rng_uniform(&r, -1.0, 1.0));
    } else { /* the workload's own input distribution, another seed; data stay those of the recording */
      w->init(size, 1000 + (uint64_t)k, x, junk);
    }
    ad_status st = eng_replay.replay(rs, x, y, J);
    if (st == AD_EGUARD) {
      refused++;
      *far_refused += !near;
      continue;
    }
    CHECKF(st == AD_OK, "%s size %d trial %d: %s", w->name, size, k, ad_status_str(st));
    if (st != AD_OK) continue;
    ok++;
    *near_ok += near;
    CHECKF(eng_replay.jacobian(fs, x, yf, Jf) == AD_OK, "%s: fresh recording", w->name);
    CHECKF(memcmp(y, yf, (size_t)m * 8) == 0, "%s size %d trial %d: replayed value differs from a fresh recording",
           w->name, size, k);
    CHECKF(memcmp(J, Jf, nJ * 8) == 0, "%s size %d trial %d: replayed Jacobian differs from a fresh recording (%.1e)",
           w->name, size, k, jd_rel_err(J, Jf, nJ));
    CHECKF(eng_tape.jacobian(ts, x, yt, Jt) == AD_OK, "%s: tape", w->name);
    double e = jd_rel_err(J, Jt, nJ);
    CHECKF(e <= TOL, "%s size %d trial %d: replay vs tape %.1e", w->name, size, k, e);
    if (w->manual && m == 1) {
      double fm;
      w->manual(size, data, x, &fm, gm);
      e = jd_rel_err(J, gm, (size_t)n);
      CHECKF(e <= TOL, "%s size %d trial %d: replay vs manual gradient %.1e", w->name, size, k, e);
    }
  }
  /* The first recording is still there: its own inputs replay, with its own values. */
  CHECKF(eng_replay.replay(rs, x0, y, J) == AD_OK, "%s: replay at the recorded inputs", w->name);
  printf("%-12s size %7d: %2d of %d replays accepted, %2d refused by guards\n", w->name, size, ok, TRIALS, refused);
  if (is_smooth(w->name)) CHECKF(refused == 0, "%s has no control flow, yet %d replays were refused", w->name, refused);
done:
  eng_replay.close(rs);
  eng_replay.close(fs);
  eng_tape.close(ts);
  free(x0), free(x), free(data), free(junk), free(y), free(yf), free(yt), free(J), free(Jf), free(Jt), free(gm);
  return 1;
}

static int has_control_flow(const char *name) { return !strcmp(name, "branchy") || !strcmp(name, "ode_adapt"); }

int main(void) {
  int checked = 0, branchy_seen = 0;
  for (int i = 0; i < WL_COUNT; ++i) {
    const wl_info *w = wl_all[i];
    int sizes[2] = {w->check_sizes[0], w->check_sizes[1]}, near_ok = 0, far_refused = 0;
    for (int s = 0; s < 2; ++s) {
      if (s && sizes[1] == sizes[0]) break;
      checked += check_workload(w, sizes[s], &near_ok, &far_refused);
    }
    if (has_control_flow(w->name)) {
      CHECKF(near_ok > 0, "%s: no replay near the recorded inputs was accepted", w->name);
      CHECKF(far_refused > 0, "%s: no replay at other inputs was refused", w->name);
      branchy_seen += !strcmp(w->name, "branchy");
    }
  }
  CHECKF(checked >= 10, "only %d workload/size cases checked", checked);
  CHECKF(branchy_seen, "no branchy workload");
  printf("test_replay_workloads: %d workload/size cases\n", checked);
  return test_report("test_replay_workloads");
}
