/* recur: a long time-stepping loop, the nonlinear recurrence of a ring of n coupled units iterated over S steps: the
 * workload of checkpointing (engines/ckpt), whose largest size (10^9 nodes) needs tens of GiB of tape stored whole.
 *
 *   x^{k+1}_i = x^k_i + h (tanh(p_i x^k_{i-1} + q_i x^k_{i+1}) - x^k_i),   i = 0 .. n-1, indices modulo n,
 *   f = sum_i (x^S_i)^2,   h = 0.1
 *
 * (an explicit Euler step of the relaxation x' = tanh(W x) - x with a banded, cyclic W: a discrete-time recurrent
 * network with leaky units). Inputs: p (n), q (n), then the initial state x^0 (n): n_in = 3 n. p_i and q_i uniform
 * in [-1.5, 1.5), x^0 uniform in [-1, 1) (wl_rng, in that order). Each step is one AD_STEPS step (state x^k, the
 * parameters p and q). Size s is row s of the table (n, S): rows 1-2 are the check sizes, then n = 100 or 1000 and S
 * growing, ordered by node count, up to (1000, 150000). Nodes: exactly 7 n S + 2 n - 1 (per unit and step two
 * mul_vv, add_vv, tanh, sub_vv, mul_vc, add_vv; then n sqr and n - 1 add_vv).
 * Hand-written gradient: the discrete adjoint backwards through the steps, from every state kept (S n doubles).
 */
#ifdef WL_META

#include <math.h>
#include <stdlib.h>

static const int recur_dims[][2] = {{4, 3},       {16, 20},      {100, 100},    {1000, 10},     {1000, 100},
                                    {1000, 1000}, {1000, 1500},  {1000, 10000}, {1000, 15000},  {1000, 100000},
                                    {1000, 150000}};
enum { RECUR_ROWS = (int)(sizeof recur_dims / sizeof recur_dims[0]) };
#define RECUR_H 0.1

static const int *recur_row(int size) {
  return recur_dims[(size < 1 ? 1 : size > RECUR_ROWS ? RECUR_ROWS : size) - 1];
}
static int recur_n_in(int size) { return 3 * recur_row(size)[0]; }
static int recur_one(int size) { (void)size; return 1; }
static int recur_n_data(int size) { (void)size; return 3; }
static int recur_n_scratch(int size) { return 2 * recur_row(size)[0]; }
static double recur_nodes(int size) {
  const double n = recur_row(size)[0], S = recur_row(size)[1];
  return 7.0 * n * S + 2.0 * n - 1.0;
}
static void recur_init(int size, uint64_t seed, double *x, double *data) {
  const int n = recur_row(size)[0];
  wl_rng r = {seed};
  data[0] = n;
  data[1] = recur_row(size)[1];
  data[2] = RECUR_H;
  for (int i = 0; i < 2 * n; ++i) x[i] = wl_rng_uniform(&r, -1.5, 1.5);
  for (int i = 0; i < n; ++i) x[2 * n + i] = wl_rng_uniform(&r, -1.0, 1.0);
}

/* Hand-written: the same operations as the workload forwards (bit-identical value), keeping every state, then the
 * adjoint: with z_i = p_i x_{i-1} + q_i x_{i+1} and zb_i = xb_i h (1 - tanh(z_i)^2),
 *   pb_i += zb_i x_{i-1},  qb_i += zb_i x_{i+1},  xb'_i = (1 - h) xb_i + p_{i+1} zb_{i+1} + q_{i-1} zb_{i-1}.
 * Scratch from malloc; if it fails, f and g are NaN. */
