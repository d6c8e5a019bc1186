/* ad_math.c: binds ad_m_* to the elementary functions chosen at build time (ADLAB_ELEMFN, see ad_math.h): SLEEF's
 * 1.0-ULP or 3.5-ULP scalar builds (FMA or not, picked once at load time), or the C library's libm. */
#define _GNU_SOURCE /* sincos */
#include "ad_math.h"

#include <math.h>
#include <sleef.h>

#if defined(AD_ELEMFN_LIBM)
#define AD__CHOICE "libm"
#elif defined(AD_ELEMFN_SLEEF_U35)
#define AD__CHOICE "sleef_u35"
#else
#define AD_ELEMFN_SLEEF_U10 1
#define AD__CHOICE "sleef_u10"
#endif

const char *ad_math_choice(void) { return AD__CHOICE; }

/* sleef.h declares the FMA builds only when the compiler itself targets FMA (FP_FAST_FMA). We call them only
 * after checking the CPU, so we declare them here ourselves. */
Sleef_double_2 Sleef_sincosd1_u10purecfma(double);
Sleef_double_2 Sleef_sincosd1_u35purecfma(double);
double Sleef_tand1_u10purecfma(double);
double Sleef_tand1_u35purecfma(double);
double Sleef_logd1_u35purecfma(double);
double Sleef_tanhd1_u35purecfma(double);
double Sleef_expd1_u10purecfma(double);
double Sleef_logd1_u10purecfma(double);
double Sleef_tanhd1_u10purecfma(double);
double Sleef_powd1_u10purecfma(double, double);

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#include <cpuid.h>
/* Resolvers run while the loader is still relocating the program, before any sanitizer runtime is up: they
 * must not touch instrumented memory or anything that needs relocation, hence cpuid and xgetbv only. */
#define AD_RESOLVER __attribute__((no_sanitize("address", "undefined")))
AD_RESOLVER static inline int ad__has_fma(void) {
  unsigned a, b, c, d, lo, hi;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
  if (!(c & bit_FMA) || !(c & bit_AVX) || !(c & bit_OSXSAVE)) return 0;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  (void)hi;
  return (lo & 6) == 6; /* the OS saves XMM and YMM state: VEX-encoded FMA instructions may run */
}
#else
#define AD_RESOLVER
static int ad__has_fma(void) { return 0; }
#endif

const char *ad_math_variant(void) { return ad__has_fma() ? "purecfma" : "purec"; }

#if defined(AD_ELEMFN_LIBM) /* ---- the C library: one tail call each ---- */

/* glibc's sincos: as fast as sin and cos called apart, even on a chain of dependent ops (19.5 ns latency each way
 * on the reference machine), and one call. */
ad_m2 ad_m_sincos(double x) {
  ad_m2 r;
  sincos(x, &r.x, &r.y);
  return r;
}
double ad_m_tan(double x) { return tan(x); }
double ad_m_exp(double x) { return exp(x); }
double ad_m_log(double x) { return log(x); }
double ad_m_tanh(double x) { return tanh(x); }
double ad_m_pow(double x, double y) { return pow(x, y); }

#else /* ---- SLEEF ---- */

/* The accuracy of each function: 1.0 ULP (u10), or 3.5 ULP (u35) where SLEEF has it (sincos, tan, log, tanh; exp
 * and pow exist in 1.0-ULP builds only). */
#if defined(AD_ELEMFN_SLEEF_U35)
#define AD__SC(b) Sleef_sincosd1_u35##b
#define AD__TAN(b) Sleef_tand1_u35##b
#define AD__LOG(b) Sleef_logd1_u35##b
#define AD__TANH(b) Sleef_tanhd1_u35##b
#else
#define AD__SC(b) Sleef_sincosd1_u10##b
#define AD__TAN(b) Sleef_tand1_u10##b
#define AD__LOG(b) Sleef_logd1_u10##b
#define AD__TANH(b) Sleef_tanhd1_u10##b
#endif
#define AD__EXP(b) Sleef_expd1_u10##b
#define AD__POW(b) Sleef_powd1_u10##b

#if defined(__GNUC__) && defined(__ELF__) && (defined(__x86_64__) || defined(__i386__)) && !defined(AD_NO_IFUNC)

typedef ad_m2 (*ad__fn_sc)(double);
typedef double (*ad__fn_d)(double);
typedef double (*ad__fn_dd)(double, double);

/* Resolvers run once, when the loader binds the symbol. */
/* ad_m2 and Sleef_double_2 are both struct { double x, y; }, returned the same way: the cast is ABI-exact. */
AD_RESOLVER static ad__fn_sc ad__pick_sincos(void) {
  return (ad__fn_sc)(void (*)(void))(ad__has_fma() ? AD__SC(purecfma) : AD__SC(purec));
}
AD_RESOLVER static ad__fn_d ad__pick_tan(void) { return ad__has_fma() ? AD__TAN(purecfma) : AD__TAN(purec); }
AD_RESOLVER static ad__fn_d ad__pick_exp(void) { return ad__has_fma() ? AD__EXP(purecfma) : AD__EXP(purec); }
AD_RESOLVER static ad__fn_d ad__pick_log(void) { return ad__has_fma() ? AD__LOG(purecfma) : AD__LOG(purec); }
AD_RESOLVER static ad__fn_d ad__pick_tanh(void) { return ad__has_fma() ? AD__TANH(purecfma) : AD__TANH(purec); }
AD_RESOLVER static ad__fn_dd ad__pick_pow(void) { return ad__has_fma() ? AD__POW(purecfma) : AD__POW(purec); }

ad_m2 ad_m_sincos(double) __attribute__((ifunc("ad__pick_sincos")));
double ad_m_tan(double) __attribute__((ifunc("ad__pick_tan")));
double ad_m_exp(double) __attribute__((ifunc("ad__pick_exp")));
double ad_m_log(double) __attribute__((ifunc("ad__pick_log")));
double ad_m_tanh(double) __attribute__((ifunc("ad__pick_tanh")));
double ad_m_pow(double, double) __attribute__((ifunc("ad__pick_pow")));

#else /* no indirect functions: one extra call layer, same SLEEF builds */

ad_m2 ad_m_sincos(double x) {
  Sleef_double_2 r = ad__has_fma() ? AD__SC(purecfma)(x) : AD__SC(purec)(x);
  ad_m2 o = {r.x, r.y};
  return o;
}
double ad_m_tan(double x) { return ad__has_fma() ? AD__TAN(purecfma)(x) : AD__TAN(purec)(x); }
double ad_m_exp(double x) { return ad__has_fma() ? AD__EXP(purecfma)(x) : AD__EXP(purec)(x); }
double ad_m_log(double x) { return ad__has_fma() ? AD__LOG(purecfma)(x) : AD__LOG(purec)(x); }
double ad_m_tanh(double x) { return ad__has_fma() ? AD__TANH(purecfma)(x) : AD__TANH(purec)(x); }
double ad_m_pow(double x, double y) { return ad__has_fma() ? AD__POW(purecfma)(x, y) : AD__POW(purec)(x, y); }

#endif
#endif /* SLEEF */
