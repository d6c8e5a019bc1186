/* eng_torch.cc: libtorch autograd on 0-dimensional double tensors, one graph node per scalar op, behind eng.h.
 *
 *   const eng_api *e = eng_find("torch");
 *   eng_session *s = e->open(wl_find("rosenbrock"), 1000, data);
 *   e->jacobian(s, x, y, g);          // record (each op: a tensor and an autograd node), then y.backward()
 *   e->value(s, x, y);                // record only; then
 *   e->vjp(s, w, wJ);                 //   torch::autograd::grad with grad_outputs w, graph retained
 *   e->close(s);
 *
 * This is PyTorch's graph-object reverse mode as most people know it: every input is a 0-dim double tensor with
 * requires_grad, every op an ATen op that allocates its result tensor and its grad_fn node, and the gradient is
 * y.backward() then x.grad. Ops are ATen's own: sigmoid for logistic, square for sqr, rsub for a constant minus
 * a variable, maximum/minimum for two variables and clamp_min/clamp_max against a constant. A constant is an
 * at::scalar_tensor without grad. ATen runs single-threaded here (at::set_num_threads(1) on first open), as
 * 0-dim ops do not parallelise anyway and the benchmark machine's cores are shared.
 *
 * Sizes: measured at 1e6 nodes, 14-20 microseconds and 0.7-0.9 KB of heap per node, so recordings above 2e6
 * nodes (over 30 s and 2 GB per gradient) are skipped with that reason. libtorch errors (c10::Error) are
 * caught at this adapter's boundary and returned as AD_ESTATE; bad_alloc as AD_ENOMEM.
 *
 * Counters: nodes and args are the workload's ops and their variable operands (counted by the adapter);
 * bytes_used is the heap the last recording took, graph and tensors (glibc mallinfo2, measured by stats() on a
 * fresh recording at the last inputs).
 */
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/version.h>

#include <new>
#include <vector>

#include "peer_heap.hh"
#include "peers.h"

typedef at::Tensor ad_t;
typedef struct torch_ctx { uint64_t nodes, args; } ad_ctx;

static inline double torch_value(const at::Tensor &x) { return *x.data_ptr<double>(); }
static inline at::Tensor torch_const(double v) { return at::scalar_tensor(v, at::kDouble); }

#define PEER_VALUE(x) torch_value(x)
#define PEER_CONST(c, v) torch_const(v)
#define PEER_NOTE(c, k) ((c)->nodes++, (c)->args += (k))
#define PEER_fmax_vv(a, b) at::maximum(a, b)
#define PEER_fmin_vv(a, b) at::minimum(a, b)
#define PEER_fmax_vc(a, b) at::clamp_min(a, b)
#define PEER_fmin_vc(a, b) at::clamp_max(a, b)
#define PEER_sub_cv(a, b) at::rsub(b, a)
#define PEER_div_cv(a, b) at::div(torch_const(a), b)
#define PEER_pow_cv(a, b) at::pow(at::Scalar(a), b)
#define PEER_sqr(a, b) at::square(a)
#define PEER_logistic(a, b) at::sigmoid(a)
#define PEER_abs(a, b) at::abs(a)

#include "peer_ops.hh"

#define ENG_SESSION_FIELDS                                                                                     \
  ad_ctx ctx;                                                                                                  \
  int recorded;                                                                                                \
  double *last_x; /* inputs of the last recording (n_in) */
#include "../adapters/eng_session.inc"

static void torch_close(eng_session *s) {
  if (!s) return;
  ad_free(s->last_x, (size_t)s->n_in * sizeof(double));
  peer_destroy(s->x, s->n_in);
  peer_destroy(s->y, s->n_out);
  peer_destroy(s->s, s->n_scratch);
  sess_close(s);
}

static const char *torch_skip(const wl_info *w, int size) {
  if (w->nodes(size) > 2e6)
    return "libtorch 0-dim autograd above 2e6 nodes: over 30 s and 2 GB per gradient (~15 us, ~0.9 KB per node)";
  return NULL;
}

static eng_session *torch_open(const wl_info *w, int size, const double *data) {
  if (!w || size < 1 || size > w->max_size || torch_skip(w, size)) return NULL;
  static int threads_set;
  if (!threads_set) {
    at::set_num_threads(1);
    threads_set = 1;
  }
  eng_session *s = sess_open(w, size, data);
  if (!s) return NULL;
  s->last_x = (double *)ad_calloc((size_t)s->n_in * sizeof(double));
  peer_construct(s->x, s->n_in);
  peer_construct(s->y, s->n_out);
  peer_construct(s->s, s->n_scratch);
  if (!s->last_x) {
    torch_close(s);
    return NULL;
  }
  return s;
}

