/* test_array_twins: every tensor-form workload (<name>_t) agrees with its scalar twin (<name>) on every engine of
 * adlab: the value to 1e-12 and the gradient to 1e-12 (judge.h's relative error over the whole vector), at the
 * twin's two check sizes with the same inputs. rosenbrock_t, lse_t, mlp_t and ode_t compute their twins' ops in
 * their order, so their values must be bit-identical. The comparison is fed wrong answers too (a gradient off by
 * 1e-9 in one entry, each tensor workload at other inputs than its twin's, another workload as the "twin"), and
 * must fail them. */
#include <stdlib.h>
#include <string.h>

#include "harness/judge.h"
#include "harness/run.h"
#include "testkit.h"

#define TWIN_TOL 1e-12

/* 1 if (f, g) agrees with (f_ref, g_ref) to TWIN_TOL: what this test requires of a tensor workload. */
static int twin_agree(double f, const double *g, double f_ref, const double *g_ref, int n, double *err) {
  jd_diff dv = jd_compare(&f, &f_ref, 1), dg = jd_compare(g, g_ref, (size_t)n);
  *err = dv.err > dg.err || dv.err != dv.err ? dv.err : dg.err;
  return dv.err <= TWIN_TOL && dg.err <= TWIN_TOL;
}

/* Tensor workloads whose values are bit-identical to their twins' (the same ops in the same order). */
static int twin_same_bits(const wl_info *w) {
  static const char *const same[] = {"rosenbrock_t", "lse_t", "mlp_t", "ode_t"};
  for (size_t i = 0; i < sizeof same / sizeof same[0]; ++i)
    if (strcmp(w->name, same[i]) == 0) return 1;
  return 0;
}

/* Gradient of workload w at size on engine e (inputs from seed): f and g (n_in); AD_OK or the engine's error. */
static ad_status grad_at(const wl_info *w, const eng_api *e, int size, uint64_t seed, double *f, double *g, double *x) {
  run_case rc;
  run_mode m = e->kind == ENG_PRIMAL ? RUN_VALUE : RUN_GRAD;
  ad_status st = run_open(&rc, w, e, m, size, seed);
  if (st == AD_OK) st = run_eval(&rc);
  if (st == AD_OK) {
    *f = rc.y[0];
    for (int i = 0; i < rc.n_in; ++i) g[i] = m == RUN_GRAD ? rc.out[i] : 0.0, x[i] = rc.x[i];
  }
  run_close(&rc);
  return st;
}
static ad_status grad_of(const wl_info *w, const eng_api *e, int size, double *f, double *g, double *x) {
  return grad_at(w, e, size, 42, f, g, x);
}

int main(void) {
  int twins = 0;
  for (int wi = 0; wi < WL_COUNT; ++wi) {
    const wl_info *w = wl_all[wi];
    if (!wl_is_tensor(w)) continue;
    char name[64];
    size_t len = strlen(w->name) - 2;
    memcpy(name, w->name, len);
    name[len] = 0;
    const wl_info *tw = wl_find(name);
    CHECKF(tw != NULL, "%s has no scalar twin %s", w->name, name);
    if (!tw) continue;
    ++twins;
    CHECK(w->check_sizes[0] == tw->check_sizes[0] && w->check_sizes[1] == tw->check_sizes[1]);
    for (int k = 0; k < 2; ++k) {
      int size = w->check_sizes[k], n = w->n_in(size);
      CHECK(n == tw->n_in(size) && w->nodes(size) == tw->nodes(size));
      double *g = (double *)calloc((size_t)n, sizeof *g), *gt = (double *)calloc((size_t)n, sizeof *gt);
      double *x = (double *)calloc((size_t)n, sizeof *x), *xt = (double *)calloc((size_t)n, sizeof *xt);
      for (int ei = 0; ei < eng_own_count; ++ei) {
        const eng_api *e = eng_all[ei];
        double f = 0, ft = 0, err = 0;
        ad_status s1 = grad_of(w, e, size, &f, g, x), s2 = grad_of(tw, e, size, &ft, gt, xt);
        CHECKF(s1 == AD_OK && s2 == AD_OK, "%s/%s at %d: %s, %s", w->name, e->name, size, ad_status_str(s1),
               ad_status_str(s2));
        CHECKF(memcmp(x, xt, (size_t)n * sizeof *x) == 0, "%s and %s read different inputs", w->name, tw->name);
        CHECKF(twin_agree(f, g, ft, gt, n, &err), "%s/%s at size %d against %s: error %.1e", w->name, e->name,
               size, tw->name, err);
        if (twin_same_bits(w))
          CHECKF(memcmp(&f, &ft, sizeof f) == 0, "%s/%s at %d: value %.17g, twin %.17g", w->name, e->name, size, f, ft);
        /* The check itself: one gradient entry off by 1e-9 relative, and a NaN, must fail it. */
        if (e->kind != ENG_PRIMAL) {
          /* the workload's own answer at other inputs (seed 43) must fail against the twin's at seed 42 */
          double f43 = 0;
          CHECK(grad_at(w, e, size, 43, &f43, g, x) == AD_OK);
          CHECKF(!twin_agree(f43, g, ft, gt, n, &err), "%s/%s at seed 43 passed against seed 42", w->name, e->name);
          CHECK(grad_of(w, e, size, &f, g, x) == AD_OK);
          double keep = g[n - 1];
          g[n - 1] += 1e-9 * (fabs(keep) + 1.0);
          CHECKF(!twin_agree(f, g, ft, gt, n, &err), "a gradient off by 1e-9 passed (%s/%s)", w->name, e->name);
          g[n - 1] = NAN;
          CHECK(!twin_agree(f, g, ft, gt, n, &err));
          g[n - 1] = keep;
        }
      }
      free(g), free(gt), free(x), free(xt);
    }
  }
  CHECKF(twins >= 7, "tensor workloads found: %d", twins);
  /* the forms this test knows: at least these, each with its twin */
  CHECK(wl_find("gmm_t") && wl_find("lstm_t") && wl_find("ode_t") && wl_find("mlp_t") && wl_find("llsq_t"));
  /* A wrong twin: rosenbrock_t against lse at the same size must disagree. */
  {
    const wl_info *a = wl_find("rosenbrock_t"), *b = wl_find("lse");
    int n = a->n_in(5);
    double f, fb, g[5], gb[5], x[5], xb[5], err;
    CHECK(n == 5 && b->n_in(5) == 5);
    CHECK(grad_of(a, eng_find("tape"), 5, &f, g, x) == AD_OK && grad_of(b, eng_find("tape"), 5, &fb, gb, xb) == AD_OK);
    CHECK(!twin_agree(f, g, fb, gb, n, &err));
  }
  return test_report("test_array_twins");
}
