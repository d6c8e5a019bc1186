/* eng_torch_vec.cc: libtorch autograd on 1-D tensors: the vectorised form of the workloads that have one, as a
 * PyTorch user would write them, behind eng.h. Labelled torch_vec: a different program from the workload source.
 *
 *   const eng_api *e = eng_find("torch_vec");
 *   if (!peer_skip_reason(e, wl_find("rosenbrock"), 1000000)) {
 *     eng_session *s = e->open(wl_find("rosenbrock"), 1000000, data);
 *     e->jacobian(s, x, y, g);        // one tensor of inputs with requires_grad, f.backward(), x.grad
 *     e->close(s);
 *   }
 *
 * Vectorised forms (a handful of graph nodes, each over a whole vector or matrix):
 *   rosenbrock  a = x[:-1], b = x[1:];  f = sum((1 - a)^2 + 100 (b - a^2)^2)
 *   mlp         W1, b1, w2, b2 are views of x; U (S x D) and t from the data;
 *               f = mean((tanh(U W1^T + b1) w2 + b2 - t)^2)
 *   lse         A = max(x);  f = log(sum(exp(x - A))) + A
 *   llsq        T (n x 128, T_ij = t_i^j, built once per session) and s = sign(t) from the workload's definition;
 *               f = sum((s - T x)^2) / 2
 *   gmm         GradBench's vectorised PyTorch objective: Q (k x d x d) = diag_embed(exp(q)) + the strictly lower
 *               part scattered from l; V = Q (x_i - mu_c) for all points and components at once (n x k x d);
 *               f = sum_i logsumexp_c(alpha + sum q - |V|^2 / 2) + const - n logsumexp(alpha) - prior
 *   ode         GradBench's RK4 on vectors: f(x, y) = cat(x_0, x[1:] y[:-1]), each stage one vector expression
 *   lstm        ADBench's LSTM with each layer's b units as one vector per gate (its weights are diagonal, so a
 *               gate is elementwise): per character and layer 17 vector ops, then the log-softmax of the prediction
 * A tensor-form workload (<workload>_t) runs its scalar twin's form: the same inputs, data and function.
 * The other workloads are sequential (a chain of scalar ops, Horner's rule, per-element loops and branches) and
 * have no vectorised form here: peer_skip_reason says so. Sums run in libtorch's order, so values and gradients
 * differ from the scalar workloads' by rounding (the adapter's tolerance). Errors from libtorch become AD_ESTATE (AD_ENOMEM for
 * bad_alloc). stats(): nodes are the graph's tensor ops, bytes_used the heap a fresh recording takes (mallinfo2).
 */
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/version.h>

#include <cstring>
#include <new>
#include <vector>

#include "peer_heap.hh"
#include "peers.h"

struct eng_session {
  const wl_info *w;
  int size, n_in;
  const double *data;
  std::vector<double> last_x;
  at::Tensor x, f; /* the inputs (requires_grad) and the objective of the last recording */
  at::Tensor T, sgn, lidx; /* constants built once: llsq's powers and signs, gmm's lower-triangle positions */
  uint64_t ops;    /* tensor ops of the last recording */
};

/* The workload whose vectorised form runs: a tensor-form workload (<workload>_t) reads the same inputs and data as
 * its scalar twin and computes the same function, so it runs the twin's form. */
static const wl_info *tv_form(const wl_info *w) {
  if (!wl_is_tensor(w)) return w;
  char name[64];
  size_t n = strlen(w->name);
  if (n - 2 >= sizeof name) return w;
  memcpy(name, w->name, n - 2);
  name[n - 2] = 0;
  const wl_info *twin = wl_find(name);
  return twin ? twin : w;
}

static const char *tv_skip(const wl_info *w0, int size) {
  const wl_info *w = tv_form(w0);
  if (w->id != WL_rosenbrock && w->id != WL_mlp && w->id != WL_lse && w->id != WL_llsq && w->id != WL_gmm &&
      w->id != WL_ode && w->id != WL_lstm)
    return "no vectorised form: the workload is a sequence of dependent scalar ops";
  if (w->nodes(size) > 2e8) return "vectorised libtorch above 2e8 scalar nodes: tensors over 4 GB";
  return NULL;
}

/* Runs f, turning libtorch's exceptions into status codes. */
template <class F> static ad_status tv_guard(F f) {
  try {
    return f();
  } catch (const std::bad_alloc &) {
    return AD_ENOMEM;
  } catch (const std::exception &) {
    return AD_ESTATE;
  }
}

