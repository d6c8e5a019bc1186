/* test_graph_engine: the graph engine through eng_api on every workload at both check sizes
 * and three input seeds: values bit-identical to the primal engine, Jacobians within 1e-12 of the tape engine and
 * of the hand-written gradient; vjp repeatable on one recording (retain_graph) and linear in its seed; stats
 * consistent with the recording; sessions survive failed allocations without leaking. */
#include <stdlib.h>

#include "eng.h"
#include "judge.h"
#include "graph/graph.h"
#include "testkit.h"

static void check_workload(const wl_info *w, int size, uint64_t seed) {
  int n = w->n_in(size), m = w->n_out(size);
  size_t nJ = (size_t)n * m;
  double *x = (double *)calloc((size_t)n, sizeof *x), *data = (double *)calloc((size_t)w->n_data(size) + 1, 8);
  double *yp = (double *)calloc((size_t)m, 8), *yg = (double *)calloc((size_t)m, 8), *yt = (double *)calloc((size_t)m, 8);
  double *Jg = (double *)calloc(nJ, 8), *Jt = (double *)calloc(nJ, 8), *gm = (double *)calloc(nJ, 8);
  double *wv = (double *)calloc((size_t)m, 8), *v1 = (double *)calloc((size_t)n, 8), *v2 = (double *)calloc((size_t)n, 8);
  double *ref = (double *)calloc((size_t)n, 8);
  if (!x || !data || !yp || !yg || !yt || !Jg || !Jt || !gm || !wv || !v1 || !v2 || !ref) {
    CHECK(!"out of memory in the test");
    return;
  }
  w->init(size, seed, x, data);
  eng_session *sp = eng_primal.open(w, size, data), *sg = eng_graph.open(w, size, data),
              *st = eng_tape.open(w, size, data);
  CHECK(sp && sg && st);
  if (sp && sg && st) {
    CHECK(eng_graph.vjp(sg, wv, v1) == AD_ESTATE); /* nothing recorded yet */
    CHECK(eng_primal.value(sp, x, yp) == AD_OK);
    CHECK(eng_graph.jacobian(sg, x, yg, Jg) == AD_OK);
    CHECK(eng_tape.jacobian(st, x, yt, Jt) == AD_OK);
    CHECK(memcmp(yg, yp, (size_t)m * sizeof *yp) == 0);
    double e = jd_rel_err(Jg, Jt, nJ);
    if (!(e <= 1e-12)) fprintf(stderr, "%s size %d seed %llu: graph vs tape %.3g\n", w->name, size,
                               (unsigned long long)seed, e);
    CHECK(e <= 1e-12);
    if (w->manual && m == 1) { /* within 1e-12 of the hand-written gradient, or no further than the tape is */
      double fm;
      w->manual(size, data, x, &fm, gm);
      double em = jd_rel_err(Jg, gm, nJ), et = jd_rel_err(Jt, gm, nJ);
      if (!(em <= 1e-12 || em <= 2 * et))
        fprintf(stderr, "%s size %d seed %llu: graph vs manual %.3g (tape %.3g)\n", w->name, size,
                (unsigned long long)seed, em, et);
      CHECK(em <= 1e-12 || em <= 2 * et);
    }
    /* vjp on the recording of the last jacobian call, twice in a row (the graph is retained), bit for bit.
     * Seeding 2 (a power of two) scales every partial product exactly: w = 2 e_0 gives exactly 2 J[0]. */
    for (int i = 0; i < m; ++i) wv[i] = i == 0 ? 2.0 : 0.0;
    for (int j = 0; j < n; ++j) ref[j] = 2.0 * Jg[j];
    CHECK(eng_graph.vjp(sg, wv, v1) == AD_OK);
    CHECK(eng_graph.vjp(sg, wv, v2) == AD_OK);
    CHECK(memcmp(v1, v2, (size_t)n * sizeof *v1) == 0);
    CHECK(memcmp(v1, ref, (size_t)n * sizeof *v1) == 0);
    if (m > 1) { /* a combination of rows */
      for (int i = 0; i < m; ++i) wv[i] = i == 0 ? 2.0 : i == m - 1 ? -1.0 : 0.0;
      for (int j = 0; j < n; ++j) ref[j] = 2.0 * Jg[j] - Jg[(size_t)(m - 1) * n + j];
      CHECK(eng_graph.vjp(sg, wv, v1) == AD_OK);
      CHECK(jd_rel_err(v1, ref, (size_t)n) <= 1e-14);
    }
    /* value() records afresh at other inputs; vjp then differentiates there. */
    for (int j = 0; j < n; ++j) x[j] += 1e-3;
    CHECK(eng_graph.value(sg, x, yg) == AD_OK);
    CHECK(eng_primal.value(sp, x, yp) == AD_OK);
    CHECK(memcmp(yg, yp, (size_t)m * sizeof *yp) == 0);
    CHECK(eng_tape.jacobian(st, x, yt, Jt) == AD_OK);
    for (int i = 0; i < m; ++i) wv[i] = i == 0 ? 1.0 : 0.0;
    CHECK(eng_graph.vjp(sg, wv, v1) == AD_OK);
    CHECK(jd_rel_err(v1, Jt, (size_t)n) <= 1e-12);
    /* Stats: the recording's nodes (inputs excluded), its bytes, and what the context holds. */
    eng_stats gs = eng_graph.stats(sg), ts = eng_tape.stats(st);
    CHECK(gs.nodes >= ts.statements);        /* the graph also keeps constants as nodes */
    if (wl_is_tensor(w)) /* one node per array op; nodes is the workload's count of ops */
      CHECK(gs.statements < gs.nodes);
    else
      CHECK(gs.statements == gs.nodes);      /* one node per op: the graph does not preaccumulate */
    CHECK(gs.args >= ts.args);               /* the tape folds one-operand ops into their consumers' edges */
    if (wl_is_tensor(w)) /* array nodes also hold their values and records (graph_array.h) */
      CHECK(gs.bytes_used > (gs.statements + (uint64_t)n) * sizeof(graph_node));
    else
      CHECK(gs.bytes_used == (gs.nodes + (uint64_t)n) * sizeof(graph_node));
    CHECK(gs.bytes_held >= gs.bytes_used);
  }
  eng_primal.close(sp);
  eng_graph.close(sg);
  eng_tape.close(st);
  free(x), free(data), free(yp), free(yg), free(yt), free(Jg), free(Jt), free(gm), free(wv), free(v1), free(v2),
      free(ref);
}

