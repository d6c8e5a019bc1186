/* test_wl_problems: one benchmark workload, named on the command line, at its two check sizes:
 *  - its inputs are deterministic (same seed, same bits) and depend on the seed;
 *  - its hand-written gradient (or Jacobian) against central differences of the primal engine (1e-6), and the
 *    hand-written value against the primal value (1e-13; bit for bit for det and ode_adapt, whose manual
 *    follows the recursion's and the step control's exact operations);
 *  - every one of adlab's derivative engines (dual, tape, graph, replay) against the hand-written derivatives
 *    (1e-12), with values equal to the primal engine's bit for bit;
 *  - the node count the workload declares against the tape's recording (exact; for ode_adapt a whole number of
 *    attempted steps, within a factor 3 of the typical count), and the recording's bytes within 25 per node;
 *  - node counts never decrease with the size (so wl_size_for_nodes is meaningful);
 *  - allocation failure: with the k-th allocation failing, every engine reports AD_ENOMEM (or succeeds), frees
 *    what it took, and computes the right Jacobian on the next call.
 *   test_wl_problems gmm        (one CTest test per workload, see tests/workloads.cmake)
 */
#include "test_wl.h"

enum { FD_COORDS = 32 };

static int is_named(const wl_info *w, const char *name) { return strcmp(w->name, name) == 0; }

/* The manual value and derivatives (gradient as a 1 x n Jacobian). */
static void manual_jacobian(const wl_info *w, int size, const double *data, const double *x, double *y, double *J) {
  if (w->n_out(size) == 1 && w->manual) w->manual(size, data, x, y, J);
  else w->manual_jacobian(size, data, x, y, J);
}

static void check_size_table(const wl_info *w) {
  double prev = -1;
  int steps = 0;
  for (long s = 1; s <= w->max_size; s = s < 4096 ? s + 1 : s * 2, ++steps) {
    int size = (int)s;
    double nodes = w->nodes(size);
    CHECKF(nodes >= prev, "%s: nodes(%d) = %g < nodes of the previous size %g", w->name, size, nodes, prev);
    CHECKF(w->n_in(size) >= 1 && w->n_out(size) >= 1 && w->n_data(size) >= 0 && w->n_scratch(size) >= 0,
           "%s: sizes at %d", w->name, size);
    prev = nodes;
  }
  CHECKF(w->nodes(w->max_size) >= prev, "%s: nodes at max_size", w->name);
  CHECKF(w->check_sizes[0] >= 1 && w->check_sizes[0] < w->check_sizes[1] && w->check_sizes[1] <= w->max_size,
         "%s: check sizes %d, %d", w->name, w->check_sizes[0], w->check_sizes[1]);
  CHECKF(wl_size_for_nodes(w, w->nodes(w->check_sizes[1])) <= w->check_sizes[1], "%s: wl_size_for_nodes", w->name);
}

