/* test_lanes: the vector reverse sweep (tape.h's tape_reverse_lanes_from, eng.h's jacobian_lanes) with K = 1, 2,
 * 4, 8, 16 adjoint lanes.
 *
 *  - workloads: every workload at its check sizes, and mix at its first 60 shapes (1 to 64 outputs, so blocks of
 *               K outputs come full and partial): every engine's jacobian_lanes (adlab's and the peers' built in;
 *               tape, tape_op and replay must have one) against its jacobian, to 1e-14 with NaN positions equal
 *               (a peer: to its tolerance); the tape engines bit for bit (each lane is the one-adjoint sweep);
 *  - nonfinite: gmm, lstm, branchy, ba and mix with one infinite or NaN input, the same comparisons (adlab's
 *               engines);
 *  - cases:     hand-typed multi-output recordings through the tape's own API where the lanes of one sweep reach
 *               a statement with an infinite partial differently (one lane reaches it with adjoint 0 and must get
 *               NaN, another does not reach it and must get nothing), with known answers;
 *  - random:    random multi-output recordings with zeros, infinities and NaN among the inputs: every lane of
 *               every K against one-adjoint sweeps, bit for bit, from the highest output and from the end;
 *  - misuse:    invalid lane counts, sweeping before requesting lane adjoints, a failed reach-mark allocation;
 *  - wrong:     the comparison itself fails on a Jacobian with one entry off by 1e-12, with a NaN where a number
 *               is due (and the reverse), and on an engine that drops the last lane of each block.
 *
 * `test_lanes time WORKLOAD SIZE [REPS]` times each engine's Jacobian (jacobian, then jacobian_lanes for every K)
 * instead: the median of REPS (default 11) runs, in milliseconds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eng.h"
#include "tape/tape_ops.h"

#include "testkit.h"

static const int lane_counts[] = {1, 2, 4, 8, 16};
enum { N_LANE_COUNTS = sizeof lane_counts / sizeof lane_counts[0] };
/* The engines with a vector mode: adlab's own (tape, tape_op and replay at least) and the peers built in. */
static int has_lanes(const eng_api *e) { return e && e->jacobian_lanes && e->kind != ENG_PRIMAL; }

/* 1 if got agrees with want: both NaN, or equal (infinities and zeros of either sign included), or finite and
 * within tol * max(1, |want|); bitwise: equal or both NaN. */
static int entry_agrees(double got, double want, double tol, int bitwise) {
  if (isnan(got) || isnan(want)) return isnan(got) && isnan(want);
  if (got == want) return 1;
  if (bitwise || isinf(got) || isinf(want)) return 0;
  double scale = fabs(want) > 1.0 ? fabs(want) : 1.0;
  return fabs(got - want) <= tol * scale;
}

/* The index of the first entry of got[0..n) that disagrees with want, or -1. */
static long first_disagreement(const double *got, const double *want, size_t n, double tol, int bitwise) {
  for (size_t i = 0; i < n; ++i)
    if (!entry_agrees(got[i], want[i], tol, bitwise)) return (long)i;
  return -1;
}

/* An engine's jacobian_lanes, possibly broken on purpose (the `wrong` part): drop_last zeroes the last row of every
 * block of K outputs (K > 1), as a sweep that forgot its last lane would. */
typedef struct lanes_call {
  const eng_api *e;
  int drop_last;
} lanes_call;

static ad_status call_lanes(const lanes_call *c, eng_session *s, int K, int n_in, int n_out, const double *x,
                            double *y, double *J) {
  ad_status st = c->e->jacobian_lanes(s, K, x, y, J);
  if (st == AD_OK && c->drop_last && K > 1)
    for (int i0 = 0; i0 < n_out; i0 += K) {
      int last = i0 + K - 1 < n_out ? i0 + K - 1 : n_out - 1;
      memset(J + (size_t)last * n_in, 0, (size_t)n_in * sizeof *J);
    }
  return st;
}

/* Checks jacobian_lanes(K) against jacobian for every K on workload w at size with inputs x (NULL: the workload's
 * own, from seed 42; bad/at: then input at is set to bad). Returns the number of disagreeing (engine, K) pairs;
 * with report set, each is a failed check. */
