/* tape_lanes_vec.h: K adjoint lanes as hardware vectors, for the vector reverse sweeps (tape_lanes_sweep.h, and
 * the replay engine's replay_lanes_sweep.h). Included once per lane count with TAPE_LANES defined, no include
 * guard; tape_lanes_vec_end.h undefines what it defines. Needs <immintrin.h> on x86 and ad.h.
 *
 * With K = TAPE_LANES: TL_V (K doubles as TL_NV hardware vectors of TL_W), TL_LANE(a, l) (lane l), and
 * TL_FN(load), TL_FN(store) (K doubles at any 8-byte-aligned address), TL_FN(madd) (acc + p * a, fused as the
 * one-adjoint sweeps fuse), TL_FN(bits) (bit l: lane l nonzero), TL_FN(any), TL_FN(all); TL_FULL (all K bits). */
#if !defined(TAPE_LANES)
#error "define TAPE_LANES (1, 2, 4, 8 or 16) before including tape_lanes_vec.h"
#endif

#define TL_CAT2(a, b) a##b
#define TL_CAT(a, b) TL_CAT2(a, b)
#define TL_K TAPE_LANES
#define TL_V TL_CAT(tape__vec, TL_K)   /* TL_K doubles */
#define TL_FN(name) TL_CAT(TL_CAT(tape__, name), TL_K)
#define TL_FULL ((uint16_t)((1u << TL_K) - 1u))

/* One hardware vector (may_alias: it loads and stores lanes of a double array): 4 doubles with AVX, 2 with SSE2 (fewer when K is smaller), and K lanes as TL_NV of them,
 * so that a statement's lanes live in registers (a single GCC vector wider than the hardware's lives in memory). */
#if defined(__AVX__)
#define TL_W0 4
#elif defined(__SSE2__)
#define TL_W0 2
#else
#define TL_W0 1
#endif
#define TL_W (TL_K < TL_W0 ? TL_K : TL_W0)
#define TL_NV (TL_K / TL_W)
#define TL_N TL_CAT(tape__hw, TL_K)
typedef double TL_N __attribute__((vector_size(TL_W * sizeof(double)), aligned(sizeof(double)), may_alias));
typedef struct TL_V {
  TL_N v[TL_NV];
} TL_V;

/* Lane l of a. */
#define TL_LANE(a, l) ((a).v[(l) / TL_W][(l) % TL_W])

AD_INLINE TL_V TL_FN(load)(const double *p) {
  TL_V r;
#pragma GCC unroll 4
  for (int c = 0; c < TL_NV; ++c) r.v[c] = *(const TL_N *)(p + c * TL_W);
  return r;
}
AD_INLINE void TL_FN(store)(double *p, TL_V a) {
#pragma GCC unroll 4
  for (int c = 0; c < TL_NV; ++c) *(TL_N *)(p + c * TL_W) = a.v[c];
}

/* acc + p * a in every lane, fused where the CPU has FMA, exactly as tape.c's TAPE_MADD (a fused multiply-add per
 * lane, or a separate multiply and add), so each lane is bit for bit the one-adjoint sweep. Written out, not left
 * to contraction: the compiler fuses a * b + c only where the product has no other use. */
AD_INLINE TL_V TL_FN(madd)(TL_V acc, double p, TL_V a) {
#pragma GCC unroll 4
  for (int c = 0; c < TL_NV; ++c) {
#if defined(__FMA__) && TL_W == 4
    acc.v[c] = (TL_N)_mm256_fmadd_pd(_mm256_set1_pd(p), (__m256d)a.v[c], (__m256d)acc.v[c]);
#elif defined(__FMA__) && TL_W == 2
    acc.v[c] = (TL_N)_mm_fmadd_pd(_mm_set1_pd(p), (__m128d)a.v[c], (__m128d)acc.v[c]);
#elif defined(__FMA__)
    acc.v[c][0] = __builtin_fma(p, a.v[c][0], acc.v[c][0]);
#else
    acc.v[c] = acc.v[c] + p * a.v[c];
#endif
  }
  return acc;
}

/* Bit l set where lane l of a is nonzero (NaN included, as a != 0.0): a vector compare and a move-mask per
 * hardware vector. */
AD_INLINE unsigned TL_FN(bits)(TL_V a) {
  unsigned r = 0;
#pragma GCC unroll 4
  for (int c = 0; c < TL_NV; ++c) {
#if TL_W == 4
    r |= (unsigned)_mm256_movemask_pd(_mm256_cmp_pd((__m256d)a.v[c], _mm256_setzero_pd(), _CMP_NEQ_UQ)) << (4 * c);
#elif TL_W == 2
    r |= (unsigned)_mm_movemask_pd(_mm_cmpneq_pd((__m128d)a.v[c], _mm_setzero_pd())) << (2 * c);
#else
    r |= (unsigned)(a.v[c][0] != 0.0) << c;
#endif
  }
  return r;
}
/* 1 if some lane of a is nonzero; 1 if every lane is. */
AD_INLINE int TL_FN(any)(TL_V a) { return TL_FN(bits)(a) != 0; }
AD_INLINE int TL_FN(all)(TL_V a) { return TL_FN(bits)(a) == TL_FULL; }
