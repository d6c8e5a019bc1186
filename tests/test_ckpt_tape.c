/* test_ckpt_tape: checkpointed time steps on the tape engine (engines/ckpt/ckpt_tape.h), through the engine registry:
 * every schedule's gradient equals store-all's bit for bit (and the plain tape's, where the steps' outputs are
 * statements); the counters (steps, recomputed steps = the plan's advances) match the schedule; a second reverse
 * sweep on the same recording gives the same gradient; memory: binomial checkpointing holds less than store-all,
 * a budget too small for one checkpoint is AD_EBUDGET, a budget is respected; failed allocations leave AD_ENOMEM.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../engines/ckpt/ckpt_tape.h"
#include "../engines/tape/tape_ops.h"
#include "eng.h"
#include "run.h"
#include "ckpt_grad.h"
#include "testkit.h"
#include "wl.h"

static const char *engine = "tape"; /* the engine gradient() runs: tape, or tape_op (no preaccumulation) */

static grad gradient(const char *wname, int size, const char *spec) { return ckpt_gradient(engine, wname, size, spec); }
static int same_bits(const grad *a, const grad *b) { return ckpt_same_bits(a, b); }

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

/* A loop of unknown length (ode_adapt: AD_STEPS_WHILE, adaptive steps) under every schedule, against store-all bit
 * for bit. Its length l comes from store-all; the recomputed steps are then the plan's: online:C (and binomial:C,
 * which runs as online:C) the online plan's advances; every:K the plan's advances plus the steps the forward sweep
 * runs past the last checkpoint before the length is known. Returns l. */
static uint64_t test_while_schedules(const char *wname, int size) {
  grad plain = gradient(wname, size, ""), all = gradient(wname, size, "store_all");
  CHECKF(all.st == AD_OK && plain.st == AD_OK, "%s: %s", wname, ad_status_str(all.st));
  CHECKF(same_bits(&all, &plain), "%s %d: store_all differs from the plain tape", wname, size);
  uint64_t l = all.es.ckpt_steps;
  CHECKF(l >= 4 && all.es.recomputed == 0, "%s %d: store_all %llu steps, %llu recomputed", wname, size,
         (unsigned long long)l, (unsigned long long)all.es.recomputed);
  const char *specs[] = {"online:1", "online:2", "online:3", "online:4", "online:16", "online:1000", "every:1",
                         "every:2", "every:3", "every:7", "binomial:1", "binomial:3", "binomial:16", "budget:1G",
                         "budget:64k"};
  for (size_t j = 0; j < sizeof specs / sizeof specs[0]; ++j) {
    grad g = gradient(wname, size, specs[j]);
    CHECKF(g.st == AD_OK, "%s %d %s: %s", wname, size, specs[j], ad_status_str(g.st));
    CHECKF(same_bits(&g, &all), "%s %d %s: not bit-identical to store_all", wname, size, specs[j]);
    CHECKF(g.es.ckpt_steps == l, "%s %d %s: %llu steps, store_all %llu", wname, size, specs[j],
           (unsigned long long)g.es.ckpt_steps, (unsigned long long)l);
    ckpt_spec sp;
    ckpt_parse(specs[j], &sp);
    if (sp.kind == CKPT_BUDGET) {
      CHECKF(g.es.recomputed >= l, "%s %s: %llu recomputed", wname, specs[j], (unsigned long long)g.es.recomputed);
    } else {
      uint64_t extra = 0;
      if (sp.kind == CKPT_BINOMIAL) sp.kind = CKPT_ONLINE;
      if (sp.kind == CKPT_EVERY) extra = l - (l - 1) / sp.arg * sp.arg; /* from the last checkpoint to l */
      ckpt_plan p;
      CHECK(ckpt_plan_make(&p, sp, l) == AD_OK);
      CHECKF(g.es.recomputed == p.advances + (sp.kind == CKPT_EVERY ? extra : 0), "%s %d %s: %llu recomputed, plan %llu",
             wname, size, specs[j], (unsigned long long)g.es.recomputed, (unsigned long long)p.advances);
      ckpt_plan_free(&p);
    }
    free(g.g);
  }
  free(plain.g), free(all.g);
  return l;
}

/* ---- loops of unknown length on the tape directly ---- */

/* A step of a toy adaptive loop: s0 <- s0 p0 + sin(s1), s1 <- s1 cos(s0); q[0] accumulates |s0| (a value: a
 * data-dependent decision), and the loop ends once it passes q[1]. q[2] counts steps. */
static int toy_step(tape_t *t, const void *env, int k, const tape_var *p, tape_var *s, double *q) {
  (void)env, (void)k;
  if (q[0] > q[1]) return 0;
  tape_var a = ad_add_vv(t, ad_mul_vv(t, s[0], p[0]), ad_sin(t, s[1]));
  s[1] = ad_mul_vv(t, s[1], ad_cos(t, a));
  s[0] = a;
  q[0] += ad_val(t, a) < 0 ? -ad_val(t, a) : ad_val(t, a);
  q[2] += 1;
  return 1;
}
/* The same loop with a known count (AD_STEPS). */
static void toy_fixed(tape_t *t, const void *env, int k, const tape_var *p, tape_var *s) {
  (void)env, (void)k;
  tape_var a = ad_add_vv(t, ad_mul_vv(t, s[0], p[0]), ad_sin(t, s[1]));
  s[1] = ad_mul_vv(t, s[1], ad_cos(t, a));
  s[0] = a;
}
/* A step that breaks AD_STEPS_WHILE's rules: its decision counts calls instead of reading the state, so a re-run
 * step says there is none. */
