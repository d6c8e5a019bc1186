/* test_gb_shim: the C shim over Google Benchmark registers, loops, pauses, counts, reports memory and context,
 * and writes its JSON atomically. Runs a few tiny benchmarks with a short --benchmark_min_time, then reads the
 * JSON they wrote and checks every field the shim is responsible for. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, opendir */

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gb_shim.h"
#include "testkit.h"

#define OUT_FILE "test_gb_shim.json"

/* ---- the benchmarks --------------------------------------------------------------------------------------- */

static volatile double g_sink;

static void bm_args(gb_state *st, void *arg) {
  (void)arg;
  int64_t a = gb_range(st, 0);
  while (gb_keep_running(st)) g_sink += (double)a;
  gb_counter(st, "arg", (double)a, GB_COUNTER_PLAIN);
}

static void bm_counters(gb_state *st, void *arg) {
  int *calls = (int *)arg;
  ++*calls;
  while (gb_keep_running(st)) {
    double s = 0;
    for (int i = 0; i < 100; ++i) s += i * 0.5;
    gb_do_not_optimize(&s);
  }
  int64_t it = gb_iterations(st);
  gb_counter(st, "plain", 42.0, GB_COUNTER_PLAIN);
  gb_counter(st, "avg", 3.0 * (double)it, GB_COUNTER_AVG_ITERATIONS);
  gb_counter(st, "rate", 1000.0, GB_COUNTER_RATE);
  gb_counter(st, "ns_per_item", 5 * 1e-9, GB_COUNTER_TIME_PER);
  gb_counter(st, "replaced", 1.0, GB_COUNTER_PLAIN);
  gb_counter(st, "replaced", 2.0, GB_COUNTER_PLAIN);
  gb_set_items_processed(st, 10 * it);
  gb_set_label(st, "hello label");
}

/* Set-up holds 500 bytes; each iteration allocates 1000 + 3000 bytes and frees them. */
static void bm_memory(gb_state *st, void *arg) {
  (void)arg;
  void *held = ad_malloc(500);
  while (gb_keep_running(st)) {
    void *p = ad_malloc(1000), *q = ad_malloc(3000);
    gb_do_not_optimize(p);
    gb_do_not_optimize(q);
    ad_free(q, 3000);
    ad_free(p, 1000);
  }
  ad_free(held, 500);
}

static double cpu_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Each iteration spends at least 200 us of CPU with the timer paused, then almost nothing timed. */
static void bm_pause(gb_state *st, void *arg) {
  (void)arg;
  while (gb_keep_running(st)) {
    gb_pause_timing(st);
    double t0 = cpu_now();
    while (cpu_now() - t0 < 200e-6) g_sink += 1.0;
    gb_resume_timing(st);
    g_sink += 1.0;
  }
}

static int g_error_seen;
static void bm_error(gb_state *st, void *arg) {
  (void)arg;
  gb_skip_with_error(st, "skipped: on purpose");
  g_error_seen |= gb_error_occurred(st);
}

/* ---- reading the JSON back -------------------------------------------------------------------------------- */

static char *g_json;

static char *read_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *p = (char *)malloc((size_t)n + 1);
  if (p && fread(p, 1, (size_t)n, f) != (size_t)n) {
    free(p);
    p = NULL;
  }
  if (p) p[n] = 0;
  fclose(f);
  return p;
}

/* The text of the JSON object of the benchmark named name (up to its closing brace: benchmark objects hold no
 * nested objects), NUL-terminated in a static buffer; NULL if absent. */
static const char *bench_obj(const char *name) {
  static char buf[8192];
  char key[256];
  snprintf(key, sizeof key, "\"name\": \"%s\",", name);
  const char *p = g_json ? strstr(g_json, key) : NULL;
  if (!p) return NULL;
  const char *e = strchr(p, '}');
  size_t n = e ? (size_t)(e - p) : strlen(p);
  if (n >= sizeof buf) n = sizeof buf - 1;
  memcpy(buf, p, n);
  buf[n] = 0;
  return buf;
}

/* The number after "key": in obj; NAN if absent. */
static double num(const char *obj, const char *key) {
  char k[128];
  snprintf(k, sizeof k, "\"%s\": ", key);
  const char *p = obj ? strstr(obj, k) : NULL;
  return p ? strtod(p + strlen(k), NULL) : NAN;
}

