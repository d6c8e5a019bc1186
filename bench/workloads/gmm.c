/* gmm: log-posterior of a Gaussian mixture model with a Wishart prior on its precision matrices.
 *
 * Definition: GradBench's `gmm` eval (github.com/gradbench/gradbench: evals/gmm/README.md, its reference
 * cpp/gradbench/evals/gmm.hpp and python/gradbench/gradbench/evals/gmm/run.py), adapted from "Objective GMM" of
 * ADBench (Srajer, Fitzgibbon, Zach 2018, section 4.1; github.com/microsoft/ADBench src/cpp/shared/gmm.h) with
 * GradBench's fix of ADBench's sign error on the prior. With d dimensions, k components, n points x_i:
 *
 *   f = -(n d / 2) log(2 pi) + sum_i lse_c( alpha_c + sum_j q_cj - 1/2 |Q_c (x_i - mu_c)|^2 ) - n lse(alpha)
 *       - sum_c ( 1/2 gamma^2 (sum_j exp(q_cj)^2 + sum l_c^2) - m sum_j q_cj ) + k C
 *   C = n' d (log gamma - 1/2 log 2) - log Gamma_d(n' / 2),   n' = d + m + 1,   lse(v) = log sum exp(v)
 *
 * Q_c is lower triangular with diagonal exp(q_c) and strictly lower part l_c stored column by column
 * (entries (1,0), (2,0), ..., (d-1,0), (2,1), ...); the precision matrix is Q_c^T Q_c. lse subtracts the
 * largest term first, chosen by comparison (ad_lt_vv), as ADBench's arr_max. Wishart parameters gamma = 1, m = 0.
 * Gradient with respect to all parameters, in ADBench's order (the inputs):
 *   alpha (k), mu (k x d), then per component its inverse-covariance factor (q_c (d), l_c (d (d - 1) / 2)).
 *
 * Inputs (GradBench's generator, with adlab's random numbers): x_i, q, l, alpha standard normal, mu uniform in
 * [0, 1). Normal deviates are Irwin-Hall sums (12 uniforms of wl_rng minus 6), so they are reproducible bit for
 * bit without a math library; drawn in the order points, mu, q and l per component, alpha.
 * Sizes: size s is row s of the table below: (d, k, n). Rows 1-2 are small cases for checks (adlab's own); rows
 * 3-27 are GradBench's default grid d in {2, 10, 20, 32, 64} x k in {5, 10, 25, 50, 100} with n = 1000 points,
 * ordered by node count. Data: d, k, n, m, gamma, the two constants, then the points (row-major, n x d).
 * Nodes: exact, see gmm_nodes. */
#ifdef WL_META

#include <math.h>
#include <stdlib.h>

enum { GMM_HDR = 7 };
static const int gmm_dims[][3] = {
    {2, 3, 10},     {3, 5, 50},      {2, 5, 1000},    {2, 10, 1000},   {2, 25, 1000},   {10, 5, 1000},
    {2, 50, 1000},  {10, 10, 1000},  {2, 100, 1000},  {20, 5, 1000},   {10, 25, 1000},  {20, 10, 1000},
    {32, 5, 1000},  {10, 50, 1000},  {32, 10, 1000},  {20, 25, 1000},  {10, 100, 1000}, {64, 5, 1000},
    {20, 50, 1000}, {32, 25, 1000},  {64, 10, 1000},  {20, 100, 1000}, {32, 50, 1000},  {64, 25, 1000},
    {32, 100, 1000}, {64, 50, 1000}, {64, 100, 1000}};
enum { GMM_ROWS = (int)(sizeof gmm_dims / sizeof gmm_dims[0]) };