static long defect_calls;
static int defect_step(tape_t *t, const void *env, int k, const tape_var *p, tape_var *s, double *q) {
  (void)env, (void)k, (void)q;
  if (defect_calls++ >= 6) return 0;
  s[0] = ad_mul_vv(t, ad_sin(t, s[0]), p[0]);
  return 1;
}

typedef struct toy_out {
  ad_status st;
  double g[3], f, q[3];
  uint64_t steps, recomputed;
} toy_out;

/* Records the toy: inputs p0, s0, s1; a while-loop region (threshold, max_steps), then two fixed regions of `fixed`
 * steps each (0: none); y = s0 + s1. Sweeps `sweeps` times (each sweep's gradient must equal the first's). */
static toy_out toy_run(const char *spec, double threshold, int max_steps, int fixed, int sweeps, int defect) {
  toy_out o;
  memset(&o, 0, sizeof o);
  tape_t *t = tape_new();
  ckpt_spec sp;
  if (*spec) {
    CHECK(ckpt_parse(spec, &sp) == AD_OK);
    CHECK(ckpt_tape_attach(t, sp) == AD_OK);
  }
  tape_var x[3] = {tape_input(t, 0.9), tape_input(t, 0.7), tape_input(t, -0.4)}, s[2] = {x[1], x[2]};
  o.q[1] = threshold;
  int dummy = 0;
  if (defect) {
    defect_calls = 0;
    ckpt_tape_steps_while(t, defect_step, &dummy, sizeof dummy, max_steps, 1, x, 2, s, 3, o.q);
  } else {
    ckpt_tape_steps_while(t, toy_step, &dummy, sizeof dummy, max_steps, 1, x, 2, s, 3, o.q);
  }
  for (int r = 0; fixed && r < 2; ++r) ckpt_tape_steps(t, toy_fixed, &dummy, sizeof dummy, fixed, 1, x, 2, s);
  tape_var y = ad_add_vv(t, s[0], s[1]);
  o.f = y.v;
  o.st = tape_status(t);
  for (int k = 0; k < sweeps && o.st == AD_OK; ++k) {
    tape_adjoints(t);
    tape_seed(t, y, 1.0);
    o.st = tape_reverse(t);
    for (int i = 0; i < 3 && o.st == AD_OK; ++i) {
      double gi = t->adj[x[i].i] * x[i].d;
      if (k == 0) o.g[i] = gi;
      else CHECKF(!memcmp(&gi, &o.g[i], sizeof gi), "%s: sweep %d differs at %d", spec, k + 1, i);
    }
  }
  ckpt_tape_stats cs = ckpt_tape_get_stats(t);
  o.steps = cs.steps;
  o.recomputed = cs.recomputed;
  ckpt_tape_detach(t);
  tape_free(t);
  return o;
}

static int toy_same(const toy_out *a, const toy_out *b) {
  return a->st == AD_OK && b->st == AD_OK && !memcmp(a->g, b->g, sizeof a->g) && !memcmp(&a->f, &b->f, sizeof a->f) &&
         !memcmp(a->q, b->q, sizeof a->q);
}

/* The toy loop on the tape: its length by hand (q[2]), every schedule bit for bit against store-all and against the
 * plain tape's values, two sweeps, a second region after it (the second sweep restarts each region from its own
 * first checkpoint), zero steps, the step cap, and a step whose decisions change when re-run (AD_EGUARD). */
