/* ode, ode_adapt: explicit Runge-Kutta integration of an n-dimensional ODE on [0, 2]; the gradient of the final
 * state's last component with respect to the parameters and the initial state.
 *
 * The system is GradBench's `ode` eval (github.com/gradbench/gradbench: evals/ode/README.md, reference
 * cpp/gradbench/evals/ode.hpp), from cmpad's an_ode and CppAD's ode speed test (Bradley M. Bell):
 *   y_0'(t) = x_0,   y_i'(t) = x_i y_{i-1}(t)  (i > 0),   y(0) = y0,   f(x, y0) = y_{n-1}(2)
 * Inputs: x (n parameters) then y0 (n initial values): n_in = 2 n. GradBench starts from y0 = 0 and
 * differentiates with respect to x only; here y0 is an input too, so the gradient's first n entries are GradBench's
 * and the last n are the derivatives with respect to the initial state.
 *
 * ode: GradBench's fixed-step RK4 with s steps, h = 2 / s, exactly as its reference writes it:
 *   k1 = f(y), k2 = f(y + h k1 / 2), k3 = f(y + h k2 / 2), k4 = f(y + h k3),
 *   y <- y + h (k1 + 2 k2 + 2 k3 + k4) / 6.
 * x_i uniform in [0, 1) (GradBench: numpy's rand; here wl_rng), y0 = 0. Size s is row s of the table (n, steps):
 * rows 1-3 are small cases for checks (adlab's own), rows 4-12 GradBench's n in {1000, 10000, 100000} x s in
 * {1, 10, 100}, ordered by node count. Nodes: exactly steps (18 n - 4). Each RK4 step is one AD_STEPS step
 * (engines/ckpt/ad_steps.h: state y, parameters x), so the tape can checkpoint the integration.
 *
 * ode_adapt: the same system and objective with adlab's adaptive Runge-Kutta-Fehlberg 4(5) (E. Fehlberg, NASA
 * Technical Report R-315, 1969: the embedded pair below), advancing with the 5th-order solution.
 * Step sizes are dyadic, h = 2^-j * 2: a step whose error estimate, the squared Euclidean norm err2 = sum_i
 * (y5_i - y4_i)^2, exceeds tol^2 (tol = 1e-9) is rejected and h halved; after an accepted step with
 * err2 < (tol / 64)^2, h doubles if the time reached is a multiple of 2 h (and h stays at most 1). Decisions
 * compare the recorded err2 with ad_gt_vc and ad_lt_vc, so how many steps are taken, and which, depend on the
 * input: a dynamic graph (over seeds 1 .. 12: 17 or 34 attempted steps at n = 8, 34 to 51 at n = 100, 76 to 80
 * at n = 10^5; at n <= 4 the solution is a polynomial of degree <= 4, which both solutions of the pair give
 * exactly, so every input takes the same 4 steps). The squared norm has no kink, unlike a max norm (abs, fmax),
 * and no sqrt, whose infinite partial at 0 would turn the unused error nodes into NaN in a reverse sweep.
 * Because h only takes dyadic values, the computed f is piecewise smooth and its derivative is that of the
 * accepted steps with their h held fixed.
 * x and y0 uniform in [0, 1). Size = n. Nodes: 57 n - 7 per attempted step (typical count: see odea_nodes).
 *
 * At most ODEA_MAX_STEPS steps are attempted; past that cap f and its gradient are NaN.
 * Each attempt is one AD_STEPS_WHILE step (engines/ckpt/ad_steps.h: state y, parameters x, control values t and h),
 * so the tape can checkpoint the integration although its length is known only at the end (online checkpointing).
 * Manual gradients: the discrete adjoint, backwards through the same steps (the states at the start of each step
 * are kept; the stages are recomputed). */

/* Runge-Kutta-Fehlberg 4(5): stage coefficients a, 5th-order weights b5, and b5 - b4 (the error estimate).
 * Shared by both parts of the file. */
