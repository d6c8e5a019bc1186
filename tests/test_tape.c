/* test_tape: the Jacobian tape (engines/tape) through its own API.
 *
 *  - seed:      y = (x + w)(w + 1) gives adj w = 5, adj x = 2, and exact statistics;
 *  - passive:   constants record nothing, an op with one passive operand records one argument;
 *  - stats:     tape_get_stats is exact (statements, arguments, bytes_used = statements + 12 arguments) and
 *               bytes_held equals the bytes the tape took from ad_malloc;
 *  - chunks:    recordings of 1e5, 1e6 and 3.3e6 statements (the last one past TAPE_CHUNK_MAX-sized chunks)
 *               that mix statements of 0, 1 and 2 arguments, inputs created mid-recording and passive ops,
 *               so chunk boundaries fall everywhere; their gradients are sums of small binary fractions,
 *               exact in any order of accumulation, and must come out exactly; workloads recorded at 1e6
 *               statements through eng_tape agree with their hand-written gradients;
 *  - reuse:     1000 record/reset cycles allocate nothing after the first and hold constant bytes;
 *  - shrink:    after a large recording, tape_shrink returns to a fresh tape's footprint;
 *  - sweeps:    a reverse sweep adds into the adjoints; tape_clear_adjoints clears them;
 *  - failure:   an allocation failing at every possible point (ad_alloc_fail_after) while recording or while
 *               allocating adjoints gives AD_ENOMEM from tape_status (or a NULL adjoint vector), tape_reverse
 *               refuses with AD_ESTATE, nothing crashes or leaks, and after tape_reset the same tape records
 *               and differentiates correctly; tape_new fails cleanly at each of its allocations;
 *  - NULL:      NULL handles give AD_EINVAL, NULL or zeros, or are ignored, as tape.h documents;
 *  - from:      tape_reverse_from(top) on a 1.2e6-statement recording, at tops on both sides of every chunk
 *               boundary and at random, gives bit for bit the adjoints of a full sweep seeded at top alone;
 *  - inputs:    tape_inputs records what as many tape_input calls record (variables, statistics, gradient), from
 *               0 to 600000 inputs after 0, 3 and 1000 statements, and fails cleanly at every allocation;
 *  - input runs: runs of 1 to 5000 argument-free statements (which the sweep steps over as a whole), swept from
 *               their edges and middles and in segments stopping inside them, give the full sweep's adjoints.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eng.h"
/* The storage tests count statements and arguments op by op: the tape without preaccumulation (tape_ops.h), one
 * statement per op. Preaccumulation has its own test (test_preacc.c). */
#define TAPE_PREACC 0
#include "tape/tape_ops.h"
#include "wl.h"

#include "testkit.h"

/* ---- A mixed recording with an exactly known gradient ---- */

enum { MIX_M = 64 };

typedef struct mix {
  ad_t x[MIX_M];
  double gx[MIX_M];   /* expected dy/dx_j */
  uint32_t *mid;      /* inputs created during the recording; dy/dz = 2 for each */
  long n_mid, cap_mid;
  uint64_t statements, arguments; /* counted while recording */
  double value;       /* expected value of y */
  ad_t y;
} mix;

/* Records y = x_0 + a sum of terms c x_j, 2 z (z a new input), 1.5 and 6 (passive), from seed. Every partial is
 * a small binary fraction and every adjoint of the running sum is 1, so the gradient is exact. Returns 0 if the
 * bookkeeping could not be allocated. */
static int mix_record(tape_t *t, mix *r, long ops, uint64_t seed) {
  static const double cs[] = {0.5, 2.0, -1.0, 3.0, 0.25};
  wl_rng g = {seed};
  r->statements = r->arguments = 0;
  r->n_mid = 0;
  if (r->cap_mid < ops) {
    free(r->mid);
    r->mid = (uint32_t *)malloc((size_t)(ops + 1) * sizeof *r->mid);
    r->cap_mid = r->mid ? ops : 0;
    if (!r->mid) return 0;
  }
  for (int j = 0; j < MIX_M; ++j) {
    r->x[j] = tape_input(t, (double)(j % 5) - 2.0);
    r->gx[j] = 0;
    r->statements++;
  }
  ad_t acc = r->x[0];
  double val = r->x[0].v;
  r->gx[0] = 1;
  for (long i = 0; i < ops; ++i) {
    int j = (int)(wl_rng_next(&g) % MIX_M);
    switch (wl_rng_next(&g) % 6) {
    case 0: {
      double c = cs[wl_rng_next(&g) % 5];
      acc = ad_add_vv(t, acc, ad_mul_vc(t, r->x[j], c));
      r->gx[j] += c;
      val += c * r->x[j].v;
      r->statements += 2, r->arguments += 3;
      break;
    }
    case 1:
      acc = ad_add_vv(t, acc, r->x[j]);
      r->gx[j] += 1;
      val += r->x[j].v;
      r->statements += 1, r->arguments += 2;
      break;
    case 2:
      acc = ad_sub_vv(t, acc, r->x[j]);
      r->gx[j] -= 1;
      val -= r->x[j].v;
      r->statements += 1, r->arguments += 2;
      break;
    case 3: {
      ad_t z = tape_input(t, 1.0);
      acc = ad_add_vv(t, acc, ad_mul_vc(t, z, 2.0));
      r->mid[r->n_mid++] = z.i;
      val += 2.0;
      r->statements += 3, r->arguments += 3;
      break;
    }
    case 4:
      acc = ad_add_vc(t, acc, 1.5);
      val += 1.5;
      r->statements += 1, r->arguments += 1;
      break;
    default: { /* a passive op records nothing; adding its result records one argument */
      ad_t k = ad_mul_vc(t, ad_const(t, 3.0), 2.0);
      CHECKF(k.i == 0, "an op on a constant was recorded (index %u)", (unsigned)k.i);
      acc = ad_add_vv(t, acc, k);
      val += 6.0;
      r->statements += 1, r->arguments += 1;
      break;
    }
    }
  }
  r->y = acc;
  r->value = val;
  return 1;
}

