/* test_wl_defs: the benchmark problems against independent formulas of their published definitions.
 *  - gmm: the log-posterior written out with explicit precision matrices Q^T Q, Gaussian densities and the
 *    Wishart density (trace, log-determinants, multivariate gamma), as GradBench's naive validator does;
 *  - ode, ode_adapt: at n = 4 the solution is a polynomial of degree 4 in t, which RK4 and the 5th-order
 *    solution of RKF45 integrate exactly: value and gradient against the closed form;
 *  - det: value against Gaussian elimination, gradient against det(A) A^-T;
 *  - lse: against log(sum exp x) computed directly; llsq: against the formula with pow;
 *  - lstm: with every parameter 0 the loss is log(b + 2) times the fraction of 1 bits (ADBench's "+ 2");
 *  - ba: residuals against the projection with the rotation matrix I + sin(t) K + (1 - cos(t)) K^2;
 *  - the input generators, reproduced from their documentation with a separate SplitMix64;
 *  - ode_adapt's graph changes with its input (a whole number of RKF45 attempts, not always the same).
 */
#include "test_wl.h"

/* ---- evaluation through the engines ---- */

static double primal_value(const wl_info *w, int size, const double *data, const double *x) {
  double y[4] = {0};
  eng_session *s = eng_primal.open(w, size, data);
  CHECKF(s != NULL, "%s: primal session", w->name);
  if (s) twl_value(s, x, y);
  eng_primal.close(s);
  return y[0];
}

static void tape_gradient(const wl_info *w, int size, const double *data, const double *x, double *y, double *g) {
  eng_session *s = eng_tape.open(w, size, data);
  CHECKF(s != NULL, "%s: tape session", w->name);
  if (!s) return;
  ad_status st = eng_tape.jacobian(s, x, y, g);
  CHECKF(st == AD_OK, "%s: tape: %s", w->name, ad_status_str(st));
  eng_tape.close(s);
}

static double rel(double a, double b) { return fabs(a - b) / (fabs(b) > 0 ? fabs(b) : 1.0); }

/* ---- gmm ---- */

static void check_gmm(int size) {
  const wl_info *w = wl_find("gmm");
  int n_in = w->n_in(size), nd = w->n_data(size);
  double *x = (double *)calloc((size_t)n_in, 8), *data = (double *)calloc((size_t)nd, 8);
  w->init(size, 42, x, data);
  const int d = (int)data[0], k = (int)data[1], n = (int)data[2], icf = d * (d + 1) / 2;
  const double wm = data[3], gamma = data[4], *pts = data + 7, pi = 3.14159265358979323846;
  const double *alpha = x, *mu = x + k;
  double Q[8][8], P[8][8], lik = 0, prior = 0, amax = alpha[0], asum = 0;
  CHECKF(d <= 8, "gmm size %d: d = %d", size, d);
  for (int c = 1; c < k; ++c) amax = alpha[c] > amax ? alpha[c] : amax;
  for (int c = 0; c < k; ++c) asum += exp(alpha[c] - amax);
  double *dens = (double *)calloc((size_t)n, 8);
  for (int c = 0; c < k; ++c) {
    const double *q = x + k + k * d + c * icf, *l = q + d;
    memset(Q, 0, sizeof Q);
    for (int j = 0, li = 0; j < d; ++j) {
      Q[j][j] = exp(q[j]);
      for (int r = j + 1; r < d; ++r) Q[r][j] = l[li++];
    }
    double logdet = 0, trace = 0;
    for (int j = 0; j < d; ++j) logdet += 2 * q[j];
    for (int a = 0; a < d; ++a)
      for (int b = 0; b < d; ++b) {
        P[a][b] = 0;
        for (int r = 0; r < d; ++r) P[a][b] += Q[r][a] * Q[r][b];
      }
    for (int a = 0; a < d; ++a) trace += P[a][a];
    double phi = exp(alpha[c] - amax) / asum;
    for (int i = 0; i < n; ++i) {
      double quad = 0;
      for (int a = 0; a < d; ++a)
        for (int b = 0; b < d; ++b)
          quad += (pts[i * d + a] - mu[c * d + a]) * P[a][b] * (pts[i * d + b] - mu[c * d + b]);
      dens[i] += phi * exp(0.5 * logdet - 0.5 * d * log(2 * pi) - 0.5 * quad);
    }
    /* Wishart(P | V = I / gamma^2, n' = d + m + 1) */
    double np = d + wm + 1, lgp = 0.25 * d * (d - 1) * log(pi);
    for (int j = 1; j <= d; ++j) lgp += lgamma(0.5 * np + 0.5 * (1 - j));
    prior += 0.5 * (np - d - 1) * logdet - 0.5 * gamma * gamma * trace - 0.5 * np * d * log(2.0) -
             0.5 * np * (-2.0 * d * log(gamma)) - lgp;
  }
  for (int i = 0; i < n; ++i) lik += log(dens[i]);
  double f = primal_value(w, size, data, x), ref = lik + prior;
  CHECKF(rel(f, ref) <= 1e-11, "gmm size %d: %.17g, the written-out log-posterior %.17g (%.1e)", size, f, ref,
         rel(f, ref));
  printf("gmm size %d: log-posterior %.12g, written out %.12g\n", size, f, ref);
  free(x), free(data), free(dens);
}

