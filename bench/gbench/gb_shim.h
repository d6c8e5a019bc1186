/* gb_shim.h: Google Benchmark (the 1.7.1 API) from C: register benchmarks, time them, count, report in JSON.
 *
 *   static void bm_sum(gb_state *st, void *arg) {
 *     int n = (int)gb_range(st, 0);                    // this run's argument
 *     double *v = make_vector(n);                      // set-up before the loop is not timed
 *     while (gb_keep_running(st)) gb_do_not_optimize(sum(v, n));
 *     gb_counter(st, "ns_per_item", n * 1e-9, GB_COUNTER_TIME_PER); // time per item, in ns
 *     free(v);
 *   }
 *   int main(int argc, char **argv) {
 *     gb_bench_arg(gb_bench_arg(gb_register("sum", bm_sum, NULL), 1000), 100000);  // sum/1000, sum/100000
 *     gb_memory_manager_enable();                      // allocations and peak bytes from ad_malloc
 *     return gb_main(argc, argv, NULL);                // every --benchmark_* flag works
 *   }
 *
 * The loop: Google Benchmark calls a benchmark function several times (to find an iteration count that runs for
 * --benchmark_min_time, once per repetition, and once more for the memory manager), so set-up belongs before
 * the loop and must be repeatable. Timing runs from the first gb_keep_running to the last; gb_pause_timing and
 * gb_resume_timing exclude work inside the loop.
 *
 * Counters are Google Benchmark's user counters, written into the JSON next to the times. Their flags say how
 * the value is finished after the run (see gb_counter_flags); the last value set for a name wins.
 *
 * Memory: gb_memory_manager_enable installs a MemoryManager that reads adlab's allocation counters (ad.h), so
 * every result gains allocs_per_iter, max_bytes_used (the peak, during the memory run, of the bytes engines held
 * above what they held when it started), total_allocated_bytes and net_heap_growth. Google Benchmark makes the
 * memory run a separate call of the benchmark function with at most 16 iterations, after the timed runs.
 *
 * Output: --benchmark_out=FILE is written atomically: into FILE.<pid>.tmp, renamed to FILE only when the run is
 * complete, every write reached the file (the stream's state is checked after a final flush) and the file is
 * synced to disk. A run that matched no benchmark, failed to write or was stopped by SIGINT, SIGTERM or SIGHUP
 * removes the temporary file and leaves FILE as it was; the first two exit non-zero.
 *
 * Console: a GB_COUNTER_TIME_PER counter is a plain number (time per item in ns) and prints as one, not in seconds.
 *
 * A program with flags of its own calls gb_init (which takes the --benchmark_* flags out of argv), parses what
 * is left (getopt_long), registers, then calls gb_run; gb_main does both for a program with no flags of its own.
 */
#ifndef GB_SHIM_H
#define GB_SHIM_H

#include <stdint.h>

#include "../engines/ad.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gb_state gb_state; /* one run of a benchmark function (a benchmark::State) */
typedef struct gb_bench gb_bench; /* a registered benchmark (a benchmark::internal::Benchmark) */

/* A benchmark function: st is valid for the call only; arg is what was given to gb_register. */
typedef void (*gb_fn)(gb_state *st, void *arg);

/* ---- Registration (before gb_main) ----------------------------------------------------------------------- */

/* Registers fn under name (copied). arg is passed to every call and is borrowed: it must live until gb_main
 * returns. Returns the benchmark (owned by Google Benchmark, valid until the program ends) for the setters
 * below; NULL if name or fn is NULL, name is empty, or memory is exhausted. */
gb_bench *gb_register(const char *name, gb_fn fn, void *arg);

/* Adds one run with argument a (Google Benchmark's Arg): the run is named "<name>/<a>" and gb_range(st, 0)
 * returns a. Returns b; NULL is ignored and returned. */
gb_bench *gb_bench_arg(gb_bench *b, int64_t a);

/* Adds runs for lo, lo * mult, lo * mult^2, ... and hi (Google Benchmark's RangeMultiplier and Range). mult must
 * be at least 2 and 0 <= lo <= hi; otherwise nothing is added. Returns b; NULL is ignored and returned. */
gb_bench *gb_bench_range(gb_bench *b, int64_t lo, int64_t hi, int mult);

typedef enum gb_time_unit { GB_NS, GB_US, GB_MS, GB_S } gb_time_unit;
/* The unit its times are reported in (default: nanoseconds). Returns b; NULL is ignored and returned. */
gb_bench *gb_bench_unit(gb_bench *b, gb_time_unit u);

/* Times by wall clock instead of the process's CPU time (rates then use wall time). Returns b. */
gb_bench *gb_bench_real_time(gb_bench *b);