/* Sweeps from r->y and compares every adjoint with the expected gradient; returns the mismatches. */
static long mix_check_gradient(tape_t *t, const mix *r) {
  double *adj = tape_adjoints(t);
  CHECKF(adj != NULL, "tape_adjoints: NULL");
  if (!adj) return 1;
  adj[r->y.i] = 1.0;
  ad_status st = tape_reverse(t);
  CHECKF(st == AD_OK, "tape_reverse: %s", ad_status_str(st));
  long bad = 0;
  for (int j = 0; j < MIX_M; ++j)
    if (adj[r->x[j].i] != r->gx[j]) {
      if (bad++ < 5) fprintf(stderr, "  adj[x%d] = %.17g, expected %.17g\n", j, adj[r->x[j].i], r->gx[j]);
    }
  for (long i = 0; i < r->n_mid; ++i)
    if (adj[r->mid[i]] != 2.0) {
      if (bad++ < 5) fprintf(stderr, "  adj[mid %ld] = %.17g, expected 2\n", i, adj[r->mid[i]]);
    }
  return bad;
}

static void check_stats(const tape_t *t, const mix *r, const char *what) {
  tape_stats s = tape_get_stats(t);
  CHECKF(s.statements == r->statements, "%s: statements %llu, recorded %llu", what,
         (unsigned long long)s.statements, (unsigned long long)r->statements);
  CHECKF(s.arguments == r->arguments, "%s: arguments %llu, recorded %llu", what, (unsigned long long)s.arguments,
         (unsigned long long)r->arguments);
  CHECKF(s.bytes_used == r->statements + 12 * r->arguments, "%s: bytes_used %llu, expected %llu", what,
         (unsigned long long)s.bytes_used, (unsigned long long)(r->statements + 12 * r->arguments));
  CHECKF(s.bytes_held >= s.bytes_used + s.adjoint_bytes, "%s: bytes_held %llu below bytes_used + adjoints", what,
         (unsigned long long)s.bytes_held);
}

/* ---- Tests ---- */

static void test_seed(void) {
  int64_t before = ad_alloc_get_stats().bytes_now;
  tape_t *t = tape_new();
  CHECKF(t != NULL, "tape_new");
  if (!t) return;
  CHECKF(tape_get_stats(t).bytes_held == (uint64_t)(ad_alloc_get_stats().bytes_now - before),
         "bytes_held %llu, bytes the tape allocated %lld", (unsigned long long)tape_get_stats(t).bytes_held,
         (long long)(ad_alloc_get_stats().bytes_now - before));
  ad_t x = tape_input(t, 2.0), w = tape_input(t, 1.0);
  ad_t y = ad_mul_vv(t, ad_add_vv(t, x, w), ad_add_vc(t, w, 1.0));
  CHECKF(y.v == 6.0, "seed value %g", y.v);
  CHECKF(x.i == 1 && w.i == 2 && y.i == 5, "indices %u %u %u: statements are numbered from 1", (unsigned)x.i,
         (unsigned)w.i, (unsigned)y.i);
  tape_stats s = tape_get_stats(t);
  CHECKF(s.statements == 5 && s.arguments == 5 && s.bytes_used == 5 + 12 * 5,
         "seed stats: %llu statements, %llu arguments, %llu bytes", (unsigned long long)s.statements,
         (unsigned long long)s.arguments, (unsigned long long)s.bytes_used);
  double *adj = tape_adjoints(t);
  CHECKF(adj != NULL, "tape_adjoints");
  if (adj) {
    adj[y.i] = 1.0;
    CHECKF(tape_reverse(t) == AD_OK, "tape_reverse");
    CHECKF(adj[w.i] == 5.0 && adj[x.i] == 2.0, "seed gradient dy/dw = %g (5), dy/dx = %g (2)", adj[w.i],
           adj[x.i]);
    /* A second sweep adds into the adjoints; clearing resets them. */
    for (uint32_t i = 1; i < y.i; ++i) adj[i] = 0.0;
    adj[y.i] = 1.0;
    CHECKF(tape_reverse(t) == AD_OK, "second tape_reverse");
    CHECKF(adj[w.i] == 5.0, "sweep after zeroing: dy/dw = %g", adj[w.i]);
    for (uint32_t i = w.i + 1; i < y.i; ++i) adj[i] = 0.0; /* keep the inputs' adjoints only */
    adj[y.i] = 1.0;
    tape_reverse(t);
    CHECKF(adj[w.i] == 10.0 && adj[x.i] == 4.0, "sweeps add: dy/dw = %g (10), dy/dx = %g (4)", adj[w.i], adj[x.i]);
    tape_clear_adjoints(t);
    int zero = 1;
    for (uint32_t i = 0; i <= y.i; ++i) zero &= adj[i] == 0.0;
    CHECKF(zero, "tape_clear_adjoints left nonzero adjoints");
  }
  s = tape_get_stats(t);
  CHECKF(s.bytes_held == (uint64_t)(ad_alloc_get_stats().bytes_now - before),
         "bytes_held %llu with adjoints, bytes the tape allocated %lld", (unsigned long long)s.bytes_held,
         (long long)(ad_alloc_get_stats().bytes_now - before));
  CHECKF(s.adjoint_bytes >= 6 * sizeof(double), "adjoint_bytes %llu", (unsigned long long)s.adjoint_bytes);
  tape_free(t);
  CHECKF(ad_alloc_get_stats().bytes_now == before, "tape_free leaked %lld bytes",
         (long long)(ad_alloc_get_stats().bytes_now - before));
}