static int check_workload(const lanes_call *c, const wl_info *w, int size, int at, double bad, int report) {
  const eng_api *e = c->e;
  int n_in = w->n_in(size), n_out = w->n_out(size);
  size_t nJ = (size_t)n_in * n_out;
  double *x = (double *)malloc((size_t)n_in * sizeof *x);
  double *data = (double *)malloc(((size_t)w->n_data(size) + 1) * sizeof *data);
  double *y = (double *)malloc((size_t)n_out * sizeof *y), *yk = (double *)malloc((size_t)n_out * sizeof *yk);
  double *J = (double *)malloc(nJ * sizeof *J), *Jk = (double *)malloc(nJ * sizeof *Jk);
  int bad_pairs = 0;
  CHECKF(x && data && y && yk && J && Jk, "out of memory");
  if (!(x && data && y && yk && J && Jk)) goto done;
  w->init(size, 42, x, data);
  if (at >= 0) x[at] = bad;
  eng_session *s = e->open(w, size, data);
  CHECKF(s != NULL, "%s: open %s size %d", e->name, w->name, size);
  if (!s) goto done;
  ad_status st = e->jacobian(s, x, y, J);
  CHECKF(st == AD_OK, "%s %s size %d: jacobian: %s", e->name, w->name, size, ad_status_str(st));
  /* The tape engines promise each lane bit for bit; adlab's others agreement to 1e-14, a peer its own tolerance
   * (its vector and one-direction modes may round differently). */
  int bitwise = strncmp(e->name, "tape", 4) == 0;
  double tol = eng_is_peer(e) && e->tol > 1e-14 ? e->tol : 1e-14;
  for (int kk = 0; kk < N_LANE_COUNTS && st == AD_OK; ++kk) {
    int K = lane_counts[kk];
    for (size_t i = 0; i < nJ; ++i) Jk[i] = -12345.0; /* every entry must be written */
    ad_status sk = call_lanes(c, s, K, n_in, n_out, x, yk, Jk);
    CHECKF(sk == AD_OK, "%s %s size %d: jacobian_lanes(%d): %s", e->name, w->name, size, K, ad_status_str(sk));
    if (sk != AD_OK) continue;
    long bj = first_disagreement(Jk, J, nJ, tol, bitwise), by = first_disagreement(yk, y, (size_t)n_out, tol, 0);
    if (bj >= 0 || by >= 0) bad_pairs++;
    if (report)
      CHECKF(bj < 0 && by < 0, "%s %s size %d (input %d = %g) K = %d: J[%ld] = %.17g, jacobian gives %.17g%s",
             e->name, w->name, size, at, bad, K, bj, bj >= 0 ? Jk[bj] : 0.0, bj >= 0 ? J[bj] : 0.0,
             by >= 0 ? " (values differ)" : "");
  }
  e->close(s);
done:
  free(x), free(data), free(y), free(yk), free(J), free(Jk);
  return bad_pairs;
}

static void test_workloads(void) {
  static const char *const required[] = {"tape", "tape_op", "replay"};
  for (size_t r = 0; r < sizeof required / sizeof required[0]; ++r)
    CHECKF(has_lanes(eng_find(required[r])), "%s has no jacobian_lanes", required[r]);
  for (int en = 0; en < eng_count; ++en) {
    const eng_api *e = eng_all[en];
    if (!has_lanes(e)) continue;
    lanes_call c = {e, 0};
    int cases = 0;
    for (int wi = 0; wi < WL_COUNT; ++wi) {
      const wl_info *w = wl_all[wi];
      for (int k = 0; k < 2; ++k) {
        if (k == 1 && w->check_sizes[1] == w->check_sizes[0]) continue;
        if (eng_skip_reason(e, w, w->check_sizes[k])) continue;
        check_workload(&c, w, w->check_sizes[k], -1, 0.0, 1);
        cases++;
      }
    }
    const wl_info *mix = wl_find("mix");
    for (int size = 1; size <= 60; ++size)
      if (!eng_skip_reason(e, mix, size)) check_workload(&c, mix, size, -1, 0.0, 1), cases++;
    /* lane counts other than 1, 2, 4, 8, 16 */
    static const int invalid[] = {0, 3, 32, -1};
    double data[64], x[64], y[64], J[64];
    mix->init(9, 42, x, data);
    eng_session *s = e->open(mix, 9, data);
    CHECKF(s != NULL, "%s: open mix", e->name);
    for (size_t i = 0; s && i < sizeof invalid / sizeof invalid[0]; ++i)
      CHECKF(e->jacobian_lanes(s, invalid[i], x, y, J) == AD_EINVAL, "%s: jacobian_lanes(%d) must be AD_EINVAL",
             e->name, invalid[i]);
    e->close(s);
    printf("%s: jacobian_lanes agrees with jacobian for K = 1, 2, 4, 8, 16 on %d workload sizes\n", e->name, cases);
  }
}

