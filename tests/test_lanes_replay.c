/* test_lanes_replay: the replay engine's vector reverse sweep (replay.h's replay_reverse_lanes) with K = 1, 2, 4,
 * 8, 16 adjoint lanes, through its own API (test_lanes checks it through eng.h on every workload).
 *
 *  - cases:  a recording where the lanes of one sweep reach a statement with an infinite partial differently
 *            (one lane with adjoint 0 must get NaN, another must get nothing), with known answers;
 *  - random: random multi-output recordings with zeros, infinities and NaN among the inputs, swept at the
 *            recorded inputs and again after a replay at new ones: every lane of every K against replay_reverse
 *            seeded with that lane's output, to the bit (a zero may differ in sign);
 *  - misuse: invalid lane counts, sweeping before requesting lane adjoints or with another lane count, after a
 *            refused replay (AD_EGUARD), and a failed allocation of the lane adjoints.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "replay/replay_ops.h"
#include "wl.h"

#include "testkit.h"

static const int lane_counts[] = {1, 2, 4, 8, 16};
enum { N_LANE_COUNTS = sizeof lane_counts / sizeof lane_counts[0] };

/* Equal, or both NaN. */
static int same(double a, double b) { return a == b || (isnan(a) && isnan(b)); }

/* The Jacobian (m x n) by one replay_reverse per output. */
static ad_status rows_scalar(replay_t *t, const ad_t *y, int m, const ad_t *x, int n, double *J) {
  for (int i = 0; i < m; ++i) {
    double *adj = replay_adjoints(t);
    if (!adj) return AD_ENOMEM;
    if (y[i].i) adj[y[i].i] = 1.0;
    ad_status st = replay_reverse(t);
    if (st != AD_OK) return st;
    for (int j = 0; j < n; ++j) J[(size_t)i * n + j] = y[i].i ? adj[x[j].i] : 0.0;
  }
  return AD_OK;
}

/* The Jacobian by K-lane sweeps. */
static ad_status rows_lanes(replay_t *t, int K, const ad_t *y, int m, const ad_t *x, int n, double *J) {
  for (int i0 = 0; i0 < m; i0 += K) {
    double *A = replay_adjoints_lanes(t, K);
    if (!A) return AD_ENOMEM;
    for (int l = 0; l < K && i0 + l < m; ++l)
      if (y[i0 + l].i) A[(size_t)y[i0 + l].i * K + l] = 1.0;
    ad_status st = replay_reverse_lanes(t, K);
    if (st != AD_OK) return st;
    for (int l = 0; l < K && i0 + l < m; ++l)
      for (int j = 0; j < n; ++j) J[(size_t)(i0 + l) * n + j] = y[i0 + l].i ? A[(size_t)x[j].i * K + l] : 0.0;
  }
  return AD_OK;
}

/* Every K against want (m x n); returns the number of disagreeing lane counts, each a failed check with report. */
static int check_all_k(const char *name, replay_t *t, const ad_t *y, int m, const ad_t *x, int n, const double *want,
                       int report) {
  double J[20 * 8];
  int bad_k = 0;
  for (int kk = 0; kk < N_LANE_COUNTS; ++kk) {
    int K = lane_counts[kk];
    ad_status st = rows_lanes(t, K, y, m, x, n, J);
    CHECKF(st == AD_OK, "%s K = %d: %s", name, K, ad_status_str(st));
    int bad = -1;
    for (int i = 0; st == AD_OK && i < m * n && bad < 0; ++i)
      if (!same(J[i], want[i])) bad = i;
    bad_k += bad >= 0;
    if (report)
      CHECKF(bad < 0, "%s K = %d: J[%d] = %.17g, expected %.17g", name, K, bad, bad >= 0 ? J[bad] : 0.0,
             bad >= 0 ? want[bad] : 0.0);
  }
  return bad_k;
}