static void test_passive(void) {
  tape_t *t = tape_new();
  if (!t) {
    CHECKF(0, "tape_new");
    return;
  }
  ad_t x = tape_input(t, 0.5), y = tape_input(t, 2.0), c = ad_const(t, 3.0);
  ad_t p = ad_add_vv(t, c, c);    /* passive */
  ad_t q = ad_mul_vv(t, x, c);    /* one argument */
  ad_t r = ad_sin(t, q);          /* one */
  ad_t s = ad_sub_cv(t, 1.0, y);  /* one */
  ad_t u = ad_pow_vv(t, r, s);    /* two */
  ad_t v = ad_exp(t, p);          /* passive */
  CHECKF(p.i == 0 && v.i == 0 && c.i == 0, "passive values got indices %u %u %u", (unsigned)p.i, (unsigned)v.i,
         (unsigned)c.i);
  CHECKF(q.i == 3 && r.i == 4 && s.i == 5 && u.i == 6, "indices %u %u %u %u", (unsigned)q.i, (unsigned)r.i,
         (unsigned)s.i, (unsigned)u.i);
  tape_stats st = tape_get_stats(t);
  CHECKF(st.statements == 6 && st.arguments == 5 && st.bytes_used == 6 + 60, "stats %llu %llu %llu",
         (unsigned long long)st.statements, (unsigned long long)st.arguments, (unsigned long long)st.bytes_used);
  double *adj = tape_adjoints(t);
  if (adj) {
    adj[u.i] = 1.0;
    tape_reverse(t);
    /* u = sin(3x)^(1 - y): du/dx = (1 - y) sin(3x)^(-y) cos(3x) 3, du/dy = -u log(sin(3x)) */
    double sx = ad_m_sincos(1.5).x, cx = ad_m_sincos(1.5).y, e = 1.0 - 2.0;
    double dx = e * ad_m_pow(sx, e - 1.0) * cx * 3.0, dy = -ad_m_pow(sx, e) * ad_m_log(sx);
    CHECKF(fabs(adj[x.i] - dx) <= 1e-15 * fabs(dx) && fabs(adj[y.i] - dy) <= 1e-15 * fabs(dy),
           "gradient (%.17g, %.17g), expected (%.17g, %.17g)", adj[x.i], adj[y.i], dx, dy);
  }
  tape_free(t);
}