/* Whether obj (or the whole JSON when obj is NULL) has the text "key": value, value written as in JSON. */
static int has(const char *obj, const char *key, const char *value) {
  char k[512];
  snprintf(k, sizeof k, "\"%s\": %s", key, value);
  return strstr(obj ? obj : g_json, k) != NULL;
}

static int close_to(double a, double b, double rel) { return fabs(a - b) <= rel * fabs(b); }

/* ---- main ------------------------------------------------------------------------------------------------- */

static int no_tmp_left(void) {
  DIR *d = opendir(".");
  if (!d) return 0;
  int ok = 1;
  for (struct dirent *e; (e = readdir(d));)
    if (!strncmp(e->d_name, OUT_FILE ".", sizeof OUT_FILE) && strstr(e->d_name, ".tmp")) ok = 0;
  closedir(d);
  return ok;
}

int main(int argc, char **argv) {
  (void)argc;
  int counter_calls = 0;

  /* Registration contracts. */
  CHECKF(gb_register(NULL, bm_args, NULL) == NULL, "NULL name rejected");
  CHECKF(gb_register("", bm_args, NULL) == NULL, "empty name rejected");
  CHECKF(gb_register("x", NULL, NULL) == NULL, "NULL function rejected");
  CHECKF(gb_bench_arg(NULL, 1) == NULL && gb_bench_range(NULL, 1, 2, 2) == NULL &&
             gb_bench_unit(NULL, GB_US) == NULL && gb_bench_real_time(NULL) == NULL &&
             gb_bench_iterations(NULL, 3) == NULL,
         "setters ignore NULL");

  gb_bench *b = gb_register("gbt/args", bm_args, NULL);
  CHECKF(b != NULL, "register");
  CHECKF(gb_bench_range(b, 2, 8, 2) == b, "range returns its benchmark");
  CHECKF(gb_bench_arg(gb_register("gbt/counters", bm_counters, &counter_calls), 7), "arg returns its benchmark");
  gb_register("gbt/memory", bm_memory, NULL);
  gb_bench *pb = gb_register("gbt/pause", bm_pause, NULL);
  CHECKF(gb_bench_iterations(gb_bench_unit(pb, GB_US), 40) == pb, "unit and iterations return their benchmark");
  gb_register("gbt/error", bm_error, NULL);

  CHECKF(gb_add_context("gbt_key", "gbt value") == AD_OK, "context added");
  CHECKF(gb_add_context("gbt_key", "other") == AD_EINVAL, "duplicate context key rejected");
  CHECKF(gb_add_context("date", "today") == AD_EINVAL, "Google Benchmark's own key rejected");
  CHECKF(gb_add_context(NULL, "v") == AD_EINVAL && gb_add_context("k", NULL) == AD_EINVAL, "NULL context rejected");
  gb_memory_manager_enable();
  gb_memory_manager_enable(); /* idempotent */

  /* An unknown flag: exit status 2, nothing run. */
  char *bad_argv[] = {argv[0], (char *)"--benchmark_no_such_flag=1", NULL};
  CHECKF(gb_main(2, bad_argv, NULL) == 2, "unknown flag gives 2");
  CHECKF(counter_calls == 0, "nothing ran after a bad flag");

  /* Bytes held outside any benchmark must not count towards max_bytes_used. */
  void *outside = ad_malloc(10000);
  remove(OUT_FILE);
  char *run_argv[] = {argv[0], (char *)"--benchmark_min_time=0.01", (char *)"--benchmark_out=" OUT_FILE,
                      (char *)"--benchmark_filter=gbt/", NULL};
  /* The console output goes to a file, to read how counters print. */
  fflush(stdout);
  int saved_stdout = dup(1), console = open(OUT_FILE ".console", O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (console >= 0) dup2(console, 1);
  CHECKF(gb_main(4, run_argv, NULL) == 0, "run succeeds");
  fflush(stdout);
  if (saved_stdout >= 0) dup2(saved_stdout, 1), close(saved_stdout);
  if (console >= 0) close(console);
  char *text = read_file(OUT_FILE ".console");
  const char *shown = text ? strstr(text, "ns_per_item=") : NULL;
  char unit[8] = "";
  double shown_v = 0;
  CHECKF(shown != NULL, "console shows the time-per-item counter");
  /* a plain number, perhaps with k, M or G, but no unit: "ns_per_item=20.5", not "20.5s" or "20.5ns" */
  CHECKF(shown && sscanf(shown, "ns_per_item=%lf%7[a-zA-Z]", &shown_v, unit) >= 1 && shown_v > 0 &&
             (unit[0] == 0 || (strchr("kMG", unit[0]) && unit[1] == 0)),
         "time-per-item counter printed as a number, not seconds");
  free(text);
  remove(OUT_FILE ".console");
  ad_free(outside, 10000);
  CHECKF(counter_calls > 0, "benchmark function was called");
  CHECKF(no_tmp_left(), "no temporary file left");
  g_json = read_file(OUT_FILE);
  CHECKF(g_json != NULL, "report written under its name");
  if (!g_json) goto done;

  CHECKF(has(NULL, "gbt_key", "\"gbt value\""), "context entry in report");

  /* Arguments: 2, 4, 8 from the range, each visible to the function. */
  static const char *arg_names[] = {"gbt/args/2", "gbt/args/4", "gbt/args/8"};
  for (int i = 0; i < 3; ++i) {
    const char *o = bench_obj(arg_names[i]);
    CHECKF(o != NULL, "range run present");
    CHECKF(num(o, "arg") == (double)(2 << i), "gb_range sees the argument");
  }

  /* Counters and their flags. */
  const char *o = bench_obj("gbt/counters/7");
  CHECKF(o != NULL, "arg run present");
  double cpu = num(o, "cpu_time"), iters = num(o, "iterations"); /* cpu_time is per iteration, in ns */
  CHECKF(has(o, "time_unit", "\"ns\""), "time unit is ns by default");
  CHECKF(num(o, "plain") == 42.0, "plain counter as set");
  CHECKF(close_to(num(o, "avg"), 3.0, 1e-12), "per-iteration average");
  CHECKF(close_to(num(o, "rate"), 1000.0 / (cpu * iters * 1e-9), 1e-6), "rate: per second of CPU time");
  CHECKF(close_to(num(o, "ns_per_item"), cpu / 5.0, 1e-6), "time per item in ns");
  CHECKF(num(o, "replaced") == 2.0, "last value wins");
  CHECKF(close_to(num(o, "items_per_second"), 10.0 / (cpu * 1e-9), 1e-6), "items per second");
  CHECKF(has(o, "label", "\"hello label\""), "label");

  /* Memory manager: peak above what was held before the run; allocations per iteration of the memory run. */
  o = bench_obj("gbt/memory");
  CHECKF(o != NULL, "memory run present");
  CHECKF(num(o, "max_bytes_used") == 4500.0, "max_bytes_used is the set-up plus one iteration");
  CHECKF(num(o, "net_heap_growth") == 0.0, "net heap growth is zero");
  double total = num(o, "total_allocated_bytes"), mem_iters = (total - 500.0) / 4000.0;
  CHECKF(mem_iters >= 1 && mem_iters == floor(mem_iters), "total bytes: set-up plus whole iterations");
  CHECKF(close_to(num(o, "allocs_per_iter"), (1.0 + 2.0 * mem_iters) / mem_iters, 1e-12), "allocations per iteration");

  /* Paused work is not timed: each iteration spends 200 us paused and almost nothing running. */
  o = bench_obj("gbt/pause/iterations:40"); /* Google Benchmark names a fixed count */
  CHECKF(o != NULL, "pause run present");
  CHECKF(has(o, "time_unit", "\"us\""), "unit set to us");
  CHECKF(num(o, "iterations") == 40.0, "fixed iteration count");
  CHECKF(num(o, "cpu_time") < 100.0, "paused time excluded");

  /* Errors: flagged in the report with their message, and visible to the function. */
  o = bench_obj("gbt/error");
  CHECKF(o != NULL, "error run present");
  CHECKF(has(o, "error_occurred", "true"), "error flagged");
  CHECKF(has(o, "error_message", "\"skipped: on purpose\""), "error message");
  CHECKF(g_error_seen == 1, "gb_error_occurred");

  /* A filter that matches nothing: status 1, the previous results kept, no temporary file. */
  FILE *prev = fopen(OUT_FILE, "w");
  if (prev) fputs("previous", prev), fclose(prev);
  char *none_argv[] = {argv[0], (char *)"--benchmark_out=" OUT_FILE, (char *)"--benchmark_filter=^nomatch$", NULL};
  CHECKF(gb_main(3, none_argv, NULL) == 1, "a filter matching nothing gives 1");
  char *kept = read_file(OUT_FILE);
  CHECKF(kept && !strcmp(kept, "previous"), "previous results kept");
  CHECKF(no_tmp_left(), "no temporary file left after no match");
  free(kept);

done:
  free(g_json);
  remove(OUT_FILE);
  return test_report("test_gb_shim");
}
