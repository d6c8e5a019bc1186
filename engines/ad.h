/* ad.h: adlab's op interface, shared by every engine: op tables, status codes, the allocation hook.
 *
 * adlab has several interchangeable AD engines. Each lives in engines/<name>/ and provides one header,
 * <name>_ops.h, that defines, as static inline functions with the SAME names in every engine:
 *
 *   typedef ... ad_t;                        a scalar variable of this engine
 *   typedef ... ad_ctx;                      what ops record into (a tape, a graph; unused by primal and dual)
 *   ad_t   ad_const(ad_ctx *c, double v);    a constant (passive: no derivative flows into it)
 *   double ad_val(ad_ctx *c, ad_t x);        read the value, for output or control flow
 *   ad_t   ad_<op>(ad_ctx *c, ...);          every op of ad_ops.def, with its kind's signature:
 *            U  ad_sin(c, x)   VV ad_mul_vv(c, x, y)   VC ad_mul_vc(c, x, 2.0)   CV ad_sub_cv(c, 1.0, y)
 *   int    ad_<cmp>_vv(c, x, y), ad_<cmp>_vc(c, x, k) for cmp in lt, le, gt, ge: comparisons that steer
 *          control flow (an engine may record them as guards).
 *
 * A workload is written once against these names and compiled once per engine (the SLEEF model: one source,
 * one build per helper header), so every op is inlined and no op goes through a function pointer. Example:
 *
 *   #include "tape/tape_ops.h"
 *   ad_t f(ad_ctx *c, ad_t x, ad_t w) {             // y = (x + w) * (w + 1)
 *     return ad_mul_vv(c, ad_add_vv(c, x, w), ad_add_vc(c, w, 1.0));
 *   }
 *
 * Independent inputs are created by each engine's driver API (see the engine's own header), not by workloads.
 */
#ifndef AD_H
#define AD_H

#include <stddef.h>
#include <stdint.h>

#include "ad_math.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define AD_LIKELY(x) __builtin_expect(!!(x), 1)
#define AD_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define AD_NOINLINE __attribute__((noinline))
#define AD_INLINE static inline __attribute__((always_inline))
#else
#define AD_LIKELY(x) (x)
#define AD_UNLIKELY(x) (x)
#define AD_NOINLINE
#define AD_INLINE static inline
#endif

/* ---- Status codes (recoverable errors) ------------------------------------------------------------------ */

#define AD_STATUS_LIST(X)                                                                                      \
  X(AD_OK, "ok")                                                                                               \
  X(AD_ENOMEM, "out of memory")                                                                                \
  X(AD_ERANGE, "too large: index or size out of range")                                                        \
  X(AD_EINVAL, "invalid argument")                                                                             \
  X(AD_ESTATE, "invalid state for this call")                                                                  \
  X(AD_EFREED, "saved values were already freed (backward through the graph a second time)")                   \
  X(AD_ENOGRAD, "tensor does not require grad and has no grad_fn")                                             \
  X(AD_EGUARD, "control flow changed since recording")                                                        \
  X(AD_EFOREIGN, "a variable from another context or tape, or from before a reset or shrink")                  \
  X(AD_EIO, "writing failed (disk full or an I/O error)")                                                     \
  X(AD_EBUDGET, "memory budget too small: not even one checkpoint and one step's tape fit")

typedef enum ad_status {
#define AD__X(name, msg) name,
  AD_STATUS_LIST(AD__X)
#undef AD__X
  AD_STATUS_COUNT
} ad_status;

/* A short English description of s; never NULL (unknown codes give "unknown status"). */
const char *ad_status_str(ad_status s);

/* ---- The op table, generated from ad_ops.def ------------------------------------------------------------- */

typedef enum ad_kind { AD_KIND_U, AD_KIND_VV, AD_KIND_VC, AD_KIND_CV } ad_kind;

/* Per-op facts, the `facts` column of ad_ops.def (documented there). */
enum {
  AD_SAVES = 1 << 0,      /* backward needs saved values */
  AD_KINK_SIGN = 1 << 1,  /* rule switches at a == 0: guard the sign of a */
  AD_KINK_ORDER = 1 << 2, /* rule switches where a == b: guard the order of a and b */
  AD_TORCH1 = 1 << 3,     /* PyTorch's op has one tensor input despite a constant operand */
  AD_POS_A = 1 << 4,      /* smooth and real only for a > 0 */
  AD_NONZERO_B = 1 << 5   /* smooth and real only for b away from 0 */
};

typedef enum ad_op {
#define AD_OP(name, kind, torch, facts, pre, value, da, db) AD_OP_##name,
#include "ad_ops.def"
#undef AD_OP
  AD_OP_COUNT
} ad_op;

extern const char *const ad_op_name[AD_OP_COUNT];  /* "add_vv", "sin", ... */
extern const char *const ad_op_torch[AD_OP_COUNT]; /* "AddBackward0", ... */
extern const ad_kind ad_op_kind[AD_OP_COUNT];
extern const int ad_op_arity[AD_OP_COUNT]; /* variable operands: 1 or 2 */
extern const unsigned ad_op_facts[AD_OP_COUNT]; /* AD_SAVES | AD_KINK_SIGN | ... (the facts column) */

/* Evaluates op's rule on plain doubles: value *v and partials *da, *db (0 for a constant operand).
 * For U ops b is ignored. Used by tests and by engines that evaluate rules by op code. */
void ad_op_eval(ad_op op, double a, double b, double *v, double *da, double *db);

/* Comparisons available to workloads (ad_<name>_vv, ad_<name>_vc). */
#define AD_CMP_LIST(X) X(lt, <) X(le, <=) X(gt, >) X(ge, >=)

/* ---- Allocation hook -------------------------------------------------------------------------------------- */
/* Every engine allocates through ad_malloc/ad_realloc/ad_free, so one place counts bytes and allocations (the
 * benchmark's memory manager reads these counters) and a test can make an allocation fail on purpose. Not
 * thread-safe: adlab engines are single-threaded. */

typedef struct ad_alloc_stats {
  uint64_t allocs;      /* successful allocations (malloc and growing realloc) since the last reset */
  uint64_t frees;
  int64_t bytes_now;    /* bytes currently held by engines */
  int64_t bytes_peak;   /* maximum of bytes_now since the last reset */
  uint64_t bytes_total; /* bytes allocated in all, since the last reset */
} ad_alloc_stats;

/* Allocates n bytes; NULL when n == 0 is not special (returns a unique pointer), NULL on failure. */
void *ad_malloc(size_t n);
/* Allocates n zeroed bytes; NULL on failure. */
void *ad_calloc(size_t n);
/* Resizes p (held with old_n bytes) to n bytes; on failure returns NULL and p stays valid. */
void *ad_realloc(void *p, size_t old_n, size_t n);
/* Frees p, which holds n bytes (the size keeps the byte count exact). NULL is ignored. */
void ad_free(void *p, size_t n);

ad_alloc_stats ad_alloc_get_stats(void);
/* Resets the counters: peak and totals restart from the current bytes_now. */
void ad_alloc_reset_stats(void);
/* Test hook: the next `after` allocations succeed, then every allocation fails until called with -1. */
void ad_alloc_fail_after(long after);

#ifdef __cplusplus
}
#endif
#endif