static void test_chunks(void) {
  static const long sizes[] = {100000, 1000000, 3300000}; /* statements, approximately */
  mix r;
  memset(&r, 0, sizeof r);
  tape_t *t = tape_new();
  if (!t) {
    CHECKF(0, "tape_new");
    return;
  }
  tape_stats fresh = tape_get_stats(t);
  int64_t base = ad_alloc_get_stats().bytes_now - (int64_t)fresh.bytes_held;
  for (int k = 0; k < 3; ++k) {
    tape_reset(t);
    long ops = (long)(sizes[k] / 1.5);
    if (!mix_record(t, &r, ops, 100 + k)) {
      CHECKF(0, "out of memory for the test's bookkeeping");
      break;
    }
    CHECKF(tape_status(t) == AD_OK, "recording %llu statements: %s", (unsigned long long)r.statements,
           ad_status_str(tape_status(t)));
    CHECKF(r.y.v == r.value, "value %.17g, expected %.17g", r.y.v, r.value);
    check_stats(t, &r, "large recording");
    long bad = mix_check_gradient(t, &r);
    CHECKF(bad == 0, "%llu statements: %ld adjoints wrong", (unsigned long long)r.statements, bad);
    tape_stats s = tape_get_stats(t);
    CHECKF(s.bytes_held == (uint64_t)(ad_alloc_get_stats().bytes_now - base), "bytes_held %llu, allocated %lld",
           (unsigned long long)s.bytes_held, (long long)(ad_alloc_get_stats().bytes_now - base));
    printf("  %8llu statements, %8llu arguments, %ld inputs created mid-recording: gradient exact; "
           "bytes used %llu, held %llu\n",
           (unsigned long long)r.statements, (unsigned long long)r.arguments, r.n_mid,
           (unsigned long long)s.bytes_used, (unsigned long long)s.bytes_held);
  }
  /* A small recording in the big storage, then shrink back to a fresh tape's footprint. */
  tape_reset(t);
  mix_record(t, &r, 1000, 7);
  check_stats(t, &r, "small recording after a large one");
  CHECKF(mix_check_gradient(t, &r) == 0, "small recording after a large one: wrong adjoints");
  tape_shrink(t);
  tape_stats s = tape_get_stats(t);
  CHECKF(s.bytes_held == fresh.bytes_held && s.statements == 0 && s.arguments == 0,
         "after tape_shrink: held %llu (fresh %llu), %llu statements", (unsigned long long)s.bytes_held,
         (unsigned long long)fresh.bytes_held, (unsigned long long)s.statements);
  CHECKF(ad_alloc_get_stats().bytes_now - base == (int64_t)fresh.bytes_held, "tape_shrink kept %lld bytes",
         (long long)(ad_alloc_get_stats().bytes_now - base));
  mix_record(t, &r, 5000, 8);
  CHECKF(mix_check_gradient(t, &r) == 0, "recording after tape_shrink: wrong adjoints");
  tape_free(t);
  free(r.mid);
}

/* Workloads through eng_tape at about 1e6 statements, against their hand-written gradients. */
static void test_workloads_large(void) {
  static const struct { const char *name; int size; } cases[] = {{"rosenbrock", 125000}, {"poly", 500000}};
  const eng_api *e = eng_find("tape");
  CHECKF(e != NULL, "no tape engine");
  if (!e) return;
  for (int c = 0; c < 2; ++c) {
    const wl_info *w = wl_find(cases[c].name);
    CHECKF(w && w->manual, "workload %s with a manual gradient", cases[c].name);
    if (!w || !w->manual) continue;
    int size = cases[c].size, n = w->n_in(size);
    double *x = (double *)calloc((size_t)n, sizeof *x), *g = (double *)calloc((size_t)n, sizeof *g);
    double *gm = (double *)calloc((size_t)n, sizeof *gm), *data = (double *)calloc((size_t)w->n_data(size) + 1, 8);
    eng_session *s = x && g && gm && data ? e->open(w, size, data) : NULL;
    if (!s) {
      CHECKF(0, "%s: out of memory", cases[c].name);
    } else {
      double y, fm;
      w->init(size, 42, x, data);
      ad_status st = e->jacobian(s, x, &y, g);
      w->manual(size, data, x, &fm, gm);
      double num = 0, den = 0;
      for (int i = 0; i < n; ++i) {
        double d = fabs(g[i] - gm[i]);
        if (!(d <= num)) num = d;
        if (fabs(gm[i]) > den) den = fabs(gm[i]);
      }
      eng_stats es = e->stats(s);
      CHECKF(st == AD_OK && num <= 1e-12 * den, "%s at size %d: %s, gradient error %.2e of %.2e", cases[c].name,
             size, ad_status_str(st), num, den);
      printf("  %s size %d: %llu statements, gradient within %.1e of the manual one\n", cases[c].name, size,
             (unsigned long long)es.nodes, den > 0 ? num / den : num);
    }
    e->close(s);
    free(x), free(g), free(gm), free(data);
  }
}

static void test_reuse(void) {
  mix r;
  memset(&r, 0, sizeof r);
  tape_t *t = tape_new();
  if (!t) {
    CHECKF(0, "tape_new");
    return;
  }
  double first[MIX_M];
  ad_alloc_stats after_first = ad_alloc_get_stats();
  uint64_t held_first = 0;
  int varied = 0;
  for (int cycle = 0; cycle < 1000; ++cycle) {
    tape_reset(t);
    mix_record(t, &r, 2000, 11);
    double *adj = tape_adjoints(t);
    if (!adj) {
      CHECKF(0, "cycle %d: no adjoints", cycle);
      break;
    }
    adj[r.y.i] = 1.0;
    tape_reverse(t);
    if (cycle == 0) {
      for (int j = 0; j < MIX_M; ++j) first[j] = adj[r.x[j].i];
      after_first = ad_alloc_get_stats();
      held_first = tape_get_stats(t).bytes_held;
      CHECKF(mix_check_gradient(t, &r) == 0, "reuse: first cycle's gradient");
    } else {
      for (int j = 0; j < MIX_M; ++j) varied |= adj[r.x[j].i] != first[j];
      CHECKF(tape_get_stats(t).bytes_held == held_first, "cycle %d: bytes_held %llu, first %llu", cycle,
             (unsigned long long)tape_get_stats(t).bytes_held, (unsigned long long)held_first);
    }
  }
  ad_alloc_stats now = ad_alloc_get_stats();
  CHECKF(now.allocs == after_first.allocs && now.bytes_now == after_first.bytes_now,
         "1000 record/reset cycles allocated: %llu allocations after the first cycle, bytes %lld -> %lld",
         (unsigned long long)(now.allocs - after_first.allocs), (long long)after_first.bytes_now,
         (long long)now.bytes_now);
  CHECKF(!varied, "gradients differ between identical recordings");
  printf("  reuse: 1000 cycles of %llu statements, %llu bytes held throughout, no allocation after the first\n",
         (unsigned long long)r.statements, (unsigned long long)held_first);
  tape_free(t);
  free(r.mid);
}

