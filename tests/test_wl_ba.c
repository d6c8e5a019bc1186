/* test_wl_ba: the sparse Jacobian of a whole bundle adjustment problem, assembled observation by observation from
 * the `ba` workload's 3 x 15 blocks, as ADBench and GradBench compute it.
 *
 * A problem of 3 cameras, 5 points and 12 observations (observation i sees camera i mod 3 and point i mod 5, as
 * ADBench's replicated data do) has 2 p reprojection residuals and p weight residuals, 11 * 3 + 3 * 5 + p columns.
 * For every derivative engine (dual: 15 forward passes per observation; tape, graph, replay: one recording and 3
 * reverse sweeps) the blocks go into ADBench's compressed-row layout (per reprojection row 11 camera, 3 point and
 * 1 weight entry; per weight row 1 entry), and that matrix is compared with
 *   - the hand-written blocks assembled the same way (1e-12);
 *   - central differences of the whole residual vector in every one of the 60 columns (1e-6), which also must
 *     vanish outside the sparsity pattern;
 * and the weight rows must hold exactly -2 w. The same with camera 0's rotation exactly 0 (Rodrigues' other
 * branch).
 */
#include "test_wl.h"

enum { NC = 3, NP = 5, NO = 12, NCOL = 11 * NC + 3 * NP + NO, NROW = 3 * NO, NNZ = 15 * 2 * NO + NO };

typedef struct problem {
  double cams[11 * NC], X[3 * NP], w[NO], feats[2 * NO];
} problem;

/* Cameras, points, weights and features taken from the workload's own observations 1 .. (deterministic). */
static void make_problem(problem *pb, int zero_rotation) {
  const wl_info *w = wl_find("ba");
  double x[15], d[2];
  for (int i = 0; i < NO; ++i) {
    w->init(i + 1, 42, x, d);
    if (i < NC) memcpy(pb->cams + 11 * i, x, 11 * sizeof(double));
    if (i < NP) memcpy(pb->X + 3 * i, x + 11, 3 * sizeof(double));
    pb->w[i] = x[14];
    pb->feats[2 * i] = d[0];
    pb->feats[2 * i + 1] = d[1];
  }
  if (zero_rotation) pb->cams[0] = pb->cams[1] = pb->cams[2] = 0.0;
}

/* The 15 inputs of observation i, from the problem's parameter vector (cams, X, w). */
static void gather(const double *params, int i, double *x) {
  memcpy(x, params + 11 * (i % NC), 11 * sizeof(double));
  memcpy(x + 11, params + 11 * NC + 3 * (i % NP), 3 * sizeof(double));
  x[14] = params[11 * NC + 3 * NP + i];
}

static void params_of(const problem *pb, double *params) {
  memcpy(params, pb->cams, sizeof pb->cams);
  memcpy(params + 11 * NC, pb->X, sizeof pb->X);
  memcpy(params + 11 * NC + 3 * NP, pb->w, sizeof pb->w);
}

/* The whole residual vector (2 p reprojection residuals, then p weight residuals) through the primal engine. */
static void residuals(const problem *pb, const double *params, double *F) {
  const wl_info *w = wl_find("ba");
  double feat[2], x[15], y[3];
  eng_session *s = eng_primal.open(w, 1, feat);
  CHECKF(s != NULL, "ba: primal session");
  if (!s) return;
  for (int i = 0; i < NO; ++i) {
    gather(params, i, x);
    feat[0] = pb->feats[2 * i], feat[1] = pb->feats[2 * i + 1];
    twl_value(s, x, y);
    F[2 * i] = y[0], F[2 * i + 1] = y[1], F[2 * NO + i] = y[2];
  }
  eng_primal.close(s);
}

