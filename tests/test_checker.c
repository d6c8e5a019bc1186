/* test_checker: the checker (checker.h) fed known-wrong answers must fail, naming the engine, the workload and
 * the entry. A test-only engine wraps the tape engine and corrupts its Jacobian in a chosen way: a wrong partial,
 * a NaN, two coordinates swapped, one entry short (never written), or out of memory (counted apart, not a
 * disagreement); a vector-mode engine whose Jacobian at one lane count is off by 1e-13, wrong against the manual
 * gradient at K = 1, one ulp off in its value, or refuses a lane count. Also: the uncorrupted wrapper passes, the time budget skips and counts, and the JSON writer
 * writes valid JSON for non-finite numbers and strings that need escaping. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testkit.h"
#include "checker.h"
#include "json.h"

typedef enum { BAD_NONE, BAD_PARTIAL, BAD_NAN, BAD_SWAP, BAD_SHORT, BAD_HOLE, BAD_NOMEM, BAD_SMALL } bad_mode;
static const char *const bad_name[] = {"none", "wrong partial", "NaN", "swapped coordinates", "short", "unwritten",
                                       "nomem", "slightly wrong partial"};
static bad_mode g_mode;
static size_t g_entry, g_len; /* the entry to corrupt (and its swap partner g_entry + 1), the Jacobian's length */

static ad_status bad_jacobian(eng_session *s, const double *x, double *y, double *J) {
  if (g_mode == BAD_NOMEM) return AD_ENOMEM;
  double *full = (double *)malloc(g_len * sizeof *full);
  if (!full) return AD_ENOMEM;
  ad_status st = eng_tape.jacobian(s, x, y, full);
  for (size_t i = 0; i < g_len; ++i) /* short: the last entry never written; hole: entry g_entry never written */
    if (!(g_mode == BAD_SHORT && i == g_len - 1) && !(g_mode == BAD_HOLE && i == g_entry)) J[i] = full[i];
  if (g_mode == BAD_PARTIAL) J[g_entry] = 1.5 * J[g_entry] + 1.0;
  if (g_mode == BAD_NAN) J[g_entry] = NAN;
  /* off by 1e-8 relative: far above rounding (1e-16), so a check that lets it through has lost its tolerance */
  if (g_mode == BAD_SMALL) J[g_entry] *= 1.0 + 1e-8;
  if (g_mode == BAD_SWAP) J[g_entry] = full[g_entry + 1], J[g_entry + 1] = full[g_entry];
  free(full);
  return st;
}

static eng_api bad_engine(void) {
  eng_api e = eng_tape;
  e.name = "bad_tape";
  e.jacobian = bad_jacobian;
  e.replay = NULL; /* replay is checked by its own test below */
  return e;
}

/* Runs the checker on w at size with primal, tape and the corrupted engine; its table into out. */
static int run(const wl_info *w, int size, ck_config *c, ck_tally *t, char *out, size_t cap) {
  static eng_api bad;
  bad = bad_engine();
  const eng_api *engs[] = {&eng_primal, &eng_tape, &bad};
  FILE *f = tmpfile();
  CHECKF(f != NULL, "tmpfile");
  if (!f) return -1;
  c->table = f;
  g_len = (size_t)w->n_in(size) * w->n_out(size);
  int fails = ck_case(c, w, size, engs, 3, t);
  rewind(f);
  size_t n = fread(out, 1, cap - 1, f);
  out[n] = 0;
  fclose(f);
  return fails;
}