static const double ode_rkf_a[6][5] = {{0, 0, 0, 0, 0},
                                       {1.0 / 4, 0, 0, 0, 0},
                                       {3.0 / 32, 9.0 / 32, 0, 0, 0},
                                       {1932.0 / 2197, -7200.0 / 2197, 7296.0 / 2197, 0, 0},
                                       {439.0 / 216, -8.0, 3680.0 / 513, -845.0 / 4104, 0},
                                       {-8.0 / 27, 2.0, -3544.0 / 2565, 1859.0 / 4104, -11.0 / 40}};
static const double ode_rkf_b5[6] = {16.0 / 135, 0, 6656.0 / 12825, 28561.0 / 56430, -9.0 / 50, 2.0 / 55};
static const double ode_rkf_e[6] = {1.0 / 360, 0, -128.0 / 4275, -2197.0 / 75240, 1.0 / 50, 2.0 / 55};
enum { ODE_UNITS = 1 << 24 }; /* time [0, 2] in units of 2^-23: h = 2 hu / ODE_UNITS */
/* ode_adapt's cap on attempted steps (typical runs take under 100): an input that needs more (a huge or non-finite
 * one, whose error estimate never falls below the tolerance) stops there with a NaN value and gradient, instead of
 * recording up to 2^24 steps. */
enum { ODEA_MAX_STEPS = 1 << 12 };
#define ODE_TOL 1e-9

#ifdef WL_META

#include <math.h>
#include <stdlib.h>

static const int ode_dims[][2] = {{4, 2},        {16, 4},      {100, 10},      {1000, 1},     {1000, 10},
                                  {10000, 1},    {1000, 100},  {10000, 10},    {100000, 1},   {10000, 100},
                                  {100000, 10},  {100000, 100}};
enum { ODE_ROWS = (int)(sizeof ode_dims / sizeof ode_dims[0]) };
static const int *ode_row(int size) { return ode_dims[(size < 1 ? 1 : size > ODE_ROWS ? ODE_ROWS : size) - 1]; }
static int ode_n_in(int size) { return 2 * ode_row(size)[0]; }
static int ode_one(int size) { (void)size; return 1; }
static int ode_n_data(int size) { (void)size; return 2; }
static int ode_n_scratch(int size) { return 6 * ode_row(size)[0]; }
static double ode_nodes(int size) { return ode_row(size)[1] * (18.0 * ode_row(size)[0] - 4.0); }
static void ode_init(int size, uint64_t seed, double *x, double *data) {
  int n = ode_row(size)[0];
  wl_rng r = {seed};
  data[0] = n;
  data[1] = ode_row(size)[1];
  for (int i = 0; i < n; ++i) x[i] = wl_rng_uniform(&r, 0.0, 1.0);
  for (int i = 0; i < n; ++i) x[n + i] = 0.0;
}

/* The right-hand side z = f(x, y) on doubles. */
static void ode_rhs(int n, const double *x, const double *y, double *z) {
  z[0] = x[0];
  for (int i = 1; i < n; ++i) z[i] = x[i] * y[i - 1];
}

/* Adjoint of one explicit Runge-Kutta step y' = y + h sum_j b_j k_j, k_j = f(u_j), u_j = y + h sum_l a_jl k_l,
 * taken from y with S stages: on entry yb holds the adjoint of y', on return that of y; xb accumulates the
 * parameters' adjoints. ws: (2 S + 1) n doubles. */
