/* det: determinant of an ell x ell matrix by expansion in minors, differentiated with respect to every entry.
 *
 * Definition: CppAD's det_by_minor speed test (CppAD speed/det_by_minor, det_of_minor.hpp; Bradley M. Bell), as
 * cmpad's det_by_minor and GradBench's `det` eval (github.com/gradbench/gradbench: evals/det/README.md,
 * cpp/gradbench/evals/det.hpp) use it. det(M) = sum_j (-1)^j M[0][j] det(S_j), S_j the minor without row 0 and
 * column j, recursively down to 1 x 1 minors; columns in increasing order, the first term taken as is (its
 * 0 + term is exact) and the next ones added or subtracted. Rows and columns are removed through the index lists
 * r and c (r[i]: the row after row i; r[ell]: the first row), without moving data, as in CppAD.
 * Inputs: A row-major, entries uniform in [0, 1) (GradBench: numpy's rand; here wl_rng). Size = ell; GradBench's
 * default sizes are ell = 5 .. 11. Nodes: T(ell) with T(1) = 0, T(m) = m T(m - 1) + 2 m - 1 (about e ell! for
 * large ell: 986408 at ell = 9, 1.1e8 at ell = 11). */
#ifdef WL_META

#include <math.h>
#include <stdlib.h>

enum { DET_MAX = 12 };
static int det_ell(int size) { return size < 1 ? 1 : size > DET_MAX ? DET_MAX : size; }
static int det_n_in(int size) { return det_ell(size) * det_ell(size); }
static int det_n_out(int size) { (void)size; return 1; }
static int det_zero(int size) { (void)size; return 0; }
static double det_nodes(int size) {
  double t = 0.0;
  for (int m = 2; m <= det_ell(size); ++m) t = m * t + 2.0 * m - 1.0;
  return t;
}
static void det_init(int size, uint64_t seed, double *x, double *data) {
  (void)data;
  wl_rng r = {seed};
  for (int i = 0; i < det_n_in(size); ++i) x[i] = wl_rng_uniform(&r, 0.0, 1.0);
}

static int det_popcount(unsigned v) {
  int n = 0;
  for (; v; v &= v - 1) ++n;
  return n;
}

/* Hand-written: the same expansion, but each distinct minor once. The minor on rows ell - |S| .. ell - 1 and the
 * column set S is the same wherever the recursion meets it, so its determinant D[S] is computed once, in the same
 * order of operations as the recursion (the value is bit-identical), for every S in increasing order; then the
 * adjoints run backwards over the same table: adj[full] = 1 and, for S with row k and its j-th column at
 * position p, g[k][j] += adj[S] (-1)^p D[S - j] and adj[S - j] += adj[S] (-1)^p A[k][j]. O(2^ell ell) work
 * instead of the recursion's O(ell!). Scratch from malloc; if it fails, f and g are NaN. */
static void det_manual(int size, const double *data, const double *A, double *f, double *g) {
  (void)data;
  const int n = det_ell(size);
  const unsigned full = (1u << n) - 1u;
  double *D = (double *)malloc(2 * ((size_t)full + 1) * sizeof(double));
  if (!D) {
    *f = NAN;
    for (int i = 0; i < n * n; ++i) g[i] = NAN;
    return;
  }
  double *adj = D + full + 1;
  for (unsigned S = 1; S <= full; ++S) {
    int sz = det_popcount(S), row = n - sz, p = 0;
    adj[S] = 0.0;
    if (sz == 1) {
      int j = 0;
      while (!(S >> j & 1u)) ++j;
      D[S] = A[row * n + j];
      continue;
    }
    double acc = 0.0;
    for (int j = 0; j < n; ++j) {
      if (!(S >> j & 1u)) continue;
      double term = A[row * n + j] * D[S & ~(1u << j)];
      acc = p == 0 ? term : (p & 1) ? acc - term : acc + term;
      ++p;
    }
    D[S] = acc;
  }
  *f = D[full];
  for (int i = 0; i < n * n; ++i) g[i] = 0.0;
  adj[full] = 1.0;
  for (unsigned S = full; S >= 1; --S) {
    int sz = det_popcount(S), row = n - sz, p = 0;
    double a = adj[S];
    for (int j = 0; j < n; ++j) {
      if (!(S >> j & 1u)) continue;
      if (sz == 1) {
        g[row * n + j] += a;
        break;
      }
      double sg = (p & 1) ? -a : a;
      g[row * n + j] += sg * D[S & ~(1u << j)];
      adj[S & ~(1u << j)] += sg * A[row * n + j];
      ++p;
    }
  }
  free(D);
}

const wl_info wl_info_det = {WL_det, "det", "determinant by expansion in minors (CppAD det_by_minor), ell x ell",
                             {3, 7}, 11, det_n_in, det_n_out, det_zero, det_zero, det_nodes, det_init, det_manual,
                             NULL, 0};

#else

/* Determinant of the m x m minor of the n x n matrix A whose rows and columns the lists r and cl describe
 * (CppAD's det_of_minor). The lists are changed during the call and restored before it returns. */
static ad_t det_of_minor(ad_ctx *c, const ad_t *A, int n, int m, int *r, int *cl) {
  const int R0 = r[n];
  int Cj = cl[n], Cj1 = n, sign = 1;
  if (m == 1) return A[R0 * n + Cj];
  ad_t detM = ad_const(c, 0.0);
  r[n] = r[R0]; /* remove row R0 from every sub-minor */
  for (int j = 0; j < m; ++j) {
    ad_t M0j = A[R0 * n + Cj];
    cl[Cj1] = cl[Cj]; /* remove column Cj */
    ad_t detS = det_of_minor(c, A, n, m - 1, r, cl);
    cl[Cj1] = Cj; /* and put it back */
    ad_t term = ad_mul_vv(c, M0j, detS);
    detM = j == 0 ? term : sign > 0 ? ad_add_vv(c, detM, term) : ad_sub_vv(c, detM, term);
    Cj1 = Cj;
    Cj = cl[Cj];
    sign = -sign;
  }
  r[n] = R0;
  return detM;
}

static void WL_FN(det)(ad_ctx *c, int size, const double *data, const ad_t *x, ad_t *y, ad_t *s) {
  (void)data, (void)s;
  enum { MAXN = 12 };
  int n = size < 1 ? 1 : size > MAXN ? MAXN : size, r[MAXN + 1], cl[MAXN + 1];
  for (int i = 0; i < n; ++i) r[i] = cl[i] = i + 1;
  r[n] = cl[n] = 0;
  y[0] = det_of_minor(c, x, n, n, r, cl);
}

#endif