/* The sparse Jacobian in ADBench's compressed-row layout, from engine e's blocks (NULL: the hand-written ones). */
static int assemble(const eng_api *e, const problem *pb, int *rows, int *cols, double *vals) {
  const wl_info *w = wl_find("ba");
  double params[NCOL], feat[2], x[15], y[3], J[45];
  eng_session *s = e ? e->open(w, 1, feat) : NULL;
  if (e && !s) return 0;
  params_of(pb, params);
  int nnz = 0, r = 0;
  rows[0] = 0;
  for (int i = 0; i < NO; ++i) {
    gather(params, i, x);
    feat[0] = pb->feats[2 * i], feat[1] = pb->feats[2 * i + 1];
    if (e) {
      ad_status st = e->jacobian(s, x, y, J);
      CHECKF(st == AD_OK, "ba %s observation %d: %s", e->name, i, ad_status_str(st));
    } else {
      w->manual_jacobian(1, feat, x, y, J);
    }
    for (int q = 0; q < 14; ++q)
      CHECKF(J[2 * 15 + q] == 0.0, "ba %s: weight residual depends on input %d", e ? e->name : "manual", q);
    for (int row = 0; row < 2; ++row, ++r) {
      for (int q = 0; q < 11; ++q) cols[nnz] = 11 * (i % NC) + q, vals[nnz++] = J[row * 15 + q];
      for (int q = 0; q < 3; ++q) cols[nnz] = 11 * NC + 3 * (i % NP) + q, vals[nnz++] = J[row * 15 + 11 + q];
      cols[nnz] = 11 * NC + 3 * NP + i, vals[nnz++] = J[row * 15 + 14];
      rows[r + 1] = nnz;
    }
  }
  for (int i = 0; i < NO; ++i, ++r) { /* the weight rows, after all reprojection rows */
    gather(params, i, x);
    feat[0] = pb->feats[2 * i], feat[1] = pb->feats[2 * i + 1];
    if (e) e->jacobian(s, x, y, J);
    else w->manual_jacobian(1, feat, x, y, J);
    cols[nnz] = 11 * NC + 3 * NP + i, vals[nnz++] = J[2 * 15 + 14];
    CHECKF(J[2 * 15 + 14] == -2.0 * x[14], "ba: d(1 - w^2)/dw = %.17g, w = %.17g", J[2 * 15 + 14], x[14]);
    rows[r + 1] = nnz;
  }
  if (e) e->close(s);
  return nnz;
}

static void densify(const int *rows, const int *cols, const double *vals, double *D) {
  memset(D, 0, sizeof(double) * NROW * NCOL);
  for (int r = 0; r < NROW; ++r)
    for (int k = rows[r]; k < rows[r + 1]; ++k) D[r * NCOL + cols[k]] += vals[k];
}

static void check_problem(int zero_rotation) {
  static int rows[NROW + 1], rows_m[NROW + 1], cols[NNZ], cols_m[NNZ];
  static double vals[NNZ], vals_m[NNZ], D[NROW * NCOL], Dfd[NROW * NCOL];
  problem pb;
  make_problem(&pb, zero_rotation);
  const char *what = zero_rotation ? " (camera 0 with r = 0)" : "";

  /* central differences of the whole residual vector, every column */
  double params[NCOL], Fp[NROW], Fm[NROW];
  params_of(&pb, params);
  for (int j = 0; j < NCOL; ++j) {
    double p0 = params[j], h = 1e-4 * (fabs(p0) > 1 ? fabs(p0) : 1.0), D1[NROW];
    for (int q = 0; q < 2; ++q, h *= 0.5) { /* one Richardson step */
      params[j] = p0 + h, residuals(&pb, params, Fp);
      params[j] = p0 - h, residuals(&pb, params, Fm);
      for (int r = 0; r < NROW; ++r) {
        double dq = (Fp[r] - Fm[r]) / (2 * h);
        if (q == 0) D1[r] = dq;
        else Dfd[r * NCOL + j] = (4 * dq - D1[r]) / 3;
      }
    }
    params[j] = p0;
  }

  int nnz_m = assemble(NULL, &pb, rows_m, cols_m, vals_m);
  CHECKF(nnz_m == NNZ, "ba: %d nonzeros, ADBench's layout has %d", nnz_m, NNZ);
  densify(rows_m, cols_m, vals_m, D);
  double efd = jd_rel_err(D, Dfd, (size_t)NROW * NCOL);
  CHECKF(efd <= 1e-6, "ba%s: hand-written sparse Jacobian vs differences %.1e", what, efd);
  printf("ba%s: %d x %d Jacobian, %d nonzeros; manual vs differences %.1e\n", what, NROW, NCOL, nnz_m, efd);

  for (int ie = 0; ie < eng_own_count; ++ie) {
    const eng_api *e = eng_all[ie];
    if (!twl_is_derivative_engine(e)) continue;
    int nnz = assemble(e, &pb, rows, cols, vals);
    CHECKF(nnz == NNZ, "ba %s: %d nonzeros", e->name, nnz);
    CHECKF(!memcmp(rows, rows_m, sizeof rows) && !memcmp(cols, cols_m, sizeof cols), "ba %s: sparsity differs",
           e->name);
    double err = jd_rel_err(vals, vals_m, NNZ);
    CHECKF(err <= 1e-12, "ba%s %s: sparse Jacobian vs manual %.1e", what, e->name, err);
    densify(rows, cols, vals, D);
    double e2 = jd_rel_err(D, Dfd, (size_t)NROW * NCOL);
    CHECKF(e2 <= 1e-6, "ba%s %s: vs differences %.1e", what, e->name, e2);
    printf("ba%s: %-7s vs manual %.1e, vs differences %.1e\n", what, e->name, err, e2);
  }
}

int main(void) {
  check_problem(0);
  check_problem(1);
  return test_report("test_wl_ba");
}
