/* test_judge: judge.h's measures on known answers: a NaN on either side fails jd_compare, infinities, the worst
 * entry, the NaN-agreeing variant, bit identity, finite differences of a known function, per-check tolerances
 * (a peer's only loosens a check). */
#include <math.h>
#include <stdio.h>

#include "testkit.h"
#include "checker.h"
#include "judge.h"

int main(void) {
  /* A NaN on either side is a disagreement, wherever it is. */
  double nan1[2] = {NAN, 1}, ones[2] = {1, 1}, a12[2] = {1, 2}, nan2[2] = {NAN, 2};
  jd_diff d = jd_compare(nan1, ones, 2);
  CHECKF(isnan(d.err) && d.worst == 0, "compare([NaN,1],[1,1]): err %g at %zu", d.err, d.worst);
  d = jd_compare(a12, nan2, 2);
  CHECKF(isnan(d.err) && d.worst == 0, "compare([1,2],[NaN,2]): err %g at %zu", d.err, d.worst);
  CHECKF(!(jd_rel_err(ones, nan1, 2) <= 1e-12), "rel_err with a NaN reference passes");
  double last[3] = {1, 1, NAN}, three[3] = {1, 1, 1};
  d = jd_compare(last, three, 3);
  CHECKF(isnan(d.err) && d.worst == 2, "compare with a NaN last: err %g at %zu", d.err, d.worst);
  CHECKF(isnan(jd_compare(nan1, nan1, 2).err), "strict compare: NaN in both must not agree");
  /* The NaN-agreeing variant: both NaN agrees (any sign), one side only does not. */
  double mnan[2] = {-NAN, 1};
  CHECKF(jd_compare_nan(nan1, mnan, 2).err == 0, "compare_nan: NaN and -NaN should agree");
  d = jd_compare_nan(nan1, ones, 2);
  CHECKF(isnan(d.err) && d.worst == 0, "compare_nan: NaN on one side: err %g", d.err);
  /* Infinities: equal agrees, any other is an infinite error. */
  double inf1[2] = {INFINITY, 1}, minf1[2] = {-INFINITY, 1};
  CHECKF(jd_compare(inf1, inf1, 2).err == 0, "Inf == Inf should agree");
  d = jd_compare(inf1, ones, 2);
  CHECKF(isinf(d.err) && d.worst == 0, "Inf vs 1: err %g at %zu", d.err, d.worst);
  d = jd_compare(ones, inf1, 2);
  CHECKF(isinf(d.err) && d.worst == 0, "1 vs Inf: err %g at %zu", d.err, d.worst);
  CHECKF(!(jd_compare(inf1, minf1, 2).err <= 1e-12), "Inf vs -Inf passes");
  /* The measure: max |a - b| / max |b|, the worst entry, absolute against zeros. */
  double a[4] = {1, 2.5, 3, 4}, b[4] = {1, 2, 3.1, 4};
  d = jd_compare(a, b, 4);
  CHECKF(fabs(d.err - 0.5 / 4) < 1e-15 && d.worst == 1, "err %.17g at %zu, want 0.125 at 1", d.err, d.worst);
  CHECKF(jd_rel_err(b, b, 4) == 0, "identical vectors: %g", jd_rel_err(b, b, 4));
  double z[2] = {0, 0}, small[2] = {0, 1e-3};
  CHECKF(jd_rel_err(small, z, 2) == 1e-3, "against zeros: %g, want 1e-3 (absolute)", jd_rel_err(small, z, 2));
  CHECKF(jd_rel_err(a, b, 0) == 0 && jd_compare(a, b, 0).worst == 0, "empty vectors");
  CHECKF(jd_rel_err(a, b, 4) > 0.1, "a wrong entry must give an error of order 1: %g", jd_rel_err(a, b, 4));
  /* Bit identity: -0 differs from 0, any NaN equals any NaN. */
  double pz = 0.0, mz = -0.0;
  CHECKF(!jd_same_bits(&pz, &mz, 1), "0 and -0 are not the same bits");
  CHECKF(jd_same_bits(nan1, mnan, 2), "NaN and -NaN should count as the same");
  CHECKF(!jd_same_bits(a, b, 4), "different vectors count as the same");
  /* Finite differences of a known function: seed's y = (x + w)(w + 1) at (2, 1): dy/dx = 2, dy/dw = 5. */
  const wl_info *w = wl_find("seed");
  double x[2], data[1], J[2];
  int idx[2] = {0, 1}, kinks = -1;
  w->init(1, 42, x, data);
  double x0[2] = {x[0], x[1]};
  ad_status st = jd_fd_jacobian(w, 1, data, x, idx, 2, J, &kinks);
  CHECKF(st == AD_OK && kinks == 0, "fd: %s, %d kinks", ad_status_str(st), kinks);
  CHECKF(fabs(J[0] - (x0[1] + 1)) < 1e-9 && fabs(J[1] - (x0[0] + 2 * x0[1] + 1)) < 1e-9, "fd: (%.17g, %.17g)",
         J[0], J[1]);
  CHECKF(x[0] == x0[0] && x[1] == x0[1], "fd must restore x");
  double dd[JD_FD_LEVELS], err;
  for (int q = 0; q < JD_FD_LEVELS; ++q) dd[q] = 3.0 + ldexp(1.0, -2 * q); /* d(h) = 3 + c h^2 */
  CHECKF(fabs(jd_ridders(dd, &err) - 3.0) < 1e-12, "ridders: %.17g, want 3", jd_ridders(dd, &err));
  /* Tolerances: the check's for adlab's engines; a peer's own only where it is larger. */
  eng_api peer = eng_tape;
  peer.tool = "T", peer.tol = 1e-10;
  CHECKF(jd_tol(&eng_tape, JD_ENGINES) == 1e-12 && jd_tol(&eng_tape, JD_FD) == 1e-6, "own engines' tolerances");
  CHECKF(jd_tol(&peer, JD_ENGINES) == 1e-10 && jd_tol(&peer, JD_MANUAL) == 1e-10, "a peer's tolerance: %g",
         jd_tol(&peer, JD_ENGINES));
  CHECKF(jd_tol(&peer, JD_FD) == 1e-6, "a peer must keep fd's 1e-6, got %g", jd_tol(&peer, JD_FD));
  CHECKF(jd_tol(NULL, JD_REPLAY) == 1e-12 && jd_tol(&peer, JD_CHECK_COUNT) == 0, "NULL engine, unknown check");
  ck_config c;
  ck_defaults(&c);
  c.tol[JD_FD] = 1e-30;
  CHECKF(ck_tol(&c, &peer, JD_FD) == 1e-30 && ck_tol(&c, &peer, JD_ENGINES) == 1e-10, "ck_tol overrides");
  return test_report("test_judge");
}