static void recur_manual(int size, const double *data, const double *x, double *f, double *g) {
  (void)size;
  const int n = (int)data[0], S = (int)data[1];
  const double h = data[2], *p = x, *q = x + n;
  double *xs = n > 0 && S >= 0 ? (double *)malloc(((size_t)S + 3) * (size_t)n * sizeof(double)) : NULL;
  if (!xs) {
    *f = NAN;
    for (int i = 0; i < 3 * n; ++i) g[i] = NAN;
    return;
  }
  double *xb = xs + ((size_t)S + 1) * n, *zb = xb + n;
  for (int i = 0; i < n; ++i) xs[i] = x[2 * n + i];
  for (int k = 0; k < S; ++k) {
    const double *xk = xs + (size_t)k * n;
    double *xn = xs + ((size_t)k + 1) * n;
    for (int i = 0; i < n; ++i) {
      double z = p[i] * xk[(i + n - 1) % n] + q[i] * xk[(i + 1) % n];
      xn[i] = xk[i] + (ad_m_tanh(z) - xk[i]) * h;
    }
  }
  const double *xS = xs + (size_t)S * n;
  double sum = xS[0] * xS[0];
  for (int i = 1; i < n; ++i) sum = sum + xS[i] * xS[i];
  *f = sum;
  double *pb = g, *qb = g + n;
  for (int i = 0; i < 2 * n; ++i) g[i] = 0.0;
  for (int i = 0; i < n; ++i) xb[i] = 2.0 * xS[i];
  for (int k = S - 1; k >= 0; --k) {
    const double *xk = xs + (size_t)k * n;
    for (int i = 0; i < n; ++i) {
      double xm = xk[(i + n - 1) % n], xp = xk[(i + 1) % n], t = ad_m_tanh(p[i] * xm + q[i] * xp);
      zb[i] = xb[i] * h * (1.0 - t * t);
      pb[i] += zb[i] * xm;
      qb[i] += zb[i] * xp;
    }
    for (int i = 0; i < n; ++i) xb[i] = (1.0 - h) * xb[i];
    for (int i = 0; i < n; ++i) {
      xb[(i + n - 1) % n] += zb[i] * p[i];
      xb[(i + 1) % n] += zb[i] * q[i];
    }
  }
  for (int i = 0; i < n; ++i) g[2 * n + i] = xb[i];
  free(xs);
}

const wl_info wl_info_recur = {WL_recur, "recur", "ring recurrence x <- x + h (tanh(p x_{i-1} + q x_{i+1}) - x), n units x S steps (size = table row)",
                               {1, 2}, RECUR_ROWS, recur_n_in, recur_one, recur_n_data, recur_n_scratch, recur_nodes,
                               recur_init, recur_manual, NULL, 0};

#else

#include "../../engines/ckpt/ad_steps.h"

typedef struct recur_env {
  int n;
  double h;
  ad_t *xn; /* scratch: the next state (n) */
} recur_env;

/* One step: x (n) from the parameters p, q (2 n). */
static void recur_step(ad_ctx *c, const void *env, int k, const ad_t *pq, ad_t *x) {
  (void)k;
  const recur_env *e = (const recur_env *)env;
  const int n = e->n;
  const ad_t *p = pq, *q = pq + n;
  ad_t *xn = e->xn;
  for (int i = 0; i < n; ++i) {
    ad_t z = ad_add_vv(c, ad_mul_vv(c, p[i], x[i ? i - 1 : n - 1]), ad_mul_vv(c, q[i], x[i + 1 < n ? i + 1 : 0]));
    xn[i] = ad_add_vv(c, x[i], ad_mul_vc(c, ad_sub_vv(c, ad_tanh(c, z), x[i]), e->h));
  }
  for (int i = 0; i < n; ++i) x[i] = xn[i];
}

static void WL_FN(recur)(ad_ctx *c, int size, const double *data, const ad_t *x, ad_t *y, ad_t *s) {
  (void)size;
  const int n = (int)data[0], S = (int)data[1];
  ad_t *xs = s;
  for (int i = 0; i < n; ++i) xs[i] = x[2 * n + i];
  recur_env e = {n, data[2], s + n};
  AD_STEPS(c, recur_step, &e, sizeof e, S, 2 * n, x, n, xs);
  ad_t sum = ad_sqr(c, xs[0]);
  for (int i = 1; i < n; ++i) sum = ad_add_vv(c, sum, ad_sqr(c, xs[i]));
  y[0] = sum;
}

#endif
