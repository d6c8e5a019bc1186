/* lstm: ADBench's LSTM objective, the mean cross-entropy of next-character predictions over a text.
 *
 * Definition: ADBench's LSTM (github.com/microsoft/ADBench src/cpp/shared/lstm.h, data/lstm/gen_data.py), kept
 * as is by GradBench's `lstm` eval (github.com/gradbench/gradbench: evals/lstm/README.md,
 * cpp/gradbench/evals/lstm.hpp), quirks included: every weight "matrix" is diagonal (one weight per unit), the
 * forget and out gates read the layer input while the in gate and the change read the previous hidden state,
 * and the log-sum-exp adds 2 to its sum. With l layers of b units and a text of c characters (b bits each):
 *
 *   per layer, unit i, from input u, previous hidden h and cell s:
 *     F = logistic(u_i wF_i + bF_i)   I = logistic(h_i wI_i + bI_i)   O = logistic(u_i wO_i + bO_i)
 *     G = tanh(h_i wG_i + bG_i)       s_i <- s_i F + I G              h_i <- O tanh(s_i)
 *   prediction for character t (t = 0 .. c - 2): u = seq_t * in_w, run the layers bottom to top,
 *     ypred = h_top * out_w + out_b,  ynorm = ypred - log(sum exp(ypred) + 2)
 *   loss = -(sum_t seq_{t+1} . ynorm_t) / (b (c - 1))
 *
 * Inputs (differentiated): main_params, layer by layer: weights [forget, ingate, outgate, change] (4b) then biases
 * (4b); then extra_params: in_w (b), out_w (b), out_b (b). n = 8 l b + 3 b. Data (constant): l, c, b, then the
 * initial state (per layer: hidden b, cell b) and the text (c x b bits).
 * Inputs as ADBench's generator: parameters and state uniform in [0, 1) (wl_rng, in the order main_params,
 * extra_params, state). Deviation: ADBench encodes the first c characters of a text file (b = 14 bits per
 * character); that file is not available here, so each character is 14 bits drawn from wl_rng (0 or 1 with equal
 * probability, the top bit of one draw each), after the state.
 * Sizes: size s is row s of the table (l, c), b = 14: rows 1-3 are small cases for checks (adlab's own), rows 4-7
 * ADBench's l in {2, 4} x c in {1024, 4096}, ordered by node count. Nodes: exactly (c - 1)(17 l b + 8 b + 1).
 * Each character is one AD_STEPS step (engines/ckpt/ad_steps.h): state every layer's hidden and cell values and the
 * loss sum so far, parameters all inputs; so the tape can checkpoint the c - 1 steps. */
#ifdef WL_META

#include <math.h>
#include <stdlib.h>

enum { LSTM_B = 14, LSTM_HDR = 3 };
static const int lstm_dims[][2] = {{1, 4}, {2, 16}, {2, 128}, {2, 1024}, {4, 1024}, {2, 4096}, {4, 4096}};
enum { LSTM_ROWS = (int)(sizeof lstm_dims / sizeof lstm_dims[0]) };

static const int *lstm_row(int size) {
  return lstm_dims[(size < 1 ? 1 : size > LSTM_ROWS ? LSTM_ROWS : size) - 1];
}
static int lstm_n_in(int size) { return 8 * lstm_row(size)[0] * LSTM_B + 3 * LSTM_B; }
static int lstm_n_out(int size) { (void)size; return 1; }
static int lstm_n_data(int size) {
  const int *r = lstm_row(size);
  return LSTM_HDR + 2 * r[0] * LSTM_B + r[1] * LSTM_B;
}
static int lstm_n_scratch(int size) { return 2 * lstm_row(size)[0] * LSTM_B + 1 + 2 * LSTM_B; }
static double lstm_nodes(int size) {
  const int *r = lstm_row(size);
  return (r[1] - 1.0) * (17.0 * r[0] * LSTM_B + 8.0 * LSTM_B + 1.0);
}
static void lstm_init(int size, uint64_t seed, double *x, double *data) {
  const int *r = lstm_row(size);
  int l = r[0], c = r[1], b = LSTM_B;
  wl_rng g = {seed};
  data[0] = l, data[1] = c, data[2] = b;
  for (int i = 0; i < lstm_n_in(size); ++i) x[i] = wl_rng_uniform(&g, 0.0, 1.0);
  for (int i = 0; i < 2 * l * b; ++i) data[LSTM_HDR + i] = wl_rng_uniform(&g, 0.0, 1.0);
  for (int i = 0; i < c * b; ++i) data[LSTM_HDR + 2 * l * b + i] = (double)(wl_rng_next(&g) >> 63);
}