/* at: the coordinate the manual FAIL line must name; for swapped coordinates (the same error at both) also alt. */
static void expect_fail2(const wl_info *w, int size, bad_mode mode, size_t entry, const char *at, const char *alt) {
  char out[16384], want[160];
  ck_config c;
  ck_tally t = {0};
  ck_defaults(&c);
  g_mode = mode, g_entry = entry;
  int fails = run(w, size, &c, &t, out, sizeof out);
  CHECKF(fails > 0 && t.fails == fails && ck_exit_status(&t) == CK_EXIT_DISAGREE, "%s on %s: %d failures, exit %d",
         bad_name[mode], w->name, fails, ck_exit_status(&t));
  snprintf(want, sizeof want, "FAIL engine bad_tape, workload %s, size %d: manual error", w->name, size);
  CHECKF(strstr(out, want) != NULL, "%s on %s: no line \"%s\" in\n%s", bad_name[mode], w->name, want, out);
  const char *line = strstr(out, want);
  const char *eol = line ? strchr(line, '\n') : NULL;
  const char *hit = line ? strstr(line, at) : NULL;
  if (alt && line && !(hit && (!eol || hit < eol))) hit = strstr(line, alt);
  CHECKF(hit && (!eol || hit < eol), "%s on %s: the manual FAIL line does not name %s:\n%s", bad_name[mode], w->name,
         at, out);
}
static void expect_fail(const wl_info *w, int size, bad_mode mode, size_t entry, const char *at) {
  expect_fail2(w, size, mode, entry, at, NULL);
}

/* A replay engine whose replays (not its recordings) get one partial wrong. */
static ad_status bad_replay(eng_session *s, const double *x, double *y, double *J) {
  ad_status st = eng_replay.replay(s, x, y, J);
  J[1] += 1.0;
  return st;
}

static void test_replay(void) {
  eng_api bad = eng_replay;
  bad.name = "bad_replay", bad.replay = bad_replay;
  const eng_api *engs[] = {&eng_primal, &bad};
  ck_config c;
  ck_tally t = {0};
  ck_defaults(&c);
  char out[16384];
  FILE *f = tmpfile();
  CHECKF(f != NULL, "tmpfile");
  if (!f) return;
  c.table = f;
  int fails = ck_case(&c, wl_find("rosenbrock"), 4, engs, 2, &t);
  rewind(f);
  out[fread(out, 1, sizeof out - 1, f)] = 0;
  fclose(f);
  CHECKF(fails == 1 && ck_exit_status(&t) == CK_EXIT_DISAGREE, "bad replay: %d failures", fails);
  const char *line = strstr(out, "FAIL engine bad_replay, workload rosenbrock, size 4: replay");
  CHECKF(line && strstr(line, "d y[0] / d x[1]"), "bad replay: no FAIL line naming the entry:\n%s", out);
}

/* The lanes check (vector modes) fed wrong answers: a dual engine whose jacobian_lanes corrupts one lane count. */
typedef enum { LB_NONE, LB_TINY, LB_MANUAL, LB_VALUE, LB_STATUS } lane_bad;
static lane_bad g_lb;
static int g_lb_lanes;

static ad_status bad_lanes(eng_session *s, int lanes, const double *x, double *y, double *J) {
  ad_status st = eng_dual.jacobian_lanes(s, lanes, x, y, J);
  if (lanes != g_lb_lanes) return st;
  if (g_lb == LB_STATUS) return AD_EINVAL;
  /* 1e-13 of the largest entry: far below the engines' tolerance (1e-12), above the lanes' (1e-14) */
  if (g_lb == LB_TINY) J[2] += 1e-13 * fmax(fabs(J[0]), fmax(fabs(J[1]), fmax(fabs(J[2]), fabs(J[3]))));
  if (g_lb == LB_MANUAL) J[1] = 1.5 * J[1] + 1.0;
  if (g_lb == LB_VALUE) y[0] = nextafter(y[0], INFINITY); /* one ulp: values must match bit for bit */
  return st;
}