/* One infinite or NaN input: NaN positions must match too. */
static void test_nonfinite_workloads(void) {
  static const char *const names[] = {"gmm", "lstm", "branchy", "ba", "mix"};
  static const double bad[] = {INFINITY, -INFINITY, NAN};
  for (int en = 0; en < eng_own_count; ++en) { /* the peers do not follow adlab's non-finite policy */
    const eng_api *e = eng_all[en];
    if (!has_lanes(e)) continue;
    lanes_call c = {e, 0};
    for (size_t wn = 0; wn < sizeof names / sizeof names[0]; ++wn) {
      const wl_info *w = wl_find(names[wn]);
      CHECKF(w != NULL, "no workload %s", names[wn]);
      if (!w) continue;
      int size = strcmp(names[wn], "mix") == 0 ? 42 : w->check_sizes[0], n_in = w->n_in(size);
      for (size_t b = 0; b < sizeof bad / sizeof bad[0]; ++b)
        for (int at = 0; at < n_in; at += n_in > 3 ? n_in / 3 : 1) check_workload(&c, w, size, at, bad[b], 1);
    }
  }
}

/* ---- the tape's own API ---- */

/* Row r of the Jacobian by one-adjoint sweep (tape_reverse_from) into row[n]. */
static ad_status scalar_row(tape_t *t, ad_t yv, const ad_t *x, int n, double *row) {
  double *adj = tape_adjoints(t);
  if (!adj) return AD_ENOMEM;
  if (yv.i) {
    adj[yv.i] = yv.d;
    ad_status st = tape_reverse_from(t, yv.i);
    if (st != AD_OK) return st;
  }
  for (int j = 0; j < n; ++j) row[j] = yv.i ? adj[x[j].i] : 0.0;
  return AD_OK;
}

/* The Jacobian J (m x n) by K-lane sweeps; from_end: each sweep from the last statement (tape_reverse_lanes). */
static ad_status lanes_jacobian(tape_t *t, int K, const ad_t *y, int m, const ad_t *x, int n, int from_end,
                                double *J) {
  for (int i0 = 0; i0 < m; i0 += K) {
    double *A = tape_adjoints_lanes(t, K);
    if (!A) return AD_ENOMEM;
    uint32_t top = 0;
    for (int l = 0; l < K && i0 + l < m; ++l) {
      if (!y[i0 + l].i) continue;
      A[(size_t)y[i0 + l].i * K + l] = y[i0 + l].d;
      if (y[i0 + l].i > top) top = y[i0 + l].i;
    }
    ad_status st = from_end ? tape_reverse_lanes(t, K) : top ? tape_reverse_lanes_from(t, K, top) : AD_OK;
    if (st != AD_OK) return st;
    for (int l = 0; l < K && i0 + l < m; ++l)
      for (int j = 0; j < n; ++j) J[(size_t)(i0 + l) * n + j] = y[i0 + l].i ? A[(size_t)x[j].i * K + l] : 0.0;
  }
  return AD_OK;
}