static void test_alloc_failure(void) {
  mix r;
  memset(&r, 0, sizeof r);
  /* tape_new: each of its allocations failing gives NULL and leaks nothing. */
  int64_t base = ad_alloc_get_stats().bytes_now;
  int made = 0;
  for (long f = 0; f < 8 && !made; ++f) {
    ad_alloc_fail_after(f);
    tape_t *t = tape_new();
    ad_alloc_fail_after(-1);
    made = t != NULL;
    tape_free(t);
    CHECKF(ad_alloc_get_stats().bytes_now == base, "tape_new failing after %ld allocations leaked %lld bytes", f,
           (long long)(ad_alloc_get_stats().bytes_now - base));
  }
  CHECKF(made, "tape_new never succeeded");

  /* Recording 30000 statements needs a dozen chunks, then the adjoint vector: fail at each allocation. */
  int failed_recording = 0, failed_adjoints = 0, succeeded = 0;
  tape_t *scratch = tape_new(); /* sizes the test's own bookkeeping outside the failure window */
  int ok = scratch && mix_record(scratch, &r, 20000, 3);
  tape_free(scratch);
  CHECKF(ok, "out of memory for the test's bookkeeping");
  for (long f = 0; ok && f < 64 && !succeeded; ++f) {
    tape_t *t = tape_new();
    if (!t) {
      CHECKF(0, "tape_new");
      break;
    }
    ad_alloc_fail_after(f);
    mix_record(t, &r, 20000, 3);
    ad_status rec = tape_status(t);
    double *adj = tape_adjoints(t);
    ad_status after = tape_status(t);
    ad_alloc_fail_after(-1);
    if (rec != AD_OK) {
      failed_recording++;
      CHECKF(rec == AD_ENOMEM, "failure after %ld allocations: status %s", f, ad_status_str(rec));
      tape_stats s = tape_get_stats(t);
      CHECKF(s.bytes_used <= s.bytes_held, "stats after a failed recording: used %llu > held %llu",
             (unsigned long long)s.bytes_used, (unsigned long long)s.bytes_held);
      ad_status rev = tape_reverse(t);
      CHECKF(rev == AD_ESTATE, "tape_reverse after a failed recording: %s", ad_status_str(rev));
    } else if (!adj) {
      failed_adjoints++;
      CHECKF(after == AD_ENOMEM, "NULL adjoints but status %s", ad_status_str(after));
      CHECKF(tape_reverse(t) == AD_ESTATE, "tape_reverse without adjoints");
    } else {
      succeeded = 1;
      CHECKF(mix_check_gradient(t, &r) == 0, "gradient with room for every allocation");
    }
    /* The same tape, reset, records and differentiates correctly. */
    tape_reset(t);
    CHECKF(tape_status(t) == AD_OK, "status after tape_reset: %s", ad_status_str(tape_status(t)));
    mix_record(t, &r, 20000, 3);
    check_stats(t, &r, "after a failure and tape_reset");
    CHECKF(mix_check_gradient(t, &r) == 0, "after a failure at allocation %ld and tape_reset: wrong adjoints", f);
    tape_free(t);
    CHECKF(ad_alloc_get_stats().bytes_now == base, "leak of %lld bytes after failing at allocation %ld",
           (long long)(ad_alloc_get_stats().bytes_now - base), f);
  }
  CHECKF(failed_recording >= 2 && failed_adjoints == 1 && succeeded,
         "failure points: %d while recording, %d at the adjoints, success %d", failed_recording, failed_adjoints,
         succeeded);
  printf("  allocation failure: %d points while recording, %d at the adjoint vector, then success\n",
         failed_recording, failed_adjoints);
  free(r.mid);
}

static void test_null(void) {
  tape_free(NULL);
  tape_reset(NULL);
  tape_shrink(NULL);
  tape_clear_adjoints(NULL);
  CHECKF(tape_status(NULL) == AD_EINVAL, "tape_status(NULL)");
  CHECKF(tape_adjoints(NULL) == NULL, "tape_adjoints(NULL)");
  CHECKF(tape_reverse(NULL) == AD_EINVAL, "tape_reverse(NULL)");
  tape_stats s = tape_get_stats(NULL), zero;
  memset(&zero, 0, sizeof zero);
  CHECKF(!memcmp(&s, &zero, sizeof s), "tape_get_stats(NULL) not zeros");
  /* No adjoint vector yet, or one too small for the recording: refused. */
  tape_t *t = tape_new();
  if (!t) return;
  ad_t x = tape_input(t, 1.0);
  ad_t y = ad_exp(t, x);
  CHECKF(tape_reverse(t) == AD_ESTATE, "tape_reverse before tape_adjoints");
  tape_clear_adjoints(t); /* no adjoints: ignored */
  double *adj = tape_adjoints(t);
  CHECKF(adj && tape_reverse(t) == AD_OK, "tape_reverse with adjoints");
  for (int i = 0; i < 100; ++i) y = ad_sin(t, y);
  CHECKF(tape_reverse(t) == AD_ESTATE, "tape_reverse with adjoints shorter than the recording");
  tape_free(t);
}

