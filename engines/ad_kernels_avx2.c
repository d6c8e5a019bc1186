/* ad_kernels_avx2.c: the elementwise kernels (ad_kernels.h) on 4 lanes, SLEEF's AVX2 builds. Compiled with
 * -mavx2 -mfma; called only on CPUs that have both (the binding in ad_kernels.c checks). */
#if defined(__x86_64__) && defined(__AVX2__)
#include <immintrin.h>
#include <sleef.h>

#include "ad_math.h"

#define AD_KW 4
#define AD_KSUF avx2
typedef double kv __attribute__((vector_size(32)));
static inline kv kv_exp(kv x) { return (kv)Sleef_expd4_u10avx2((__m256d)x); }
static inline kv kv_log(kv x) { return (kv)Sleef_logd4_u10avx2((__m256d)x); }
static inline kv kv_tan(kv x) { return (kv)Sleef_tand4_u10avx2((__m256d)x); }
static inline kv kv_tanh(kv x) { return (kv)Sleef_tanhd4_u10avx2((__m256d)x); }
static inline kv kv_pow(kv x, kv y) { return (kv)Sleef_powd4_u10avx2((__m256d)x, (__m256d)y); }
#define kv_sincos(x) kv_sincos_((x))
struct kv2;
static inline struct kv2 kv_sincos_(kv x);
#include "ad_kernels_impl.inc"
static inline struct kv2 kv_sincos_(kv x) {
  Sleef___m256d_2 r = Sleef_sincosd4_u10avx2((__m256d)x);
  kv2 o = {(kv)r.x, (kv)r.y};
  return o;
}
int ad_k__avx2_built = 1;
#else
int ad_k__avx2_built = 0;
#endif