/* Checks every K (from the top and from the end) against the expected m x n Jacobian want, bitwise. */
static void check_tape_case(const char *name, tape_t *t, const ad_t *y, int m, const ad_t *x, int n,
                            const double *want) {
  double J[64];
  for (int kk = 0; kk < N_LANE_COUNTS; ++kk)
    for (int from_end = 0; from_end < 2; ++from_end) {
      int K = lane_counts[kk];
      ad_status st = lanes_jacobian(t, K, y, m, x, n, from_end, J);
      CHECKF(st == AD_OK, "%s K = %d: %s", name, K, ad_status_str(st));
      long bad = st == AD_OK ? first_disagreement(J, want, (size_t)m * n, 0, 1) : -1;
      CHECKF(bad < 0, "%s K = %d%s: J[%ld] = %.17g, expected %.17g", name, K, from_end ? " (from the end)" : "", bad,
             bad >= 0 ? J[bad] : 0.0, bad >= 0 ? want[bad] : 0.0);
    }
}

static void test_cases(void) {
  tape_t *t = tape_new();
  CHECKF(t != NULL, "tape_new");
  if (!t) return;
  {
    /* y0 = 2 x0 below sqrt(x1) (partial Inf at x1 = 0), y1 = x0 + 0 sqrt(x1): in one sweep lane 1 reaches the
     * infinite partial with adjoint 0 (NaN), lane 0 does not reach it (0). */
    tape_reset(t);
    ad_t x[2] = {tape_input(t, 1.0), tape_input(t, 0.0)}, y[2];
    y[0] = ad_mul_vc(t, x[0], 2.0);
    y[0] = ad_add_vv(t, y[0], ad_mul_vc(t, x[0], 0.5)); /* a statement of its own: 2.5 x0 */
    ad_t r = ad_sqrt(t, x[1]);
    y[1] = ad_add_vv(t, x[0], ad_mul_vc(t, r, 0.0));
    for (int i = 0; i < 2; ++i) y[i] = tape_settle(t, y[i]); /* outputs seeded by index: one statement each */
    const double want[4] = {2.5, 0.0, 1.0, NAN};
    check_tape_case("2.5 x0 | x0 + 0 sqrt(x1)", t, y, 2, x, 2, want);
    ad_t ys[2] = {y[1], y[0]}; /* the same outputs in the other lanes */
    const double want_s[4] = {1.0, NAN, 2.5, 0.0};
    check_tape_case("x0 + 0 sqrt(x1) | 2.5 x0", t, ys, 2, x, 2, want_s);
  }
  {
    /* An unused infinite statement recorded between the outputs, and a statement reached with adjoint 0 by
     * cancellation in lane 0 only: y0 = x0 + (s2 - s2) with s2 = log(x1) + x0 at x1 = 0 (d y0 / d x1 = 0 Inf),
     * y1 = x0 exp(x1), y2 = 3. */
    tape_reset(t);
    ad_t x[2] = {tape_input(t, 2.0), tape_input(t, 0.0)}, y[3];
    ad_t s = ad_log(t, x[1]);
    ad_t s2 = ad_add_vv(t, s, x[0]); /* -Inf, a statement with partials (1, 1) over log's Inf */
    y[0] = ad_add_vv(t, x[0], ad_sub_vv(t, s2, s2));
    ad_t unused = ad_exp(t, ad_mul_vc(t, x[0], 1000.0));
    (void)ad_add_vv(t, unused, x[1]);
    y[1] = ad_mul_vv(t, x[0], ad_exp(t, x[1]));
    y[2] = ad_const(t, 3.0); /* a passive output: a zero row */
    for (int i = 0; i < 3; ++i) y[i] = tape_settle(t, y[i]);
    const double want[6] = {1.0, NAN, 1.0, 2.0, 0.0, 0.0};
    check_tape_case("x0 + (s - s) | x0 exp(x1) | 3", t, y, 3, x, 2, want);
  }
  tape_free(t);
}

