// test_wl_cxx: the workloads' engine part is valid C++17 (wl.h promises it, so that C++ AD tools can compile
// the same source with their own types behind the op names). This translation unit is C++: it includes the
// primal engine's header and every workload file (bench/workloads/all.inc, without WL_META), evaluates every
// workload of wl_all at both check sizes and
// requires the values to equal those of the C build, the primal engine behind eng_api, bit for bit. Both builds
// share the compile options (no FP contraction) and the SLEEF functions, so any difference is a C/C++
// divergence in the workload source.
#include <cstdio>
#include <cstring>
#include <vector>

#include "../engines/primal/primal_array.h"
#include "eng.h"
#include "testkit.h"
#include "wl.h"
#include "workloads/all.inc"

namespace {

using wl_fn_t = void (*)(ad_ctx *c, int size, const double *data, const ad_t *x, ad_t *y, ad_t *s);

const wl_fn_t cxx_fns[WL_COUNT] = {
#define WL__X(name) WL_FN(name),
    WL_LIST(WL__X)
#undef WL__X
};

}  // namespace

int main() {
  int compared = 0;
  for (int i = 0; i < WL_COUNT; ++i) {
    const wl_info *w = wl_all[i];
    for (int k = 0; k < 2; ++k) {
      int size = w->check_sizes[k];
      if (k == 1 && size == w->check_sizes[0]) continue;
      int n = w->n_in(size), m = w->n_out(size), ns = w->n_scratch(size);
      std::vector<double> x(static_cast<size_t>(n)), data(static_cast<size_t>(w->n_data(size)) + 1);
      std::vector<double> y_c(static_cast<size_t>(m)), y_cxx(static_cast<size_t>(m));
      std::vector<ad_t> s(static_cast<size_t>(ns > 0 ? ns : 1));
      w->init(size, 42, x.data(), data.data());

      cxx_fns[w->id](nullptr, size, data.data(), x.data(), y_cxx.data(), s.data());

      eng_session *sess = eng_primal.open(w, size, data.data());
      CHECKF(sess != nullptr, "%s at size %d: eng_primal.open failed", w->name, size);
      if (!sess) continue;
      ad_status st = eng_primal.value(sess, x.data(), y_c.data());
      eng_primal.close(sess);
      CHECKF(st == AD_OK, "%s at size %d: eng_primal.value failed", w->name, size);
      bool same = std::memcmp(y_c.data(), y_cxx.data(), static_cast<size_t>(m) * sizeof(double)) == 0;
      CHECKF(same, "%s at size %d: the C++ build's value differs from the C build's", w->name, size);
      if (!same)
        for (int j = 0; j < m && j < 4; ++j) std::fprintf(stderr, "  y[%d]: C %.17g, C++ %.17g\n", j, y_c[j], y_cxx[j]);
      compared++;
    }
  }
  if (!tk_fails)
    std::printf("test_wl_cxx: %d workloads compiled as C++17, %d workload/size values equal to the C build's\n",
                static_cast<int>(WL_COUNT), compared);
  return test_report("test_wl_cxx");
}