/* ---- ode, ode_adapt: the closed form at n = 4 ---- */

static void ode_closed_form(const double *x, const double *y0, double *f, double *g) {
  /* y_3(t) = sum_{k=0..3} y0_{3-k} (x_{4-k} ... x_3) t^k / k!  +  (x_0 x_1 x_2 x_3) t^4 / 4!, at t = 2 */
  static const double fact[5] = {1, 1, 2, 6, 24};
  double t = 2.0;
  *f = 0;
  for (int i = 0; i < 8; ++i) g[i] = 0;
  for (int k = 0; k <= 4; ++k) {
    int lo = 4 - k; /* product x_lo .. x_3 */
    double prod = 1;
    for (int j = lo; j < 4; ++j) prod *= x[j];
    double tk = pow(t, k) / fact[k], coef = k < 4 ? y0[3 - k] : 1.0, term = coef * prod * tk;
    *f += term;
    if (k < 4) g[4 + 3 - k] += prod * tk;
    for (int j = lo; j < 4; ++j) {
      double others = coef * tk;
      for (int q = lo; q < 4; ++q)
        if (q != j) others *= x[q];
      g[j] += others;
    }
  }
}

static void check_ode(const char *name, int size) {
  const wl_info *w = wl_find(name);
  int n_in = w->n_in(size);
  double x[8], data[2], y, g[8], fr, gr[8];
  CHECKF(n_in == 8, "%s size %d: n_in %d, expected 8 (n = 4)", name, size, n_in);
  if (n_in != 8) return;
  w->init(size, 42, x, data);
  tape_gradient(w, size, data, x, &y, g);
  ode_closed_form(x, x + 4, &fr, gr);
  CHECKF(rel(y, fr) <= 1e-13, "%s: y_3(2) = %.17g, closed form %.17g", name, y, fr);
  CHECKF(jd_rel_err(g, gr, 8) <= 1e-13, "%s: gradient vs closed form %.1e", name, jd_rel_err(g, gr, 8));
  printf("%s n = 4: y_3(2) = %.15g (closed form %.15g), gradient vs closed form %.1e\n", name, y, fr,
         jd_rel_err(g, gr, 8));
}

/* ode_adapt's recording is a whole number of attempted steps, and how many changes with the input. */
static void check_ode_adapt_dynamic(void) {
  const wl_info *w = wl_find("ode_adapt");
  const int size = 8, n = 8;
  double x[16], data[2], y;
  unsigned long long counts[12];
  int distinct = 0;
  for (int seed = 1; seed <= 12; ++seed) {
    w->init(size, (uint64_t)seed, x, data);
    eng_session *s = eng_tape_op.open(w, size, data); /* one statement per op: statements count the ops */
    CHECKF(s && eng_tape_op.value(s, x, &y) == AD_OK, "ode_adapt: recording");
    if (!s) continue;
    counts[seed - 1] = eng_tape_op.stats(s).statements;
    eng_tape_op.close(s);
    CHECKF(counts[seed - 1] % (57 * n - 7) == 0, "ode_adapt: %llu nodes, not whole steps of %d", counts[seed - 1],
           57 * n - 7);
    int seen = 0;
    for (int i = 0; i + 1 < seed; ++i) seen |= counts[i] == counts[seed - 1];
    distinct += !seen;
  }
  CHECKF(distinct >= 2, "ode_adapt: every input took the same steps (%d distinct counts)", distinct);
  printf("ode_adapt n = 8: %d distinct step counts over 12 inputs\n", distinct);
}

/* ---- det ---- */