static const int *gmm_row(int size) { return gmm_dims[(size < 1 ? 1 : size > GMM_ROWS ? GMM_ROWS : size) - 1]; }
static int gmm_n_in(int size) {
  const int *r = gmm_row(size);
  int d = r[0], k = r[1];
  return k + k * d + k * (d * (d + 1) / 2);
}
static int gmm_n_out(int size) { (void)size; return 1; }
static int gmm_n_data(int size) { return GMM_HDR + gmm_row(size)[2] * gmm_row(size)[0]; }
static int gmm_n_scratch(int size) {
  const int *r = gmm_row(size);
  return r[1] * r[0] + 2 * r[1] + 2 * r[0];
}
static double gmm_nodes(int size) {
  const int *r = gmm_row(size);
  double d = r[0], k = r[1], n = r[2], L = d * (d - 1) / 2;
  double pre = k * d + k * (d - 1);                    /* exp(q), sum of q */
  double point = k * (d * d + 3 * d + 2) + 3 * k + 1; /* k main terms and their lse */
  double prior = k * (2 * (d + L) - 1 + 3) + (k - 1) + 1;
  return pre + n * point + (n - 1) + (3 * k + 1) + 3 + prior + 1;
}

/* A standard normal deviate (Irwin-Hall: 12 uniforms minus 6): exact arithmetic, reproducible everywhere. */
static double gmm_normal(wl_rng *r) {
  double s = 0.0;
  for (int i = 0; i < 12; ++i) s += wl_rng_uniform(r, 0.0, 1.0);
  return s - 6.0;
}

/* log of the multivariate gamma function Gamma_p(a). */
static double gmm_log_gamma_p(double a, int p) {
  double r = 0.25 * p * (p - 1) * log(3.14159265358979323846);
  for (int j = 1; j <= p; ++j) r += lgamma(a + 0.5 * (1 - j));
  return r;
}

static void gmm_init(int size, uint64_t seed, double *x, double *data) {
  const int *r = gmm_row(size);
  int d = r[0], k = r[1], n = r[2], icf_sz = d * (d + 1) / 2, wm = 0;
  double gamma = 1.0;
  wl_rng g = {seed};
  data[0] = d, data[1] = k, data[2] = n, data[3] = wm, data[4] = gamma;
  data[5] = -n * d * 0.5 * log(2 * 3.14159265358979323846);
  int np = d + wm + 1;
  double C = np * d * (log(gamma) - 0.5 * log(2.0)) - gmm_log_gamma_p(0.5 * np, d);
  data[6] = k * C;
  for (int i = 0; i < n * d; ++i) data[GMM_HDR + i] = gmm_normal(&g);
  for (int i = 0; i < k * d; ++i) x[k + i] = wl_rng_uniform(&g, 0.0, 1.0);
  for (int i = 0; i < k * icf_sz; ++i) x[k + k * d + i] = gmm_normal(&g);
  for (int i = 0; i < k; ++i) x[i] = gmm_normal(&g);
}

/* Hand-written gradient: responsibilities r_ic = softmax_c(main_ic), then
 *   df/dalpha_c = sum_i r_ic - n softmax(alpha)_c
 *   df/dmu_c    = sum_i r_ic Q_c^T v_ic,                       v_ic = Q_c (x_i - mu_c)
 *   df/dq_cj    = sum_i r_ic (1 - v_icj (x_ij - mu_cj) e^q_cj) - gamma^2 e^(2 q_cj) + m
 *   df/dl_c(a,b)= -sum_i r_ic v_icb (x_ia - mu_ca) - gamma^2 l_c(a,b)         (row b > column a)
 * Scratch from malloc; if it fails, f and g are NaN. */
