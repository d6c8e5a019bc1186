/* ad.c: op tables generated from ad_ops.def, status strings, the counting allocator. */
#include "ad.h"

#include <stdlib.h>
#include <string.h>

const char *ad_status_str(ad_status s) {
  switch (s) {
#define AD__X(name, msg)                                                                                       \
  case name:                                                                                                   \
    return msg;
    AD_STATUS_LIST(AD__X)
#undef AD__X
  default:
    return "unknown status";
  }
}

const char *const ad_op_name[AD_OP_COUNT] = {
#define AD_OP(name, kind, torch, facts, pre, value, da, db) #name,
#include "ad_ops.def"
#undef AD_OP
};

const char *const ad_op_torch[AD_OP_COUNT] = {
#define AD_OP(name, kind, torch, facts, pre, value, da, db) torch,
#include "ad_ops.def"
#undef AD_OP
};

const ad_kind ad_op_kind[AD_OP_COUNT] = {
#define AD_OP(name, kind, torch, facts, pre, value, da, db) AD_KIND_##kind,
#include "ad_ops.def"
#undef AD_OP
};

const int ad_op_arity[AD_OP_COUNT] = {
#define AD_OP(name, kind, torch, facts, pre, value, da, db) AD_KIND_##kind == AD_KIND_VV ? 2 : 1,
#include "ad_ops.def"
#undef AD_OP
};

const unsigned ad_op_facts[AD_OP_COUNT] = {
#define AD_OP(name, kind, torch, facts, pre, value, da, db) (unsigned)(facts),
#include "ad_ops.def"
#undef AD_OP
};

void ad_op_eval(ad_op op, double a, double b, double *out_v, double *out_da, double *out_db) {
  double v = 0, pa = 0, pb = 0;
  switch (op) {
#define AD_OP(name, kind, torch, facts, pre, value, da, db)                                                    \
  case AD_OP_##name: {                                                                                         \
    ad_m2 t = pre;                                                                                             \
    (void)t;                                                                                                   \
    v = value;                                                                                                 \
    pa = (AD_KIND_##kind == AD_KIND_CV) ? 0.0 : (double)(da);                                                  \
    pb = (AD_KIND_##kind == AD_KIND_VV || AD_KIND_##kind == AD_KIND_CV) ? (double)(db) : 0.0;                  \
    break;                                                                                                     \
  }
#include "ad_ops.def"
#undef AD_OP
  default:
    v = pa = pb = __builtin_nan("");
    break;
  }
  *out_v = v;
  *out_da = pa;
  *out_db = pb;
}

/* ---- Counting allocator ---- */

static ad_alloc_stats ad__stats;
static long ad__fail_after = -1;

static int ad__may_alloc(void) {
  if (ad__fail_after < 0) return 1;
  if (ad__fail_after == 0) return 0;
  ad__fail_after--;
  return 1;
}

static void ad__count(int64_t delta) {
  ad__stats.bytes_now += delta;
  if (ad__stats.bytes_now > ad__stats.bytes_peak) ad__stats.bytes_peak = ad__stats.bytes_now;
}

void *ad_malloc(size_t n) {
  if (!ad__may_alloc()) return NULL;
  void *p = malloc(n ? n : 1);
  if (!p) return NULL;
  ad__stats.allocs++;
  ad__stats.bytes_total += n;
  ad__count((int64_t)n);
  return p;
}

void *ad_calloc(size_t n) {
  if (!ad__may_alloc()) return NULL;
  void *p = calloc(1, n ? n : 1);
  if (!p) return NULL;
  ad__stats.allocs++;
  ad__stats.bytes_total += n;
  ad__count((int64_t)n);
  return p;
}

void *ad_realloc(void *p, size_t old_n, size_t n) {
  if (!p) return ad_malloc(n);
  if (n > old_n && !ad__may_alloc()) return NULL;
  void *q = realloc(p, n ? n : 1);
  if (!q) return NULL;
  if (n > old_n) {
    ad__stats.allocs++;
    ad__stats.bytes_total += n - old_n;
  }
  ad__count((int64_t)n - (int64_t)old_n);
  return q;
}

void ad_free(void *p, size_t n) {
  if (!p) return;
  free(p);
  ad__stats.frees++;
  ad__count(-(int64_t)n);
}

ad_alloc_stats ad_alloc_get_stats(void) { return ad__stats; }

void ad_alloc_reset_stats(void) {
  int64_t now = ad__stats.bytes_now;
  memset(&ad__stats, 0, sizeof ad__stats);
  ad__stats.bytes_now = now;
  ad__stats.bytes_peak = now;
}

void ad_alloc_fail_after(long after) { ad__fail_after = after < 0 ? -1 : after; }
