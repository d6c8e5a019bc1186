/* ba: bundle adjustment, the residuals of one observation and their 3 x 15 Jacobian block.
 *
 * Definition: ADBench's bundle adjustment objective (Srajer, Fitzgibbon, Zach 2018, section 4.2;
 * github.com/microsoft/ADBench src/cpp/shared/ba.h), unchanged in GradBench's `ba` eval
 * (github.com/gradbench/gradbench: evals/ba/README.md, cpp/gradbench/evals/ba.hpp). A camera has 11 parameters
 * (r: 3 angle-axis rotation, C: 3 centre, f: focal length, u0 v0: principal point, k1 k2: radial distortion),
 * a point 3, an observation a weight w and a measured feature (u, v):
 *
 *   Xcam = R(r) (X - C)                    Rodrigues: theta = |r|, n = r / theta,
 *                                           R Y = Y cos theta + (n x Y) sin theta + n (n . Y)(1 - cos theta);
 *                                           at r = 0 exactly, R Y = Y + r x Y (ADBench's branch)
 *   p = Xcam[0..1] / Xcam[2],   p <- p (1 + k1 |p|^2 + k2 |p|^4),   proj = f p + (u0, v0)
 *   reprojection error (2) = w (proj - (u, v)),   weight error (1) = 1 - w^2
 *
 * Each observation touches one camera, one point and its own weight, so the Jacobian of the whole problem
 * (2p + p rows, 11 n + 3 m + p columns) is made of one dense 3 x 15 block per observation; ADBench and GradBench
 * compute it observation by observation. This workload is that block: inputs cam (11), X (3), w (1); outputs the
 * two reprojection residuals and the weight error. The engines' jacobian() computes it (dual: 15 forward passes;
 * tape: one recording, 3 reverse sweeps), and manual_jacobian is the block differentiated by hand. A whole BA
 * problem is the loop over its observations (see tests/test_wl_ba.c, which assembles a sparse Jacobian this way).
 *
 * Deviation: ADBench's data files (one camera, point, weight and feature replicated over n cameras, m points and
 * p observations) cannot be downloaded here. Size i is instead observation i of a generated problem: its 16
 * numbers are draws 16 (i - 1) ... 16 i - 1 of wl_rng's stream for the seed (SplitMix64 jumps there directly):
 *   r in [-0.5, 0.5)^3, C in [-1, 1)^3, f in [400, 800), u0 v0 in [-10, 10), k1 k2 in [-0.1, 0.1),
 *   X = (U[-1, 1), U[-1, 1), U[3, 5)), w in [0.5, 1.5), feature in [-100, 100)^2 (data).
 * Nodes: 68 for every generated observation (42 on the r = 0 branch, which the generator never draws). */
#ifdef WL_META

enum { BA_NIN = 15, BA_NOUT = 3 };
static int ba_n_in(int size) { (void)size; return BA_NIN; }
static int ba_n_out(int size) { (void)size; return BA_NOUT; }
static int ba_n_data(int size) { (void)size; return 2; }
static int ba_n_scratch(int size) { (void)size; return 12; }
static double ba_nodes(int size) { (void)size; return 68; }
static void ba_init(int size, uint64_t seed, double *x, double *data) {
  wl_rng r = {seed + (uint64_t)16 * (uint64_t)(size < 1 ? 0 : size - 1) * 0x9E3779B97F4A7C15ull};
  for (int i = 0; i < 3; ++i) x[i] = wl_rng_uniform(&r, -0.5, 0.5);
  for (int i = 3; i < 6; ++i) x[i] = wl_rng_uniform(&r, -1.0, 1.0);
  x[6] = wl_rng_uniform(&r, 400.0, 800.0);
  x[7] = wl_rng_uniform(&r, -10.0, 10.0);
  x[8] = wl_rng_uniform(&r, -10.0, 10.0);
  x[9] = wl_rng_uniform(&r, -0.1, 0.1);
  x[10] = wl_rng_uniform(&r, -0.1, 0.1);
  x[11] = wl_rng_uniform(&r, -1.0, 1.0);
  x[12] = wl_rng_uniform(&r, -1.0, 1.0);
  x[13] = wl_rng_uniform(&r, 3.0, 5.0);
  x[14] = wl_rng_uniform(&r, 0.5, 1.5);
  data[0] = wl_rng_uniform(&r, -100.0, 100.0);
  data[1] = wl_rng_uniform(&r, -100.0, 100.0);
}