static void gmm_manual(int size, const double *data, const double *x, double *f, double *g) {
  const int d = (int)data[0], k = (int)data[1], n = (int)data[2], L = d * (d - 1) / 2, icf_sz = d + L;
  const double wm = data[3], gamma = data[4], *pts = data + GMM_HDR;
  const int nin = gmm_n_in(size);
  const double *alpha = x, *mu = x + k, *icf = x + k + k * d;
  double *galpha = g, *gmu = g + k, *gicf = g + k + k * d;
  size_t nscr = (size_t)k * d * 2 + 3 * (size_t)k + (size_t)d;
  double *scr = (double *)malloc(nscr * sizeof(double));
  if (!scr) {
    *f = NAN;
    for (int i = 0; i < nin; ++i) g[i] = NAN;
    return;
  }
  double *Qd = scr, *V = Qd + k * d, *sumq = V + k * d, *mt = sumq + k, *e = mt + k, *xc = e + k;
  for (int i = 0; i < nin; ++i) g[i] = 0.0;
  for (int c = 0; c < k; ++c) {
    const double *q = icf + c * icf_sz;
    double acc = q[0];
    for (int j = 0; j < d; ++j) {
      Qd[c * d + j] = ad_m_exp(q[j]);
      if (j) acc += q[j];
    }
    sumq[c] = acc;
  }
  double slse = 0.0;
  for (int i = 0; i < n; ++i) {
    const double *xi = pts + i * d;
    for (int c = 0; c < k; ++c) {
      const double *l = icf + c * icf_sz + d, *m = mu + c * d, *qd = Qd + c * d;
      double *v = V + c * d;
      for (int j = 0; j < d; ++j) v[j] = qd[j] * (xi[j] - m[j]);
      for (int a = 0, li = 0; a < d; ++a)
        for (int b = a + 1; b < d; ++b) v[b] += l[li++] * (xi[a] - m[a]);
      double sq = v[0] * v[0];
      for (int j = 1; j < d; ++j) sq += v[j] * v[j];
      mt[c] = (alpha[c] + sumq[c]) - sq * 0.5;
    }
    double mx = mt[0], se = 0.0;
    for (int c = 1; c < k; ++c)
      if (mx < mt[c]) mx = mt[c];
    for (int c = 0; c < k; ++c) se += (e[c] = ad_m_exp(mt[c] - mx));
    double lse = ad_m_log(se) + mx;
    slse = i == 0 ? lse : slse + lse;
    for (int c = 0; c < k; ++c) {
      const double rc = e[c] / se, *l = icf + c * icf_sz + d, *m = mu + c * d, *qd = Qd + c * d, *v = V + c * d;
      double *gq = gicf + c * icf_sz, *gl = gq + d, *gm = gmu + c * d;
      for (int j = 0; j < d; ++j) xc[j] = xi[j] - m[j];
      galpha[c] += rc;
      for (int j = 0; j < d; ++j) {
        gq[j] += rc * (1.0 - v[j] * xc[j] * qd[j]);
        gm[j] += rc * qd[j] * v[j];
      }
      for (int a = 0, li = 0; a < d; ++a)
        for (int b = a + 1; b < d; ++b, ++li) {
          gl[li] -= rc * v[b] * xc[a];
          gm[a] += rc * l[li] * v[b];
        }
    }
  }
  double mx = alpha[0], se = 0.0;
  for (int c = 1; c < k; ++c)
    if (mx < alpha[c]) mx = alpha[c];
  for (int c = 0; c < k; ++c) se += (e[c] = ad_m_exp(alpha[c] - mx));
  double lse_alpha = ad_m_log(se) + mx;
  for (int c = 0; c < k; ++c) galpha[c] -= n * (e[c] / se);
  double out = 0.0;
  for (int c = 0; c < k; ++c) {
    const double *qd = Qd + c * d, *l = icf + c * icf_sz + d;
    double *gq = gicf + c * icf_sz, *gl = gq + d;
    double fq = qd[0] * qd[0], fl = L ? l[0] * l[0] : 0.0;
    for (int j = 1; j < d; ++j) fq += qd[j] * qd[j];
    for (int j = 1; j < L; ++j) fl += l[j] * l[j];
    double term = (fq + fl) * (0.5 * gamma * gamma) - sumq[c] * wm;
    out = c == 0 ? term : out + term;
    for (int j = 0; j < d; ++j) gq[j] += wm - gamma * gamma * qd[j] * qd[j];
    for (int j = 0; j < L; ++j) gl[j] -= gamma * gamma * l[j];
  }
  *f = ((slse + data[5]) - lse_alpha * n) + (data[6] - out);
  free(scr);
}

const wl_info wl_info_gmm = {WL_gmm, "gmm", "GMM log-posterior with Wishart prior (GradBench gmm; size = grid row)",
                             {1, 3}, GMM_ROWS, gmm_n_in, gmm_n_out, gmm_n_data, gmm_n_scratch, gmm_nodes,
                             gmm_init, gmm_manual, NULL, 0};