/* Hand-written backpropagation through time: a forward pass that keeps every gate, hidden and cell value, then
 * the adjoints from the last character back to the first (see the header for the recurrences). Scratch from
 * malloc; if it fails, f and g are NaN. */
static void lstm_manual(int size, const double *data, const double *x, double *f, double *g) {
  (void)size;
  const int l = (int)data[0], c = (int)data[1], b = (int)data[2], T = c - 1, lb = l * b, nin = 8 * lb + 3 * b;
  const double *state0 = data + LSTM_HDR, *seq = state0 + 2 * lb;
  const double *in_w = x + 8 * lb, *out_w = in_w + b, *out_b = out_w + b;
  /* per step t and layer: F I O G cell hidden (lb each); hidden and cell before step 0 */
  size_t per = (size_t)6 * lb, n_st = (size_t)T * per + 5 * (size_t)lb + 3 * (size_t)b;
  double *st = (double *)malloc(n_st * sizeof(double));
  if (!st) {
    *f = NAN;
    for (int i = 0; i < nin; ++i) g[i] = NAN;
    return;
  }
  double *h0 = st + (size_t)T * per, *s0 = h0 + lb, *hb = s0 + lb, *sb = hb + lb, *ub = sb + lb;
  double *yp = ub + lb, *e = yp + b, *ybar = e + b;
  for (int j = 0; j < l; ++j)
    for (int i = 0; i < b; ++i) {
      h0[j * b + i] = state0[2 * j * b + i];
      s0[j * b + i] = state0[2 * j * b + b + i];
    }
  /* step t, layer j: F, I, O, G, S (cell), H (hidden) at st + t * per + {0..5} * lb + j * b */
#define LSTM_AT(t, k, j) (st + (size_t)(t) * per + (size_t)(k) * lb + (size_t)(j) * b)
  double total = 0.0;
  for (int t = 0; t < T; ++t) {
    const double *xt = seq + (size_t)t * b, *gold = xt + b;
    for (int j = 0; j < l; ++j) {
      const double *w = x + 8 * j * b, *bias = w + 4 * b;
      const double *hp = t ? LSTM_AT(t - 1, 5, j) : h0 + j * b, *sp = t ? LSTM_AT(t - 1, 4, j) : s0 + j * b;
      double *F = LSTM_AT(t, 0, j), *I = LSTM_AT(t, 1, j), *O = LSTM_AT(t, 2, j), *G = LSTM_AT(t, 3, j);
      double *S = LSTM_AT(t, 4, j), *H = LSTM_AT(t, 5, j);
      for (int i = 0; i < b; ++i) {
        double u = j ? LSTM_AT(t, 5, j - 1)[i] : xt[i] * in_w[i];
        F[i] = 1.0 / (1.0 + ad_m_exp(-(u * w[i] + bias[i])));
        I[i] = 1.0 / (1.0 + ad_m_exp(-(hp[i] * w[b + i] + bias[b + i])));
        O[i] = 1.0 / (1.0 + ad_m_exp(-(u * w[2 * b + i] + bias[2 * b + i])));
        G[i] = ad_m_tanh(hp[i] * w[3 * b + i] + bias[3 * b + i]);
        S[i] = sp[i] * F[i] + I[i] * G[i];
        H[i] = O[i] * ad_m_tanh(S[i]);
      }
    }
    const double *top = LSTM_AT(t, 5, l - 1);
    double se = 0.0;
    for (int i = 0; i < b; ++i) {
      yp[i] = top[i] * out_w[i] + out_b[i];
      se = i ? se + ad_m_exp(yp[i]) : ad_m_exp(yp[i]);
    }
    double lse = ad_m_log(se + 2.0);
    for (int i = 0; i < b; ++i) {
      double term = gold[i] * (yp[i] - lse);
      total = (t || i) ? total + term : term;
    }
  }
  int count = T * b;
  *f = total / -(double)count;

  for (int i = 0; i < nin; ++i) g[i] = 0.0;
  for (int i = 0; i < lb; ++i) hb[i] = sb[i] = 0.0;
  double *g_in = g + 8 * lb, *g_ow = g_in + b, *g_ob = g_ow + b;
  for (int t = T - 1; t >= 0; --t) {
    const double *xt = seq + (size_t)t * b, *gold = xt + b, *top = LSTM_AT(t, 5, l - 1);
    double se = 0.0, sg = 0.0;
    for (int i = 0; i < b; ++i) {
      yp[i] = top[i] * out_w[i] + out_b[i];
      se += (e[i] = ad_m_exp(yp[i]));
      sg += gold[i];
    }
    se += 2.0;
    for (int i = 0; i < b; ++i) {
      ybar[i] = -(gold[i] - sg * e[i] / se) / count;
      g_ow[i] += ybar[i] * top[i];
      g_ob[i] += ybar[i];
      hb[(l - 1) * b + i] += ybar[i] * out_w[i];
    }
    for (int j = l - 1; j >= 0; --j) {
      const double *w = x + 8 * j * b;
      double *gw = g + 8 * j * b, *gb = gw + 4 * b;
      const double *hp = t ? LSTM_AT(t - 1, 5, j) : h0 + j * b, *sp = t ? LSTM_AT(t - 1, 4, j) : s0 + j * b;
      const double *F = LSTM_AT(t, 0, j), *I = LSTM_AT(t, 1, j), *O = LSTM_AT(t, 2, j), *G = LSTM_AT(t, 3, j);
      const double *S = LSTM_AT(t, 4, j);
      double *hbar = hb + j * b, *sbar = sb + j * b;
      for (int i = 0; i < b; ++i) {
        double u = j ? LSTM_AT(t, 5, j - 1)[i] : xt[i] * in_w[i];
        double ts = ad_m_tanh(S[i]);
        double Ob = hbar[i] * ts, Sb = sbar[i] + hbar[i] * O[i] * (1.0 - ts * ts);
        double zF = Sb * sp[i] * F[i] * (1.0 - F[i]), zI = Sb * G[i] * I[i] * (1.0 - I[i]);
        double zO = Ob * O[i] * (1.0 - O[i]), zG = Sb * I[i] * (1.0 - G[i] * G[i]);
        gw[i] += zF * u, gb[i] += zF;
        gw[b + i] += zI * hp[i], gb[b + i] += zI;
        gw[2 * b + i] += zO * u, gb[2 * b + i] += zO;
        gw[3 * b + i] += zG * hp[i], gb[3 * b + i] += zG;
        ub[j * b + i] = zF * w[i] + zO * w[2 * b + i];          /* adjoint of this layer's input */
        hbar[i] = zI * w[b + i] + zG * w[3 * b + i];            /* to the previous step's hidden */
        sbar[i] = Sb * F[i];                                    /* to the previous step's cell */
      }
      if (j) {
        for (int i = 0; i < b; ++i) hb[(j - 1) * b + i] += ub[j * b + i];
      } else {
        for (int i = 0; i < b; ++i) g_in[i] += ub[i] * xt[i];
      }
    }
  }
#undef LSTM_AT
  free(st);
}