/* Runs exactly n iterations (n >= 1), whatever --benchmark_min_time says: for work too slow or too uneven to
 * calibrate. Returns b; NULL and n < 1 are ignored. */
gb_bench *gb_bench_iterations(gb_bench *b, int64_t n);

/* Adds key: value to the "context" block of the report (both copied). AD_EINVAL if key or value is NULL or the
 * key is already set (by this call or by Google Benchmark itself, such as "date"), AD_ENOMEM if memory is
 * exhausted; AD_OK otherwise. */
ad_status gb_add_context(const char *key, const char *value);

/* Installs the memory manager reading ad_alloc_get_stats (see the header comment). Idempotent. */
void gb_memory_manager_enable(void);

/* ---- Running ------------------------------------------------------------------------------------------------ */

/* Parses and removes every --benchmark_* flag from argv (all of Google Benchmark's flags work; --help prints
 * them, then calls help if not NULL, and exits 0), leaving argv[0] and the other arguments in order in
 * argv[0 .. *argc), argv[*argc] = NULL. Call before gb_run (again before each further gb_run). Returns 0; 2 if
 * argv is empty; 1 if memory is exhausted. */
int gb_init(int *argc, char **argv, void (*help)(void));

/* The value of --benchmark_min_time given to gb_init, or -1 if none was given. */
double gb_min_time_flag(void);

/* Sets --benchmark_min_time to seconds unless the command line gave it (a program's own default, chosen after
 * its flags are parsed). Call after gb_init; seconds <= 0 is ignored. */
void gb_default_min_time(double seconds);

/* Runs the benchmarks the filter selects and writes the reports (see Output above). Returns 0 after a complete
 * run; 1 if no benchmark matched, the results could not be written in full or moved into place, or memory is
 * exhausted; 2 if gb_init was not called. */
int gb_run(void);

/* gb_init, then gb_run, for a program with no flags of its own. Returns gb_run's status, or 2 for an argument
 * it does not know (reported on stderr by Google Benchmark). */
int gb_main(int argc, char **argv, void (*help)(void));

/* ---- Inside a benchmark function ------------------------------------------------------------------------ */

/* Whether to run one more iteration: `while (gb_keep_running(st)) { ...work... }`. Starts the timer on the
 * first call and stops it when it returns 0. */
int gb_keep_running(gb_state *st);

/* Stops and restarts the timer inside the loop (for per-iteration set-up). Calls must alternate, pause first. */
void gb_pause_timing(gb_state *st);
void gb_resume_timing(gb_state *st);

/* The i-th argument of this run (see gb_bench_arg); i must be below the number of arguments. */
int64_t gb_range(const gb_state *st, int i);

/* The iterations this run will have done when the loop ends (0 before the loop starts). */
int64_t gb_iterations(const gb_state *st);

/* How a counter's value is finished after the run (Google Benchmark's Counter::Flags). Combine with |. */
typedef enum gb_counter_flags {
  GB_COUNTER_PLAIN = 0,           /* reported as set */
  GB_COUNTER_RATE = 1,            /* divided by the run's time in seconds: per second */
  GB_COUNTER_ITER_INVARIANT = 4,  /* multiplied by the iterations: the value was per iteration */
  GB_COUNTER_AVG_ITERATIONS = 8,  /* divided by the iterations: an average per iteration */
  GB_COUNTER_INVERT = 1 << 30,    /* inverted at the end: 1 / value */
  /* Time per item in seconds divided by the value's scale: set value = items per iteration * 1e-9 to get
   * nanoseconds per item (seconds / (iterations * items * 1e-9)). */
  GB_COUNTER_TIME_PER = GB_COUNTER_RATE | GB_COUNTER_ITER_INVARIANT | GB_COUNTER_INVERT
} gb_counter_flags;

/* Sets the user counter name (copied) to v with flags (a combination of gb_counter_flags). If memory is
 * exhausted the counter is left out of the report; the same holds for the three setters below. */
void gb_counter(gb_state *st, const char *name, double v, int flags);

/* Items (or bytes) processed in the whole run: reported as items_per_second (bytes_per_second). */
void gb_set_items_processed(gb_state *st, int64_t items);
void gb_set_bytes_processed(gb_state *st, int64_t bytes);

/* A label shown next to the result (copied). */
void gb_set_label(gb_state *st, const char *label);

/* Marks this run as failed with msg (copied): the report says error_occurred and error_message, and has no
 * times. Call before the loop, or leave the loop after calling it. */
void gb_skip_with_error(gb_state *st, const char *msg);
/* Whether gb_skip_with_error was called in this run. */
int gb_error_occurred(const gb_state *st);

/* Makes the compiler assume the memory at p is read and may be written, so work feeding it is not removed. */
void gb_do_not_optimize(const void *p);

#ifdef __cplusplus
}
#endif
#endif