/* Index of the first statement of the j-th statement chunk (chunk sizes: 256, 512, ..., then TAPE_CHUNK_MAX). */
static uint64_t chunk_first(int j) {
  uint64_t first = 1, cap = 256;
  for (int i = 0; i < j; ++i) {
    first += cap;
    cap = cap * 2 < TAPE_CHUNK_MAX ? cap * 2 : TAPE_CHUNK_MAX;
  }
  return first;
}

static void test_reverse_from(void) {
  mix r;
  memset(&r, 0, sizeof r);
  tape_t *t = tape_new();
  double *full = NULL;
  if (!t || !mix_record(t, &r, 800000, 7) || tape_status(t) != AD_OK) {
    CHECKF(0, "recording for tape_reverse_from");
    goto done;
  }
  uint64_t n = r.statements;
  full = (double *)malloc((size_t)(n + 1) * sizeof *full);
  if (!full) {
    CHECKF(0, "out of memory for the test's bookkeeping");
    goto done;
  }
  CHECKF(tape_reverse_from(NULL, 1) == AD_EINVAL, "tape_reverse_from(NULL)");
  CHECKF(tape_reverse_from(t, 1) == AD_ESTATE, "tape_reverse_from before tape_adjoints");
  uint64_t tops[64];
  int nt = 0;
  for (int j = 1; nt < 40; ++j) { /* both sides of every chunk boundary inside the recording */
    uint64_t b = chunk_first(j);
    if (b > n) break;
    tops[nt++] = b - 1;
    tops[nt++] = b;
  }
  wl_rng g = {99};
  for (int q = 0; q < 6; ++q) tops[nt++] = 1 + wl_rng_next(&g) % n;
  tops[nt++] = n;
  long compared = 0;
  for (int q = 0; q < nt; ++q) {
    uint32_t top = (uint32_t)tops[q];
    double *adj = tape_adjoints(t);
    adj[top] = 1.0;
    CHECKF(tape_reverse(t) == AD_OK, "full sweep");
    memcpy(full, adj, (size_t)(top + 1) * sizeof *full);
    adj = tape_adjoints(t);
    adj[top] = 1.0;
    ad_status st = tape_reverse_from(t, top);
    CHECKF(st == AD_OK, "tape_reverse_from(%u): %s", (unsigned)top, ad_status_str(st));
    CHECKF(memcmp(full + 1, adj + 1, (size_t)top * sizeof *full) == 0,
           "tape_reverse_from(%u) differs from the full sweep", (unsigned)top);
    compared += top;
  }
  CHECKF(tape_reverse_from(t, 0) == AD_EINVAL, "tape_reverse_from(0)");
  CHECKF(tape_reverse_from(t, (uint32_t)n + 1) == AD_EINVAL, "tape_reverse_from past the last statement");
  printf("  tape_reverse_from: %d tops over %llu statements, %ld adjoints identical to full sweeps\n", nt,
         (unsigned long long)n, compared);
done:
  free(full);
  free(r.mid);
  tape_free(t);
}

/* Runs of argument-free statements (inputs), which the fast sweep steps over as a whole: runs of 1 to 5000
 * inputs, some across statement chunk boundaries, each followed by statements that take its inputs (added, k = 2,
 * every other one scaled first, k = 1). The gradient is exact (binary fractions); sweeps started at the edges and
 * the middle of every run (tape_reverse_from) and a sweep in segments (tape_sweep_down) that stops inside, at and
 * next to every run give bit for bit the adjoints of full sweeps. */