static void test_cases(void) {
  replay_t *t = replay_new();
  CHECKF(t != NULL, "replay_new");
  if (!t) return;
  /* y0 = 2.5 x0, recorded below sqrt(x1) (partial Inf at x1 = 0); y1 = x0 + 0 sqrt(x1): in one sweep lane 1 reaches
   * the infinite partial with adjoint 0 (NaN), lane 0 does not reach it (0). */
  ad_t x[2] = {replay_input(t, 1.0), replay_input(t, 0.0)}, y[2];
  y[0] = ad_mul_vc(t, x[0], 2.5);
  ad_t r = ad_sqrt(t, x[1]);
  y[1] = ad_add_vv(t, x[0], ad_mul_vc(t, r, 0.0));
  const double want[4] = {2.5, 0.0, 1.0, NAN};
  check_all_k("2.5 x0 | x0 + 0 sqrt(x1)", t, y, 2, x, 2, want, 1);
  ad_t ys[2] = {y[1], y[0]};
  const double want_s[4] = {1.0, NAN, 2.5, 0.0};
  check_all_k("x0 + 0 sqrt(x1) | 2.5 x0", t, ys, 2, x, 2, want_s, 1);
  /* The same recording replayed at x1 = 4: finite everywhere. */
  double x2[2] = {1.0, 4.0};
  CHECK(replay_forward(t, x2, 2) == AD_OK);
  const double want2[4] = {2.5, 0.0, 1.0, 0.0};
  check_all_k("replayed at (1, 4)", t, y, 2, x, 2, want2, 1);
  /* The check fails on a wrong answer. */
  const double wrong[4] = {2.5, 0.0, 1.0, 1e-300};
  int bad_k = check_all_k("a wrong expectation", t, y, 2, x, 2, wrong, 0);
  CHECKF(bad_k == N_LANE_COUNTS, "a wrong expected entry is caught at every K (%d of %d)", bad_k, N_LANE_COUNTS);
  replay_free(t);
}

static void test_random(void) {
  enum { PROGRAMS = 200, MAX_VARS = 60, MAX_IN = 6, MAX_OUT = 20 };
  static const double specials[] = {0.0, -0.0, 1.0, -1.0, 0.5, 2.0, 1e300, INFINITY, -INFINITY, NAN};
  wl_rng rng = {7};
  long nan_entries = 0;
  for (int p = 0; p < PROGRAMS; ++p) {
    replay_t *t = replay_new();
    CHECKF(t != NULL, "replay_new");
    if (!t) return;
    int n = 1 + (int)(wl_rng_next(&rng) % MAX_IN), m = 1 + (int)(wl_rng_next(&rng) % MAX_OUT);
    ad_t v[MAX_VARS + MAX_IN], x[MAX_IN], y[MAX_OUT];
    double xv[MAX_IN];
    for (int j = 0; j < n; ++j) {
      xv[j] = wl_rng_uniform(&rng, -2.0, 2.0);
      if (p % 2 && wl_rng_next(&rng) % 3 == 0) xv[j] = specials[wl_rng_next(&rng) % 10];
      v[j] = x[j] = replay_input(t, xv[j]);
    }
    int nv = n, len = 4 + (int)(wl_rng_next(&rng) % (MAX_VARS - 4));
    for (int k = 0; k < len; ++k) {
      ad_t a = v[wl_rng_next(&rng) % (uint64_t)nv], b = v[wl_rng_next(&rng) % (uint64_t)nv];
      switch (wl_rng_next(&rng) % 11) {
      case 0: v[nv] = ad_add_vv(t, a, b); break;
      case 1: v[nv] = ad_mul_vv(t, a, b); break;
      case 2: v[nv] = ad_sub_vv(t, a, b); break;
      case 3: v[nv] = ad_div_vv(t, a, b); break;
      case 4: v[nv] = ad_sqrt(t, a); break;
      case 5: v[nv] = ad_log(t, a); break;
      case 6: v[nv] = ad_sin(t, a); break;
      case 7: v[nv] = ad_mul_vc(t, a, 0.0); break;
      case 8: v[nv] = ad_tanh(t, ad_add_vv(t, a, b)); break;
      case 9: v[nv] = ad_exp(t, a); break;
      default: v[nv] = ad_add_vv(t, a, ad_const(t, 1.5)); break;
      }
      nv++;
    }
    for (int i = 0; i < m; ++i) y[i] = v[n + wl_rng_next(&rng) % (uint64_t)(nv - n)];
    CHECK(replay_status(t) == AD_OK);
    for (int pass = 0; pass < 2; ++pass) {
      if (pass) { /* replay at new inputs (no comparison was recorded, so no guard can fire) */
        for (int j = 0; j < n; ++j) xv[j] = p % 3 ? wl_rng_uniform(&rng, -2.0, 2.0) : specials[wl_rng_next(&rng) % 10];
        CHECK(replay_forward(t, xv, (size_t)n) == AD_OK);
      }
      double want[MAX_OUT * MAX_IN];
      CHECK(rows_scalar(t, y, m, x, n, want) == AD_OK);
      for (int i = 0; i < m * n; ++i) nan_entries += isnan(want[i]) != 0;
      char name[64];
      snprintf(name, sizeof name, "program %d (%s)", p, pass ? "replayed" : "recorded");
      check_all_k(name, t, y, m, x, n, want, 1);
    }
    replay_free(t);
  }
  printf("random: %d programs, %ld NaN Jacobian entries\n", PROGRAMS, nan_entries);
  CHECKF(nan_entries > 0, "the random programs must exercise the non-finite policy");
}