static void check_det(int size) {
  const wl_info *w = wl_find("det");
  int n = size, nn = n * n;
  double A[144], M[144], inv[144], g[144], gr[144], y;
  w->init(size, 42, A, NULL);
  /* Gauss-Jordan with partial pivoting on [A | I]: det and inverse */
  double aug[12][24], det = 1;
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < 2 * n; ++j) aug[i][j] = j < n ? A[i * n + j] : (j - n == i);
  for (int c = 0; c < n; ++c) {
    int p = c;
    for (int r = c + 1; r < n; ++r)
      if (fabs(aug[r][c]) > fabs(aug[p][c])) p = r;
    if (p != c) {
      for (int j = 0; j < 2 * n; ++j) {
        double t = aug[c][j];
        aug[c][j] = aug[p][j];
        aug[p][j] = t;
      }
      det = -det;
    }
    double piv = aug[c][c];
    det *= piv;
    for (int j = 0; j < 2 * n; ++j) aug[c][j] /= piv;
    for (int r = 0; r < n; ++r)
      if (r != c) {
        double f = aug[r][c];
        for (int j = 0; j < 2 * n; ++j) aug[r][j] -= f * aug[c][j];
      }
  }
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) inv[i * n + j] = aug[i][n + j];
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) gr[i * n + j] = det * inv[j * n + i]; /* cofactors: det(A) A^-T */
  memcpy(M, A, (size_t)nn * 8);
  tape_gradient(w, size, NULL, M, &y, g);
  CHECKF(rel(y, det) <= 1e-12, "det %d: %.17g, elimination %.17g", n, y, det);
  CHECKF(jd_rel_err(g, gr, (size_t)nn) <= 1e-10, "det %d: gradient vs det A^-T %.1e", n,
         jd_rel_err(g, gr, (size_t)nn));
  printf("det %d: %.15g (elimination %.15g), gradient vs det A^-T %.1e\n", n, y, det, jd_rel_err(g, gr, (size_t)nn));
}

/* ---- lse, llsq ---- */

static void check_lse(int n) {
  const wl_info *w = wl_find("lse");
  double *x = (double *)calloc((size_t)n, 8), s = 0;
  w->init(n, 42, x, NULL);
  for (int i = 0; i < n; ++i) s += exp(x[i]);
  double f = primal_value(w, n, NULL, x);
  CHECKF(rel(f, log(s)) <= 1e-14, "lse %d: %.17g, log(sum exp) %.17g", n, f, log(s));
  free(x);
}

static void check_llsq(int n) {
  const wl_info *w = wl_find("llsq");
  int m = w->n_in(n);
  double *x = (double *)calloc((size_t)m, 8), sum = 0;
  w->init(n, 42, x, NULL);
  for (int i = 0; i < n; ++i) {
    double t = -1 + i * 2.0 / (n - 1), r = t > 0 ? 1 : t < 0 ? -1 : 0;
    for (int j = 0; j < m; ++j) r -= x[j] * pow(t, j);
    sum += r * r;
  }
  double f = primal_value(w, n, NULL, x);
  CHECKF(rel(f, sum / 2) <= 1e-12, "llsq %d: %.17g, with pow %.17g", n, f, sum / 2);
  free(x);
}

/* ---- lstm: all parameters 0 ---- */

static void check_lstm(int size) {
  const wl_info *w = wl_find("lstm");
  int n = w->n_in(size), nd = w->n_data(size);
  double *x = (double *)calloc((size_t)n, 8), *data = (double *)calloc((size_t)nd, 8);
  w->init(size, 42, x, data);
  const int l = (int)data[0], c = (int)data[1], b = (int)data[2];
  const double *seq = data + 3 + 2 * l * b;
  for (int i = 0; i < n; ++i) x[i] = 0.0;
  double ones = 0;
  for (int t = 1; t < c; ++t)
    for (int i = 0; i < b; ++i) ones += seq[t * b + i];
  /* every prediction is 0, so ynorm = -log(b e^0 + 2) for every bit */
  double ref = log(b + 2.0) * ones / (b * (c - 1.0)), f = primal_value(w, size, data, x);
  CHECKF(rel(f, ref) <= 1e-14, "lstm size %d: %.17g, closed form %.17g", size, f, ref);
  CHECKF(ones > 0, "lstm size %d: the text has no 1 bit", size);
  free(x), free(data);
}

/* ---- ba: rotation matrix form ---- */