static void check_size(const wl_info *w, int size) {
  const int n = w->n_in(size), m = w->n_out(size), nd = w->n_data(size);
  const size_t nJ = (size_t)n * m;
  double *x = (double *)calloc((size_t)n, sizeof(double)), *x2 = (double *)calloc((size_t)n, sizeof(double));
  double *data = (double *)calloc((size_t)nd + 1, sizeof(double)), *data2 = (double *)calloc((size_t)nd + 1, 8);
  double *ym = (double *)calloc((size_t)m, 8), *yp = (double *)calloc((size_t)m, 8);
  double *ye = (double *)calloc((size_t)m, 8);
  double *Jm = (double *)calloc(nJ, 8), *Je = (double *)calloc(nJ, 8);
  double *Jfd = (double *)calloc((size_t)m * FD_COORDS, 8), *a = (double *)calloc((size_t)m * FD_COORDS, 8);
  double *b = (double *)calloc((size_t)m * FD_COORDS, 8);
  int idx[FD_COORDS];
  if (!x || !x2 || !data || !data2 || !ym || !yp || !ye || !Jm || !Je || !Jfd || !a || !b) {
    CHECKF(0, "%s: out of memory", w->name);
    goto done;
  }

  /* Deterministic inputs. */
  w->init(size, 42, x, data);
  w->init(size, 42, x2, data2);
  CHECKF(!memcmp(x, x2, (size_t)n * 8) && !memcmp(data, data2, (size_t)nd * 8), "%s %d: init not deterministic",
         w->name, size);
  w->init(size, 43, x2, data2);
  CHECKF(memcmp(x, x2, (size_t)n * 8) != 0, "%s %d: inputs do not depend on the seed", w->name, size);

  /* Manual value and derivatives against the primal value and central differences. */
  CHECKF((m == 1 && w->manual) || w->manual_jacobian, "%s: no hand-written derivatives", w->name);
  manual_jacobian(w, size, data, x, ym, Jm);
  eng_session *ps = eng_primal.open(w, size, data);
  CHECKF(ps != NULL, "%s %d: primal session", w->name, size);
  if (ps) twl_value(ps, x, yp);
  eng_primal.close(ps);
  if (is_named(w, "det") || is_named(w, "ode_adapt"))
    CHECKF(!memcmp(ym, yp, (size_t)m * 8), "%s %d: manual value %.17g, primal %.17g", w->name, size, ym[0], yp[0]);
  else
    CHECKF(jd_rel_err(ym, yp, (size_t)m) <= 1e-13, "%s %d: manual value vs primal %.1e", w->name, size,
           jd_rel_err(ym, yp, (size_t)m));
  int k = twl_spread(n, FD_COORDS, idx), kinks = 0, used = 0;
  ad_status fst = jd_fd_jacobian(w, size, data, x, idx, k, Jfd, &kinks);
  CHECKF(fst == AD_OK, "%s %d: finite differences: %s", w->name, size, ad_status_str(fst));
  CHECKF(kinks * 4 <= k * m, "%s %d: finite differences did not converge on %d of %d entries", w->name, size, kinks,
         k * m);
  for (int i = 0; i < m; ++i)
    for (int c = 0; c < k; ++c)
      if (!isnan(Jfd[(size_t)i * k + c])) {
        a[used] = Jm[(size_t)i * n + idx[c]];
        b[used++] = Jfd[(size_t)i * k + c];
      }
  double efd = jd_rel_err(a, b, (size_t)used);
  CHECKF(efd <= 1e-6, "%s %d: manual vs finite differences %.1e", w->name, size, efd);
  printf("%-10s size %6d: n_in %6d n_out %4d  manual vs fd %.1e (%d of %d entries)\n", w->name, size, n, m, efd,
         k * m - kinks, k * m);

  /* Every derivative engine against the manual derivatives. */
  for (int ie = 0; ie < eng_own_count; ++ie) {
    const eng_api *e = eng_all[ie];
    if (!twl_is_derivative_engine(e)) continue;
    eng_session *s = e->open(w, size, data);
    CHECKF(s != NULL, "%s %d %s: open", w->name, size, e->name);
    if (!s) continue;
    ad_status st = e->jacobian(s, x, ye, Je);
    CHECKF(st == AD_OK, "%s %d %s: %s", w->name, size, e->name, ad_status_str(st));
    if (st == AD_OK) {
      double err = jd_rel_err(Je, Jm, nJ);
      CHECKF(err <= 1e-12, "%s %d %s: Jacobian vs manual %.1e", w->name, size, e->name, err);
      CHECKF(!memcmp(ye, yp, (size_t)m * 8), "%s %d %s: value differs from the primal engine's", w->name, size,
             e->name);
      printf("%-10s size %6d: %-7s vs manual %.1e\n", w->name, size, e->name, err);
    }
    if (e == &eng_tape && st == AD_OK) {
      eng_stats es = e->stats(s);
      double nodes = w->nodes(size);
      if (is_named(w, "ode_adapt")) {
        double per = 57.0 * size - 7.0, attempts = (double)es.nodes / per;
        CHECKF(attempts == floor(attempts) && attempts >= 1, "%s %d: %llu nodes is not a whole number of steps",
               w->name, size, (unsigned long long)es.nodes);
        CHECKF(es.nodes <= 3 * nodes && 3 * (double)es.nodes >= nodes, "%s %d: %llu nodes, typical %g", w->name,
               size, (unsigned long long)es.nodes, nodes);
      } else {
        CHECKF((double)es.nodes == nodes, "%s %d: tape recorded %llu nodes, the workload says %g", w->name, size,
               (unsigned long long)es.nodes, nodes);
      }
      CHECKF((double)es.bytes_used <= 25.0 * ((double)es.nodes + n), "%s %d: %llu bytes for %llu nodes", w->name,
             size, (unsigned long long)es.bytes_used, (unsigned long long)es.nodes);
    }
    e->close(s);
  }
done:
  free(x), free(x2), free(data), free(data2), free(ym), free(yp), free(ye), free(Jm), free(Je), free(Jfd), free(a);
  free(b);
}

