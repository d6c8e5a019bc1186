/* test_array_dual: the dual engine's native arrays (dual/dual_array.h) against the scalar dual engine running the
 * same computation element by element: every op of ad_ops.def in every form (array op array, array op scalar,
 * scalar op array, array op one-element array, data op array, array op constant, constant op array) and the
 * programs of array_programs.inc (sums and maxima along axes, dot, mv, mm with transposes, row, get, gather,
 * mixed scalar and array code): values bit-identical, tangents to 1e-13; tangents left out where an operand has
 * none; ties in max; bad input and allocation failure give a status, never a crash. */
#include <math.h>
#include <stdlib.h>

#include "../engines/dual/dual_array.h"
#include "testkit.h"

enum { N = 7, R = 3, C = 4 };

static uint64_t rng_s = 777;
static double urand(double lo, double hi) {
  rng_s = rng_s * 6364136223846793005ull + 1442695040888963407ull;
  return lo + (hi - lo) * ((double)(rng_s >> 11) * 0x1.0p-53);
}
static double operand(int positive) {
  double m = urand(0.5, 2.0);
  return positive || urand(0, 1) < 0.5 ? m : -m;
}
static int near(double a, double b, double tol) { return fabs(a - b) <= tol * (fabs(b) > 1 ? fabs(b) : 1); }

#include "array_programs.inc"

#include "array_op_cases.inc"

/* One op, one form, one seeding (which: 0 all seeded, 1 only b's side seeded): array vs scalar dual. */
static void check_op(const op_case *oc, int form, int which) {
  int pos_a = (oc->facts & AD_POS_A) != 0;
  double ka = operand(pos_a), kb = operand(0), w[N], d[N];
  ad_t A[N], B[N], S = dual_make(form == F_AS && pos_a ? fabs(operand(0)) : operand(0), which ? 0.0 : urand(-1, 1));
  for (int i = 0; i < N; ++i) {
    A[i] = dual_make(operand(pos_a), which ? 0.0 : urand(-1, 1));
    B[i] = dual_make(operand(0), urand(-1, 1));
    w[i] = urand(-1, 1);
    d[i] = operand(pos_a);
  }
  ad_t fs = ad_const(NULL, 0.0);
  for (int i = 0; i < N; ++i) {
    ad_t a = A[i], b = B[i];
    if (form == F_BS) b = S;
    if (form == F_AS) a = S;
    if (form == F_BCAST) b = B[0];
    if (form == F_DATA) a = ad_const(NULL, d[i]);
    ad_t z = ad_mul_vc(NULL, oc->s(NULL, a, b, ka, kb), w[i]);
    fs = i ? ad_add_vv(NULL, fs, z) : z;
  }
  ad_arena_reset(ad_arena_default());
  ad_arr XA = ad_arr_stack(NULL, A, N), XB = ad_arr_stack(NULL, B, N), Z;
  if (form == F_BS) Z = oc->bs(NULL, XA, S);
  else if (form == F_AS) Z = oc->as(NULL, S, XB);
  else if (form == F_BCAST) Z = oc->a(NULL, XA, ad_arr_slice(NULL, XB, 0, 1), ka, kb);
  else if (form == F_DATA) Z = oc->a(NULL, ad_arr_data(NULL, d, N), XB, ka, kb);
  else Z = oc->a(NULL, XA, XB, ka, kb);
  ad_t fa = ad_arr_sum(NULL, ad_arr_mul_vv(NULL, Z, ad_arr_data(NULL, w, N)));
  CHECKF(ad_arr_status(NULL) == AD_OK, "%s form %d: %s", oc->name, form, ad_status_str(ad_arr_status(NULL)));
  CHECKF(memcmp(&fa.v, &fs.v, 8) == 0, "%s form %d: value %.17g, scalar %.17g", oc->name, form, fa.v, fs.v);
  CHECKF(dual_absent(fa.d) == dual_absent(fs.d) && near(dual_tangent(fa), dual_tangent(fs), 1e-13),
         "%s form %d seeding %d: tangent %.17g, scalar %.17g", oc->name, form, which, fa.d, fs.d);
}

