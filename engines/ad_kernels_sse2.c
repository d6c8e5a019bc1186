/* ad_kernels_sse2.c: the elementwise kernels (ad_kernels.h) on 2 lanes, SLEEF's SSE2 builds (every x86-64 CPU). */
#if defined(__x86_64__)
#include <emmintrin.h>
#include <sleef.h>

#include "ad_math.h"

#define AD_KW 2
#define AD_KSUF sse2
typedef double kv __attribute__((vector_size(16)));
static inline kv kv_exp(kv x) { return (kv)Sleef_expd2_u10sse2((__m128d)x); }
static inline kv kv_log(kv x) { return (kv)Sleef_logd2_u10sse2((__m128d)x); }
static inline kv kv_tan(kv x) { return (kv)Sleef_tand2_u10sse2((__m128d)x); }
static inline kv kv_tanh(kv x) { return (kv)Sleef_tanhd2_u10sse2((__m128d)x); }
static inline kv kv_pow(kv x, kv y) { return (kv)Sleef_powd2_u10sse2((__m128d)x, (__m128d)y); }
#define kv_sincos(x) kv_sincos_((x))
struct kv2;
static inline struct kv2 kv_sincos_(kv x);
#include "ad_kernels_impl.inc"
static inline struct kv2 kv_sincos_(kv x) {
  Sleef___m128d_2 r = Sleef_sincosd2_u10sse2((__m128d)x);
  kv2 o = {(kv)r.x, (kv)r.y};
  return o;
}
int ad_k__sse2_built = 1;
#else
int ad_k__sse2_built = 0;
#endif