static void ode_step_adjoint(int n, int S, const double (*a)[5], const double *b, double h, const double *x,
                             const double *y, double *yb, double *xb, double *ws) {
  double *u = ws, *k = ws + (size_t)S * n, *ub = ws + 2 * (size_t)S * n;
  for (int j = 0; j < S; ++j) { /* recompute the stages */
    double *uj = u + (size_t)j * n;
    for (int i = 0; i < n; ++i) {
      double acc = y[i];
      for (int l = 0; l < j; ++l) acc += h * a[j][l] * k[(size_t)l * n + i];
      uj[i] = acc;
    }
    ode_rhs(n, x, uj, k + (size_t)j * n);
  }
  for (int j = 0; j < S; ++j) /* k holds the stages' adjoints from here on */
    for (int i = 0; i < n; ++i) k[(size_t)j * n + i] = h * b[j] * yb[i];
  for (int j = S - 1; j >= 0; --j) {
    const double *kb = k + (size_t)j * n, *uj = u + (size_t)j * n;
    xb[0] += kb[0]; /* f_x^T kb and f_y^T kb */
    for (int i = 1; i < n; ++i) xb[i] += uj[i - 1] * kb[i];
    for (int i = 0; i + 1 < n; ++i) ub[i] = x[i + 1] * kb[i + 1];
    ub[n - 1] = 0.0;
    for (int i = 0; i < n; ++i) yb[i] += ub[i];
    for (int l = 0; l < j; ++l)
      for (int i = 0; i < n; ++i) k[(size_t)l * n + i] += h * a[j][l] * ub[i];
  }
}

static const double ode_rk4_a[4][5] = {{0, 0, 0, 0, 0}, {0.5, 0, 0, 0, 0}, {0, 0.5, 0, 0, 0}, {0, 0, 1.0, 0, 0}};
static const double ode_rk4_b[4] = {1.0 / 6, 1.0 / 3, 1.0 / 3, 1.0 / 6};

/* Hand-written discrete adjoint of the RK4 integration. Scratch from malloc; if it fails, f and g are NaN. */
static void ode_manual(int size, const double *data, const double *x, double *f, double *g) {
  (void)size;
  const int n = (int)data[0], steps = (int)data[1];
  const double h = 2.0 / steps;
  double *ys = n > 0 && steps > 0 ? (double *)malloc(((size_t)steps + 1 + 5 + 9) * (size_t)n * sizeof(double)) : NULL;
  if (!ys) {
    *f = NAN;
    for (int i = 0; i < 2 * n; ++i) g[i] = NAN;
    return;
  }
  double *k1 = ys + ((size_t)steps + 1) * n, *k2 = k1 + n, *k3 = k2 + n, *k4 = k3 + n, *u = k4 + n, *ws = u + n;
  for (int i = 0; i < n; ++i) ys[i] = x[n + i];
  for (int st = 0; st < steps; ++st) { /* the same operations as the workload, in the same order */
    const double *y = ys + (size_t)st * n;
    double *yn = ys + ((size_t)st + 1) * n;
    ode_rhs(n, x, y, k1);
    for (int i = 0; i < n; ++i) u[i] = y[i] + k1[i] * (h / 2);
    ode_rhs(n, x, u, k2);
    for (int i = 0; i < n; ++i) u[i] = y[i] + k2[i] * (h / 2);
    ode_rhs(n, x, u, k3);
    for (int i = 0; i < n; ++i) u[i] = y[i] + k3[i] * h;
    ode_rhs(n, x, u, k4);
    for (int i = 0; i < n; ++i) yn[i] = y[i] + ((k1[i] + k2[i] * 2.0) + k3[i] * 2.0 + k4[i]) * h / 6.0;
  }
  *f = ys[(size_t)steps * n + n - 1];
  double *xb = g, *yb = g + n;
  for (int i = 0; i < 2 * n; ++i) g[i] = 0.0;
  yb[n - 1] = 1.0;
  for (int st = steps - 1; st >= 0; --st) ode_step_adjoint(n, 4, ode_rk4_a, ode_rk4_b, h, x, ys + (size_t)st * n,
                                                           yb, xb, ws);
  free(ys);
}

const wl_info wl_info_ode = {WL_ode, "ode", "RK4 on GradBench's ODE, n dims x s steps (size = table row)", {1, 3},
                             ODE_ROWS, ode_n_in, ode_one, ode_n_data, ode_n_scratch, ode_nodes, ode_init,
                             ode_manual, NULL, 0};