/* Random multi-output recordings with special values: every K against one-adjoint sweeps, bit for bit. */
static void test_random(void) {
  enum { PROGRAMS = 300, MAX_VARS = 80, MAX_IN = 6, MAX_OUT = 20 };
  static const double specials[] = {0.0, -0.0, 1.0, -1.0, 0.5, 2.0, 1e300, INFINITY, -INFINITY, NAN};
  wl_rng rng = {2024};
  tape_t *t = tape_new();
  CHECKF(t != NULL, "tape_new");
  if (!t) return;
  long nan_entries = 0, sweeps_careful = 0;
  for (int p = 0; p < PROGRAMS; ++p) {
    tape_reset(t);
    int n = 1 + (int)(wl_rng_next(&rng) % MAX_IN), m = 1 + (int)(wl_rng_next(&rng) % MAX_OUT);
    int nonfinite = p % 2; /* half the programs draw special inputs */
    ad_t v[MAX_VARS + MAX_IN], x[MAX_IN], y[MAX_OUT];
    for (int j = 0; j < n; ++j) {
      double xv = wl_rng_uniform(&rng, -2.0, 2.0);
      if (nonfinite && wl_rng_next(&rng) % 3 == 0) xv = specials[wl_rng_next(&rng) % 10];
      v[j] = x[j] = tape_input(t, xv);
    }
    int nv = n, len = 4 + (int)(wl_rng_next(&rng) % (MAX_VARS - 4));
    for (int k = 0; k < len; ++k) {
      ad_t a = v[wl_rng_next(&rng) % (uint64_t)nv], b = v[wl_rng_next(&rng) % (uint64_t)nv];
      switch (wl_rng_next(&rng) % 11) {
      case 0: v[nv] = ad_add_vv(t, a, b); break;
      case 1: v[nv] = ad_mul_vv(t, a, b); break;
      case 2: v[nv] = ad_sub_vv(t, a, b); break;
      case 3: v[nv] = ad_div_vv(t, a, b); break;
      case 4: v[nv] = ad_sqrt(t, a); break;
      case 5: v[nv] = ad_log(t, a); break;
      case 6: v[nv] = ad_sin(t, a); break;
      case 7: v[nv] = ad_mul_vc(t, a, 0.0); break;
      case 8: v[nv] = ad_tanh(t, ad_add_vv(t, a, b)); break;
      case 9: v[nv] = ad_exp(t, a); break;
      default: v[nv] = ad_const(t, 1.5); break;
      }
      nv++;
    }
    for (int i = 0; i < m; ++i) y[i] = tape_settle(t, v[n + wl_rng_next(&rng) % (uint64_t)(nv - n)]);
    double want[MAX_OUT * MAX_IN], J[MAX_OUT * MAX_IN];
    for (int i = 0; i < m; ++i) CHECK(scalar_row(t, y[i], x, n, want + (size_t)i * n) == AD_OK);
    for (int i = 0; i < m * n; ++i) nan_entries += isnan(want[i]) != 0;
    for (int kk = 0; kk < N_LANE_COUNTS; ++kk)
      for (int from_end = 0; from_end < 2; ++from_end) {
        int K = lane_counts[kk];
        ad_status st = lanes_jacobian(t, K, y, m, x, n, from_end, J);
        CHECKF(st == AD_OK, "program %d K = %d: %s", p, K, ad_status_str(st));
        long bad = st == AD_OK ? first_disagreement(J, want, (size_t)m * n, 0, 1) : -1;
        CHECKF(bad < 0, "program %d (%d inputs, %d outputs) K = %d%s: J[%ld] = %.17g, one-adjoint sweep %.17g", p,
               n, m, K, from_end ? " (from the end)" : "", bad, bad >= 0 ? J[bad] : 0.0,
               bad >= 0 ? want[bad] : 0.0);
      }
    sweeps_careful += t->lreach != NULL;
  }
  printf("random: %d programs, %ld NaN Jacobian entries, the careful sweep ran: %s\n", PROGRAMS, nan_entries,
         sweeps_careful ? "yes" : "no");
  CHECKF(nan_entries > 0 && sweeps_careful > 0, "the random programs must exercise the non-finite policy");
  tape_free(t);
}

