/* test_elemfn: one choice of elementary functions (ADLAB_ELEMFN; this program is built once per choice, each with
 * its own build of engines/ad_math.c, so every choice is compiled and tested in every build): ad_math_choice names
 * it; every function agrees with libm within the choice's accuracy (SLEEF u10: 1.0 ULP each, so 2 ULP between
 * them; u35: 3.5 ULP, so 4.5) on inputs across its usual range; exact special values; NaN in, NaN out. */
#define _GNU_SOURCE /* sincos */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "testkit.h"
#include "ad_math.h"

#ifndef EXPECT_CHOICE
#error "build with -DEXPECT_CHOICE=\"sleef_u10\" (or sleef_u35, libm)"
#endif

/* |a - b| in units in the last place of b; 0 if equal; Inf if one is not finite and they differ. */
static double ulps(double a, double b) {
  if (a == b) return 0;
  if (!isfinite(a) || !isfinite(b)) return INFINITY;
  return fabs(a - b) / (nextafter(fabs(b), INFINITY) - fabs(b));
}

int main(void) {
  const char *c = ad_math_choice();
  CHECK_STR(c, EXPECT_CHOICE);
  double tol = !strcmp(EXPECT_CHOICE, "sleef_u35") ? 4.5 : !strcmp(EXPECT_CHOICE, "libm") ? 0.0 : 2.0;
  double worst[6] = {0};
  for (int i = 0; i <= 2000; ++i) {
    double u = i / 2000.0; /* 0 .. 1 */
    double xs = -6.0 + 12.0 * u, xe = -20.0 + 40.0 * u, xl = 1e-3 + 1e3 * u * u, xt = -8.0 + 16.0 * u;
    double s, co;
    sincos(xs, &s, &co);
    ad_m2 t = ad_m_sincos(xs);
    double e[6] = {fmax(ulps(t.x, s), ulps(t.y, co)), ulps(ad_m_tan(xs), tan(xs)), ulps(ad_m_exp(xe), exp(xe)),
                   ulps(ad_m_log(xl), log(xl)), ulps(ad_m_tanh(xt), tanh(xt)),
                   ulps(ad_m_pow(0.1 + 9.9 * u, xt / 2), pow(0.1 + 9.9 * u, xt / 2))};
    for (int k = 0; k < 6; ++k)
      if (!(e[k] <= worst[k])) worst[k] = e[k];
  }
  static const char *const name[6] = {"sincos", "tan", "exp", "log", "tanh", "pow"};
  /* pow and exp have no 3.5-ULP build in SLEEF: sleef_u35 uses the 1.0-ULP ones */
  for (int k = 0; k < 6; ++k)
    CHECKF(worst[k] <= (k == 2 || k == 5 ? fmin(tol, 2.0) : tol), "%s (%s): %.2g ULP from libm", name[k],
           EXPECT_CHOICE, worst[k]);
  ad_m2 z = ad_m_sincos(0.0);
  CHECK(z.x == 0.0 && z.y == 1.0);
  CHECK(ad_m_exp(0.0) == 1.0 && ad_m_log(1.0) == 0.0 && ad_m_tanh(0.0) == 0.0 && ad_m_tan(0.0) == 0.0);
  CHECK(ad_m_pow(2.0, 10.0) == 1024.0 && ad_m_pow(3.0, 0.0) == 1.0);
  CHECK(ad_m_exp(-INFINITY) == 0.0 && ad_m_exp(INFINITY) == INFINITY && ad_m_log(0.0) == -INFINITY);
  CHECK(isnan(ad_m_sincos(NAN).x) && isnan(ad_m_exp(NAN)) && isnan(ad_m_log(-1.0)) && isnan(ad_m_tanh(NAN)) &&
        isnan(ad_m_pow(NAN, 2.0)) && isnan(ad_m_tan(NAN)));
  return test_report("test_elemfn_" EXPECT_CHOICE);
}