/* ---- ode_adapt ---- */

static int odea_n(int size) { return size < 1 ? 1 : size; }
static int odea_n_in(int size) { return 2 * odea_n(size); }
static int odea_n_scratch(int size) { return 9 * odea_n(size); }
/* Typical: 4 attempted steps up to n = 4, then about 34 + 11 log10(n / 10) (measured over seeds 1 .. 12: about
 * 34 at n = 10, 40 at 100, 67 at 1000, 78 at 10^5). */
static double odea_nodes(int size) {
  int n = odea_n(size);
  double attempts = n <= 4 ? 4.0 : n < 10 ? 34.0 : 34.0 + 11.0 * log10(n / 10.0);
  return attempts * (57.0 * n - 7.0);
}
static void odea_init(int size, uint64_t seed, double *x, double *data) {
  int n = odea_n(size);
  wl_rng r = {seed};
  data[0] = n;
  data[1] = ODE_TOL;
  for (int i = 0; i < 2 * n; ++i) x[i] = wl_rng_uniform(&r, 0.0, 1.0);
}

/* One RKF45 attempt from y with step h on doubles, as the workload computes it: stages into k (6 n), the
 * 5th-order solution into y5, and the mean-square error estimate (returned). */
static double odea_attempt(int n, const double *x, const double *y, double h, double *k, double *u, double *y5) {
  ode_rhs(n, x, y, k);
  for (int j = 1; j < 6; ++j) {
    for (int i = 0; i < n; ++i) {
      double acc = k[i] * (h * ode_rkf_a[j][0]);
      for (int l = 1; l < j; ++l) acc = acc + k[(size_t)l * n + i] * (h * ode_rkf_a[j][l]);
      u[i] = y[i] + acc;
    }
    ode_rhs(n, x, u, k + (size_t)j * n);
  }
  double err2 = 0.0;
  for (int i = 0; i < n; ++i) {
    double acc = k[i] * (h * ode_rkf_b5[0]), e = k[i] * (h * ode_rkf_e[0]);
    for (int j = 2; j < 6; ++j) {
      acc = acc + k[(size_t)j * n + i] * (h * ode_rkf_b5[j]);
      e = e + k[(size_t)j * n + i] * (h * ode_rkf_e[j]);
    }
    y5[i] = y[i] + acc;
    err2 = i ? err2 + e * e : e * e;
  }
  return err2;
}

/* Hand-written: the same step-size decisions on doubles (bit-identical values, so the same steps), keeping the
 * state and h at the start of every accepted step; then the discrete adjoint backwards through those steps.
 * Scratch from malloc; if it fails, f and g are NaN. */
static void odea_manual(int size, const double *data, const double *x, double *f, double *g) {
  const int n = odea_n(size);
  const double tol = data[1];
  size_t cap = 16, used = 0;
  double *ys = (double *)malloc(cap * (size_t)n * sizeof(double)), *hs = (double *)malloc(cap * sizeof(double));
  double *w = (double *)malloc((size_t)n * 22 * sizeof(double));
  if (!ys || !hs || !w) goto fail;
  double *k = w, *u = w + 6 * (size_t)n, *y = u + n, *y5 = y + n, *ws = y5 + n;
  for (int i = 0; i < n; ++i) y[i] = x[n + i];
  long t = 0, hu = ODE_UNITS / 8;
  for (int steps = 0; t < ODE_UNITS; ++steps) {
    if (steps == ODEA_MAX_STEPS) goto fail;
    double h = 2.0 * (double)hu / ODE_UNITS;
    double err2 = odea_attempt(n, x, y, h, k, u, y5);
    if (err2 > tol * tol && hu > 1) {
      hu /= 2;
      continue;
    }
    if (used == cap) {
      cap *= 2;
      double *ny = (double *)realloc(ys, cap * (size_t)n * sizeof(double));
      if (!ny) goto fail;
      ys = ny;
      double *nh = (double *)realloc(hs, cap * sizeof(double));
      if (!nh) goto fail;
      hs = nh;
    }
    for (int i = 0; i < n; ++i) ys[used * n + i] = y[i];
    hs[used++] = h;
    for (int i = 0; i < n; ++i) y[i] = y5[i];
    t += hu;
    if (err2 < (tol / 64) * (tol / 64) && t % (2 * hu) == 0 && 2 * hu <= ODE_UNITS / 2) hu *= 2;
  }
  *f = y[n - 1];
  for (int i = 0; i < 2 * n; ++i) g[i] = 0.0;
  g[2 * n - 1] = 1.0;
  for (size_t st = used; st-- > 0;) ode_step_adjoint(n, 6, ode_rkf_a, ode_rkf_b5, hs[st], x, ys + st * n, g + n, g, ws);
  free(ys), free(hs), free(w);
  return;
fail:
  *f = NAN;
  for (int i = 0; i < 2 * n; ++i) g[i] = NAN;
  free(ys), free(hs), free(w);
}