/* The k-th allocation fails, for k = 0, 1, 2, ... until a whole evaluation succeeds. */
static void check_alloc_failure(const wl_info *w, int size) {
  const int n = w->n_in(size), m = w->n_out(size);
  const size_t nJ = (size_t)n * m;
  double *x = (double *)calloc((size_t)n, 8), *data = (double *)calloc((size_t)w->n_data(size) + 1, 8);
  double *y = (double *)calloc((size_t)m, 8), *yr = (double *)calloc((size_t)m, 8);
  double *J = (double *)calloc(nJ, 8), *Jr = (double *)calloc(nJ, 8);
  if (!x || !data || !y || !yr || !J || !Jr) {
    CHECKF(0, "%s: out of memory", w->name);
    goto done;
  }
  w->init(size, 42, x, data);
  manual_jacobian(w, size, data, x, yr, Jr);
  for (int ie = 0; ie < eng_own_count; ++ie) {
    const eng_api *e = eng_all[ie];
    if (!twl_is_derivative_engine(e)) continue;
    int failed = 0, k = 0;
    for (; k < 200; ++k) {
      int64_t before = ad_alloc_get_stats().bytes_now;
      ad_alloc_fail_after(k);
      eng_session *s = e->open(w, size, data);
      ad_status st = s ? e->jacobian(s, x, y, J) : AD_ENOMEM;
      ad_alloc_fail_after(-1);
      CHECKF(st == AD_OK || st == AD_ENOMEM, "%s %s, allocation %d fails: %s", w->name, e->name, k,
             ad_status_str(st));
      if (s && st != AD_OK) { /* the session recovers once memory is back */
        ad_status st2 = e->jacobian(s, x, y, J);
        CHECKF(st2 == AD_OK, "%s %s, after allocation %d failed: %s", w->name, e->name, k, ad_status_str(st2));
        if (st2 == AD_OK)
          CHECKF(jd_rel_err(J, Jr, nJ) <= 1e-12, "%s %s, after allocation %d failed: Jacobian %.1e", w->name,
                 e->name, k, jd_rel_err(J, Jr, nJ));
      }
      if (st == AD_OK)
        CHECKF(jd_rel_err(J, Jr, nJ) <= 1e-12, "%s %s, with %d allocations allowed: Jacobian %.1e", w->name,
               e->name, k, jd_rel_err(J, Jr, nJ));
      e->close(s);
      CHECKF(ad_alloc_get_stats().bytes_now == before, "%s %s, allocation %d fails: %lld bytes not freed", w->name,
             e->name, k, (long long)(ad_alloc_get_stats().bytes_now - before));
      failed += st != AD_OK;
      if (st == AD_OK) break;
    }
    CHECKF(failed >= 1 && k < 200, "%s %s: %d injected failures reported, success after %d", w->name, e->name,
           failed, k);
  }
done:
  free(x), free(data), free(y), free(yr), free(J), free(Jr);
}

int main(int argc, char **argv) {
  const wl_info *w = argc == 2 ? wl_find(argv[1]) : NULL;
  if (!w) {
    fprintf(stderr, "usage: test_wl_problems WORKLOAD\n");
    return 2;
  }
  check_size_table(w);
  check_size(w, w->check_sizes[0]);
  check_size(w, w->check_sizes[1]);
  check_alloc_failure(w, w->check_sizes[0]);
  char name[64];
  snprintf(name, sizeof name, "test_wl_problems %s", w->name);
  return test_report(name);
}
