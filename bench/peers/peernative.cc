/* peernative: what the adapters cost. Each peer's Rosenbrock gradient written natively, as the tool's own
 * documentation would write it, timed against the same gradient through the adapter (the workload source
 * compiled for the tool, called through eng_api) at the same inputs, in one run.
 *
 *   peernative                 n = 125001 inputs (10^6 nodes)
 *   peernative 1000 0.5        n = 1000, each measurement at least 0.5 s
 *
 * Native forms: f accumulates with += over the terms t = 1 - x_i, u = x_{i+1} - x_i^2, f += t t + 100 u u;
 * ADOL-C: trace_on(keep=1)/fos_reverse; Sacado Rad: Gradcomp; libtorch: 0-dim tensors and f.backward();
 * Ceres Jet<double, 1> and Sacado SFad<double, 1>: one forward pass with tangent 1 on every input. Prints seconds
 * per gradient (or pass) both ways, their ratio (adapter / native) and the largest relative difference between
 * the two results.
 */
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <vector>

#include "eng.h"
#include "peers/peers.h"
#include "wl.h"

#ifdef ADLAB_HAVE_ADOLC
#include <adolc/adolc.h>
#endif
#ifdef ADLAB_HAVE_SACADO
#define RAD_EQ_ALIAS 1
#include <Sacado_No_Kokkos.hpp>
#endif
#ifdef ADLAB_HAVE_CERES
#include <ceres/jet.h>
#endif
#ifdef ADLAB_HAVE_TORCH
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#endif

static double now() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Median seconds of f() over repetitions filling min_time (one untimed call first). */
template <class F> static double timeit(F f, double min_time) {
  std::vector<double> t;
  f();
  double start = now();
  do {
    double t0 = now();
    f();
    t.push_back(now() - t0);
  } while (now() - start < min_time && t.size() < 50 && t.back() < 2.0);
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

static double rel_diff(const std::vector<double> &a, const std::vector<double> &b) {
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    num = std::fmax(num, std::fabs(a[i] - b[i]));
    den = std::fmax(den, std::fabs(b[i]));
  }
  return den > 0 ? num / den : num;
}

/* Through the adapter: eng_api's jacobian (reverse) or jvp with v = 1 (forward). */
static double via_adapter(const char *name, const std::vector<double> &x, std::vector<double> &out, double min_time) {
  const eng_api *e = eng_find(name);
  const wl_info *w = wl_find("rosenbrock");
  int n = (int)x.size();
  double data[1] = {0}, y;
  std::vector<double> v((size_t)n, 1.0);
  eng_session *s = e ? e->open(w, n, data) : NULL;
  if (!s) return 0;
  double sec = e->kind == ENG_FORWARD ? timeit([&] { e->jvp(s, x.data(), v.data(), &y, out.data()); }, min_time)
                                      : timeit([&] { e->jacobian(s, x.data(), &y, out.data()); }, min_time);
  e->close(s);
  return sec;
}

static void report(const char *name, double native, double adapter, double diff) {
  if (native <= 0 || adapter <= 0) {
    std::printf("%-12s not measured\n", name);
    return;
  }
  std::printf("%-12s native %10.6f s   adapter %10.6f s   adapter/native %5.2f   results differ by %.1e\n", name,
              native, adapter, adapter / native, diff);
}

