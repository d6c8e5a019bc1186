/* judge.c: relative errors, bit-identity, finite differences and tolerances (judge.h). */
#include "judge.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *const jd_check_name[JD_CHECK_COUNT] = {
#define JD__X(id, name, tol) name,
    JD_CHECK_LIST(JD__X)
#undef JD__X
};

static const double jd_check_tol[JD_CHECK_COUNT] = {
#define JD__X(id, name, tol) tol,
    JD_CHECK_LIST(JD__X)
#undef JD__X
};

double jd_tol(const eng_api *e, jd_check check) {
  if (check < 0 || check >= JD_CHECK_COUNT) return 0.0;
  double t = jd_check_tol[check];
  return e && e->tol > t ? e->tol : t; /* a peer's rounding loosens a check, never tightens one (fd stays 1e-6) */
}

static jd_diff compare(const double *a, const double *b, size_t n, int nan_agrees) {
  jd_diff d = {0.0, 0};
  double num = 0.0, den = 0.0;
  int nan_seen = 0;
  for (size_t i = 0; i < n; ++i) {
    int na = isnan(a[i]), nb = isnan(b[i]);
    if (na || nb) {
      if (nan_agrees && na && nb) continue;
      if (!nan_seen) nan_seen = 1, d.worst = i;
      continue;
    }
    if (isinf(b[i]) && a[i] == b[i]) continue;
    double diff = fabs(a[i] - b[i]); /* Inf where one side is infinite */
    if (diff > num) {
      num = diff;
      if (!nan_seen) d.worst = i;
    }
    if (isfinite(b[i]) && fabs(b[i]) > den) den = fabs(b[i]);
  }
  d.err = nan_seen ? NAN : den > 0 ? num / den : num;
  return d;
}

jd_diff jd_compare(const double *a, const double *b, size_t n) { return compare(a, b, n, 0); }

jd_diff jd_compare_nan(const double *a, const double *b, size_t n) { return compare(a, b, n, 1); }

double jd_rel_err(const double *a, const double *b, size_t n) { return compare(a, b, n, 0).err; }

int jd_same_bits(const double *a, const double *b, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (memcmp(&a[i], &b[i], sizeof(double)) != 0 && !(isnan(a[i]) && isnan(b[i]))) return 0;
  return 1;
}

double jd_ridders(const double *d, double *err) {
  double t[JD_FD_LEVELS][JD_FD_LEVELS], best = d[0];
  *err = INFINITY;
  for (int i = 0; i < JD_FD_LEVELS; ++i) {
    t[0][i] = d[i];
    double fac = 4.0;
    for (int j = 1; j <= i; ++j, fac *= 4.0) {
      t[j][i] = (t[j - 1][i] * fac - t[j - 1][i - 1]) / (fac - 1.0);
      double e1 = fabs(t[j][i] - t[j - 1][i]), e2 = fabs(t[j][i] - t[j - 1][i - 1]);
      double e = e1 > e2 ? e1 : e2;
      if (e <= *err) {
        *err = e;
        best = t[j][i];
      }
    }
    if (i > 0 && fabs(t[i][i] - t[i - 1][i - 1]) >= 2.0 * *err) break; /* higher orders only got worse */
  }
  return best;
}

ad_status jd_fd_jacobian(const wl_info *w, int size, const double *data, double *x, const int *idx, int k,
                         double *Jfd, int *kinks) {
  int m = w->n_out(size), bad = 0;
  double *yp = (double *)malloc((size_t)m * 2 * sizeof *yp);
  double *tab = (double *)malloc((size_t)m * JD_FD_LEVELS * sizeof *tab);
  eng_session *s = yp && tab ? eng_primal.open(w, size, data) : NULL;
  ad_status st = s ? AD_OK : AD_ENOMEM;
  for (int c = 0; st == AD_OK && c < k; ++c) {
    int j = idx[c];
    double xj = x[j], h0 = 1e-3 * (fabs(xj) > 1 ? fabs(xj) : 1);
    for (int q = 0; st == AD_OK && q < JD_FD_LEVELS; ++q) { /* central differences at h0, h0/2, h0/4, ... */
      double h = ldexp(h0, -q);
      x[j] = xj + h;
      st = eng_primal.value(s, x, yp);
      x[j] = xj - h;
      if (st == AD_OK) st = eng_primal.value(s, x, yp + m);
      for (int i = 0; i < m; ++i) tab[(size_t)i * JD_FD_LEVELS + q] = (yp[i] - yp[m + i]) / (2 * h);
    }
    x[j] = xj;
    for (int i = 0; st == AD_OK && i < m; ++i) {
      double err, d = jd_ridders(tab + (size_t)i * JD_FD_LEVELS, &err);
      int smooth = err <= 1e-7 * (fabs(d) > 1 ? fabs(d) : 1); /* else a kink or branch within reach */
      Jfd[(size_t)i * k + c] = smooth ? d : NAN;
      bad += !smooth;
    }
  }
  eng_primal.close(s);
  free(yp), free(tab);
  if (kinks) *kinks = bad;
  return st;
}