static void tv_close(eng_session *s) {
  if (!s) return;
  s->~eng_session();
  ad_free(s, sizeof *s);
}

static eng_session *tv_open(const wl_info *w, int size, const double *data) {
  if (!w || size < 1 || size > w->max_size || tv_skip(w, size)) return NULL;
  static int threads_set;
  if (!threads_set) {
    at::set_num_threads(1);
    threads_set = 1;
  }
  void *p = ad_malloc(sizeof(eng_session));
  if (!p) return NULL;
  eng_session *s = new (p) eng_session();
  s->w = tv_form(w);
  s->size = size;
  s->n_in = w->n_in(size);
  s->data = data;
  ad_status st = tv_guard([&] {
    if (s->w->id == WL_llsq) { /* the workload's t_i^j by the same running product, and sign(t_i) */
      const int64_t n = size < 2 ? 2 : size, M = s->n_in;
      s->T = at::empty({n, M}, at::kDouble);
      s->sgn = at::empty({n}, at::kDouble);
      double *T = s->T.data_ptr<double>(), *sg = s->sgn.data_ptr<double>();
      for (int64_t i = 0; i < n; ++i) {
        double t = -1.0 + (double)i * 2.0 / (double)(n - 1), tj = t;
        sg[i] = (double)((t > 0.0) - (t < 0.0));
        T[i * M] = 1.0;
        for (int64_t j = 1; j < M; ++j, tj *= t) T[i * M + j] = tj;
      }
    } else if (s->w->id == WL_gmm) { /* l's entries (1,0), (2,0), ..., (d-1,0), (2,1), ... as flat positions b d + a */
      const int64_t d = (int64_t)data[0], L = d * (d - 1) / 2;
      s->lidx = at::empty({L}, at::kLong);
      int64_t *ix = s->lidx.data_ptr<int64_t>(), li = 0;
      for (int64_t a = 0; a < d; ++a)
        for (int64_t b = a + 1; b < d; ++b) ix[li++] = b * d + a;
    }
    return AD_OK;
  });
  if (st != AD_OK) {
    tv_close(s);
    return NULL;
  }
  return s;
}

static at::Tensor tv_rosenbrock(const at::Tensor &x, uint64_t *ops) {
  int64_t n = x.size(0);
  at::Tensor a = x.slice(0, 0, n - 1), b = x.slice(0, 1, n);
  *ops = 9; /* 2 slices, rsub, 2 squares, sub, square, mul, add, sum: counted as the graph's 9 arithmetic nodes */
  return (at::square(at::rsub(a, 1.0)) + at::square(b - at::square(a)) * 100.0).sum();
}

static at::Tensor tv_mlp(const at::Tensor &x, const double *data, int size, uint64_t *ops) {
  enum { D = 4, S = 8 };
  int64_t h = size < 1 ? 1 : size;
  at::Tensor W1 = x.slice(0, 0, h * D).view({h, D}), b1 = x.slice(0, h * D, h * (D + 1));
  at::Tensor w2 = x.slice(0, h * (D + 1), h * (D + 2)), b2 = x.slice(0, h * (D + 2), h * (D + 2) + 1);
  at::Tensor U = at::from_blob(const_cast<double *>(data), {S, D + 1}, at::kDouble);
  at::Tensor u = U.slice(1, 0, D), t = U.select(1, D);
  *ops = 8; /* matmul, add, tanh, matvec, add, sub, square, mean */
  return at::square(at::tanh(at::matmul(u, W1.t()) + b1).matmul(w2) + b2 - t).mean();
}

static at::Tensor tv_lse(const at::Tensor &x, uint64_t *ops) {
  *ops = 6; /* max, sub, exp, sum, log, add */
  at::Tensor A = x.max();
  return at::log(at::exp(x - A).sum()) + A;
}

static at::Tensor tv_llsq(const eng_session *s, const at::Tensor &x, uint64_t *ops) {
  *ops = 5; /* mv, rsub, square, sum, mul */
  return at::square(s->sgn - at::mv(s->T, x)).sum() * 0.5;
}