const wl_info wl_info_ode_adapt = {WL_ode_adapt, "ode_adapt", "adaptive RKF45 on GradBench's ODE, n dims (size = n)",
                                   {8, 100}, 10000000, odea_n_in, ode_one, ode_n_data, odea_n_scratch,
                                   odea_nodes, odea_init, odea_manual, NULL, 0};

#else

#include "../../engines/ckpt/ad_steps.h"

/* z = f(x, y): z_0 = x_0 (the input itself, no op), z_i = x_i y_{i-1}. */
static void ode_f(ad_ctx *c, int n, const ad_t *x, const ad_t *yv, ad_t *z) {
  z[0] = x[0];
  for (int i = 1; i < n; ++i) z[i] = ad_mul_vv(c, x[i], yv[i - 1]);
}

/* One RK4 step of ode: the state yv (n) from the parameters x (n); AD_STEPS's step (engines/ckpt/ad_steps.h). */
typedef struct ode_env {
  int n;
  double h;
  ad_t *ws; /* scratch: k1 .. k4, u (5 n) */
} ode_env;

static void ode_step(ad_ctx *c, const void *env, int k, const ad_t *x, ad_t *yv) {
  (void)k;
  const ode_env *e = (const ode_env *)env;
  const int n = e->n;
  const double h = e->h;
  ad_t *k1 = e->ws, *k2 = k1 + n, *k3 = k2 + n, *k4 = k3 + n, *u = k4 + n;
  ode_f(c, n, x, yv, k1);
  for (int i = 0; i < n; ++i) u[i] = ad_add_vv(c, yv[i], ad_mul_vc(c, k1[i], h / 2));
  ode_f(c, n, x, u, k2);
  for (int i = 0; i < n; ++i) u[i] = ad_add_vv(c, yv[i], ad_mul_vc(c, k2[i], h / 2));
  ode_f(c, n, x, u, k3);
  for (int i = 0; i < n; ++i) u[i] = ad_add_vv(c, yv[i], ad_mul_vc(c, k3[i], h));
  ode_f(c, n, x, u, k4);
  for (int i = 0; i < n; ++i) {
    ad_t sum = ad_add_vv(c, ad_add_vv(c, ad_add_vv(c, k1[i], ad_mul_vc(c, k2[i], 2.0)), ad_mul_vc(c, k3[i], 2.0)),
                         k4[i]);
    yv[i] = ad_add_vv(c, yv[i], ad_div_vc(c, ad_mul_vc(c, sum, h), 6.0));
  }
}

static void WL_FN(ode)(ad_ctx *c, int size, const double *data, const ad_t *x, ad_t *y, ad_t *s) {
  (void)size;
  const int n = (int)data[0], steps = (int)data[1];
  ad_t *yv = s;
  for (int i = 0; i < n; ++i) yv[i] = x[n + i];
  ode_env e = {n, 2.0 / steps, s + n};
  AD_STEPS(c, ode_step, &e, sizeof e, steps, n, x, n, yv); /* checkpointable: the state is yv */
  y[0] = yv[n - 1];
}