int main(int argc, char **argv) {
  int n = argc > 1 ? std::atoi(argv[1]) : 125001;
  double min_time = argc > 2 ? std::atof(argv[2]) : 0.3;
  if (n < 2) n = 2;
  const wl_info *w = wl_find("rosenbrock");
  std::vector<double> x((size_t)n), data(1), g((size_t)n), ga((size_t)n), ones((size_t)n, 1.0);
  w->init(n, 42, x.data(), data.data());
  std::printf("peernative: rosenbrock, n = %d (%.0f nodes)\n", n, w->nodes(n));
  (void)ones;

#ifdef ADLAB_HAVE_ADOLC
  {
    std::vector<adouble> ax((size_t)n);
    double fy;
    unsigned e = (unsigned)(12.0 * n + 4096);
    auto grad = [&] {
      trace_on(1, 1, e, 3 * e, e, e);
      for (int i = 0; i < n; ++i) ax[(size_t)i] <<= x[(size_t)i];
      adouble f = 0.0;
      for (int i = 0; i + 1 < n; ++i) {
        adouble t = 1.0 - ax[(size_t)i], u = ax[(size_t)i + 1] - ax[(size_t)i] * ax[(size_t)i];
        f += t * t + 100.0 * (u * u);
      }
      f >>= fy;
      trace_off();
      double one = 1.0;
      fos_reverse(1, 1, n, &one, g.data());
    };
    double tn = timeit(grad, min_time);
    double ta = via_adapter("adolc", x, ga, min_time);
    report("adolc", tn, ta, rel_diff(ga, g));
    removeTape(1, ADOLC_REMOVE_COMPLETELY);
  }
#endif
#ifdef ADLAB_HAVE_SACADO
  {
    typedef Sacado::Rad::ADvar<double> R;
    std::vector<R> rx((size_t)n);
    auto grad = [&] {
      for (int i = 0; i < n; ++i) rx[(size_t)i] = x[(size_t)i];
      R f = 0.0;
      for (int i = 0; i + 1 < n; ++i) {
        R t = 1.0 - rx[(size_t)i], u = rx[(size_t)i + 1] - rx[(size_t)i] * rx[(size_t)i];
        f += t * t + 100.0 * (u * u);
      }
      R::Outvar_Gradcomp(f);
      for (int i = 0; i < n; ++i) g[(size_t)i] = rx[(size_t)i].adj();
    };
    double tn = timeit(grad, min_time);
    double ta = via_adapter("sacado_rad", x, ga, min_time);
    report("sacado_rad", tn, ta, rel_diff(ga, g));

    typedef Sacado::Fad::SFad<double, 1> S;
    std::vector<S> sx((size_t)n);
    double dot = 0;
    auto pass = [&] {
      for (int i = 0; i < n; ++i) {
        sx[(size_t)i] = S(x[(size_t)i]);
        sx[(size_t)i].fastAccessDx(0) = 1.0;
      }
      S f = 0.0;
      for (int i = 0; i + 1 < n; ++i) {
        S t = 1.0 - sx[(size_t)i], u = sx[(size_t)i + 1] - sx[(size_t)i] * sx[(size_t)i];
        f += t * t + 100.0 * (u * u);
      }
      dot = f.dx(0);
    };
    tn = timeit(pass, min_time);
    ta = via_adapter("sacado_sfad", x, ga, min_time);
    report("sacado_sfad", tn, ta, std::fabs(ga[0] - dot) / std::fabs(dot));
  }
#endif
#ifdef ADLAB_HAVE_CERES
  {
    typedef ceres::Jet<double, 1> J;
    std::vector<J> jx((size_t)n);
    double dot = 0;
    auto pass = [&] {
      for (int i = 0; i < n; ++i) jx[(size_t)i] = J(x[(size_t)i], 0);
      J f(0.0);
      for (int i = 0; i + 1 < n; ++i) {
        J t = 1.0 - jx[(size_t)i], u = jx[(size_t)i + 1] - jx[(size_t)i] * jx[(size_t)i];
        f += t * t + 100.0 * (u * u);
      }
      dot = f.v[0];
    };
    double tn = timeit(pass, min_time);
    double ta = via_adapter("ceres_jet", x, ga, min_time);
    report("ceres_jet", tn, ta, std::fabs(ga[0] - dot) / std::fabs(dot));
  }
#endif
#ifdef ADLAB_HAVE_TORCH
  if (w->nodes(n) <= 2e6) {
    at::set_num_threads(1);
    std::vector<at::Tensor> tx((size_t)n);
    auto grad = [&] {
      for (int i = 0; i < n; ++i) tx[(size_t)i] = at::scalar_tensor(x[(size_t)i], at::kDouble).requires_grad_(true);
      at::Tensor f = at::scalar_tensor(0.0, at::kDouble);
      for (int i = 0; i + 1 < n; ++i) {
        at::Tensor t = 1.0 - tx[(size_t)i], u = tx[(size_t)i + 1] - tx[(size_t)i] * tx[(size_t)i];
        f = f + (t * t + 100.0 * (u * u));
      }
      f.backward();
      for (int i = 0; i < n; ++i) g[(size_t)i] = tx[(size_t)i].grad().item<double>();
    };
    double tn = timeit(grad, min_time);
    tx.clear();
    double ta = via_adapter("torch", x, ga, min_time);
    report("torch", tn, ta, rel_diff(ga, g));
  }
#endif
  return 0;
}