static at::Tensor tv_gmm(const eng_session *s, const at::Tensor &x, uint64_t *ops) {
  const double *data = s->data;
  const int64_t d = (int64_t)data[0], k = (int64_t)data[1], n = (int64_t)data[2], L = d * (d - 1) / 2, icf = d + L;
  const double wm = data[3], gamma = data[4];
  at::Tensor pts = at::from_blob(const_cast<double *>(data + 7), {n, d}, at::kDouble);
  at::Tensor alpha = x.slice(0, 0, k), mu = x.slice(0, k, k + k * d).view({k, d});
  at::Tensor icfm = x.slice(0, k + k * d, k + k * d + k * icf).view({k, icf});
  at::Tensor q = icfm.slice(1, 0, d), l = icfm.slice(1, d, icf);
  at::Tensor Qd = at::exp(q), sumq = q.sum(1);
  at::Tensor Q = at::diag_embed(Qd);
  if (L) Q = Q + at::zeros({k, d * d}, x.options()).index_copy(1, s->lidx, l).view({k, d, d});
  at::Tensor xc = pts.unsqueeze(1) - mu.unsqueeze(0);                  /* n x k x d */
  at::Tensor V = at::matmul(Q, xc.unsqueeze(-1)).squeeze(-1);          /* n x k x d */
  at::Tensor main = alpha + sumq - at::square(V).sum(2) * 0.5;         /* n x k */
  at::Tensor err = at::logsumexp(main, {1}).sum() + data[5] - at::logsumexp(alpha, {0}) * (double)n;
  at::Tensor frob = at::square(Qd).sum(1) + at::square(l).sum(1);
  at::Tensor prior = (frob * (0.5 * gamma * gamma) - sumq * wm).sum();
  *ops = 29; /* the differentiable tensor ops above (views not counted) */
  return err + (data[6] - prior);
}

/* The ODE's right-hand side z_0 = x_0, z_i = x_i y_{i-1}: 2 ops (a product of slices, a concatenation). */
static at::Tensor tv_ode_f(const at::Tensor &X, const at::Tensor &y, int64_t n) {
  return at::cat({X.slice(0, 0, 1), X.slice(0, 1, n) * y.slice(0, 0, n - 1)});
}

static at::Tensor tv_ode(const eng_session *s, const at::Tensor &x, uint64_t *ops) {
  const int64_t n = (int64_t)s->data[0], steps = (int64_t)s->data[1];
  const double h = 2.0 / (double)steps;
  at::Tensor X = x.slice(0, 0, n), yv = x.slice(0, n, 2 * n);
  for (int64_t st = 0; st < steps; ++st) {
    at::Tensor k1 = tv_ode_f(X, yv, n);
    at::Tensor k2 = tv_ode_f(X, yv + k1 * (h / 2), n);
    at::Tensor k3 = tv_ode_f(X, yv + k2 * (h / 2), n);
    at::Tensor k4 = tv_ode_f(X, yv + k3 * h, n);
    yv = yv + (((k1 + k2 * 2.0) + k3 * 2.0) + k4) * h / 6.0;
  }
  *ops = (uint64_t)steps * 22 + 1; /* per step: 4 right-hand sides (2 each), 3 stage inputs (2 each), 8 for the
                                    * update; then the select */
  return yv.select(0, n - 1);
}

static at::Tensor tv_lstm(const eng_session *s, const at::Tensor &x, uint64_t *ops) {
  const double *data = s->data;
  const int64_t l = (int64_t)data[0], nc = (int64_t)data[1], b = (int64_t)data[2], lb = l * b;
  const double *state0 = data + 3, *seq = state0 + 2 * lb;
  at::Tensor W = x.slice(0, 0, 8 * lb).view({l, 8, b});
  at::Tensor in_w = x.slice(0, 8 * lb, 8 * lb + b), out_w = x.slice(0, 8 * lb + b, 8 * lb + 2 * b);
  at::Tensor out_b = x.slice(0, 8 * lb + 2 * b, 8 * lb + 3 * b);
  at::Tensor st0 = at::from_blob(const_cast<double *>(state0), {l, 2, b}, at::kDouble);
  at::Tensor text = at::from_blob(const_cast<double *>(seq), {nc, b}, at::kDouble);
  std::vector<at::Tensor> hid, cell;
  for (int64_t j = 0; j < l; ++j) hid.push_back(st0[j][0]), cell.push_back(st0[j][1]);
  at::Tensor total;
  for (int64_t t = 0; t + 1 < nc; ++t) {
    at::Tensor u = in_w * text[t];
    for (int64_t j = 0; j < l; ++j) {
      at::Tensor w = W[j], in = j ? hid[(size_t)j - 1] : u, h = hid[(size_t)j];
      at::Tensor F = at::sigmoid(in * w[0] + w[4]), I = at::sigmoid(h * w[1] + w[5]);
      at::Tensor O = at::sigmoid(in * w[2] + w[6]), G = at::tanh(h * w[3] + w[7]);
      cell[(size_t)j] = cell[(size_t)j] * F + I * G;
      hid[(size_t)j] = O * at::tanh(cell[(size_t)j]);
    }
    at::Tensor yp = hid[(size_t)l - 1] * out_w + out_b;
    at::Tensor term = ((yp - at::log(at::exp(yp).sum() + 2.0)) * text[t + 1]).sum();
    total = t ? total + term : term;
  }
  *ops = (uint64_t)(nc - 1) * (uint64_t)(11 + 17 * l) + 1; /* per character: 17 per layer, 11 more; the mean */
  return total / -(double)((nc - 1) * b);
}

