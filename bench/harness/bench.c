/* bench.c: a plan case under Google Benchmark (bench.h). */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "pairs.h"

static double cpu_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

const char *bench_name(const plan_case *c, char *buf, size_t cap) {
  if (c->lanes) snprintf(buf, cap, "%s/%s/%s/lanes:%d", c->w->name, c->e->name, run_mode_name[c->mode], c->lanes);
  else snprintf(buf, cap, "%s/%s/%s", c->w->name, c->e->name, run_mode_name[c->mode]);
  return buf;
}

void bench_progress(plan *p, int on) { p->progress = on; }

static void progress(plan_case *c) {
  plan *p = c->p;
  if (!p->progress || p->last_started == c) return;
  p->last_started = c;
  fprintf(stderr, "adbench: [%d/%d] %s on %s, %s", c->index + 1, p->n_cases, c->w->name, c->e->name,
          run_mode_name[c->mode]);
  if (c->lanes) fprintf(stderr, " with %d lane%s", c->lanes, c->lanes == 1 ? "" : "s");
  fprintf(stderr, " (%d size%s)\n", c->n_sizes, c->n_sizes == 1 ? "" : "s");
}

/* Replay mode: the share of BENCH_GUARD_TRIALS replays at inputs from other seeds (the recording's data kept)
 * that the engine refuses with AD_EGUARD; -1 if another error or out of memory interrupts it. */
static double guard_refusals(run_case *rc) {
  const wl_info *w = rc->w;
  double *x = (double *)malloc(((size_t)rc->n_in + 1) * sizeof *x);
  double *junk = (double *)malloc(((size_t)w->n_data(rc->size) + 1) * sizeof *junk);
  int refused = 0, k = 0;
  for (; x && junk && k < BENCH_GUARD_TRIALS; ++k) {
    w->init(rc->size, rc->seed + 1 + (uint64_t)k, x, junk);
    ad_status st = rc->e->replay(rc->s, x, rc->y, rc->out);
    if (st == AD_EGUARD) refused++;
    else if (st != AD_OK) break;
  }
  free(x), free(junk);
  return k == BENCH_GUARD_TRIALS ? (double)refused / BENCH_GUARD_TRIALS : -1.0;
}

/* x_primal of c at size index i, measured on the first call and kept (xp[3], the pairs, is 0 until then). */
static const double *x_primal(plan_case *c, int i, run_case *rc) {
  double *xp = c->x_primal[i];
  if (xp[3] > 0) return xp;
  run_case prim;
  pairs_opts o = pairs_defaults;
  o.pairs = c->p->o.x_primal_pairs;
  o.max_s = BENCH_X_PRIMAL_BUDGET * c->p->o.min_time; /* at most a few times what the benchmark itself takes */
  pairs_ratio r;
  ad_status st = run_open(&prim, rc->w, &eng_primal, RUN_VALUE, rc->size, rc->seed);
  if (st == AD_OK) st = pairs_measure(rc, &prim, &o, &r);
  run_close(&prim);
  if (st != AD_OK) return NULL;
  xp[0] = r.median, xp[1] = r.min, xp[2] = r.max, xp[3] = r.pairs;
  return xp;
}