static void test_input_runs(void) {
  static const int lens[] = {1, 2, 3, 1, 250, 7, 1, 1, 600, 2, 5000, 1, 300, 4};
  enum { NRUNS = sizeof lens / sizeof lens[0], MAXIN = 7000 };
  static const double cs[] = {0.5, 2.0, -1.0, 0.25};
  tape_t *t = tape_new();
  ad_t *z = (ad_t *)malloc(MAXIN * sizeof *z);
  double *want = (double *)malloc(MAXIN * sizeof *want), *full = NULL, *ref = NULL;
  uint32_t first[NRUNS], last[NRUNS];
  if (!t || !z || !want) {
    CHECKF(0, "out of memory for the test's bookkeeping");
    goto done;
  }
  ad_t acc = tape_input(t, 0.0);
  int nz = 0;
  for (int r = 0; r < NRUNS; ++r) {
    int b = nz;
    for (int j = 0; j < lens[r]; ++j, ++nz) z[nz] = tape_input(t, 1.0);
    first[r] = z[b].i, last[r] = z[nz - 1].i;
    for (int j = b; j < nz; ++j) {
      double c = j % 2 ? cs[j % 4] : 1.0;
      acc = ad_add_vv(t, acc, j % 2 ? ad_mul_vc(t, z[j], c) : z[j]);
      want[j] = c;
    }
  }
  CHECKF(tape_status(t) == AD_OK, "recording");
  const uint32_t n = acc.i;
  full = (double *)malloc(((size_t)n + 1) * sizeof *full);
  ref = (double *)malloc(((size_t)n + 1) * sizeof *ref);
  double *adj = tape_adjoints(t);
  if (!full || !ref || !adj) {
    CHECKF(0, "out of memory");
    goto done;
  }
  adj[n] = 1.0;
  CHECKF(tape_reverse(t) == AD_OK, "full sweep");
  long bad = 0;
  for (int j = 0; j < nz; ++j) bad += t->adj[z[j].i] != want[j];
  CHECKF(bad == 0, "input runs: %ld of %d inputs with a wrong adjoint", bad, nz);
  memcpy(full, t->adj, ((size_t)n + 1) * sizeof *full);

  /* Sweeps started at the edges and inside runs: what a full sweep seeded there alone gives. */
  int tops_checked = 0;
  for (int r = 0; r < NRUNS; ++r) {
    const uint32_t tops[] = {first[r], last[r], first[r] + (last[r] - first[r]) / 2, last[r] + 1};
    for (int q = 0; q < 4; ++q) {
      const uint32_t top = tops[q];
      adj = tape_adjoints(t);
      adj[top] = 1.0;
      CHECKF(tape_reverse(t) == AD_OK, "full sweep");
      memcpy(ref, t->adj, ((size_t)top + 1) * sizeof *ref);
      adj = tape_adjoints(t);
      adj[top] = 1.0;
      CHECKF(tape_reverse_from(t, top) == AD_OK, "tape_reverse_from(%u)", (unsigned)top);
      CHECKF(memcmp(ref + 1, t->adj + 1, (size_t)top * sizeof *ref) == 0,
             "tape_reverse_from(%u) (run %d of %d inputs) differs from the full sweep", (unsigned)top, r, lens[r]);
      tops_checked++;
    }
  }

  /* One sweep in segments, stopping next to, at and inside every run, last run first. */
  adj = tape_adjoints(t);
  adj[n] = 1.0;
  tape_cursor c = tape_cursor_end(t);
  uint32_t at = n + 1; /* the cursor stands just above statement at - 1 */
  int segments = 0;
  for (int r = NRUNS - 1; r >= 0; --r) {
    const uint32_t stops[] = {last[r] + 1, last[r], first[r] + (last[r] - first[r]) / 2, first[r], first[r] - 1};
    for (int q = 0; q < 5; ++q) {
      if (stops[q] >= at - 1) continue; /* strictly below the cursor's next statement */
      ad_status st = tape_sweep_down(t, &c, stops[q]);
      CHECKF(st == AD_OK, "tape_sweep_down(%u): %s", (unsigned)stops[q], ad_status_str(st));
      at = stops[q] + 1;
      segments++;
    }
  }
  CHECKF(tape_sweep_down(t, &c, 0) == AD_OK, "tape_sweep_down(0)");
  CHECKF(memcmp(full + 1, t->adj + 1, (size_t)n * sizeof *full) == 0,
         "a sweep in %d segments differs from the full sweep", segments + 1);
  printf("  input runs: %d inputs in %d runs exact; %d starts and %d segment stops identical to full sweeps\n", nz,
         (int)NRUNS, tops_checked, segments);
done:
  free(ref);
  free(full);
  free(want);
  free(z);
  tape_free(t);
}

/* ---- tape_inputs: n inputs in runs ----
 * Against n calls of tape_input on a second tape with the same statements before them: the same variables bit for
 * bit (values, unit derivatives, consecutive indices across chunk boundaries), the same statistics, and a statement
 * over all of them swept to the same gradient. Also n = 0, non-finite values passed through, and an allocation
 * failing at each point of a large run: AD_ENOMEM, no crash, and the tape records correctly after tape_reset. */
