/* test_ckpt_tape: checkpointed time steps on the tape engine (engines/ckpt/ckpt_tape.h), through the engine registry:
 * every schedule's gradient equals store-all's bit for bit (and the plain tape's, where the steps' outputs are
 * statements); the counters (steps, recomputed steps = the plan's advances) match the schedule; a second reverse
 * sweep on the same recording gives the same gradient; memory: binomial checkpointing holds less than store-all,
 * a budget too small for one checkpoint is AD_EBUDGET, a budget is respected; failed allocations leave AD_ENOMEM.
 */
#include <stdlib.h>
#include <string.h>

#include "../engines/ckpt/ckpt_tape.h"
#include "../engines/tape/tape_ops.h"
#include "eng.h"
#include "run.h"
#include "testkit.h"
#include "wl.h"

typedef struct grad {
  ad_status st;
  int n;
  double *g;
  double f;
  eng_stats es;
  int64_t peak; /* the allocator's high-water mark above what was held before the evaluation */
} grad;

static const char *engine = "tape"; /* the engine gradient() runs: tape, or tape_op (no preaccumulation) */

/* The tape's gradient of workload w at size with schedule spec ("" for the plain tape). */
static grad gradient(const char *wname, int size, const char *spec) {
  grad r;
  memset(&r, 0, sizeof r);
  ckpt_spec sp;
  if (*spec) {
    if (ckpt_parse(spec, &sp) != AD_OK) {
      r.st = AD_EINVAL;
      return r;
    }
    ckpt_tape_set_default(&sp);
  } else {
    ckpt_tape_set_default(NULL);
  }
  run_case rc;
  ad_alloc_reset_stats();
  int64_t before = ad_alloc_get_stats().bytes_now;
  r.st = run_open(&rc, wl_find(wname), eng_find(engine), RUN_GRAD, size, 42);
  if (r.st == AD_OK) r.st = run_eval(&rc);
  r.peak = ad_alloc_get_stats().bytes_peak - before;
  if (r.st == AD_OK) {
    r.n = rc.n_in;
    r.g = (double *)malloc((size_t)r.n * sizeof(double));
    memcpy(r.g, rc.out, (size_t)r.n * sizeof(double));
    r.f = rc.y[0];
    r.es = rc.e->stats(rc.s);
  }
  run_close(&rc);
  ckpt_tape_set_default(NULL);
  return r;
}

static int same_bits(const grad *a, const grad *b) {
  return a->st == AD_OK && b->st == AD_OK && a->n == b->n && !memcmp(a->g, b->g, (size_t)a->n * sizeof(double)) &&
         !memcmp(&a->f, &b->f, sizeof a->f);
}

/* Every schedule against store-all, bit for bit, with the counters the plan promises. */
static void test_schedules(const char *wname, int size, uint64_t steps) {
  grad plain = gradient(wname, size, ""), all = gradient(wname, size, "store_all");
  CHECKF(all.st == AD_OK && plain.st == AD_OK, "%s: %s", wname, ad_status_str(all.st));
  CHECKF(same_bits(&all, &plain), "%s: store_all differs from the plain tape", wname);
  CHECKF(all.es.ckpt_steps == steps && all.es.recomputed == 0, "%s: store_all %llu steps, %llu recomputed", wname,
         (unsigned long long)all.es.ckpt_steps, (unsigned long long)all.es.recomputed);
  const char *specs[] = {"binomial:1", "binomial:2", "binomial:3", "binomial:16", "every:1", "every:2", "every:3",
                         "online:2", "online:4", "budget:1G"};
  for (size_t j = 0; j < sizeof specs / sizeof specs[0]; ++j) {
    grad g = gradient(wname, size, specs[j]);
    CHECKF(g.st == AD_OK, "%s %s: %s", wname, specs[j], ad_status_str(g.st));
    CHECKF(same_bits(&g, &all), "%s %s: not bit-identical to store_all", wname, specs[j]);
    ckpt_spec sp;
    ckpt_parse(specs[j], &sp);
    if (sp.kind != CKPT_BUDGET) { /* recomputed steps: the plan's advances (the forward sweep's included) */
      ckpt_plan p;
      CHECK(ckpt_plan_make(&p, sp, steps) == AD_OK);
      uint64_t forward_recorded = p.act[p.first_reverse].b - p.act[p.first_reverse].a;
      (void)forward_recorded;
      CHECKF(g.es.ckpt_steps == steps && g.es.recomputed == p.advances, "%s %s: %llu recomputed, plan %llu", wname,
             specs[j], (unsigned long long)g.es.recomputed, (unsigned long long)p.advances);
      if (sp.kind == CKPT_BINOMIAL) {
        unsigned s = sp.arg > steps ? (unsigned)steps : (unsigned)sp.arg;
        CHECK(g.es.recomputed == ckpt_binomial_cost(steps, s));
      }
      ckpt_plan_free(&p);
    }
    free(g.g);
  }
  free(plain.g), free(all.g);
}

