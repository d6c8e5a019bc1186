/* test_ckpt: the checkpointing schedules of engines/ckpt/ckpt.h, run on a simulated loop.
 *
 * Every plan is executed by a simulator that holds step numbers instead of states: it checks that every action is
 * possible (an ADVANCE or REVERSE starts where the current state is, a RESTORE reads a slot holding that step, no
 * slot beyond the plan's count), that the reverses visit every step exactly once, last to first, and counts the step
 * evaluations. Binomial plans must reach Revolve's optimum: the closed form r l - beta(s + 1, r - 1), hand-computed
 * values, and a brute-force minimum over all recursive splits. Budgets: the choice fits, and a budget below one
 * checkpoint is AD_EBUDGET. The drivers' byte accounting (ckpt_mem) counts what it allocates and frees.
 */
#include <stdint.h>
#include <stdlib.h>

#include "../engines/ckpt/ckpt.h"
#include "testkit.h"

#define NONE UINT64_MAX

typedef struct sim {
  uint64_t advances, recorded, evaluations;
  int ok;
} sim;

/* Runs plan p over p->steps steps (online: its forward sweep runs to the end, then restores); returns the counts, ok = 0 (with a message) at the first impossible action. */
static sim simulate(const ckpt_plan *p, const char *what, int online) {
  sim r = {0, 0, 0, 1};
  uint64_t *slot = (uint64_t *)calloc(p->slots ? p->slots : 1, sizeof *slot);
  uint64_t cur = 0, next_rev = p->steps; /* the reverse must next end at next_rev */
  for (uint32_t j = 0; j < p->slots; ++j) slot[j] = NONE;
  for (size_t i = 0; i < p->n && r.ok; ++i) {
    const ckpt_action *a = &p->act[i];
    switch (a->kind) {
    case CKPT_ADVANCE:
      if (cur != a->a || a->b <= a->a || a->b > p->steps) r.ok = 0;
      r.advances += a->b - a->a;
      cur = a->b;
      break;
    case CKPT_STORE:
      if (a->slot >= p->slots || cur != a->a) r.ok = 0;
      else slot[a->slot] = cur;
      break;
    case CKPT_RESTORE:
      if (a->slot >= p->slots || slot[a->slot] != a->a) r.ok = 0;
      cur = a->a;
      break;
    case CKPT_REVERSE:
      if (cur != a->a || a->b != next_rev || a->b <= a->a) r.ok = 0;
      r.recorded += a->b - a->a;
      next_rev = a->a;
      cur = NONE;
      break;
    default: r.ok = 0;
    }
    if (!r.ok) fprintf(stderr, "%s: action %zu (kind %u slot %u %llu..%llu) impossible\n", what, i, a->kind, a->slot,
                       (unsigned long long)a->a, (unsigned long long)a->b);
  }
  if (r.ok && next_rev != 0) {
    fprintf(stderr, "%s: steps below %llu never reversed\n", what, (unsigned long long)next_rev);
    r.ok = 0;
  }
  if (r.ok && p->act[p->first_reverse].kind != CKPT_REVERSE) r.ok = 0;
  for (size_t i = 0; i < p->first_reverse && r.ok && !online; ++i) /* an offline forward sweep restores nothing */
    if (p->act[i].kind == CKPT_RESTORE || p->act[i].kind == CKPT_REVERSE) r.ok = 0;
  r.evaluations = r.advances + r.recorded;
  free(slot);
  return r;
}

/* The fewest advances over every recursive schedule (advance m, keep a checkpoint, reverse the right part with one
 * checkpoint fewer, then the left part), by dynamic programming: independent of the closed form. */
static uint64_t brute(uint64_t l, unsigned s) {
  enum { L = 41, S = 7 };
  static uint64_t memo[L][S];
  static int done;
  if (!done) {
    for (uint64_t n = 1; n < L; ++n)
      for (unsigned c = 1; c < S; ++c) {
        if (n == 1) memo[n][c] = 0;
        else if (c == 1) memo[n][c] = n * (n - 1) / 2;
        else {
          uint64_t best = UINT64_MAX;
          for (uint64_t m = 1; m < n; ++m) {
            uint64_t v = m + memo[n - m][c - 1] + memo[m][c];
            if (v < best) best = v;
          }
          memo[n][c] = best;
        }
      }
    done = 1;
  }
  return memo[l][s];
}

