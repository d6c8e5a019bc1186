/* test_ad: the tables and services of engines/ad.h that every engine relies on.
 *
 *  - ad_status_str: every code of AD_STATUS_LIST has its own non-empty message; codes outside the list give
 *    "unknown status";
 *  - the op tables generated from ad_ops.def: names unique and non-empty, each name's suffix (_vv, _vc, _cv or
 *    none) matching its kind, arity 2 exactly for VV ops, a PyTorch grad_fn name "<Name>Backward<digit>"
 *    for each; ad_op_eval gives NaN for a code outside the list and, for every op, the same value bit for bit
 *    as the primal engine (the one-instruction `prog` program) at a regular point;
 *  - the counting allocator: allocs, frees, bytes_now, bytes_peak and bytes_total follow ad_malloc, ad_calloc,
 *    ad_realloc and ad_free exactly; ad_alloc_fail_after(n) lets n allocations succeed, then fails every
 *    allocation (a shrinking realloc still succeeds and keeps its block) until ad_alloc_fail_after(-1);
 *  - ad_math_variant names the SLEEF build in use.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "eng.h"
#include "tprog.h"

#include "testkit.h"

static void test_status(void) {
  static const ad_status codes[] = {
#define X(name, msg) name,
      AD_STATUS_LIST(X)
#undef X
  };
  int n = (int)(sizeof codes / sizeof codes[0]);
  CHECKF(n == AD_STATUS_COUNT, "AD_STATUS_COUNT %d, list %d", (int)AD_STATUS_COUNT, n);
  for (int i = 0; i < n; ++i) {
    const char *m = ad_status_str(codes[i]);
    CHECKF(m && *m, "status %d: empty message", (int)codes[i]);
    if (!m) continue;
    CHECKF(strcmp(m, "unknown status") != 0, "status %d: reported as unknown", (int)codes[i]);
    CHECKF((int)codes[i] == i, "status %d at position %d of the list", (int)codes[i], i);
    for (int j = 0; j < i; ++j)
      CHECKF(strcmp(m, ad_status_str(codes[j])) != 0, "statuses %d and %d share \"%s\"", i, j, m);
  }
  CHECKF(!strcmp(ad_status_str(AD_OK), "ok"), "AD_OK: \"%s\"", ad_status_str(AD_OK));
  CHECKF(!strcmp(ad_status_str(AD_STATUS_COUNT), "unknown status"), "AD_STATUS_COUNT: \"%s\"",
         ad_status_str(AD_STATUS_COUNT));
  CHECKF(!strcmp(ad_status_str((ad_status)-1), "unknown status"), "-1: \"%s\"", ad_status_str((ad_status)-1));
  CHECKF(!strcmp(ad_status_str((ad_status)1000), "unknown status"), "1000: \"%s\"", ad_status_str((ad_status)1000));
}

static int ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && !strcmp(s + n - m, suffix);
}

static void test_op_tables(void) {
  for (int op = 0; op < AD_OP_COUNT; ++op) {
    const char *name = ad_op_name[op], *torch = ad_op_torch[op];
    CHECKF(name && *name, "op %d: no name", op);
    CHECKF(torch && *torch, "op %d: no torch name", op);
    if (!name || !torch) continue;
    for (int j = 0; j < op; ++j) CHECKF(strcmp(name, ad_op_name[j]) != 0, "ops %d and %d are both %s", op, j, name);
    ad_kind kind = ad_op_kind[op];
    int vv = ends_with(name, "_vv"), vc = ends_with(name, "_vc"), cv = ends_with(name, "_cv");
    CHECKF(kind == AD_KIND_VV ? vv : kind == AD_KIND_VC ? vc : kind == AD_KIND_CV ? cv : !vv && !vc && !cv,
           "op %s: kind %d does not match its name", name, (int)kind);
    CHECKF(ad_op_arity[op] == (kind == AD_KIND_VV ? 2 : 1), "op %s: arity %d for kind %d", name, ad_op_arity[op],
           (int)kind);
    const char *b = strstr(torch, "Backward");
    CHECKF(b && b != torch && b[8] >= '0' && b[8] <= '9' && b[9] == 0, "op %s: torch name \"%s\"", name, torch);
  }
  double v, da, db;
  ad_op_eval((ad_op)AD_OP_COUNT, 1.0, 2.0, &v, &da, &db);
  CHECKF(isnan(v) && isnan(da) && isnan(db), "ad_op_eval of an unknown op: %g %g %g", v, da, db);

  /* ad_op_eval against the primal engine on one-op programs. */
  for (int op = 0; op < AD_OP_COUNT; ++op) {
    double a = 0.75, bb = 1.25, data[PROG_HEADER + PROG_STRIDE], x[2] = {a, bb}, y = 0;
    int kind = ad_op_kind[op], k = kind == AD_KIND_VV ? 2 : 1;
    if (kind == AD_KIND_CV) x[0] = bb;
    prog_set_header(data, k, 1);
    prog_set(data, 0, op, 0, 1, kind == AD_KIND_VC ? bb : a);
    ad_status st = tprog_primal.value(data, x, &y);
    ad_op_eval((ad_op)op, a, bb, &v, &da, &db);
    CHECKF(st == AD_OK && !memcmp(&v, &y, sizeof v), "op %s: ad_op_eval %.17g, primal engine %.17g",
           ad_op_name[op], v, y);
  }
}