/* A second reverse sweep over the same recording (the forward checkpoints are rebuilt) gives the same gradient. */
static void test_two_sweeps(void) {
  ckpt_spec sp;
  ckpt_parse("binomial:3", &sp);
  ckpt_tape_set_default(&sp);
  run_case rc;
  ad_status st = run_open(&rc, wl_find("ode"), eng_find("tape"), RUN_REVERSE, 3, 7);
  CHECK(st == AD_OK);
  if (st == AD_OK) {
    CHECK(run_eval(&rc) == AD_OK);
    double *g1 = (double *)malloc((size_t)rc.n_in * sizeof(double));
    memcpy(g1, rc.out, (size_t)rc.n_in * sizeof(double));
    CHECK(run_eval(&rc) == AD_OK);
    CHECK(!memcmp(g1, rc.out, (size_t)rc.n_in * sizeof(double)));
    free(g1);
  }
  run_close(&rc);
  ckpt_tape_set_default(NULL);
}

/* Memory: checkpointing holds less than store-all; a budget too small for one checkpoint fails clearly. */
static void test_memory(void) {
  grad all = gradient("ode", 5, "store_all"), bin = gradient("ode", 5, "binomial:2");
  CHECK(all.st == AD_OK && bin.st == AD_OK);
  CHECKF(bin.peak * 2 < all.peak, "binomial:2 peak %lld, store_all %lld", (long long)bin.peak, (long long)all.peak);
  CHECKF(bin.es.peak_bytes > 0 && bin.es.peak_bytes < all.es.peak_bytes, "peak_bytes %llu vs %llu",
         (unsigned long long)bin.es.peak_bytes, (unsigned long long)all.es.peak_bytes);
  grad tiny = gradient("ode", 5, "budget:100");
  CHECKF(tiny.st == AD_EBUDGET, "budget:100: %s", ad_status_str(tiny.st));
  free(all.g), free(bin.g), free(tiny.g);
}

/* A budget is respected: it bounds the checkpoints plus one step's recorded bytes; on top come the main tape, the
 * session, the plan and the tape's chunk rounding (chunks double in size), so the allocator's high-water mark over the
 * whole gradient stays within three times the budget (2.4 times here: 154 KB for 64 KB), where store-all needs over
 * ten times as much. */
static void test_budget(void) {
  const uint64_t B = 64 << 10;
  grad all = gradient("recur", 3, "store_all"), bud = gradient("recur", 3, "budget:64k");
  CHECKF(bud.st == AD_OK, "%s", ad_status_str(bud.st));
  CHECK(same_bits(&bud, &all));
  CHECKF(all.peak > 10 * (int64_t)B, "store_all peak %lld: the budget would not matter", (long long)all.peak);
  CHECKF(bud.peak <= 3 * (int64_t)B, "budget:64k: allocator peak %lld", (long long)bud.peak);
  CHECKF(bud.es.recomputed > 0 && bud.es.ckpt_steps == 100, "recomputed %llu", (unsigned long long)bud.es.recomputed);
  free(all.g), free(bud.g);
}

/* Allocation failure at every allocation of a checkpointed gradient: AD_ENOMEM or the right answer, never a crash
 * (the sanitizer build checks leaks). */