static void test_misuse(void) {
  replay_t *t = replay_new();
  CHECKF(t != NULL, "replay_new");
  if (!t) return;
  ad_t x = replay_input(t, 1.0);
  ad_t y = ad_gt_vc(t, x, 0.0) ? ad_sqrt(t, x) : ad_neg(t, x); /* a guard: x > 0 */
  CHECK(replay_reverse_lanes(NULL, 4) == AD_EINVAL);
  CHECK(replay_reverse_lanes(t, 4) == AD_ESTATE); /* no lane adjoints yet */
  CHECK(replay_adjoints_lanes(t, 3) == NULL && replay_adjoints_lanes(t, 0) == NULL && replay_adjoints_lanes(NULL, 4) == NULL);
  CHECK(replay_status(t) == AD_OK);
  double *A = replay_adjoints_lanes(t, 4);
  CHECK(A != NULL);
  if (!A) return;
  CHECK(replay_reverse_lanes(t, 3) == AD_EINVAL);
  CHECK(replay_reverse_lanes(t, 8) == AD_EINVAL); /* not the lane count requested */
  A[(size_t)y.i * 4 + 2] = 1.0;
  CHECK(replay_reverse_lanes(t, 4) == AD_OK && A[(size_t)x.i * 4 + 2] == 0.5 && A[(size_t)x.i * 4] == 0.0);
  double xm = -1.0;
  CHECK(replay_forward(t, &xm, 1) == AD_EGUARD);
  CHECK(replay_reverse_lanes(t, 4) == AD_EGUARD); /* the values belong to a path the program would not take */
  replay_stats rs = replay_get_stats(t);
  CHECKF(rs.adjoint_bytes >= rs.statements * 4 * sizeof(double), "the lane adjoints count as adjoint bytes");
  replay_shrink(t);
  CHECK(t->ladj == NULL && t->lreach == NULL);
  /* A failed allocation of the lane adjoints: NULL and AD_ENOMEM. */
  replay_reset(t);
  for (int i = 0; i < 1000; ++i) (void)replay_input(t, 1.0);
  ad_alloc_fail_after(0);
  A = replay_adjoints_lanes(t, 16);
  ad_alloc_fail_after(-1);
  CHECK(A == NULL && replay_status(t) == AD_ENOMEM);
  CHECK(replay_reverse_lanes(t, 16) == AD_ESTATE);
  replay_free(t);
}

int main(void) {
  test_cases();
  test_random();
  test_misuse();
  return test_report("test_lanes_replay");
}