static void check_ba(int size, int zero_rotation) {
  const wl_info *w = wl_find("ba");
  double x[15], data[2], y[3], J[45], K[3][3], R[3][3], Y[3], Xc[3];
  w->init(size, 42, x, data);
  if (zero_rotation) x[0] = x[1] = x[2] = 0.0;
  double th = sqrt(x[0] * x[0] + x[1] * x[1] + x[2] * x[2]), nv[3] = {0, 0, 0};
  if (th > 0)
    for (int i = 0; i < 3; ++i) nv[i] = x[i] / th;
  double Kt[3][3] = {{0, -nv[2], nv[1]}, {nv[2], 0, -nv[0]}, {-nv[1], nv[0], 0}};
  memcpy(K, Kt, sizeof K);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) {
      double K2 = 0;
      for (int q = 0; q < 3; ++q) K2 += K[i][q] * K[q][j];
      R[i][j] = (i == j) + sin(th) * K[i][j] + (1 - cos(th)) * K2;
    }
  for (int i = 0; i < 3; ++i) Y[i] = x[11 + i] - x[3 + i];
  for (int i = 0; i < 3; ++i) Xc[i] = R[i][0] * Y[0] + R[i][1] * Y[1] + R[i][2] * Y[2];
  double p[2] = {Xc[0] / Xc[2], Xc[1] / Xc[2]}, r2 = p[0] * p[0] + p[1] * p[1];
  double L = 1 + x[9] * r2 + x[10] * r2 * r2, ref[3];
  for (int i = 0; i < 2; ++i) ref[i] = x[14] * (p[i] * L * x[6] + x[7 + i] - data[i]);
  ref[2] = 1 - x[14] * x[14];
  eng_session *s = eng_tape.open(w, size, data);
  CHECKF(s && eng_tape.jacobian(s, x, y, J) == AD_OK, "ba: tape");
  eng_tape.close(s);
  CHECKF(jd_rel_err(y, ref, 3) <= 1e-12, "ba observation %d%s: residuals vs rotation matrix %.1e", size,
         zero_rotation ? " (r = 0)" : "", jd_rel_err(y, ref, 3));
}

/* ---- the generators, from their documentation ---- */

static uint64_t sm_state;
static uint64_t sm_next(void) {
  uint64_t z = (sm_state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
static double sm_unit(void) { return (double)(sm_next() >> 11) * 0x1.0p-53; }
static double sm_normal(void) {
  double s = 0;
  for (int i = 0; i < 12; ++i) s += sm_unit();
  return s - 6.0;
}

static void check_generators(void) {
  /* gmm size 1: points (normal), mu (uniform [0, 1)), icf per component (normal), alpha (normal) */
  const wl_info *w = wl_find("gmm");
  double x[64], data[64];
  w->init(1, 7, x, data);
  int d = (int)data[0], k = (int)data[1], n = (int)data[2], icf = d * (d + 1) / 2, same = 1;
  sm_state = 7;
  for (int i = 0; i < n * d; ++i) same &= data[7 + i] == sm_normal();
  for (int i = 0; i < k * d; ++i) same &= x[k + i] == sm_unit();
  for (int i = 0; i < k * icf; ++i) same &= x[k + k * d + i] == sm_normal();
  for (int i = 0; i < k; ++i) same &= x[i] == sm_normal();
  CHECKF(same, "gmm: inputs differ from the documented generator");
  /* ba observation 5: draws 64 .. 79 of the stream */
  w = wl_find("ba");
  w->init(5, 7, x, data);
  sm_state = 7;
  for (int i = 0; i < 64; ++i) sm_next();
  same = x[0] == -0.5 + sm_unit();
  same &= x[1] == -0.5 + sm_unit();
  CHECKF(same, "ba: observation 5 does not start at draw 64");
  /* lstm size 1: parameters uniform, then state uniform, then one bit per draw (its top bit) */
  w = wl_find("lstm");
  int nin = w->n_in(1);
  double *lx = (double *)calloc((size_t)nin, 8), *ld = (double *)calloc((size_t)w->n_data(1), 8);
  w->init(1, 7, lx, ld);
  int l = (int)ld[0], c = (int)ld[1], b = (int)ld[2];
  sm_state = 7;
  same = 1;
  for (int i = 0; i < nin; ++i) same &= lx[i] == sm_unit();
  for (int i = 0; i < 2 * l * b; ++i) same &= ld[3 + i] == sm_unit();
  for (int i = 0; i < c * b; ++i) same &= ld[3 + 2 * l * b + i] == (double)(sm_next() >> 63);
  CHECKF(same, "lstm: inputs differ from the documented generator");
  free(lx), free(ld);
}

int main(void) {
  check_gmm(1);
  check_gmm(2);
  check_ode("ode", 1);
  check_ode("ode_adapt", 4);
  check_ode_adapt_dynamic();
  for (int n = 2; n <= 9; ++n) check_det(n);
  check_lse(5);
  check_lse(200);
  check_llsq(4);
  check_llsq(65);
  check_lstm(1);
  check_lstm(2);
  for (int i = 1; i <= 8; ++i) check_ba(i, 0);
  check_ba(3, 1);
  check_generators();
  return test_report("test_wl_defs");
}