static void test_inputs_bulk(void) {
  const size_t sizes[] = {0, 1, 7, 300, 4097, 70000, 600000};
  const int befores[] = {0, 3, 1000};
  size_t nmax = sizes[sizeof sizes / sizeof *sizes - 1];
  double *x = (double *)malloc(nmax * sizeof *x);
  tape_var *a = (tape_var *)malloc(nmax * sizeof *a), *b = (tape_var *)malloc(nmax * sizeof *b);
  tape_t *ta = tape_new(), *tb = tape_new();
  if (!x || !a || !b || !ta || !tb) {
    CHECKF(0, "out of memory");
    goto done;
  }
  for (size_t i = 0; i < nmax; ++i) x[i] = (double)(i % 17) - 8.0 + 0.25 * (double)(i % 5);
  x[1] = NAN, x[2] = INFINITY;
  int cases = 0;
  for (size_t si = 0; si < sizeof sizes / sizeof *sizes; ++si)
    for (size_t bi = 0; bi < sizeof befores / sizeof *befores; ++bi) {
      size_t n = sizes[si];
      tape_reset(ta), tape_reset(tb);
      tape_var pa = tape_input(ta, 1.5), pb = tape_input(tb, 1.5);
      for (int k = 0; k < befores[bi]; ++k) { /* statements of two arguments before the run */
        pa = ad_mul_vv(ta, pa, pa);
        pb = ad_mul_vv(tb, pb, pb);
      }
      tape_inputs(ta, n, x, a);
      for (size_t i = 0; i < n; ++i) b[i] = tape_input(tb, x[i]);
      int same = memcmp(a, b, n * sizeof *a) == 0, consecutive = 1;
      for (size_t i = 1; i < n; ++i) consecutive &= a[i].i == a[0].i + (uint32_t)i;
      CHECKF(same, "tape_inputs(%zu) after %d statements differs from %zu calls of tape_input", n, befores[bi], n);
      CHECKF(consecutive, "tape_inputs(%zu): indices not consecutive", n);
      /* One more statement of two arguments per input keeps both tapes' chunk placement comparable, then a sum. */
      tape_var sa = pa, sb = pb;
      for (size_t i = 0; i < n; ++i) {
        if (i == 1 || i == 2) continue; /* the non-finite values are checked as values only */
        sa = ad_add_vv(ta, sa, ad_mul_vc(ta, a[i], (double)(i % 7)));
        sb = ad_add_vv(tb, sb, ad_mul_vc(tb, b[i], (double)(i % 7)));
      }
      tape_stats qa = tape_get_stats(ta), qb = tape_get_stats(tb);
      CHECKF(tape_status(ta) == AD_OK && qa.statements == qb.statements && qa.arguments == qb.arguments &&
                 qa.bytes_held == qb.bytes_held,
             "tape_inputs(%zu): statistics differ (%llu/%llu statements)", n, (unsigned long long)qa.statements,
             (unsigned long long)qb.statements);
      double *ja = tape_adjoints(ta), *jb = tape_adjoints(tb);
      if (!ja || !jb) {
        CHECKF(0, "adjoints");
        goto done;
      }
      tape_seed(ta, sa, 1.0), tape_seed(tb, sb, 1.0);
      CHECK(tape_reverse(ta) == AD_OK && tape_reverse(tb) == AD_OK);
      int grad_ok = 1;
      for (size_t i = 0; i < n; ++i) {
        double want = (i == 1 || i == 2) ? 0.0 : (double)(i % 7);
        grad_ok &= ta->adj[a[i].i] == want && tb->adj[b[i].i] == want;
      }
      CHECKF(grad_ok, "tape_inputs(%zu) after %d statements: wrong gradient", n, befores[bi]);
      cases++;
    }
  CHECKF(isnan(a[1].v) && a[2].v == INFINITY, "non-finite inputs not passed through");

  /* An allocation failing at each point of a run of 600000 inputs. */
  int failed = 0, recovered = 0;
  for (long f = 0; f < 24; ++f) {
    tape_t *t = tape_new();
    if (!t) {
      CHECKF(0, "tape_new");
      break;
    }
    ad_alloc_fail_after(f);
    tape_inputs(t, nmax, x, a);
    ad_status st = tape_status(t);
    ad_alloc_fail_after(-1);
    if (st != AD_OK) {
      failed++;
      CHECKF(st == AD_ENOMEM, "tape_inputs failing after %ld allocations: %s", f, ad_status_str(st));
      CHECKF(tape_reverse(t) == AD_ESTATE, "tape_reverse after a failed tape_inputs");
      tape_reset(t);
      tape_inputs(t, 1000, x + 3, a);
      tape_var s = a[0];
      for (int i = 1; i < 1000; ++i) s = ad_add_vv(t, s, a[i]);
      double *adj = tape_adjoints(t);
      if (tape_status(t) == AD_OK && adj) {
        tape_seed(t, s, 1.0);
        int ok = tape_reverse(t) == AD_OK;
        for (int i = 0; i < 1000; ++i) ok &= t->adj[a[i].i] == 1.0;
        recovered += ok;
      }
    }
    tape_free(t);
  }
  CHECKF(failed > 0 && recovered == failed, "tape_inputs under allocation failure: %d failed, %d recovered", failed,
         recovered);
  printf("  inputs: tape_inputs equals tape_input in %d cases (0 to %zu inputs); %d allocation failures, all "
         "recovered\n",
         cases, nmax, failed);
done:
  tape_free(ta);
  tape_free(tb);
  free(x);
  free(a);
  free(b);
}

int main(void) {
  printf("test_tape:\n");
  test_null();
  test_seed();
  test_passive();
  test_reuse();
  test_alloc_failure();
  test_chunks();
  test_workloads_large();
  test_reverse_from();
  test_input_runs();
  test_inputs_bulk();
  return test_report("test_tape");
}