static void test_alloc(void) {
  ad_alloc_reset_stats();
  ad_alloc_stats s0 = ad_alloc_get_stats();
  CHECKF(s0.allocs == 0 && s0.frees == 0 && s0.bytes_total == 0 && s0.bytes_peak == s0.bytes_now,
         "after reset: %llu allocs, %llu frees, %llu total, peak %lld, now %lld", (unsigned long long)s0.allocs,
         (unsigned long long)s0.frees, (unsigned long long)s0.bytes_total, (long long)s0.bytes_peak,
         (long long)s0.bytes_now);
  char *p = (char *)ad_malloc(100);
  char *q = (char *)ad_calloc(50);
  CHECKF(p && q, "ad_malloc, ad_calloc");
  if (!p || !q) return;
  int zero = 1;
  for (int i = 0; i < 50; ++i) zero &= q[i] == 0;
  CHECKF(zero, "ad_calloc: not zeroed");
  memset(p, 7, 100);
  ad_alloc_stats s = ad_alloc_get_stats();
  CHECKF(s.allocs == 2 && s.bytes_now == s0.bytes_now + 150 && s.bytes_total == 150 &&
             s.bytes_peak == s0.bytes_now + 150,
         "after 100 + 50 bytes: %llu allocs, now %lld, total %llu", (unsigned long long)s.allocs,
         (long long)(s.bytes_now - s0.bytes_now), (unsigned long long)s.bytes_total);
  p = (char *)ad_realloc(p, 100, 300); /* grows: one more allocation of 200 bytes */
  CHECKF(p && p[99] == 7, "ad_realloc grow keeps the contents");
  s = ad_alloc_get_stats();
  CHECKF(s.allocs == 3 && s.bytes_now == s0.bytes_now + 350 && s.bytes_total == 350, "after growing: %llu, %lld, %llu",
         (unsigned long long)s.allocs, (long long)(s.bytes_now - s0.bytes_now), (unsigned long long)s.bytes_total);
  p = (char *)ad_realloc(p, 300, 80); /* shrinks: no allocation */
  s = ad_alloc_get_stats();
  CHECKF(p && s.allocs == 3 && s.bytes_now == s0.bytes_now + 130 && s.bytes_peak == s0.bytes_now + 350,
         "after shrinking: %llu allocs, now %lld, peak %lld", (unsigned long long)s.allocs,
         (long long)(s.bytes_now - s0.bytes_now), (long long)(s.bytes_peak - s0.bytes_now));

  /* Failure injection. */
  ad_alloc_fail_after(2);
  void *a1 = ad_malloc(8), *a2 = ad_calloc(8), *a3 = ad_malloc(8), *a4 = ad_calloc(8);
  CHECKF(a1 && a2 && !a3 && !a4, "fail_after(2): %p %p %p %p", a1, a2, a3, a4);
  char *grown = (char *)ad_realloc(p, 80, 1000);
  CHECKF(grown == NULL && p[0] == 7, "a failing grow returns NULL and keeps the block");
  char *shrunk = (char *)ad_realloc(p, 80, 40);
  CHECKF(shrunk != NULL, "a shrinking realloc succeeds while allocations fail");
  if (shrunk) p = shrunk;
  CHECKF(ad_realloc(NULL, 0, 8) == NULL, "ad_realloc(NULL) is an allocation and fails too");
  ad_alloc_fail_after(0);
  CHECKF(ad_malloc(1) == NULL, "fail_after(0)");
  ad_alloc_fail_after(-1);
  void *a5 = ad_malloc(8);
  CHECKF(a5 != NULL, "fail_after(-1) lifts the failure");
  ad_free(a1, 8), ad_free(a2, 8), ad_free(a5, 8), ad_free(NULL, 8);
  ad_free(p, 40), ad_free(q, 50);
  s = ad_alloc_get_stats();
  CHECKF(s.bytes_now == s0.bytes_now && s.frees == 5, "after freeing all: now %lld, %llu frees",
         (long long)(s.bytes_now - s0.bytes_now), (unsigned long long)s.frees);
  ad_alloc_reset_stats();
  s = ad_alloc_get_stats();
  CHECKF(s.allocs == 0 && s.bytes_peak == s.bytes_now, "reset: %llu allocs, peak %lld, now %lld",
         (unsigned long long)s.allocs, (long long)s.bytes_peak, (long long)s.bytes_now);
}

int main(void) {
  test_status();
  test_op_tables();
  test_alloc();
  const char *variant = ad_math_variant();
  CHECKF(variant && (!strcmp(variant, "purecfma") || !strcmp(variant, "purec")), "ad_math_variant: %s",
         variant ? variant : "(null)");
  if (!tk_fails)
    printf("test_ad: %d status codes, %d ops, allocator and SLEEF variant (%s) as documented\n",
           (int)AD_STATUS_COUNT, (int)AD_OP_COUNT, variant);
  return test_report("test_ad");
}