static void test_beta(void) {
  CHECK(ckpt_beta(0, 5) == 1);
  CHECK(ckpt_beta(1, 1) == 2);
  CHECK(ckpt_beta(2, 2) == 6);
  CHECK(ckpt_beta(3, 2) == 10);   /* C(5, 2) */
  CHECK(ckpt_beta(16, 2) == 153); /* C(18, 2) */
  CHECK(ckpt_beta(10, 10) == 184756);
  CHECK(ckpt_beta(200, 200) == UINT64_MAX); /* saturates */
  CHECK(ckpt_reps(1, 3) == 0);
  CHECK(ckpt_reps(4, 3) == 1);  /* beta(3, 1) = 4 */
  CHECK(ckpt_reps(5, 3) == 2);  /* beta(3, 2) = 10 */
  CHECK(ckpt_reps(10, 3) == 2);
  CHECK(ckpt_reps(11, 3) == 3);
  /* Hand-computed optima (advances; every step is also recorded once):
   *   l = 2, s = 1: advance 0, reverse 1; restore 0, reverse 0: 1.     l = 3, s = 1: 2 + 1 = 3.
   *   l = 3, s = 2: advance 0, keep 1, advance 1, reverse 2; restore 1, reverse 1; restore 0, reverse 0: 2.
   *   l = 4, s = 2: advance 0 1, keep 2, advance 2, reverse 3; restore 2, reverse 2; restore 0, advance 0,
   *   reverse 1; restore 0, reverse 0: 4 (closed form: r = 2, 2 * 4 - beta(3, 1) = 4).
   *   l = 10, s = 3: r = 2 (beta(3, 1) = 4 < 10 <= beta(3, 2) = 10): 20 - beta(4, 1) = 15. */
  CHECK(ckpt_binomial_cost(1, 1) == 0);
  CHECK(ckpt_binomial_cost(2, 1) == 1);
  CHECK(ckpt_binomial_cost(3, 1) == 3);
  CHECK(ckpt_binomial_cost(3, 2) == 2);
  CHECK(ckpt_binomial_cost(4, 2) == 4);
  CHECK(ckpt_binomial_cost(10, 3) == 15);
  CHECK(ckpt_binomial_cost(10, 1) == 45);
  CHECK(ckpt_binomial_cost(100, 16) == 2 * 100 - 18); /* r = 2 (beta(16, 1) = 17 < 100 <= 153): 200 - beta(17, 1) */
  for (uint64_t l = 1; l <= 40; ++l)
    for (unsigned s = 1; s <= 6; ++s)
      CHECKF(ckpt_binomial_cost(l, s) == brute(l, s), "l %llu s %u: %llu vs %llu", (unsigned long long)l, s,
             (unsigned long long)ckpt_binomial_cost(l, s), (unsigned long long)brute(l, s));
}