static void expect_lanes(lane_bad mode, int lanes, const char *want, const char *what) {
  eng_api bad = eng_dual;
  bad.name = "bad_dual", bad.jacobian_lanes = bad_lanes;
  const eng_api *engs[] = {&eng_primal, &bad};
  ck_config c;
  ck_tally t = {0};
  ck_defaults(&c);
  char out[16384];
  FILE *f = tmpfile();
  CHECKF(f != NULL, "tmpfile");
  if (!f) return;
  c.table = f;
  g_lb = mode, g_lb_lanes = lanes;
  int fails = ck_case(&c, wl_find("rosenbrock"), 4, engs, 2, &t);
  rewind(f);
  out[fread(out, 1, sizeof out - 1, f)] = 0;
  fclose(f);
  if (mode == LB_NONE) {
    CHECKF(fails == 0 && !strstr(out, "FAIL") && strstr(out, "bad_dual lanes 1 2 4 8 16: max err vs lanes 1 0.0e+00  ok"),
           "lanes uncorrupted: %d fails\n%s", fails, out);
    return;
  }
  CHECKF(fails == 1 && ck_exit_status(&t) == CK_EXIT_DISAGREE, "lanes, %s: %d failures\n%s", what, fails, out);
  const char *line = strstr(out, "FAIL engine bad_dual, workload rosenbrock, size 4: ");
  CHECKF(line && strstr(line, want), "lanes, %s: no FAIL line with \"%s\":\n%s", what, want, out);
}

static void test_lanes(void) {
  CHECKF(eng_dual.jacobian_lanes != NULL, "the dual engine has vector modes");
  if (!eng_dual.jacobian_lanes) return;
  expect_lanes(LB_NONE, 0, NULL, "none");
  expect_lanes(LB_TINY, 8, "lanes 8 error", "K = 8 off by 1e-13");
  expect_lanes(LB_TINY, 2, "lanes 2 error", "K = 2 off by 1e-13");
  expect_lanes(LB_MANUAL, 1, "lanes 1 manual error", "K = 1 wrong against the manual gradient");
  expect_lanes(LB_VALUE, 4, "lanes 4 error", "K = 4's value one ulp off");
  expect_lanes(LB_STATUS, 16, "lanes 16: invalid argument", "K = 16 refused");
}

static void test_json(void) {
  FILE *f = tmpfile();
  CHECKF(f != NULL, "tmpfile");
  if (!f) return;
  js_writer j;
  js_init(&j, f);
  double v[4] = {NAN, 1.5, INFINITY, -INFINITY};
  js_obj(&j, NULL);
  js_str(&j, "s", "a\"b\\c\nd\x01");
  js_doubles(&j, "v", v, 4);
  js_num(&j, "x", -0.3709);
  js_arr(&j, "e");
  js_end(&j);
  js_end(&j);
  CHECKF(!js_failed(&j), "js_failed after balanced writes");
  rewind(f);
  char out[512];
  size_t n = fread(out, 1, sizeof out - 1, f);
  out[n] = 0;
  fclose(f);
  const char *want = "{\"s\":\"a\\\"b\\\\c\\nd\\u0001\",\"v\":[null,1.5,null,null],"
                     "\"v_nonfinite\":\"0:nan,2:inf,3:-inf\",\"x\":-0.37090000000000001,\"e\":[]}";
  CHECKF(strcmp(out, want) == 0, "json:\n%s\nwant\n%s", out, want);
  js_end(&j);
  CHECKF(js_failed(&j), "an unbalanced js_end must be reported");
}

