/* ad_math.h: the elementary functions every adlab engine uses, so that all engines compute bit-identical values.
 *
 *   ad_m2 t = ad_m_sincos(0.5);       // t.x = sin(0.5), t.y = cos(0.5), one call
 *   double e = ad_m_exp(1.0);         // exp of the build's choice (ad_math_choice(): "libm" by default)
 *   printf("%s\n", ad_math_variant()); // "purecfma" on CPUs with FMA, "purec" elsewhere
 *
 * Which functions is a build option, ADLAB_ELEMFN (ad_math_choice() names it; bench/elemfn.c measures each):
 *   libm       the C library's sincos, tan, exp, log, tanh and pow (glibc: within 1 ULP). The default.
 *   sleef_u10  SLEEF's scalar 1.0-ULP builds (the same bits on every machine and C library);
 *   sleef_u35  SLEEF's scalar 3.5-ULP builds of sincos, tan, log and tanh (exp and pow: 1.0-ULP, SLEEF has no other).
 * Every engine calls the same functions whatever the choice, so engines stay bit-identical with each other.
 * Why libm: on the reference machine (AMD EPYC, glibc 2.36, SLEEF 3.5.1) libm and sleef_u35 cost the same over
 * the six functions (91 ns per call summed, sleef_u10 120: bench/elemfn) and over the workloads that call them
 * (primal time 0.76 and 0.77 of sleef_u10's, geometric mean), libm is the fastest on a chain of dependent calls
 * (chain: 0.63 of sleef_u10, sleef_u35 0.79), the most accurate, and what the peer AD tools call, so comparisons
 * with them measure differentiation, not elementary functions. Its price: the values depend on the C library
 * (sleef_u10's do not; choose it for figures reproducible across machines).
 * With SLEEF, the transcendental functions come from its scalar builds. Each symbol below is a GNU indirect
 * function: the dynamic loader picks `Sleef_<f>d1_u10purecfma` when the CPU has FMA and `Sleef_<f>d1_u10purec`
 * otherwise, once, at load time. A call is then one direct call through the PLT, exactly like any call into a
 * shared library: no per-call dispatch. The purecfma builds measured about twice as fast as SLEEF's
 * generic `Sleef_sincos_u10` on this project's reference machine (see README, "Elementary functions").
 * sqrt and fabs are the IEEE hardware instructions (correctly rounded, so identical everywhere).
 */
#ifndef AD_MATH_H
#define AD_MATH_H

#ifdef __cplusplus
extern "C" {
#endif

/* Two doubles returned together (same layout as SLEEF's Sleef_double_2). */
typedef struct ad_m2 { double x, y; } ad_m2;

#if defined(__GNUC__)
#define AD_CONST_FN __attribute__((const))
#else
#define AD_CONST_FN
#endif

/* All of these are pure functions of their arguments; NaN in gives NaN out, they never trap or set errno. */
ad_m2 ad_m_sincos(double x) AD_CONST_FN; /* {sin x, cos x} */
double ad_m_tan(double x) AD_CONST_FN;
double ad_m_exp(double x) AD_CONST_FN;
double ad_m_log(double x) AD_CONST_FN;
double ad_m_tanh(double x) AD_CONST_FN;
double ad_m_pow(double x, double y) AD_CONST_FN;

/* Which SLEEF build the loader picks: "purecfma" or "purec" (used by the sleef_* choices). Never NULL. */
const char *ad_math_variant(void);

/* The elementary functions this build calls (the CMake option ADLAB_ELEMFN): "sleef_u10", "sleef_u35" or "libm".
 * Never NULL. */
const char *ad_math_choice(void);

static inline double ad_m_sqrt(double x) { return __builtin_sqrt(x); }
static inline double ad_m_fabs(double x) { return __builtin_fabs(x); }

/* Helpers named by the rules in ad_ops.def. */
static inline ad_m2 ad_m2_none(void) { ad_m2 r = {0.0, 0.0}; return r; }
#define AD_NOPRE ad_m2_none()

/* sign(a): 1, -1, 0 at 0, NaN at NaN (PyTorch's sgn, used by AbsBackward0). */
static inline double ad_sign(double a) { return a > 0 ? 1.0 : a < 0 ? -1.0 : a == 0 ? 0.0 : a; }

/* max/min that propagate NaN (as torch.maximum/minimum); a tie returns a. */
static inline double ad_max(double a, double b) { return a > b ? a : b > a ? b : a == b ? a : a + b; }
static inline double ad_min(double a, double b) { return a < b ? a : b < a ? b : a == b ? a : a + b; }

/* d max(a, b) / da: 1 where a wins, 0 where b wins, 1/2 at a tie, 1 if either is NaN (PyTorch's rule). */
static inline double ad_max_da(double a, double b) { return a == b ? 0.5 : a < b ? 0.0 : 1.0; }

/* d a^b / da = b a^(b-1), and 0 when b == 0 (PyTorch masks exponent == 0). */
static inline double ad_pow_da(double a, double b) { return b == 0.0 ? 0.0 : b * ad_m_pow(a, b - 1.0); }

/* d a^b / db = a^b log a, and 0 where a == 0 and b >= 0 (PyTorch masks the same case). */
static inline double ad_pow_db(double a, double b, double v) {
  return (a == 0.0 && b >= 0.0) ? 0.0 : v * ad_m_log(a);
}

#ifdef __cplusplus
}
#endif
#endif