static void test_while_toy(void) {
  toy_out plain = toy_run("", 5.6, 1000, 0, 1, 0), all = toy_run("store_all", 5.6, 1000, 0, 1, 0);
  uint64_t l = (uint64_t)all.q[2];
  CHECKF(l == 9 && all.steps == l && all.recomputed == 0, "toy: %llu steps (q %g), recomputed %llu",
         (unsigned long long)all.steps, all.q[2], (unsigned long long)all.recomputed);
  CHECK(plain.st == AD_OK && !memcmp(&plain.f, &all.f, sizeof plain.f) && !memcmp(plain.q, all.q, sizeof plain.q));
  CHECK(fabs(plain.g[0] - all.g[0]) <= 1e-14 * fabs(all.g[0]) && fabs(plain.g[2] - all.g[2]) <= 1e-14 * fabs(all.g[2]));
  const char *specs[] = {"online:1", "online:2", "online:3", "every:1", "every:4", "every:9", "every:20",
                         "binomial:2", "budget:400", "budget:1M"};
  for (size_t j = 0; j < sizeof specs / sizeof specs[0]; ++j) {
    toy_out g = toy_run(specs[j], 5.6, 1000, 0, 3, 0);
    CHECKF(g.st == AD_OK && toy_same(&g, &all), "toy %s: %s, not store_all's gradient", specs[j],
           ad_status_str(g.st));
    CHECKF(g.steps == l, "toy %s: %llu steps", specs[j], (unsigned long long)g.steps);
  }
  /* online:2 over 9 steps by hand: the forward sweep (9 evaluations) keeps step 0, then 1, then 2 (the stride doubles
   * to 2: 1 is dropped), 4 (stride 4), 8 (stride 8): the slots hold 0 and 8. [8, 9) is recorded in place from slot 1;
   * then [0, 8) with both slots (binomial, 2 checkpoints): r = 3 (beta(2, 2) = 6 < 8 <= beta(2, 3) = 10),
   * 3 * 8 - beta(3, 2) = 24 - 10 = 14 advances. Recomputed: 9 + 14 = 23. */
  toy_out o2 = toy_run("online:2", 5.6, 1000, 0, 1, 0);
  CHECKF(o2.recomputed == 23, "toy online:2: %llu recomputed, 23 by hand", (unsigned long long)o2.recomputed);
  /* every:4 over 9 steps: the forward sweep runs all 9 (keeping 0, 4, 8), then each interval is recorded from its
   * checkpoint with no further advance: 9 recomputed (with the length known, 8: the forward sweep would stop at 8). */
  toy_out e4 = toy_run("every:4", 5.6, 1000, 0, 1, 0);
  CHECKF(e4.recomputed == 9, "toy every:4: %llu recomputed, 9 by hand", (unsigned long long)e4.recomputed);
  /* A while region, then two fixed ones; swept three times. Then the two fixed ones alone (the while loop takes no
   * step): a second sweep once took the state the later region's sweep had left for the earlier region's first
   * checkpoint. */
  toy_out all2 = toy_run("store_all", 5.6, 1000, 7, 1, 0);
  const char *specs2[] = {"binomial:2", "online:2", "every:3"};
  for (size_t j = 0; j < sizeof specs2 / sizeof specs2[0]; ++j) {
    toy_out g = toy_run(specs2[j], 5.6, 1000, 7, 3, 0);
    CHECKF(toy_same(&g, &all2), "toy + fixed %s: not store_all's gradient", specs2[j]);
  }
  toy_out fx = toy_run("store_all", -1.0, 1000, 7, 1, 0), fb = toy_run("binomial:2", -1.0, 1000, 7, 3, 0);
  CHECK(fx.steps == 14 && fb.steps == 14 && toy_same(&fb, &fx));
  /* No step at all (the threshold is passed already): nothing recorded, the gradient of y = s0 + s1. */
  toy_out z = toy_run("online:2", -1.0, 1000, 0, 2, 0);
  CHECK(z.st == AD_OK && z.steps == 0 && z.g[0] == 0.0 && z.g[1] == 1.0 && z.g[2] == 1.0 && z.q[2] == 0.0);
  /* The cap: 5 steps, q says the loop did not finish. */
  toy_out c5 = toy_run("online:2", 5.6, 5, 0, 1, 0), c5a = toy_run("store_all", 5.6, 5, 0, 1, 0);
  CHECK(c5.steps == 5 && c5.q[2] == 5.0 && c5.q[0] <= 5.6 && toy_same(&c5, &c5a));
  /* Decisions that change on a re-run: refused, not a wrong gradient; store-all never re-runs a step. */
  toy_out d = toy_run("online:2", 0, 1000, 0, 1, 1);
  CHECKF(d.st == AD_EGUARD, "defective step under online:2: %s", ad_status_str(d.st));
  toy_out da = toy_run("store_all", 0, 1000, 0, 1, 1);
  CHECK(da.st == AD_OK && da.steps == 6);
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
static void test_alloc_failure(const char *wname, int size, const char *spec) {
  grad ref = gradient(wname, size, spec);
  CHECK(ref.st == AD_OK);
  ckpt_spec sp;
  ckpt_parse(spec, &sp);
  int failures = 0, ok = 0;
  for (long n = 0; n < 400 && !ok; ++n) {
    ckpt_tape_set_default(&sp);
    run_case rc;
    ad_alloc_fail_after(n);
    ad_status st = run_open(&rc, wl_find(wname), eng_find("tape"), RUN_GRAD, size, 42);
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
  y = tape_settle(t, y); /* one statement: its index is where sweeps start */
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
  for (int k = 0; k < 20000; ++k) y = tape_settle(t, ad_mul_vv(t, y, x)); /* one statement each */
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
  uint64_t l8 = test_while_schedules("ode_adapt", 8);
  CHECKF(l8 == 16, "ode_adapt 8: %llu steps", (unsigned long long)l8); /* attempts at n = 8, seed 42 */
  test_while_schedules("ode_adapt", 30);
  engine = "tape_op";
  test_while_schedules("ode_adapt", 8);
  engine = "tape";
  test_while_toy();
  test_two_sweeps();
  test_memory();
  test_budget();
  test_alloc_failure("ode", 2, "binomial:2");
  test_alloc_failure("ode_adapt", 8, "online:2");
  test_alloc_failure("ode_adapt", 8, "every:3");
  return test_report("test_ckpt_tape");
}
