/* test_wl_mix: the crossover workload's Jacobians, forward against reverse, over many shapes.
 *  - its sizes enumerate every (n, m) = (2^p, 2^q), p, q in 0 .. 12, exactly once, with node counts 4 n m - m
 *    that never decrease with the size;
 *  - for shapes from tall (m >> n) to wide (n >> m), the dual engine's Jacobian (n forward passes) and the tape's
 *    (one recording, m reverse sweeps) agree with each other (1e-13) and with the hand-written Jacobian (1e-12),
 *    and so do the graph and replay engines;
 *  - the tape records exactly 4 n m - m nodes and the dual engine's jvp in a unit direction is that column.
 */
#include "test_wl.h"

/* The size of shape (n, m), or 0. */
static int size_of(const wl_info *w, int n, int m) {
  for (int s = 1; s <= w->max_size; ++s)
    if (w->n_in(s) == n && w->n_out(s) == m) return s;
  return 0;
}

static void check_enumeration(const wl_info *w) {
  int seen[13][13];
  memset(seen, 0, sizeof seen);
  for (int s = 1; s <= w->max_size; ++s) {
    int n = w->n_in(s), m = w->n_out(s), p = 0, q = 0;
    while ((1 << p) < n) ++p;
    while ((1 << q) < m) ++q;
    CHECKF((1 << p) == n && (1 << q) == m && p <= 12 && q <= 12, "mix size %d: (%d, %d)", s, n, m);
    if ((1 << p) == n && (1 << q) == m && p <= 12 && q <= 12) seen[p][q]++;
    CHECKF(w->nodes(s) == 4.0 * n * m - m, "mix size %d: nodes %g", s, w->nodes(s));
    if (s > 1) CHECKF(w->nodes(s) >= w->nodes(s - 1), "mix: nodes decrease at size %d", s);
  }
  int once = 1;
  for (int p = 0; p <= 12; ++p)
    for (int q = 0; q <= 12; ++q) once &= seen[p][q] == 1;
  CHECKF(once && w->max_size == 169, "mix: sizes do not enumerate every shape once");
}

static void check_shape(const wl_info *w, int n, int m) {
  int size = size_of(w, n, m);
  CHECKF(size > 0, "mix: no size for (%d, %d)", n, m);
  if (!size) return;
  size_t nJ = (size_t)n * m;
  double *x = (double *)calloc((size_t)n, 8), *data = (double *)calloc((size_t)w->n_data(size), 8);
  double *y = (double *)calloc((size_t)m, 8), *ym = (double *)calloc((size_t)m, 8), *v = (double *)calloc((size_t)n, 8);
  double *Jm = (double *)calloc(nJ, 8), *Jd = (double *)calloc(nJ, 8), *Jt = (double *)calloc(nJ, 8);
  double *J = (double *)calloc(nJ, 8), *col = (double *)calloc((size_t)m, 8), *colJ = (double *)calloc((size_t)m, 8);
  if (!x || !data || !y || !ym || !v || !Jm || !Jd || !Jt || !J || !col || !colJ) {
    CHECKF(0, "mix: out of memory");
    goto done;
  }
  w->init(size, 42, x, data);
  w->manual_jacobian(size, data, x, ym, Jm);
  eng_session *sd = eng_dual.open(w, size, data), *st = eng_tape.open(w, size, data);
  CHECKF(sd && st, "mix (%d, %d): sessions", n, m);
  if (sd && st) {
    CHECKF(eng_dual.jacobian(sd, x, y, Jd) == AD_OK, "mix: dual");
    CHECKF(eng_tape.jacobian(st, x, y, Jt) == AD_OK, "mix: tape");
    double e = jd_rel_err(Jd, Jt, nJ), ed = jd_rel_err(Jd, Jm, nJ), et = jd_rel_err(Jt, Jm, nJ);
    CHECKF(e <= 1e-13, "mix (%d, %d): dual vs tape %.1e", n, m, e);
    CHECKF(ed <= 1e-12 && et <= 1e-12, "mix (%d, %d): vs manual: dual %.1e, tape %.1e", n, m, ed, et);
    CHECKF(eng_tape.stats(st).nodes == (uint64_t)(4 * n * m - m), "mix (%d, %d): tape recorded %llu nodes", n, m,
           (unsigned long long)eng_tape.stats(st).nodes);
    int j = n / 2; /* one column by a directional derivative */
    v[j] = 1.0;
    CHECKF(eng_dual.jvp(sd, x, v, y, col) == AD_OK, "mix: jvp");
    for (int i = 0; i < m; ++i) colJ[i] = Jm[(size_t)i * n + j];
    CHECKF(jd_rel_err(col, colJ, (size_t)m) <= 1e-12, "mix (%d, %d): jvp column %d", n, m, j);
    printf("mix n = %4d, m = %4d: dual vs tape %.1e, vs manual %.1e / %.1e\n", n, m, e, ed, et);
  }
  eng_dual.close(sd);
  eng_tape.close(st);
  for (int ie = 0; ie < eng_own_count; ++ie) {
    const eng_api *e = eng_all[ie];
    if (!twl_is_derivative_engine(e) || e == &eng_dual || e == &eng_tape) continue;
    eng_session *s = e->open(w, size, data);
    CHECKF(s && e->jacobian(s, x, y, J) == AD_OK, "mix (%d, %d) %s", n, m, e->name);
    if (s) CHECKF(jd_rel_err(J, Jm, nJ) <= 1e-12, "mix (%d, %d) %s vs manual %.1e", n, m, e->name,
                  jd_rel_err(J, Jm, nJ));
    e->close(s);
  }
done:
  free(x), free(data), free(y), free(ym), free(v), free(Jm), free(Jd), free(Jt), free(J), free(col), free(colJ);
}

int main(void) {
  const wl_info *w = wl_find("mix");
  check_enumeration(w);
  static const int shapes[][2] = {{1, 1}, {1, 64}, {64, 1}, {2, 32}, {32, 2}, {8, 8}, {4, 128}, {128, 4}, {256, 16}};
  for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; ++i) check_shape(w, shapes[i][0], shapes[i][1]);
  return test_report("test_wl_mix");
}