/* open and value under failing allocations: a NULL session or AD_ENOMEM, never a crash or a leak. */
static void check_failures(void) {
  const wl_info *w = wl_find("rosenbrock");
  int size = 3000, n = w->n_in(size);
  double *x = (double *)calloc((size_t)n, 8), data[1], y[1];
  w->init(size, 1, x, data);
  int64_t start = ad_alloc_get_stats().bytes_now;
  int nulls = 0, enomem = 0, ok = 0;
  for (long k = 0; k < 24; ++k) {
    ad_alloc_fail_after(k);
    eng_session *s = eng_graph.open(w, size, data);
    ad_status st = s ? eng_graph.value(s, x, y) : AD_ENOMEM;
    ad_alloc_fail_after(-1);
    if (!s) nulls++;
    else if (st == AD_ENOMEM) enomem++;
    else if (st == AD_OK) ok++;
    if (s && st == AD_ENOMEM) { /* after the failure the session is still usable */
      double g[1];
      CHECK(eng_graph.vjp(s, y, g) == AD_ENOMEM);
      CHECK(eng_graph.value(s, x, y) == AD_OK);
    }
    eng_graph.close(s);
    CHECK(ad_alloc_get_stats().bytes_now == start);
  }
  CHECK(nulls > 0 && enomem > 0 && ok > 0); /* every outcome was exercised */
  free(x);
}

int main(void) {
  const uint64_t seeds[3] = {42, 7, 2024};
  for (int i = 0; i < WL_COUNT; ++i) {
    const wl_info *w = wl_all[i];
    for (int s = 0; s < 3; ++s) {
      check_workload(w, w->check_sizes[0], seeds[s]);
      if (w->check_sizes[1] != w->check_sizes[0]) check_workload(w, w->check_sizes[1], seeds[s]);
    }
  }
  check_failures();
  return test_report("test_graph_engine");
}