static ad_status tv_record(eng_session *s, const double *x, double *y) {
  return tv_guard([&] {
    s->f = at::Tensor();
    s->x = at::from_blob(const_cast<double *>(x), {s->n_in}, at::kDouble).clone().requires_grad_(true);
    switch (s->w->id) {
    case WL_rosenbrock: s->f = tv_rosenbrock(s->x, &s->ops); break;
    case WL_lse: s->f = tv_lse(s->x, &s->ops); break;
    case WL_llsq: s->f = tv_llsq(s, s->x, &s->ops); break;
    case WL_gmm: s->f = tv_gmm(s, s->x, &s->ops); break;
    case WL_ode: s->f = tv_ode(s, s->x, &s->ops); break;
    case WL_lstm: s->f = tv_lstm(s, s->x, &s->ops); break;
    default: s->f = tv_mlp(s->x, s->data, s->size, &s->ops); break;
    }
    if (y) y[0] = s->f.item<double>();
    if (x != s->last_x.data()) s->last_x.assign(x, x + s->n_in);
    return AD_OK;
  });
}

static void tv_copy_grad(const at::Tensor &g, int n, double scale, double *out) {
  if (!g.defined()) {
    for (int j = 0; j < n; ++j) out[j] = 0.0;
    return;
  }
  at::Tensor c = g.contiguous();
  const double *p = c.data_ptr<double>();
  for (int j = 0; j < n; ++j) out[j] = scale * p[j];
}

static ad_status tv_vjp(eng_session *s, const double *w, double *wJ) {
  if (!s->f.defined()) return AD_ESTATE;
  return tv_guard([&] {
    std::vector<at::Tensor> g = torch::autograd::grad({s->f}, {s->x}, {at::scalar_tensor(w[0], at::kDouble)}, true,
                                                      false, true);
    tv_copy_grad(g[0], s->n_in, 1.0, wJ);
    return AD_OK;
  });
}

static ad_status tv_jacobian(eng_session *s, const double *x, double *y, double *J) {
  ad_status st = tv_record(s, x, y);
  if (st != AD_OK) return st;
  return tv_guard([&] {
    s->f.backward();
    tv_copy_grad(s->x.grad(), s->n_in, 1.0, J);
    return AD_OK;
  });
}

static eng_stats tv_stats(eng_session *s) {
  eng_stats st;
  memset(&st, 0, sizeof st);
  if (!s || !s->f.defined()) return st;
  s->f = at::Tensor();
  s->x = at::Tensor();
  size_t before = peer_heap_bytes();
  std::vector<double> x = s->last_x;
  tv_record(s, x.data(), NULL);
  st.bytes_used = peer_heap_delta(before, peer_heap_bytes());
  st.nodes = s->ops;
  st.bytes_held = st.bytes_used + sizeof *s;
  return st;
}

static eng_api tv_api(void) {
  eng_api e;
  memset(&e, 0, sizeof e);
  e.name = "torch_vec";
  e.kind = ENG_REVERSE;
  e.open = tv_open;
  e.close = tv_close;
  e.value = tv_record;
  e.jacobian = tv_jacobian;
  e.vjp = tv_vjp;
  e.stats = tv_stats;
  e.tensors = 1;
  return e;
}

extern "C" const eng_api eng_torch_vec =
    peer_api(tv_api(), "libtorch", ADLAB_TORCH_VERSION,
             "autograd on tensors (vectorised rewrites of rosenbrock, mlp, lse, llsq, gmm, ode and lstm): record, then f.backward()",
             tv_skip);
