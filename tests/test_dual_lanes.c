/* test_dual_lanes: the dual engine's K-lane build (compiled once per K = 2, 4, 8, 16 with DUAL_LANES = K) against
 * its K = 1 build on random programs (prog.h, the fuzz test's generator: one in five meets infinite and NaN values
 * on purpose), lane by lane and bit for bit (any NaN equals any NaN): the value, and every gradient entry with the
 * inputs seeded K at a time, so lanes with and without a tangent meet the non-finite policy of ad_ops.def in the
 * same op. Also dual_lane / dual_tangent_lane of a variable without a tangent in a lane (-0.0 and +0.0).
 *
 *   test_dual_lanes_8 [--count N] [--seed S]
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dual/dual_ops.h"

#include "prog.c"
#include "testkit.h"
#include "tprog.h"

/* 1 if a and b have the same bits or are both NaN. */
static int same(double a, double b) {
  if (a != a && b != b) return 1;
  return memcmp(&a, &b, sizeof a) == 0;
}

int main(int argc, char **argv) {
  long count = 3000;
  uint64_t seed = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--count")) count = strtol(argv[i + 1], NULL, 10);
    else if (!strcmp(argv[i], "--seed")) seed = strtoull(argv[i + 1], NULL, 10);
  }
  ad_t none = dual_make_none(1.0), unit = dual_make_unit(2.0, DUAL_LANES - 1);
  CHECK(same(dual_lane(none, 0), -0.0) && same(dual_tangent_lane(none, 0), 0.0));
  CHECK(dual_lane(unit, DUAL_LANES - 1) == 1.0 && same(dual_lane(unit, 0), DUAL_LANES > 1 ? -0.0 : 1.0));
  enum { MAX_N = 40 };
  double data[PROG_HEADER + PROG_STRIDE * MAX_N], x[PROG_MAX_INPUTS], g1[PROG_MAX_INPUTS], y1;
  ad_t s[PROG_MAX_INPUTS + MAX_N];
  long bad = 0, wild = 0;
  for (long p = 0; p < count; ++p) {
    wl_rng r = {seed * 0x9e3779b97f4a7c15ull + (uint64_t)p};
    int k = 1 + (int)(wl_rng_next(&r) % PROG_MAX_INPUTS), n = 1 + (int)(wl_rng_next(&r) % MAX_N);
    prog_generate(k, n, seed + (uint64_t)p, x, data);
    if (tprog_dual.grad(data, x, &y1, g1) != AD_OK) continue;
    int nonfinite = !isfinite(y1);
    for (int j = 0; j < k; ++j) nonfinite |= !isfinite(g1[j]);
    wild += nonfinite;
    int ok = 1;
    for (int j0 = 0; j0 < k; j0 += DUAL_LANES) {
      for (int i = 0; i < k; ++i) s[i] = dual_make_unit(x[i], i - j0);
      ad_t out = prog_eval(NULL, data, s);
      ok &= same(out.v, y1);
      for (int l = 0; l < DUAL_LANES && j0 + l < k; ++l) ok &= same(dual_tangent_lane(out, l), g1[j0 + l]);
    }
    if (!ok && bad++ < 5) {
      fprintf(stderr, "program %ld (seed %llu): lanes differ from K = 1\n", p, (unsigned long long)(seed + p));
      tprog_print(stderr, data, x);
    }
  }
  CHECKF(bad == 0, "%ld of %ld programs differ between K = %d and K = 1", bad, count, DUAL_LANES);
  CHECKF(wild > count / 20, "only %ld of %ld programs meet non-finite values", wild, count);
  char name[64];
  snprintf(name, sizeof name, "test_dual_lanes_%d", DUAL_LANES);
  return test_report(name);
}