int main(void) {
  char out[16384];
  const wl_info *rosen = wl_find("rosenbrock");
  ck_config c;
  ck_tally t = {0};
  ck_defaults(&c);

  /* The wrapper uncorrupted agrees: the failures below come from the corruption alone. */
  g_mode = BAD_NONE;
  int fails = run(rosen, 4, &c, &t, out, sizeof out);
  CHECKF(fails == 0 && !strstr(out, "FAIL") && ck_exit_status(&t) == CK_EXIT_OK, "uncorrupted: %d fails\n%s", fails,
         out);

  expect_fail(rosen, 4, BAD_PARTIAL, 2, "d y[0] / d x[2]");
  expect_fail(rosen, 4, BAD_NAN, 2, "d y[0] / d x[2]");
  expect_fail2(rosen, 4, BAD_SWAP, 1, "d y[0] / d x[1]", "d y[0] / d x[2]"); /* a tie: either may be the largest */
  expect_fail(rosen, 4, BAD_SHORT, 0, "d y[0] / d x[3]");
  expect_fail(rosen, 4, BAD_SMALL, 2, "d y[0] / d x[2]");

  /* A Jacobian (n_out > 1): the entry is named by row and column. */
  const wl_info *wj = NULL;
  for (int i = 0; i < WL_COUNT && !wj; ++i)
    if (wl_all[i]->manual_jacobian && wl_all[i]->n_out(wl_all[i]->check_sizes[0]) > 1)
      wj = wl_all[i];
  CHECKF(wj != NULL, "no workload with a hand-written Jacobian");
  if (wj) {
    int size = wj->check_sizes[0], n = wj->n_in(size);
    char at[64];
    snprintf(at, sizeof at, "d y[1] / d x[1]");
    expect_fail(wj, size, BAD_PARTIAL, (size_t)n + 1, at);
    expect_fail(wj, size, BAD_NAN, (size_t)n + 1, at);
    /* An entry never written where the true entry is 0 (a sparse Jacobian): caught only because the checker
     * fills the engine's buffer with NaN first, not zeros. */
    int m = wj->n_out(size);
    double *x = (double *)calloc((size_t)n, sizeof *x), *y = (double *)calloc((size_t)m, sizeof *y);
    double *data = (double *)calloc((size_t)wj->n_data(size) + 1, sizeof *data);
    double *J = (double *)calloc((size_t)n * m, sizeof *J);
    if (x && y && data && J) {
      wj->init(size, 42, x, data);
      wj->manual_jacobian(size, data, x, y, J);
      size_t zero = 0;
      while (zero < (size_t)n * m && J[zero] != 0) ++zero;
      CHECKF(zero < (size_t)n * m, "%s: no zero entry in its Jacobian", wj->name);
      snprintf(at, sizeof at, "d y[%zu] / d x[%zu]", zero / (size_t)n, zero % (size_t)n);
      if (zero < (size_t)n * m) expect_fail(wj, size, BAD_HOLE, zero, at);
    }
    free(x), free(y), free(data), free(J);
  }

  /* Out of memory: reported as such, counted apart, not a disagreement. */
  ck_tally tn = {0};
  g_mode = BAD_NOMEM;
  fails = run(rosen, 4, &c, &tn, out, sizeof out);
  CHECKF(fails == 0 && tn.nomem == 1 && ck_exit_status(&tn) == CK_EXIT_NOMEM, "nomem: %d fails, %d nomem, exit %d",
         fails, tn.nomem, ck_exit_status(&tn));
  CHECKF(strstr(out, "bad_tape  out of memory") && !strstr(out, "FAIL"), "nomem table:\n%s", out);

  /* A tolerance tightened below rounding fails: the verdict depends on the tolerance. */
  ck_tally tt = {0};
  g_mode = BAD_NONE;
  c.tol[JD_FD] = 1e-30;
  fails = run(rosen, 4, &c, &tt, out, sizeof out);
  CHECKF(fails > 0 && strstr(out, "fd error"), "fd tolerance 1e-30 passes:\n%s", out);
  c.tol[JD_FD] = 0;

  /* The time budget: everything costly skipped, with a message, and counted. */
  ck_tally tb = {0};
  c.max_seconds = 1e-12;
  fails = run(rosen, 4, &c, &tb, out, sizeof out);
  CHECKF(fails == 0 && tb.skipped >= 3 && strstr(out, "over the time budget"), "budget: %d skipped\n%s", tb.skipped,
         out);

  test_replay();
  test_lanes();
  test_json();
  return test_report("test_checker");
}
