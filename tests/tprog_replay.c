/* tprog_replay.c: the prog interpreter compiled with the replay engine's ops, behind tprog_api (tprog.h): a
 * recording (or a recording at x_rec replayed at x), one reverse sweep from the output. */
#include <stdlib.h>

#include "replay/replay_ops.h"

#include "prog.c"
#include "tprog.h"

/* Records the program at x_rec; if x differs from NULL, replays at x (AD_EGUARD if a guard refuses). With g,
 * sweeps from the output seeded with w. */
static ad_status rp_run(const double *data, const double *x_rec, const double *x, double w, double *y, double *g) {
  int k = (int)data[0], n = (int)data[1];
  replay_t *t = replay_new();
  ad_t *s = (ad_t *)malloc((size_t)(k + n) * sizeof *s);
  ad_status st = t && s ? AD_OK : AD_ENOMEM;
  if (st == AD_OK) {
    for (int j = 0; j < k; ++j) s[j] = replay_input(t, x_rec[j]);
    ad_t out = prog_eval(t, data, s);
    st = replay_status(t);
    if (st == AD_OK && x) st = replay_forward(t, x, (size_t)k);
    *y = st == AD_OK ? replay_value(t, out) : out.v;
    if (st == AD_OK && g) {
      double *adj = replay_adjoints(t);
      if (!adj) st = replay_status(t) != AD_OK ? replay_status(t) : AD_ENOMEM;
      if (adj && out.i) {
        adj[out.i] = w;
        st = replay_reverse(t);
      }
      for (int j = 0; j < k; ++j) g[j] = adj && out.i ? adj[s[j].i] : 0.0;
    }
  }
  free(s);
  replay_free(t);
  return st;
}

static ad_status rp_value(const double *data, const double *x, double *y) {
  return rp_run(data, x, NULL, 0, y, NULL);
}
static ad_status rp_grad(const double *data, const double *x, double *y, double *g) {
  return rp_run(data, x, NULL, 1.0, y, g);
}
static ad_status rp_vjp(const double *data, const double *x, double w, double *y, double *wg) {
  return rp_run(data, x, NULL, w, y, wg);
}
static ad_status rp_replay(const double *data, const double *x_rec, const double *x, double *y, double *g) {
  return rp_run(data, x_rec, x, 1.0, y, g);
}

const tprog_api tprog_replay = {"replay", ENG_REVERSE, rp_value, rp_grad, NULL, rp_vjp, rp_replay, 0};