static double run_program(int p, int arr, const double *xv, const double *vv, const double *u, double *tangent) {
  ad_t x[R * C], v[C];
  for (int i = 0; i < R * C; ++i) x[i] = dual_make(xv[i], u[i]);
  for (int i = 0; i < C; ++i) v[i] = dual_make(vv[i], u[R * C + i]);
  ad_arena_reset(ad_arena_default());
  ad_t f = program(NULL, p, arr, x, v);
  CHECKF(ad_arr_status(NULL) == AD_OK, "%s: %s", program_name[p], ad_status_str(ad_arr_status(NULL)));
  *tangent = dual_tangent(f);
  return f.v;
}

int main(void) {
  for (size_t k = 0; k < sizeof op_cases / sizeof *op_cases; ++k) {
    for (int which = 0; which < 2; ++which) {
      check_op(&op_cases[k], F_AA, which);
      if (op_cases[k].kind == AD_KIND_VV)
        for (int f = F_BS; f < F_COUNT; ++f) check_op(&op_cases[k], f, which);
    }
  }
  double xv[R * C], vv[C], u[R * C + C];
  for (int i = 0; i < R * C; ++i) xv[i] = urand(-1.5, 1.5);
  for (int i = 0; i < C; ++i) vv[i] = urand(-1.5, 1.5);
  for (int i = 0; i < R * C + C; ++i) u[i] = urand(-1, 1);
  for (int p = 0; p < PROGRAMS; ++p) {
    double ta, ts;
    double fa = run_program(p, 1, xv, vv, u, &ta), fs = run_program(p, 0, xv, vv, u, &ts);
    CHECKF(near(fa, fs, 1e-15), "%s: value %.17g, scalar %.17g", program_name[p], fa, fs);
    CHECKF(near(ta, ts, 1e-13), "%s: tangent %.17g, scalar %.17g", program_name[p], ta, ts);
  }
  /* no tangent in, no tangent out; ties in max give the mean tangent */
  ad_arena_reset(ad_arena_default());
  ad_t z[3] = {dual_make(1, 0), dual_make(2, 0), dual_make(3, 0)};
  ad_arr Z = ad_arr_stack(NULL, z, 3);
  CHECK(Z.d == NULL && dual_absent(ad_arr_sum(NULL, ad_arr_exp(NULL, Z)).d));
  ad_t m[3] = {dual_make(5, 1), dual_make(5, 3), dual_make(1, 7)};
  ad_t mx = ad_arr_max(NULL, ad_arr_stack(NULL, m, 3));
  CHECK(mx.v == 5 && mx.d == 2.0);
  /* bad input */
  ad_arr bad = ad_arr_add_vv(NULL, Z, ad_arr_slice(NULL, Z, 0, 2));
  CHECK(bad.shape.ndim == 0 && ad_arr_status(NULL) == AD_EINVAL);
  ad_arena_reset(ad_arena_default());
  CHECK(ad_arr_slice(NULL, Z, 1, 4).shape.ndim == 0 && ad_arr_status(NULL) == AD_ERANGE);
  ad_arena_reset(ad_arena_default());
  ad_t g = ad_arr_get(NULL, Z, -1);
  CHECK(g.v != g.v && ad_arr_status(NULL) == AD_ERANGE);
  /* allocation failure */
  ad_arena_free(ad_arena_default());
  ad_alloc_fail_after(0);
  ad_arr F = ad_arr_exp(NULL, ad_arr_stack(NULL, m, 3));
  ad_alloc_fail_after(-1);
  CHECK(F.shape.ndim == 0 && ad_arr_status(NULL) == AD_ENOMEM);
  ad_arena_free(ad_arena_default());
  return test_report("test_array_dual");
}