static void test_alloc_failure(void) {
  grad ref = gradient("ode", 2, "binomial:2");
  CHECK(ref.st == AD_OK);
  ckpt_spec sp;
  ckpt_parse("binomial:2", &sp);
  int failures = 0, ok = 0;
  for (long n = 0; n < 400 && !ok; ++n) {
    ckpt_tape_set_default(&sp);
    run_case rc;
    ad_alloc_fail_after(n);
    ad_status st = run_open(&rc, wl_find("ode"), eng_find("tape"), RUN_GRAD, 2, 42);
    if (st == AD_OK) st = run_eval(&rc);
    ad_alloc_fail_after(-1);
    if (st == AD_OK) {
      ok = 1;
      CHECK(!memcmp(rc.out, ref.g, (size_t)ref.n * sizeof(double)));
    } else {
      ++failures;
      CHECKF(st == AD_ENOMEM, "after %ld allocations: %s", n, ad_status_str(st));
    }
    run_close(&rc);
    ckpt_tape_set_default(NULL);
  }
  CHECK(ok && failures > 0);
  free(ref.g);
}

/* The tape's segment primitives: a sweep stopped at any statement and resumed gives the one-piece sweep's adjoints
 * bit for bit (chunk boundaries included: 3000 statements span several chunks); rewinding forgets what came after the
 * mark and keeps the chunks. */
static void test_tape_segments(void) {
  tape_t *t = tape_new();
  ad_t x = tape_input(t, 0.5), w = tape_input(t, 1.5), y = x;
  for (int k = 0; k < 3000; ++k) y = ad_add_vv(t, ad_mul_vv(t, y, w), ad_sin(t, ad_mul_vv(t, x, y)));
  uint32_t top = y.i, n = top + 1;
  double *ref = (double *)malloc(n * sizeof(double));
  double *adj = tape_adjoints(t);
  tape_seed(t, y, 1.0);
  CHECK(tape_reverse(t) == AD_OK);
  memcpy(ref, t->adj, n * sizeof(double));
  const uint32_t stops[] = {1, 2, 255, 256, 257, 700, 1500, 2999, top - 1};
  for (size_t j = 0; j < sizeof stops / sizeof stops[0]; ++j) {
    adj = tape_adjoints(t);
    tape_seed(t, y, 1.0);
    tape_cursor c;
    CHECK(tape_cursor_at(t, top, &c) == AD_OK);
    CHECK(tape_sweep_down(t, &c, stops[j]) == AD_OK);
    CHECK(tape_sweep_down(t, &c, 0) == AD_OK);
    CHECKF(!memcmp(adj, ref, n * sizeof(double)), "stopped at %u", stops[j]);
  }
  tape_stats before = tape_get_stats(t);
  tape_mark m = tape_tell(t);
  for (int k = 0; k < 20000; ++k) y = ad_mul_vv(t, y, x);
  CHECK(tape_get_stats(t).statements == before.statements + 20000);
  tape_rewind(t, m);
  tape_stats after = tape_get_stats(t);
  CHECK(after.statements == before.statements && after.arguments == before.arguments);
  CHECK(after.bytes_held > before.bytes_held); /* the chunks stay for the next segment */
  CHECK(tape_cursor_at(t, 0, &(tape_cursor){0}) == AD_EINVAL);
  free(ref);
  tape_free(t);
}

int main(void) {
  test_tape_segments();
  test_schedules("ode", 1, 2);
  test_schedules("ode", 2, 4);
  test_schedules("ode", 3, 10);
  test_schedules("lstm", 1, 3);  /* l 1, c 4: 3 steps */
  test_schedules("lstm", 2, 15); /* l 2, c 16 */
  test_schedules("recur", 1, 3);
  test_schedules("recur", 2, 20);
  engine = "tape_op";
  test_schedules("ode", 2, 4);
  test_schedules("lstm", 1, 3);
  test_schedules("recur", 2, 20);
  engine = "tape";
  test_two_sweeps();
  test_memory();
  test_budget();
  test_alloc_failure();
  return test_report("test_ckpt_tape");
}
