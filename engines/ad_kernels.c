/* ad_kernels.c: the portable build of the elementwise kernels (1 lane, the scalar ad_m_* functions) and the
 * load-time binding of every ad_k_<name> to the avx2, sse2 or purec build (see ad_kernels.h). */
#include "ad_kernels.h"

#define AD_KW 1
#define AD_KSUF purec
#include "ad_kernels_impl.inc"

extern int ad_k__avx2_built, ad_k__sse2_built;

#define AD_K_VDECL(name, kind, torch, facts, pre, value, da, db)                                               \
  void ad_k_##name##_avx2(size_t, const double *, size_t, const double *, size_t, double *, double *, double *); \
  void ad_k_##name##_sse2(size_t, const double *, size_t, const double *, size_t, double *, double *, double *);
#define AD_OP AD_K_VDECL
#include "ad_ops.def"
#undef AD_OP

#if defined(__GNUC__) && defined(__x86_64__)
#include <cpuid.h>
/* Resolvers run while the loader is still relocating the program: cpuid and xgetbv only (see ad_math.c). */
#define AD_K_RESOLVER __attribute__((no_sanitize("address", "undefined")))
/* 2: AVX2 and FMA usable (the OS saves YMM state); 1: no FMA (SSE2, as every x86-64); 0: FMA without AVX2. The
 * scalar binding (ad_math.c) picks the FMA builds exactly when FMA is usable, and the vector build chosen here has
 * the same FMA class, so kernels and scalar ops compute the same bits. */
AD_K_RESOLVER static inline int ad_k__level(void) {
  unsigned a, b, c, d, lo, hi;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return 1;
  int fma = (c & bit_FMA) && (c & bit_AVX) && (c & bit_OSXSAVE);
  if (fma) {
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    (void)hi;
    fma = (lo & 6) == 6;
  }
  if (!fma) return 1;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
  return (b & bit_AVX2) ? 2 : 0;
}
#else
#define AD_K_RESOLVER
static int ad_k__level(void) { return 0; }
#endif

AD_K_RESOLVER static int ad_k__pick(void) {
#if defined(AD_ELEMFN_LIBM) || defined(AD_ELEMFN_SLEEF_U35)
  /* The scalar ops call other elementary functions than SLEEF's u10 builds (ad_math.h, ADLAB_ELEMFN), and the
   * vector builds would not give their bits: the purec build, which calls the scalar ops' own functions. */
  return 0;
#endif
  int l = ad_k__level();
  if (l == 2 && ad_k__avx2_built) return 2;
  if (l == 1 && ad_k__sse2_built) return 1;
  return 0;
}

const char *ad_kernels_variant(void) {
  static const char *const names[3] = {"purec", "sse2", "avx2"};
  return names[ad_k__pick()];
}

typedef void (*ad_k_fn)(size_t, const double *, size_t, const double *, size_t, double *, double *, double *);

#if defined(__GNUC__) && defined(__ELF__) && defined(__x86_64__) && !defined(AD_NO_IFUNC)
#define AD_K_BIND(name, kind, torch, facts, pre, value, da, db)                                                \
  AD_K_RESOLVER static ad_k_fn ad_k__resolve_##name(void) {                                                    \
    int p = ad_k__pick();                                                                                      \
    return p == 2 ? ad_k_##name##_avx2 : p == 1 ? ad_k_##name##_sse2 : ad_k_##name##_purec;                   \
  }                                                                                                            \
  void ad_k_##name(size_t, const double *, size_t, const double *, size_t, double *, double *, double *)       \
      __attribute__((ifunc("ad_k__resolve_" #name)));
#else /* no indirect functions: the portable build */
#define AD_K_BIND(name, kind, torch, facts, pre, value, da, db)                                                \
  void ad_k_##name(size_t n, const double *a, size_t sa, const double *b, size_t sb, double *v, double *pa,   \
                   double *pb) {                                                                               \
    ad_k_##name##_purec(n, a, sa, b, sb, v, pa, pb);                                                           \
  }
#endif
#define AD_OP AD_K_BIND
#include "ad_ops.def"
#undef AD_OP

int ad_k_eval_variant(int variant, ad_op op, size_t n, const double *a, size_t sa, const double *b, size_t sb,
                      double *v, double *pa, double *pb) {
  if (variant < 0 || variant > 2 || (int)op < 0 || op >= AD_OP_COUNT) return 0;
  if (variant == 2 && !(ad_k__avx2_built && ad_k__level() == 2)) return 0;
  if (variant == 1 && !ad_k__sse2_built) return 0;
  static const ad_k_fn fns[3][AD_OP_COUNT] = {
      {
#define AD_OP(name, kind, torch, facts, pre, value, da, db) ad_k_##name##_purec,
#include "ad_ops.def"
#undef AD_OP
      },
      {
#define AD_OP(name, kind, torch, facts, pre, value, da, db) ad_k_##name##_sse2,
#include "ad_ops.def"
#undef AD_OP
      },
      {
#define AD_OP(name, kind, torch, facts, pre, value, da, db) ad_k_##name##_avx2,
#include "ad_ops.def"
#undef AD_OP
      }};
  fns[variant][op](n, a, sa, b, sb, v, pa, pb);
  return 1;
}