/* Hand-differentiated block, by the chain rule through the stages of the projection:
 *   d err / d (u0, v0) = w I,  d err / d f = w p',  d err / d (k1, k2) = w f p (|p|^2, |p|^4),  d err / d w =
 *   proj - feature;  d err / d p = w f (L I + 2 (k1 + 2 k2 |p|^2) p p^T),  d p / d Xcam = [I/z | -p/z],
 *   d Xcam / d X = R = -d Xcam / d C,  and d Xcam / d r from the Rodrigues formula (theta > 0):
 *     [-s Y + c (n x Y) + s (n . Y) n] n^T + [-s [Y]x + (1 - c)((n . Y) I + n Y^T)] (I - n n^T) / theta,
 *   with Y = X - C, c = cos theta, s = sin theta; at r = 0, d Xcam / d r = -[Y]x and R = I. */
static void ba_manual_jacobian(int size, const double *data, const double *x, double *yout, double *J) {
  (void)size;
  const double *cam = x, *X = x + 11, w = x[14];
  double Y[3], Xc[3], R[3][3], Dr[3][3]; /* Dr[i][j] = d Xcam_i / d r_j */
  for (int i = 0; i < 3; ++i) Y[i] = X[i] - cam[3 + i];
  double sq = cam[0] * cam[0] + cam[1] * cam[1] + cam[2] * cam[2];
  if (sq > 0.0) {
    double th = ad_m_sqrt(sq);
    ad_m2 sc = ad_m_sincos(th);
    double s = sc.x, c = sc.y, inv = 1.0 / th, n[3], nxY[3];
    for (int i = 0; i < 3; ++i) n[i] = cam[i] * inv;
    nxY[0] = n[1] * Y[2] - n[2] * Y[1];
    nxY[1] = n[2] * Y[0] - n[0] * Y[2];
    nxY[2] = n[0] * Y[1] - n[1] * Y[0];
    double nY = n[0] * Y[0] + n[1] * Y[1] + n[2] * Y[2];
    for (int i = 0; i < 3; ++i) Xc[i] = Y[i] * c + nxY[i] * s + n[i] * (nY * (1.0 - c));
    /* R = c I + s [n]x + (1 - c) n n^T */
    double nx[3][3] = {{0, -n[2], n[1]}, {n[2], 0, -n[0]}, {-n[1], n[0], 0}};
    double Yx[3][3] = {{0, -Y[2], Y[1]}, {Y[2], 0, -Y[0]}, {-Y[1], Y[0], 0}};
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 3; ++j) R[i][j] = (i == j ? c : 0.0) + s * nx[i][j] + (1.0 - c) * n[i] * n[j];
    double a[3], B[3][3], P[3][3];
    for (int i = 0; i < 3; ++i) a[i] = -s * Y[i] + c * nxY[i] + s * nY * n[i];
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 3; ++j) {
        B[i][j] = -s * Yx[i][j] + (1.0 - c) * ((i == j ? nY : 0.0) + n[i] * Y[j]);
        P[i][j] = ((i == j ? 1.0 : 0.0) - n[i] * n[j]) * inv;
      }
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 3; ++j) {
        double t = a[i] * n[j];
        for (int q = 0; q < 3; ++q) t += B[i][q] * P[q][j];
        Dr[i][j] = t;
      }
  } else {
    Xc[0] = Y[0] + (cam[1] * Y[2] - cam[2] * Y[1]);
    Xc[1] = Y[1] + (cam[2] * Y[0] - cam[0] * Y[2]);
    Xc[2] = Y[2] + (cam[0] * Y[1] - cam[1] * Y[0]);
    double Yx[3][3] = {{0, -Y[2], Y[1]}, {Y[2], 0, -Y[0]}, {-Y[1], Y[0], 0}};
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 3; ++j) {
        R[i][j] = i == j ? 1.0 : 0.0;
        Dr[i][j] = -Yx[i][j];
      }
  }
  double p[2] = {Xc[0] / Xc[2], Xc[1] / Xc[2]};
  double rsq = p[0] * p[0] + p[1] * p[1];
  double L = 1.0 + cam[9] * rsq + cam[10] * rsq * rsq, f = cam[6];
  double dist[2] = {p[0] * L, p[1] * L};
  double proj[2] = {dist[0] * f + cam[7], dist[1] * f + cam[8]};
  yout[0] = w * (proj[0] - data[0]);
  yout[1] = w * (proj[1] - data[1]);
  yout[2] = 1.0 - w * w;
  double dLdr = cam[9] + 2.0 * cam[10] * rsq; /* dL/d(rsq) */
  double Ep[2][2], Ex[2][3];                   /* d err / d p, d err / d Xcam */
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 2; ++j) Ep[i][j] = w * f * ((i == j ? L : 0.0) + p[i] * dLdr * 2.0 * p[j]);
  for (int i = 0; i < 2; ++i) {
    Ex[i][0] = Ep[i][0] / Xc[2];
    Ex[i][1] = Ep[i][1] / Xc[2];
    Ex[i][2] = -(Ep[i][0] * p[0] + Ep[i][1] * p[1]) / Xc[2];
  }
  for (int i = 0; i < BA_NOUT * BA_NIN; ++i) J[i] = 0.0;
  for (int i = 0; i < 2; ++i) {
    double *row = J + i * BA_NIN;
    for (int j = 0; j < 3; ++j) {
      double dr = 0.0, dx = 0.0;
      for (int q = 0; q < 3; ++q) {
        dr += Ex[i][q] * Dr[q][j];
        dx += Ex[i][q] * R[q][j];
      }
      row[j] = dr;       /* rotation */
      row[3 + j] = -dx;  /* centre */
      row[11 + j] = dx;  /* point */
    }
    row[6] = w * dist[i];
    row[7 + i] = w;
    row[9] = w * f * p[i] * rsq;
    row[10] = w * f * p[i] * rsq * rsq;
    row[14] = proj[i] - data[i];
  }
  J[2 * BA_NIN + 14] = -2.0 * w;
}

