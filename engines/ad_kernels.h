/* ad_kernels.h: elementwise array kernels for every op of ad_ops.def, on SLEEF's vector builds.
 *
 *   double a[5] = {...}, v[5], da[5];
 *   ad_k_exp(5, a, 1, a, 0, v, da, NULL);      // v[i] = exp(a[i]), da[i] = dv/da at i
 *   ad_k_mul_vv(5, a, 1, &k, 0, v, NULL, NULL); // v[i] = a[i] * k: stride 0 broadcasts one element
 *   printf("%s\n", ad_kernels_variant());       // "avx2", "sse2" or "purec"
 *
 * One kernel per op, generated from the op's line of ad_ops.def: the value and partial expressions of that line
 * are compiled for a vector of doubles (GCC's vector extension), the elementary functions they name (ad_m_exp,
 * ad_m_sincos, ...) become SLEEF's vector builds, and the helpers with branches (ad_max, ad_sign, ad_pow_da, ...)
 * run lane by lane. No rule is written twice. The same source (ad_kernels_impl.inc) is compiled three times:
 *   avx2   4 lanes, Sleef_<f>d4_u10avx2, chosen on CPUs with AVX2 and FMA;
 *   sse2   2 lanes, Sleef_<f>d2_u10sse2, chosen on x86-64 CPUs without FMA;
 *   purec  1 lane, the scalar ad_m_* functions (ad_math.h): CPUs with FMA but no AVX2, and other architectures.
 * Each ad_k_<name> is a GNU indirect function bound once, at load time, like ad_math.h's scalar functions.
 * The vector builds serve the build option ADLAB_ELEMFN=sleef_u10 (ad_math.h), whose scalar ops are SLEEF's u10
 * builds. With libm or sleef_u35 the scalar ops call other functions, whose bits no SLEEF vector build gives: the
 * loader then binds the purec build (arithmetic still vectorised by the compiler, elementary functions one call
 * per element), so that arrays and scalar ops stay bit-identical under every choice.
 *
 * Bit-identity. SLEEF's vector u10 builds compute the same algorithm as its scalar builds of the same FMA class:
 * Sleef_<f>d4_u10avx2 gives the bits of Sleef_<f>d1_u10purecfma and Sleef_<f>d2_u10sse2 those of
 * Sleef_<f>d1_u10purec (measured: no difference in 2 x 10^6 arguments per function for AVX2; tests/test_array.c
 * checks the loader's build against the scalar ops on every op, values and partials, and SSE2 against purec on
 * 10^5 arguments per function, on every run). ad_math.h binds the
 * scalar functions by the same CPU test (FMA), so a kernel computes the same bits as the scalar op it lifts, on
 * every element: primal, every derivative engine and the scalar form of a workload agree bit for bit on
 * elementwise values. Arithmetic is per lane IEEE with -ffp-contract=off, as in the scalar ops.
 *
 * Contract of every kernel: n elements; a and b are read at a[i * sa], b[i * sb] with strides 0 (broadcast one
 * element) or 1; U ops ignore b (pass a and 0). v receives the values; da and db, when not NULL, the partials
 * dv/da and dv/db of the op's rule (0 for a constant operand's partial as the rule writes it). Outputs must not
 * overlap inputs unless they are the same array with stride 1.
 */
#ifndef AD_KERNELS_H
#define AD_KERNELS_H

#include <stddef.h>

#include "ad.h"

#ifdef __cplusplus
extern "C" {
#endif

#define AD_K_DECL(name, kind, torch, facts, pre, value, da, db)                                                \
  void ad_k_##name(size_t n, const double *a, size_t sa, const double *b, size_t sb, double *v, double *pa,   \
                   double *pb);
#define AD_OP AD_K_DECL
#include "ad_ops.def"
#undef AD_OP
#undef AD_K_DECL

/* Which build the loader picked: "avx2", "sse2" or "purec". Never NULL. */
const char *ad_kernels_variant(void);

/* Test hooks: the three builds of one kernel, callable directly (a CPU without AVX2 must not call the avx2 one).
 * variant: 0 purec, 1 sse2, 2 avx2. Returns 0 if that build is not compiled in or the CPU cannot run it. */
int ad_k_eval_variant(int variant, ad_op op, size_t n, const double *a, size_t sa, const double *b, size_t sb,
                      double *v, double *pa, double *pb);

#ifdef __cplusplus
}
#endif
#endif
