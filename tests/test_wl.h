/* test_wl.h: what the workload tests (test_wl_*.c) share: testkit.h's checks, and adlab's own derivative
 * engines; the measures and finite differences are judge.h's, the checker's own.
 *
 *   const wl_info *w = wl_find("gmm");
 *   double *x = ..., *data = ..., *J = ...;            // n_in, n_data, n_out x n_in doubles
 *   w->init(size, 42, x, data);
 *   jd_fd_jacobian(w, size, data, x, idx, k, Jfd, &kinks);   // columns idx[0..k) of J, NaN at kinks
 *   CHECKF(jd_rel_err(a, b, n) <= 1e-12, "%s: %.1e", w->name, jd_rel_err(a, b, n));
 *   for (int i = 0; i < eng_own_count; ++i)
 *     if (twl_is_derivative_engine(eng_all[i])) ...    // dual, tape, graph, replay (no primal, no peers)
 *   return test_report("test_wl_x");                      // prints the verdict, returns the exit status
 */
#ifndef TEST_WL_H
#define TEST_WL_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eng.h"
#include "judge.h"
#include "peers/peers.h"
#include "testkit.h"
#include "wl.h"

#if defined(__GNUC__)
#define TWL_MAYBE_UNUSED __attribute__((unused))
#else
#define TWL_MAYBE_UNUSED
#endif

/* adlab's own engines that compute derivatives (not the primal engine, not the peer tools). */
TWL_MAYBE_UNUSED static int twl_is_derivative_engine(const eng_api *e) {
  return e->kind != ENG_PRIMAL && !eng_is_peer(e);
}

/* The value of w at x through the primal engine (an open session s), into y. */
TWL_MAYBE_UNUSED static void twl_value(eng_session *s, const double *x, double *y) {
  ad_status st = eng_primal.value(s, x, y);
  CHECKF(st == AD_OK, "primal value: %s", ad_status_str(st));
}

/* Up to k coordinates spread evenly over 0 .. n - 1 into idx; returns how many. */
TWL_MAYBE_UNUSED static int twl_spread(int n, int k, int *idx) {
  if (n <= k) {
    for (int j = 0; j < n; ++j) idx[j] = j;
    return n;
  }
  for (int j = 0; j < k; ++j) idx[j] = (int)((long long)j * (n - 1) / (k - 1));
  return k;
}

#endif