const wl_info wl_info_ba = {WL_ba, "ba", "bundle adjustment, one observation's 3 x 15 Jacobian block (ADBench)",
                            {1, 2}, 1000000, ba_n_in, ba_n_out, ba_n_data, ba_n_scratch, ba_nodes, ba_init,
                            NULL, ba_manual_jacobian, 0};

#else

static void WL_FN(ba)(ad_ctx *c, int size, const double *data, const ad_t *x, ad_t *y, ad_t *s) {
  (void)size;
  const ad_t *cam = x, *X = x + 11, w = x[14];
  ad_t *Y = s, *Xc = s + 3, *n = s + 6, *nxY = s + 9;
  for (int i = 0; i < 3; ++i) Y[i] = ad_sub_vv(c, X[i], cam[3 + i]);
  ad_t sq = ad_add_vv(c, ad_add_vv(c, ad_sqr(c, cam[0]), ad_sqr(c, cam[1])), ad_sqr(c, cam[2]));
  if (ad_gt_vc(c, sq, 0.0)) {
    ad_t th = ad_sqrt(c, sq), cs = ad_cos(c, th), sn = ad_sin(c, th), inv = ad_div_cv(c, 1.0, th);
    for (int i = 0; i < 3; ++i) n[i] = ad_mul_vv(c, cam[i], inv);
    nxY[0] = ad_sub_vv(c, ad_mul_vv(c, n[1], Y[2]), ad_mul_vv(c, n[2], Y[1]));
    nxY[1] = ad_sub_vv(c, ad_mul_vv(c, n[2], Y[0]), ad_mul_vv(c, n[0], Y[2]));
    nxY[2] = ad_sub_vv(c, ad_mul_vv(c, n[0], Y[1]), ad_mul_vv(c, n[1], Y[0]));
    ad_t nY = ad_add_vv(c, ad_add_vv(c, ad_mul_vv(c, n[0], Y[0]), ad_mul_vv(c, n[1], Y[1])), ad_mul_vv(c, n[2], Y[2]));
    ad_t tmp = ad_mul_vv(c, nY, ad_sub_cv(c, 1.0, cs));
    for (int i = 0; i < 3; ++i)
      Xc[i] = ad_add_vv(c, ad_add_vv(c, ad_mul_vv(c, Y[i], cs), ad_mul_vv(c, nxY[i], sn)), ad_mul_vv(c, n[i], tmp));
  } else {
    Xc[0] = ad_add_vv(c, Y[0], ad_sub_vv(c, ad_mul_vv(c, cam[1], Y[2]), ad_mul_vv(c, cam[2], Y[1])));
    Xc[1] = ad_add_vv(c, Y[1], ad_sub_vv(c, ad_mul_vv(c, cam[2], Y[0]), ad_mul_vv(c, cam[0], Y[2])));
    Xc[2] = ad_add_vv(c, Y[2], ad_sub_vv(c, ad_mul_vv(c, cam[0], Y[1]), ad_mul_vv(c, cam[1], Y[0])));
  }
  ad_t p0 = ad_div_vv(c, Xc[0], Xc[2]), p1 = ad_div_vv(c, Xc[1], Xc[2]);
  ad_t rsq = ad_add_vv(c, ad_sqr(c, p0), ad_sqr(c, p1));
  ad_t L = ad_add_vv(c, ad_add_vc(c, ad_mul_vv(c, cam[9], rsq), 1.0), ad_mul_vv(c, ad_mul_vv(c, cam[10], rsq), rsq));
  p0 = ad_mul_vv(c, p0, L);
  p1 = ad_mul_vv(c, p1, L);
  ad_t u = ad_add_vv(c, ad_mul_vv(c, p0, cam[6]), cam[7]), v = ad_add_vv(c, ad_mul_vv(c, p1, cam[6]), cam[8]);
  y[0] = ad_mul_vv(c, w, ad_sub_vc(c, u, data[0]));
  y[1] = ad_mul_vv(c, w, ad_sub_vc(c, v, data[1]));
  y[2] = ad_sub_cv(c, 1.0, ad_sqr(c, w));
}

#endif