static void test_misuse(void) {
  tape_t *t = tape_new();
  CHECKF(t != NULL, "tape_new");
  if (!t) return;
  ad_t x = tape_input(t, 0.0), one = tape_input(t, 1.0);
  ad_t y = tape_settle(t, ad_add_vv(t, one, ad_mul_vc(t, ad_sqrt(t, x), 0.0))); /* reaches sqrt's Inf with adjoint 0 */
  CHECK(tape_reverse_lanes_from(NULL, 4, 1) == AD_EINVAL);
  CHECK(tape_reverse_lanes_from(t, 4, y.i) == AD_ESTATE); /* no lane adjoints yet */
  CHECK(tape_adjoints_lanes(t, 3) == NULL && tape_adjoints_lanes(t, 0) == NULL && tape_adjoints_lanes(t, 32) == NULL);
  CHECK(tape_status(t) == AD_OK);
  CHECK(tape_lanes_valid(16) && !tape_lanes_valid(3) && !tape_lanes_valid(17));
  double *A = tape_adjoints_lanes(t, 4);
  CHECK(A != NULL);
  if (!A) return;
  CHECK(tape_reverse_lanes_from(t, 8, y.i) == AD_EINVAL); /* not the lane count requested */
  CHECK(tape_reverse_lanes_from(t, 4, 0) == AD_EINVAL);
  CHECK(tape_reverse_lanes_from(t, 4, y.i + 1) == AD_EINVAL);
  /* The reach marks cannot be allocated: AD_ENOMEM, and the next sweep works. */
  A[(size_t)y.i * 4 + 1] = 1.0;
  ad_alloc_fail_after(0);
  ad_status st = tape_reverse_lanes_from(t, 4, y.i);
  ad_alloc_fail_after(-1);
  CHECKF(st == AD_ENOMEM, "failed reach marks: %s, expected AD_ENOMEM", ad_status_str(st));
  A = tape_adjoints_lanes(t, 4);
  A[(size_t)y.i * 4 + 1] = 1.0;
  st = tape_reverse_lanes_from(t, 4, y.i);
  CHECKF(st == AD_OK && isnan(A[(size_t)x.i * 4 + 1]) && A[(size_t)one.i * 4 + 1] == 1.0 &&
             A[(size_t)x.i * 4] == 0.0 && A[(size_t)x.i * 4 + 2] == 0.0,
         "after AD_ENOMEM: %s, lane 1 (%g, %g), lanes 0 and 2 of x (%g, %g)", ad_status_str(st),
         A[(size_t)one.i * 4 + 1], A[(size_t)x.i * 4 + 1], A[(size_t)x.i * 4], A[(size_t)x.i * 4 + 2]);
  tape_stats ts = tape_get_stats(t);
  CHECKF(ts.adjoint_bytes >= (ts.statements + 1) * 4 * sizeof(double), "the lane adjoints count as adjoint bytes");
  tape_shrink(t);
  CHECK(t->ladj == NULL && t->lreach == NULL);
  /* The lane adjoints cannot be allocated: NULL, AD_ENOMEM, and no sweep. */
  for (int i = 0; i < 1000; ++i) (void)tape_input(t, 1.0);
  ad_alloc_fail_after(0);
  A = tape_adjoints_lanes(t, 16);
  ad_alloc_fail_after(-1);
  CHECK(A == NULL && tape_status(t) == AD_ENOMEM);
  CHECK(tape_reverse_lanes(t, 16) == AD_ESTATE);
  tape_free(t);
}