static void test_plans(void) {
  char what[64];
  for (uint64_t l = 1; l <= 60; ++l)
    for (unsigned s = 1; s <= 8; ++s) {
      ckpt_plan p;
      ckpt_spec sp = {CKPT_BINOMIAL, s};
      snprintf(what, sizeof what, "binomial l %llu s %u", (unsigned long long)l, s);
      CHECKF(ckpt_plan_make(&p, sp, l) == AD_OK, "%s", what);
      sim r = simulate(&p, what, sp.kind == CKPT_ONLINE);
      unsigned se = s > l ? (unsigned)l : s;
      CHECKF(r.ok, "%s", what);
      CHECKF(r.recorded == l, "%s: %llu recorded", what, (unsigned long long)r.recorded);
      CHECKF(r.advances == ckpt_binomial_cost(l, se) && p.advances == r.advances, "%s: %llu advances, optimum %llu",
             what, (unsigned long long)r.advances, (unsigned long long)ckpt_binomial_cost(l, se));
      CHECKF(p.slots <= se && p.max_tape == 1, "%s: %u slots", what, p.slots);
      ckpt_plan_free(&p);
    }
  for (uint64_t l = 1; l <= 50; ++l)
    for (uint64_t K = 1; K <= 12; ++K) {
      ckpt_plan p;
      ckpt_spec sp = {CKPT_EVERY, K};
      snprintf(what, sizeof what, "every l %llu K %llu", (unsigned long long)l, (unsigned long long)K);
      CHECKF(ckpt_plan_make(&p, sp, l) == AD_OK, "%s", what);
      sim r = simulate(&p, what, sp.kind == CKPT_ONLINE);
      uint64_t last = (l - 1) / K * K; /* the last checkpoint */
      CHECKF(r.ok && r.recorded == l && r.advances == last, "%s: %llu advances", what, (unsigned long long)r.advances);
      CHECKF(p.slots == (l + K - 1) / K && p.max_tape == (l < K ? l : K), "%s: %u slots", what, p.slots);
      ckpt_plan_free(&p);
    }
  for (uint64_t l = 1; l <= 80; ++l)
    for (unsigned s = 1; s <= 6; ++s) {
      ckpt_plan p;
      ckpt_spec sp = {CKPT_ONLINE, s};
      snprintf(what, sizeof what, "online l %llu s %u", (unsigned long long)l, s);
      CHECKF(ckpt_plan_make(&p, sp, l) == AD_OK, "%s", what);
      sim r = simulate(&p, what, sp.kind == CKPT_ONLINE);
      CHECKF(r.ok && r.recorded == l && p.slots <= s, "%s", what);
      /* never better than the offline optimum; with the whole forward sweep, at most l + one binomial cost of
       * the longest interval per interval (a loose bound that catches runaway recomputation) */
      unsigned se = s > l ? (unsigned)l : s;
      CHECKF(r.advances >= ckpt_binomial_cost(l, se), "%s: %llu below the optimum", what,
             (unsigned long long)r.advances);
      CHECKF(r.advances <= l + l * l / 2, "%s: %llu advances", what, (unsigned long long)r.advances);
      ckpt_plan_free(&p);
    }
  /* Online with room for every step checkpoints every step: reverses cost nothing beyond the forward sweep. */
  ckpt_plan p;
  ckpt_spec big = {CKPT_ONLINE, 64};
  CHECK(ckpt_plan_make(&p, big, 20) == AD_OK);
  sim r = simulate(&p, "online roomy", 1);
  CHECK(r.ok && r.advances == 20);
  ckpt_plan_free(&p);
  /* A large binomial plan stays optimal and quick. */
  ckpt_spec b16 = {CKPT_BINOMIAL, 16};
  CHECK(ckpt_plan_make(&p, b16, 100000) == AD_OK);
  r = simulate(&p, "binomial 10^5 x 16", 0);
  CHECK(r.ok && r.advances == ckpt_binomial_cost(100000, 16));
  ckpt_plan_free(&p);
  /* A checkpoint for every step, many steps: L - 1 advances, in linear time. */
  ckpt_spec all = {CKPT_BINOMIAL, 150000};
  CHECK(ckpt_plan_make(&p, all, 150000) == AD_OK);
  r = simulate(&p, "binomial 150000 x 150000", 0);
  CHECK(r.ok && r.advances == 149999 && p.slots == 150000);
  ckpt_plan_free(&p);
  /* Invalid requests. */
  ckpt_spec sa = {CKPT_STORE_ALL, 0}, zero = {CKPT_BINOMIAL, 0};
  CHECK(ckpt_plan_make(&p, sa, 10) == AD_EINVAL);
  CHECK(ckpt_plan_make(&p, zero, 10) == AD_EINVAL);
  CHECK(ckpt_plan_make(&p, b16, 0) == AD_EINVAL);
}

/* Online thinning: at most C slots, step 0 always kept, kept steps multiples of the stride. */
static void test_online_thinning(void) {
  ckpt_online o;
  CHECK(ckpt_online_init(&o, 0) == AD_EINVAL);
  CHECK(ckpt_online_init(&o, 4) == AD_OK);
  for (uint64_t k = 1; k < 1000; ++k) {
    long j = ckpt_online_before(&o, k);
    if (j >= 0) CHECK(o.at[j] == k);
  }
  int held = 0, ok = 1;
  for (uint32_t j = 0; j < o.slots; ++j)
    if (o.at[j] != NONE) {
      ++held;
      ok &= o.at[j] % o.stride == 0;
    }
  CHECK(o.at[0] == 0 && held <= 4 && ok);
  CHECK(o.stride == 256); /* 4 slots over 1000 steps: 0, 256, 512, 768 */
  ckpt_online_free(&o);
}