const wl_info wl_info_lstm = {WL_lstm, "lstm", "ADBench LSTM loss, l layers x c characters (size = table row)",
                              {1, 3}, LSTM_ROWS, lstm_n_in, lstm_n_out, lstm_n_data, lstm_n_scratch, lstm_nodes,
                              lstm_init, lstm_manual, NULL, 0};

#else

#include "../../engines/ckpt/ad_steps.h"

/* One character of lstm as a checkpointable step (engines/ckpt/ad_steps.h): the state is every layer's hidden and
 * cell values and the loss sum so far (2 l b + 1), the parameters all of x. */
typedef struct lstm_env {
  int l, b;
  const double *seq; /* the text, b bits per character */
  ad_t *u, *yp;      /* scratch: b each */
} lstm_env;

static void lstm_step(ad_ctx *c, const void *env, int t, const ad_t *x, ad_t *s) {
  const lstm_env *e = (const lstm_env *)env;
  const int l = e->l, b = e->b, lb = l * b;
  const ad_t *in_w = x + 8 * lb, *out_w = in_w + b, *out_b = out_w + b;
  ad_t *hid = s, *cell = s + lb, *u = e->u, *yp = e->yp;
  ad_t total = s[2 * lb];
  const double *xt = e->seq + t * b, *gold = xt + b;
  for (int i = 0; i < b; ++i) u[i] = ad_mul_vc(c, in_w[i], xt[i]);
  for (int j = 0; j < l; ++j) {
    const ad_t *w = x + 8 * j * b, *bias = w + 4 * b, *in = j ? hid + (j - 1) * b : u;
    ad_t *h = hid + j * b, *st = cell + j * b;
    for (int i = 0; i < b; ++i) {
      ad_t F = ad_logistic(c, ad_add_vv(c, ad_mul_vv(c, in[i], w[i]), bias[i]));
      ad_t I = ad_logistic(c, ad_add_vv(c, ad_mul_vv(c, h[i], w[b + i]), bias[b + i]));
      ad_t O = ad_logistic(c, ad_add_vv(c, ad_mul_vv(c, in[i], w[2 * b + i]), bias[2 * b + i]));
      ad_t G = ad_tanh(c, ad_add_vv(c, ad_mul_vv(c, h[i], w[3 * b + i]), bias[3 * b + i]));
      st[i] = ad_add_vv(c, ad_mul_vv(c, st[i], F), ad_mul_vv(c, I, G));
      h[i] = ad_mul_vv(c, O, ad_tanh(c, st[i]));
    }
  }
  const ad_t *top = hid + (l - 1) * b;
  ad_t se = ad_const(c, 0.0);
  for (int i = 0; i < b; ++i) {
    yp[i] = ad_add_vv(c, ad_mul_vv(c, top[i], out_w[i]), out_b[i]);
    ad_t ei = ad_exp(c, yp[i]);
    se = i ? ad_add_vv(c, se, ei) : ei;
  }
  ad_t lse = ad_log(c, ad_add_vc(c, se, 2.0));
  for (int i = 0; i < b; ++i) {
    ad_t term = ad_mul_vc(c, ad_sub_vv(c, yp[i], lse), gold[i]);
    total = (t || i) ? ad_add_vv(c, total, term) : term;
  }
  s[2 * lb] = total;
}

static void WL_FN(lstm)(ad_ctx *c, int size, const double *data, const ad_t *x, ad_t *y, ad_t *s) {
  (void)size;
  const int l = (int)data[0], nc = (int)data[1], b = (int)data[2], lb = l * b;
  const double *state0 = data + 3, *seq = state0 + 2 * lb;
  ad_t *hid = s, *cell = s + lb;
  for (int j = 0; j < l; ++j)
    for (int i = 0; i < b; ++i) {
      hid[j * b + i] = ad_const(c, state0[2 * j * b + i]);
      cell[j * b + i] = ad_const(c, state0[2 * j * b + b + i]);
    }
  s[2 * lb] = ad_const(c, 0.0);
  lstm_env e = {l, b, seq, s + 2 * lb + 1, s + 2 * lb + 1 + b};
  AD_STEPS(c, lstm_step, &e, sizeof e, nc - 1, 8 * lb + 3 * b, x, 2 * lb + 1, s); /* one step per character */
  y[0] = ad_div_vc(c, s[2 * lb], -(double)((nc - 1) * b));
}

#endif