static void counters(gb_state *st, run_case *rc) {
  eng_stats es = rc->e->stats(rc->s);
  double nodes = es.nodes ? (double)es.nodes : rc->w->nodes(rc->size);
  if (nodes < 1) nodes = 1;
  gb_counter(st, "nodes", nodes, GB_COUNTER_PLAIN);
  gb_counter(st, "n_in", rc->n_in, GB_COUNTER_PLAIN);
  gb_counter(st, "n_out", rc->n_out, GB_COUNTER_PLAIN);
  gb_counter(st, "size", rc->size, GB_COUNTER_PLAIN);
  gb_counter(st, "bytes", (double)es.bytes_held, GB_COUNTER_PLAIN);
  gb_counter(st, "bytes_per_node", (double)es.bytes_held / nodes, GB_COUNTER_PLAIN);
  gb_counter(st, "ns_per_node", nodes * 1e-9, GB_COUNTER_TIME_PER);
  double elems = wl_elements(rc->w, rc->size);
  if (elems > 0) { /* tensor forms and their scalar twins: the same per element */
    gb_counter(st, "elements", elems, GB_COUNTER_PLAIN);
    gb_counter(st, "bytes_per_element", (double)es.bytes_held / elems, GB_COUNTER_PLAIN);
    gb_counter(st, "ns_per_element", elems * 1e-9, GB_COUNTER_TIME_PER);
  }
  if (es.nodes) { /* engines that record: what the recording holds per op executed */
    gb_counter(st, "statements", (double)es.statements, GB_COUNTER_PLAIN);
    gb_counter(st, "statements_per_node", (double)es.statements / nodes, GB_COUNTER_PLAIN);
    gb_counter(st, "args", (double)es.args, GB_COUNTER_PLAIN);
    gb_counter(st, "bytes_used", (double)es.bytes_used, GB_COUNTER_PLAIN);
    gb_counter(st, "bytes_per_op", (double)es.bytes_used / nodes, GB_COUNTER_PLAIN);
    if (es.args) gb_counter(st, "bytes_per_arg", (double)es.bytes_used / (double)es.args, GB_COUNTER_PLAIN);
  }
  if (es.peak_bytes) gb_counter(st, "peak_bytes", (double)es.peak_bytes, GB_COUNTER_PLAIN);
  if (es.ckpt_steps) { /* checkpointed steps: how many, and how many evaluations the schedule added */
    gb_counter(st, "ckpt_steps", (double)es.ckpt_steps, GB_COUNTER_PLAIN);
    gb_counter(st, "recomputed", (double)es.recomputed, GB_COUNTER_PLAIN);
  }
}

void bench_case(gb_state *st, void *arg) {
  plan_case *c = (plan_case *)arg;
  int size = (int)gb_range(st, 0);
  char why[PLAN_WHY];
  progress(c);
  plan_verdict v = plan_check(c, size, why);
  if (v == PLAN_SKIP) {
    gb_skip_with_error(st, why);
    return;
  }
  run_case rc;
  ad_status rs = run_open(&rc, c->w, c->e, c->mode, size, c->p->o.seed);
  rc.lanes = c->lanes;
  double t0 = cpu_now();
  if (rs == AD_OK) rs = run_eval(&rc); /* untimed: the engine's storage in place before the loop */
  double eval_s = cpu_now() - t0;
  if (rs == AD_OK && v == PLAN_UNDECIDED) v = plan_decide(c, size, eval_s, why);
  if (rs != AD_OK) {
    snprintf(why, sizeof why, "error: %s", ad_status_str(rs));
    gb_skip_with_error(st, why);
  } else if (v == PLAN_SKIP) {
    gb_skip_with_error(st, why);
  } else {
    while (gb_keep_running(st)) {
      rs = run_eval(&rc);
      if (AD_UNLIKELY(rs != AD_OK)) {
        snprintf(why, sizeof why, "error: %s", ad_status_str(rs));
        gb_skip_with_error(st, why);
        break;
      }
    }
    gb_do_not_optimize(rc.out);
    const double *xp = NULL;
    int i;
    for (i = 0; i < c->n_sizes && c->sizes[i] != size; ++i) {
    }
    if (rs == AD_OK && c->e->kind != ENG_PRIMAL && c->p->o.x_primal_pairs > 0 && i < c->n_sizes)
      xp = x_primal(c, i, &rc);
    if (xp) {
      gb_counter(st, "x_primal", xp[0], GB_COUNTER_PLAIN);
      gb_counter(st, "x_primal_min", xp[1], GB_COUNTER_PLAIN);
      gb_counter(st, "x_primal_max", xp[2], GB_COUNTER_PLAIN);
      gb_counter(st, "x_primal_pairs", xp[3], GB_COUNTER_PLAIN);
    }
    if (rs == AD_OK && c->mode == RUN_REPLAY) gb_counter(st, "guard_refusals", guard_refusals(&rc), GB_COUNTER_PLAIN);
    if (rs == AD_OK) counters(st, &rc);
  }
  run_close(&rc);
}