/* Drops the last recording: its tensors and graph are freed as their references go. */
static void torch_drop(eng_session *s) {
  for (int i = 0; i < s->n_in; ++i) s->x[i] = at::Tensor();
  for (int i = 0; i < s->n_out; ++i) s->y[i] = at::Tensor();
  for (int i = 0; i < s->n_scratch; ++i) s->s[i] = at::Tensor();
  s->recorded = 0;
}

static void torch_record(eng_session *s, const double *x, double *y) {
  s->ctx.nodes = s->ctx.args = 0;
  for (int i = 0; i < s->n_in; ++i) s->x[i] = torch_const(x[i]).requires_grad_(true);
  s->fn(&s->ctx, s->size, s->data, s->x, s->y, s->s);
  if (y)
    for (int i = 0; i < s->n_out; ++i) y[i] = torch_value(s->y[i]);
  if (x != s->last_x) memcpy(s->last_x, x, (size_t)s->n_in * sizeof(double));
  s->recorded = 1;
}

/* Runs f, turning libtorch's exceptions into status codes. */
template <class F> static ad_status torch_guard(F f) {
  try {
    return f();
  } catch (const std::bad_alloc &) {
    return AD_ENOMEM;
  } catch (const std::exception &) {
    return AD_ESTATE;
  }
}

static ad_status torch_value_fn(eng_session *s, const double *x, double *y) {
  return torch_guard([&] {
    torch_record(s, x, y);
    return AD_OK;
  });
}

/* The gradient of sum_i w_i y_i with respect to the inputs, graph retained; 0 for inputs not reached. */
static ad_status torch_grad(eng_session *s, const double *w, double *wJ) {
  std::vector<at::Tensor> outs, ws, ins(s->x, s->x + s->n_in);
  for (int i = 0; i < s->n_out; ++i)
    if (s->y[i].requires_grad()) { /* a passive output contributes nothing */
      outs.push_back(s->y[i]);
      ws.push_back(torch_const(w[i]));
    }
  for (int j = 0; j < s->n_in; ++j) wJ[j] = 0.0;
  if (outs.empty()) return AD_OK;
  std::vector<at::Tensor> g = torch::autograd::grad(outs, ins, ws, true, false, true);
  for (int j = 0; j < s->n_in; ++j)
    if (g[j].defined()) wJ[j] = torch_value(g[j]);
  return AD_OK;
}

static ad_status torch_vjp(eng_session *s, const double *w, double *wJ) {
  if (!s->recorded) return AD_ESTATE;
  return torch_guard([&] { return torch_grad(s, w, wJ); });
}

/* A gradient is y.backward() then x.grad; a Jacobian one autograd::grad per row. */
static ad_status torch_jacobian(eng_session *s, const double *x, double *y, double *J) {
  return torch_guard([&] {
    torch_record(s, x, y);
    if (s->n_out == 1) {
      for (int j = 0; j < s->n_in; ++j) J[j] = 0.0;
      if (!s->y[0].requires_grad()) return AD_OK;
      s->y[0].backward();
      for (int j = 0; j < s->n_in; ++j) {
        const at::Tensor &g = s->x[j].grad();
        if (g.defined()) J[j] = torch_value(g);
      }
      return AD_OK;
    }
    std::vector<double> w((size_t)s->n_out, 0.0);
    for (int i = 0; i < s->n_out; ++i) {
      w[(size_t)i] = 1.0;
      ad_status st = torch_grad(s, w.data(), J + (size_t)i * s->n_in);
      if (st != AD_OK) return st;
      w[(size_t)i] = 0.0;
    }
    return AD_OK;
  });
}

static eng_stats torch_stats(eng_session *s) {
  eng_stats st;
  memset(&st, 0, sizeof st);
  if (!s || !s->recorded) return st;
  torch_guard([&] {
    torch_drop(s);
    size_t before = peer_heap_bytes();
    torch_record(s, s->last_x, NULL);
    st.bytes_used = peer_heap_delta(before, peer_heap_bytes());
    return AD_OK;
  });
  st.nodes = s->ctx.nodes;
  st.args = s->ctx.args;
  st.bytes_held = st.bytes_used + sizeof *s + (size_t)(s->n_in + s->n_out + s->n_scratch) * sizeof(ad_t);
  return st;
}

static eng_api torch_api(void) {
  eng_api e;
  memset(&e, 0, sizeof e);
  e.name = "torch";
  e.kind = ENG_REVERSE;
  e.open = torch_open;
  e.close = torch_close;
  e.value = torch_value_fn;
  e.jacobian = torch_jacobian;
  e.vjp = torch_vjp;
  e.stats = torch_stats;
  return e;
}

extern "C" const eng_api eng_torch =
    peer_api(torch_api(), "libtorch", ADLAB_TORCH_VERSION,
             "autograd on 0-dim double tensors, one node per scalar op: record, then y.backward()",
             torch_skip);
