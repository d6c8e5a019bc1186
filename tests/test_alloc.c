/* test_alloc: every engine of eng_all under allocation failure, through eng_api, on every workload of wl_all at
 * its small check size.
 *
 * For n = 0, 1, 2, ... the allocator lets n allocations succeed and fails every later one
 * (ad_alloc_fail_after) while a session is opened and used (value; jacobian for derivative engines; then vjp
 * or jvp, and replay where the engine has them). Each call must either succeed or return a status (open:
 * NULL), never crash; closing the session must give back every byte (no leak). Once n is large enough that
 * nothing fails, the results must equal those of a run without failure injection, bit for bit. Finally a session
 * opened after the failures works normally. Runs under ASan in the sanitizer configuration, which also catches
 * any write through a pointer that an engine forgot to check.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eng.h"
#include "wl.h"

#include "testkit.h"

enum { MAX_TRIES = 20000 };

/* Results of one run. */
typedef struct run {
  int opened;
  ad_status st; /* first non-OK status, or AD_OK */
  double *y, *J, *aux;
} run;

/* Opens a session and runs every entry the engine has; records the first failing status. */
static void run_engine(const eng_api *e, const wl_info *w, int size, const double *data, const double *x, int n,
                       int m, run *r) {
  r->st = AD_OK;
  eng_session *s = e->open(w, size, data);
  r->opened = s != NULL;
  if (!s) return;
  ad_status st = e->value(s, x, r->y);
  if (st == AD_OK && e->kind != ENG_PRIMAL) st = e->jacobian(s, x, r->y, r->J);
  if (st == AD_OK && e->vjp) {
    st = e->value(s, x, r->y);
    for (int i = 0; i < m; ++i) r->aux[n + i] = 1.0; /* weights after the result slots */
    if (st == AD_OK) st = e->vjp(s, r->aux + n, r->aux);
  }
  if (st == AD_OK && e->jvp) {
    for (int j = 0; j < n; ++j) r->aux[n + m + j] = 1.0;
    st = e->jvp(s, x, r->aux + n + m, r->y, r->aux);
  }
  if (st == AD_OK && e->replay) {
    st = e->jacobian(s, x, r->y, r->J);
    if (st == AD_OK) st = e->replay(s, x, r->y, r->J);
  }
  r->st = st;
  e->close(s);
}

int main(void) {
  long cases = 0, injected = 0, open_failed = 0, enomem = 0;
  for (int wi = 0; wi < WL_COUNT; ++wi) {
    const wl_info *w = wl_all[wi];
    int size = w->check_sizes[0], n = w->n_in(size), m = w->n_out(size);
    size_t nJ = (size_t)n * m, naux = (size_t)(n + m) * 2 + 1;
    double *x = (double *)calloc((size_t)n, sizeof *x), *data = (double *)calloc((size_t)w->n_data(size) + 1, 8);
    run ref, r;
    ref.y = (double *)calloc((size_t)m, 8), ref.J = (double *)calloc(nJ, 8), ref.aux = (double *)calloc(naux, 8);
    r.y = (double *)calloc((size_t)m, 8), r.J = (double *)calloc(nJ, 8), r.aux = (double *)calloc(naux, 8);
    if (!x || !data || !ref.y || !ref.J || !ref.aux || !r.y || !r.J || !r.aux) {
      fprintf(stderr, "test_alloc: out of memory\n");
      return 1;
    }
    w->init(size, 42, x, data);
    for (int k = 0; k < eng_own_count; ++k) {
      const eng_api *e = eng_all[k];
      int64_t base = ad_alloc_get_stats().bytes_now;
      memset(ref.aux, 0, naux * 8);
      run_engine(e, w, size, data, x, n, m, &ref);
      CHECKF(ref.opened && ref.st == AD_OK, "%s on %s: %s without failure injection", e->name, w->name,
             ref.opened ? ad_status_str(ref.st) : "open failed");
      CHECKF(ad_alloc_get_stats().bytes_now == base, "%s on %s: leaked %lld bytes", e->name, w->name,
             (long long)(ad_alloc_get_stats().bytes_now - base));
      if (!ref.opened || ref.st != AD_OK) continue;
      int done = 0;
      long tries = 0;
      for (long f = 0; f < MAX_TRIES && !done; ++f, ++tries) {
        memset(r.aux, 0, naux * 8);
        ad_alloc_reset_stats();
        ad_alloc_fail_after(f);
        run_engine(e, w, size, data, x, n, m, &r);
        ad_alloc_fail_after(-1);
        uint64_t used = ad_alloc_get_stats().allocs; /* successful allocations; fewer than f: none was refused */
        done = used < (uint64_t)f;
        CHECKF(ad_alloc_get_stats().bytes_now == base, "%s on %s, failing after %ld allocations: leaked %lld bytes",
               e->name, w->name, f, (long long)(ad_alloc_get_stats().bytes_now - base));
        if (!r.opened) {
          open_failed++;
          continue;
        }
        if (r.st != AD_OK) {
          enomem++;
          CHECKF(r.st == AD_ENOMEM, "%s on %s, failing after %ld allocations: %s (expected out of memory)",
                 e->name, w->name, f, ad_status_str(r.st));
          continue;
        }
        /* Every call succeeded: the results must be the usual ones. */
        CHECKF(!memcmp(r.y, ref.y, (size_t)m * 8) && !memcmp(r.J, ref.J, nJ * 8) && !memcmp(r.aux, ref.aux, naux * 8),
               "%s on %s, allocation budget %ld: results differ from an unconstrained run", e->name, w->name, f);
      }
      CHECKF(done, "%s on %s: still failing after %d allocations", e->name, w->name, MAX_TRIES);
      /* A session after all that works. */
      run_engine(e, w, size, data, x, n, m, &r);
      CHECKF(r.opened && r.st == AD_OK && !memcmp(r.y, ref.y, (size_t)m * 8) && !memcmp(r.J, ref.J, nJ * 8),
             "%s on %s: a session after the failures does not work", e->name, w->name);
      cases++;
      injected += tries;
    }
    free(x), free(data), free(ref.y), free(ref.J), free(ref.aux), free(r.y), free(r.J), free(r.aux);
  }
  if (!tk_fails)
    printf("test_alloc: %ld engine/workload pairs, %ld runs under a budget: %ld refused at open, %ld returned "
           "AD_ENOMEM; no crash, no leak, and correct results whenever every call succeeded\n",
           cases, injected, open_failed, enomem);
  return test_report("test_alloc");
}