static void test_parse_and_budget(void) {
  ckpt_spec sp;
  char buf[64];
  CHECK(ckpt_parse("store_all", &sp) == AD_OK && sp.kind == CKPT_STORE_ALL);
  CHECK(ckpt_parse("every:10", &sp) == AD_OK && sp.kind == CKPT_EVERY && sp.arg == 10);
  CHECK(ckpt_parse("binomial:16", &sp) == AD_OK && sp.kind == CKPT_BINOMIAL && sp.arg == 16);
  CHECK(ckpt_parse("online:4", &sp) == AD_OK && sp.kind == CKPT_ONLINE && sp.arg == 4);
  CHECK(ckpt_parse("budget:2G", &sp) == AD_OK && sp.kind == CKPT_BUDGET && sp.arg == (2ull << 30));
  CHECK(!strcmp(ckpt_format(sp, buf, sizeof buf), "budget:2147483648"));
  const char *bad[] = {"", "binomial", "binomial:", "binomial:0", "binomial:-1", "every:3x", "budget:1T", "fancy:3",
                       "binomial:99999999999"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; ++i) CHECKF(ckpt_parse(bad[i], &sp) == AD_EINVAL, "%s", bad[i]);
  /* Budgets: store-all when all tapes fit; else binomial with what is left after one step tape. */
  CHECK(ckpt_choose(1000, 10, 100, 10, &sp) == AD_OK && sp.kind == CKPT_STORE_ALL);
  CHECK(ckpt_choose(999, 10, 100, 10, &sp) == AD_OK && sp.kind == CKPT_BINOMIAL && sp.arg == 10); /* capped at l */
  CHECK(ckpt_choose(150, 10, 100, 10, &sp) == AD_OK && sp.kind == CKPT_BINOMIAL && sp.arg == 5);
  CHECK(ckpt_choose(150, 10, 100, 0, &sp) == AD_OK && sp.kind == CKPT_ONLINE && sp.arg == 5);
  sp.kind = CKPT_EVERY, sp.arg = 7;
  CHECK(ckpt_choose(109, 10, 100, 10, &sp) == AD_EBUDGET && sp.kind == CKPT_EVERY && sp.arg == 7); /* untouched */
  CHECK(ckpt_choose(50, 10, 100, 10, &sp) == AD_EBUDGET);
  CHECK(ckpt_choose(110, 10, 100, 10, &sp) == AD_OK && sp.arg == 1);
  CHECK(ckpt_choose(110, 0, 100, 10, &sp) == AD_EINVAL);
}

/* The plan's allocation fails cleanly. */
static void test_alloc(void) {
  ckpt_spec sp = {CKPT_BINOMIAL, 4};
  ckpt_plan p;
  int failed = 0;
  for (long n = 0; n < 20; ++n) {
    ad_alloc_fail_after(n);
    ad_status st = ckpt_plan_make(&p, sp, 500);
    ad_alloc_fail_after(-1);
    if (st == AD_ENOMEM) {
      ++failed;
      CHECK(p.act == NULL && p.n == 0);
    } else {
      CHECK(st == AD_OK && simulate(&p, "after failures", 0).ok);
      ckpt_plan_free(&p);
      break;
    }
  }
  CHECK(failed > 0);
}

/* A driver's byte accounting (ckpt_mem): allocations counted, frees uncounted, the peak kept, a failed allocation
 * and a NULL free counting nothing, and the allocator agreeing on what is held. */
static void test_mem(void) {
  ckpt_mem m = {0, 0};
  int64_t base = ad_alloc_get_stats().bytes_now;
  void *a = ckpt_mem_alloc(&m, 100), *b = ckpt_mem_alloc(&m, 50), *z = ckpt_mem_alloc(&m, 0);
  CHECKF(a && b && z && m.now == 150 && m.peak == 150, "after 100 + 50 + 0 bytes: now %llu, peak %llu",
         (unsigned long long)m.now, (unsigned long long)m.peak);
  CHECKF(ad_alloc_get_stats().bytes_now - base == 151, "the allocator holds %lld bytes (a 0-byte block takes 1)",
         (long long)(ad_alloc_get_stats().bytes_now - base));
  ckpt_mem_free(&m, a, 100);
  ckpt_mem_free(&m, NULL, 1000);
  CHECKF(m.now == 50 && m.peak == 150, "after freeing 100: now %llu, peak %llu", (unsigned long long)m.now,
         (unsigned long long)m.peak);
  ckpt_mem_add(&m, 30);
  CHECK(m.now == 80 && m.peak == 150);
  ckpt_mem_add(&m, 200);
  CHECK(m.now == 280 && m.peak == 280);
  m.now -= 200;
  ad_alloc_fail_after(0);
  void *f = ckpt_mem_alloc(&m, 64);
  ad_alloc_fail_after(-1);
  CHECKF(f == NULL && m.now == 80 && m.peak == 280, "a failed allocation counted: now %llu", (unsigned long long)m.now);
  ckpt_mem_free(&m, b, 50);
  ckpt_mem_free(&m, z, 0);
  CHECKF(m.now == 30 && ad_alloc_get_stats().bytes_now == base, "after freeing all: now %llu, allocator %lld",
         (unsigned long long)m.now, (long long)(ad_alloc_get_stats().bytes_now - base));
}

int main(void) {
  test_beta();
  test_plans();
  test_online_thinning();
  test_parse_and_budget();
  test_alloc();
  test_mem();
  return test_report("test_ckpt");
}