/* One RKF45 attempt of ode_adapt: AD_STEPS_WHILE's step (engines/ckpt/ad_steps.h). State: y (n); parameters: x
 * (n); control values q = {t, hu}: the time reached and the step size, in units of 2^-23 (exact in a double). An
 * accepted attempt moves y and t; a rejected one halves hu and leaves y as it was. 0 once t reaches the end. */
typedef struct odea_env {
  int n;
  double tol;
  ad_t *k, *u, *y5; /* scratch: 6 n, n, n */
} odea_env;

static int odea_step(ad_ctx *c, const void *env, int step, const ad_t *x, ad_t *yv, double *q) {
  (void)step;
  const odea_env *e = (const odea_env *)env;
  const int n = e->n;
  const double tol = e->tol;
  ad_t *k = e->k, *u = e->u, *y5 = e->y5;
  long t = (long)q[0], hu = (long)q[1];
  if (t >= ODE_UNITS) return 0;
  const double h = 2.0 * (double)hu / ODE_UNITS;
  ode_f(c, n, x, yv, k);
  for (int j = 1; j < 6; ++j) {
    for (int i = 0; i < n; ++i) {
      ad_t acc = ad_mul_vc(c, k[i], h * ode_rkf_a[j][0]);
      for (int l = 1; l < j; ++l) acc = ad_add_vv(c, acc, ad_mul_vc(c, k[l * n + i], h * ode_rkf_a[j][l]));
      u[i] = ad_add_vv(c, yv[i], acc);
    }
    ode_f(c, n, x, u, k + j * n);
  }
  ad_t err2 = ad_const(c, 0.0);
  for (int i = 0; i < n; ++i) {
    ad_t acc = ad_mul_vc(c, k[i], h * ode_rkf_b5[0]), d = ad_mul_vc(c, k[i], h * ode_rkf_e[0]);
    for (int j = 2; j < 6; ++j) {
      acc = ad_add_vv(c, acc, ad_mul_vc(c, k[j * n + i], h * ode_rkf_b5[j]));
      d = ad_add_vv(c, d, ad_mul_vc(c, k[j * n + i], h * ode_rkf_e[j]));
    }
    y5[i] = ad_add_vv(c, yv[i], acc);
    err2 = i ? ad_add_vv(c, err2, ad_sqr(c, d)) : ad_sqr(c, d);
  }
  if (ad_gt_vc(c, err2, tol * tol) && hu > 1) { /* rejected: try again with half the step */
    q[1] = (double)(hu / 2);
    return 1;
  }
  for (int i = 0; i < n; ++i) yv[i] = y5[i];
  t += hu;
  if (ad_lt_vc(c, err2, (tol / 64) * (tol / 64)) && t % (2 * hu) == 0 && 2 * hu <= ODE_UNITS / 2) hu *= 2;
  q[0] = (double)t;
  q[1] = (double)hu;
  return 1;
}

static void WL_FN(ode_adapt)(ad_ctx *c, int size, const double *data, const ad_t *x, ad_t *y, ad_t *s) {
  const int n = size < 1 ? 1 : size;
  ad_t *yv = s;
  for (int i = 0; i < n; ++i) yv[i] = x[n + i];
  odea_env e = {n, data[1], s + n, s + 7 * n, s + 8 * n};
  double q[2] = {0.0, (double)(ODE_UNITS / 8)};
  /* Checkpointable although the number of attempts is known only at the end: state yv, control values q. */
  AD_STEPS_WHILE(c, odea_step, &e, sizeof e, ODEA_MAX_STEPS, n, x, n, yv, 2, q);
  if (q[0] < ODE_UNITS) { /* the step cap: a NaN value and gradient say the integration gave up */
    y[0] = ad_mul_vc(c, yv[n - 1], __builtin_nan(""));
    return;
  }
  y[0] = yv[n - 1];
}

#endif
