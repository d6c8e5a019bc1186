/* test_wl.h: what the workload tests (test_wl_*.c) share: a CHECK that counts failures, the relative error
 * the checker uses, central differences with Richardson extrapolation, and adlab's own derivative engines.
 *
 *   const wl_info *w = wl_find("gmm");
 *   double *x = ..., *data = ..., *J = ...;            // n_in, n_data, n_out x n_in doubles
 *   w->init(size, 42, x, data);
 *   int used = twl_fd_jacobian(w, size, data, x, idx, k, Jfd);   // columns idx[0..k) of J by differences
 *   CHECK(jd_rel_err(a, b, n) <= 1e-12, "%s: %.1e", w->name, jd_rel_err(a, b, n));
 *   for (int i = 0; i < eng_own_count; ++i)
 *     if (twl_is_derivative_engine(eng_all[i])) ...    // dual, tape, graph, replay (no primal, no peers)
 *   return twl_finish("test_wl_x");                       // prints the verdict, returns the exit status
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
#include "wl.h"

#if defined(__GNUC__)
#define TWL_MAYBE_UNUSED __attribute__((unused))
#else
#define TWL_MAYBE_UNUSED
#endif

static int twl_failures, twl_checks;

#define CHECK(cond, ...)                                                                                       \
  do {                                                                                                         \
    twl_checks++;                                                                                              \
    if (!(cond)) {                                                                                             \
      twl_failures++;                                                                                          \
      fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #cond);                                 \
      fprintf(stderr, __VA_ARGS__);                                                                            \
      fputc('\n', stderr);                                                                                     \
    }                                                                                                          \
  } while (0)

/* adlab's own engines that compute derivatives (not the primal engine, not the peer tools). */
TWL_MAYBE_UNUSED static int twl_is_derivative_engine(const eng_api *e) {
  return e->kind != ENG_PRIMAL && !eng_is_peer(e);
}

/* The value of w at x through the primal engine (an open session s), into y. */
TWL_MAYBE_UNUSED static void twl_value(eng_session *s, const double *x, double *y) {
  ad_status st = eng_primal.value(s, x, y);
  CHECK(st == AD_OK, "primal value: %s", ad_status_str(st));
}

/* Columns idx[0..k) of the Jacobian of w at x by central differences at h, h/2, h/4 (h = 1e-3 max(1, |x_j|))
 * with two Richardson steps (error O(h^6)), through the primal engine. Column c of Jfd (m x k, row-major) is the
 * derivative with respect to x[idx[c]]. A column whose last two extrapolations differ by more than 1e-6 of the
 * column's size (a branch within the stencil) is set to NaN. Returns the number of columns kept. */
TWL_MAYBE_UNUSED static int twl_fd_jacobian(const wl_info *w, int size, const double *data, const double *x0,
                                            const int *idx, int k, double *Jfd) {
  int n = w->n_in(size), m = w->n_out(size), kept = 0;
  double *x = (double *)malloc((size_t)n * sizeof(double)), *yp = (double *)malloc((size_t)m * sizeof(double));
  double *ym = (double *)malloc((size_t)m * sizeof(double)), *D = (double *)malloc(3 * (size_t)m * sizeof(double));
  eng_session *s = eng_primal.open(w, size, data);
  if (!x || !yp || !ym || !D || !s) {
    CHECK(0, "%s: out of memory in finite differences", w->name);
    free(x), free(yp), free(ym), free(D), eng_primal.close(s);
    return 0;
  }
  memcpy(x, x0, (size_t)n * sizeof(double));
  for (int c = 0; c < k; ++c) {
    int j = idx[c];
    double h = 1e-3 * (fabs(x0[j]) > 1 ? fabs(x0[j]) : 1.0);
    for (int q = 0; q < 3; ++q, h *= 0.5) {
      x[j] = x0[j] + h;
      twl_value(s, x, yp);
      x[j] = x0[j] - h;
      twl_value(s, x, ym);
      for (int i = 0; i < m; ++i) D[(size_t)q * m + i] = (yp[i] - ym[i]) / (2 * h);
    }
    x[j] = x0[j];
    double scale = 0, diff = 0;
    for (int i = 0; i < m; ++i) {
      double r0 = (4 * D[m + i] - D[i]) / 3, r1 = (4 * D[2 * m + i] - D[m + i]) / 3, r = (16 * r1 - r0) / 15;
      Jfd[(size_t)i * k + c] = r;
      if (fabs(r) > scale) scale = fabs(r);
      if (fabs(r1 - r) > diff) diff = fabs(r1 - r);
    }
    if (!(diff <= 1e-6 * (scale > 1e-12 ? scale : 1e-12))) {
      for (int i = 0; i < m; ++i) Jfd[(size_t)i * k + c] = NAN;
    } else {
      kept++;
    }
  }
  free(x), free(yp), free(ym), free(D);
  eng_primal.close(s);
  return kept;
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

TWL_MAYBE_UNUSED static int twl_finish(const char *name) {
  if (twl_failures) {
    fprintf(stderr, "%s: %d of %d checks failed\n", name, twl_failures, twl_checks);
    return 1;
  }
  printf("%s: ok (%d checks)\n", name, twl_checks);
  return 0;
}

#endif