/* The checks above can fail: a Jacobian one entry off, a NaN out of place, an engine that drops a lane. */
static void test_wrong(void) {
  double want[3] = {1.0, NAN, -2.0}, got[3];
  memcpy(got, want, sizeof got);
  CHECK(first_disagreement(got, want, 3, 1e-14, 0) < 0);
  got[2] = -2.0 * (1.0 + 1e-12);
  CHECK(first_disagreement(got, want, 3, 1e-14, 0) == 2);
  got[2] = -2.0 * (1.0 + 1e-15); /* within 1e-14, yet not bit for bit */
  CHECK(first_disagreement(got, want, 3, 1e-14, 0) < 0 && first_disagreement(got, want, 3, 0, 1) == 2);
  memcpy(got, want, sizeof got);
  got[1] = 0.0; /* a number where NaN is due */
  CHECK(first_disagreement(got, want, 3, 1e-14, 0) == 1);
  memcpy(got, want, sizeof got);
  got[0] = NAN; /* NaN where a number is due */
  CHECK(first_disagreement(got, want, 3, 1e-14, 0) == 0);
  /* An engine that forgets the last lane of each block: every K > 1 disagrees on mix at 8 outputs. */
  lanes_call broken = {eng_find("tape"), 1};
  CHECK(broken.e != NULL);
  if (!broken.e) return;
  int bad = check_workload(&broken, wl_find("mix"), 42, -1, 0.0, 0);
  CHECKF(bad == N_LANE_COUNTS - 1, "a broken jacobian_lanes: %d of %d lane counts caught, expected %d", bad,
         N_LANE_COUNTS, N_LANE_COUNTS - 1);
}

/* ---- timing (not a test) ---- */

static double now_ms(void) {
  struct timespec ts;
  timespec_get(&ts, TIME_UTC); /* C11; a wall clock, fine for medians of short runs */
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}
static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Times every engine with a vector mode on workload wname at size: jacobian and jacobian_lanes for every K, run in
 * turn within each repetition (so that a change in the machine's load hits all alike), the median per variant. */
static int time_main(const char *wname, int size, int reps) {
  enum { NV = 1 + N_LANE_COUNTS };
  const wl_info *w = wl_find(wname);
  if (!w || size < 1 || size > w->max_size || reps < 1 || reps > 1001) {
    fprintf(stderr, "usage: test_lanes time WORKLOAD SIZE [REPS]\n");
    return 2;
  }
  int n_in = w->n_in(size), n_out = w->n_out(size);
  double *x = (double *)malloc((size_t)n_in * sizeof *x);
  double *data = (double *)malloc(((size_t)w->n_data(size) + 1) * sizeof *data);
  double *y = (double *)malloc((size_t)n_out * sizeof *y), *J = (double *)malloc((size_t)n_in * n_out * sizeof *J);
  double *t = (double *)malloc((size_t)reps * NV * sizeof *t);
  if (!x || !data || !y || !J || !t) return 2;
  w->init(size, 42, x, data);
  printf("%s size %d: n_in %d, n_out %d; median of %d Jacobians, interleaved, ms\n", wname, size, n_in, n_out, reps);
  for (int en = 0; en < eng_count; ++en) {
    const eng_api *e = eng_all[en];
    if (!has_lanes(e) || eng_skip_reason(e, w, size)) continue;
    eng_session *s = e->open(w, size, data);
    if (!s) return 2;
    for (int r = -1; r < reps; ++r) /* one warm-up round */
      for (int v = 0; v < NV; ++v) {
        int K = v ? lane_counts[v - 1] : 0;
        double t0 = now_ms();
        ad_status st = K ? e->jacobian_lanes(s, K, x, y, J) : e->jacobian(s, x, y, J);
        if (st != AD_OK) return 2;
        if (r >= 0) t[(size_t)v * reps + r] = now_ms() - t0;
      }
    double med[NV];
    for (int v = 0; v < NV; ++v) {
      qsort(t + (size_t)v * reps, (size_t)reps, sizeof *t, cmp_double);
      med[v] = t[(size_t)v * reps + reps / 2];
    }
    printf("  %-8s jacobian %9.3f ms\n", e->name, med[0]);
    for (int v = 1; v < NV; ++v)
      printf("  %-8s K = %-2d   %9.3f ms   %5.2fx faster than jacobian\n", e->name, lane_counts[v - 1], med[v],
             med[0] / med[v]);
    e->close(s);
  }
  free(x), free(data), free(y), free(J), free(t);
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 4 && strcmp(argv[1], "time") == 0) return time_main(argv[2], atoi(argv[3]), argc > 4 ? atoi(argv[4]) : 11);
  test_wrong();
  test_misuse();
  test_cases();
  test_random();
  test_workloads();
  test_nonfinite_workloads();
  return test_report("test_lanes");
}