#else

/* log sum exp(v[0..n)), the largest term chosen by comparison and subtracted first (ADBench's logsumexp). */
static ad_t gmm_lse(ad_ctx *c, const ad_t *v, int n) {
  ad_t mx = v[0];
  for (int i = 1; i < n; ++i)
    if (ad_lt_vv(c, mx, v[i])) mx = v[i];
  ad_t se = ad_exp(c, ad_sub_vv(c, v[0], mx));
  for (int i = 1; i < n; ++i) se = ad_add_vv(c, se, ad_exp(c, ad_sub_vv(c, v[i], mx)));
  return ad_add_vv(c, ad_log(c, se), mx);
}

static void WL_FN(gmm)(ad_ctx *c, int size, const double *data, const ad_t *x, ad_t *y, ad_t *s) {
  (void)size;
  const int d = (int)data[0], k = (int)data[1], n = (int)data[2], L = d * (d - 1) / 2, icf_sz = d + L;
  const double wm = data[3], gamma = data[4], *pts = data + 7;
  const ad_t *alpha = x, *mu = x + k, *icf = x + k + k * d;
  ad_t *Qd = s, *sumq = s + k * d, *xc = sumq + k, *v = xc + d, *mt = v + d;
  for (int ic = 0; ic < k; ++ic) {
    const ad_t *q = icf + ic * icf_sz;
    ad_t acc = q[0];
    for (int j = 0; j < d; ++j) {
      Qd[ic * d + j] = ad_exp(c, q[j]);
      if (j) acc = ad_add_vv(c, acc, q[j]);
    }
    sumq[ic] = acc;
  }
  ad_t slse = ad_const(c, 0.0);
  for (int i = 0; i < n; ++i) {
    const double *xi = pts + i * d;
    for (int ic = 0; ic < k; ++ic) {
      const ad_t *l = icf + ic * icf_sz + d, *m = mu + ic * d, *qd = Qd + ic * d;
      for (int j = 0; j < d; ++j) xc[j] = ad_sub_cv(c, xi[j], m[j]);
      for (int j = 0; j < d; ++j) v[j] = ad_mul_vv(c, qd[j], xc[j]);
      for (int a = 0, li = 0; a < d; ++a)
        for (int b = a + 1; b < d; ++b) v[b] = ad_add_vv(c, v[b], ad_mul_vv(c, l[li++], xc[a]));
      ad_t sq = ad_sqr(c, v[0]);
      for (int j = 1; j < d; ++j) sq = ad_add_vv(c, sq, ad_sqr(c, v[j]));
      mt[ic] = ad_sub_vv(c, ad_add_vv(c, alpha[ic], sumq[ic]), ad_mul_vc(c, sq, 0.5));
    }
    ad_t lse = gmm_lse(c, mt, k);
    slse = i == 0 ? lse : ad_add_vv(c, slse, lse);
  }
  ad_t lse_alpha = gmm_lse(c, alpha, k);
  ad_t err = ad_sub_vv(c, ad_add_vc(c, slse, data[5]), ad_mul_vc(c, lse_alpha, (double)n));
  ad_t out = ad_const(c, 0.0);
  for (int ic = 0; ic < k; ++ic) {
    const ad_t *qd = Qd + ic * d, *l = icf + ic * icf_sz + d;
    ad_t fq = ad_sqr(c, qd[0]);
    for (int j = 1; j < d; ++j) fq = ad_add_vv(c, fq, ad_sqr(c, qd[j]));
    ad_t frob = fq;
    if (L) {
      ad_t fl = ad_sqr(c, l[0]);
      for (int j = 1; j < L; ++j) fl = ad_add_vv(c, fl, ad_sqr(c, l[j]));
      frob = ad_add_vv(c, fq, fl);
    }
    ad_t term = ad_sub_vv(c, ad_mul_vc(c, frob, 0.5 * gamma * gamma), ad_mul_vc(c, sumq[ic], wm));
    out = ic == 0 ? term : ad_add_vv(c, out, term);
  }
  y[0] = ad_add_vv(c, err, ad_sub_cv(c, data[6], out));
}

#endif
