// gb_shim.cc: the C interface of gb_shim.h over Google Benchmark's C++ API (version 1.7.1).
#include "gb_shim.h"

#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <new>
#include <string>
#include <vector>

// A gb_state is a benchmark::State and a gb_bench a benchmark::internal::Benchmark; neither C type is defined.
static benchmark::State &gb__st(gb_state *st) { return *reinterpret_cast<benchmark::State *>(st); }
static const benchmark::State &gb__st(const gb_state *st) { return *reinterpret_cast<const benchmark::State *>(st); }
static benchmark::internal::Benchmark *gb__b(gb_bench *b) { return reinterpret_cast<benchmark::internal::Benchmark *>(b); }

// ---- Registration ---------------------------------------------------------------------------------------------

gb_bench *gb_register(const char *name, gb_fn fn, void *arg) {
  if (!name || !*name || !fn) return nullptr;
  try {
    benchmark::internal::Benchmark *b = benchmark::RegisterBenchmark(
        name, [fn, arg](benchmark::State &st) { fn(reinterpret_cast<gb_state *>(&st), arg); });
    return reinterpret_cast<gb_bench *>(b);
  } catch (const std::bad_alloc &) {
    return nullptr;
  }
}

gb_bench *gb_bench_arg(gb_bench *b, int64_t a) {
  if (b) gb__b(b)->Arg(a);
  return b;
}

gb_bench *gb_bench_range(gb_bench *b, int64_t lo, int64_t hi, int mult) {
  if (b && mult >= 2 && 0 <= lo && lo <= hi) gb__b(b)->RangeMultiplier(mult)->Range(lo, hi);
  return b;
}

gb_bench *gb_bench_unit(gb_bench *b, gb_time_unit u) {
  static const benchmark::TimeUnit units[] = {benchmark::kNanosecond, benchmark::kMicrosecond,
                                              benchmark::kMillisecond, benchmark::kSecond};
  if (b && u >= GB_NS && u <= GB_S) gb__b(b)->Unit(units[u]);
  return b;
}

gb_bench *gb_bench_real_time(gb_bench *b) {
  if (b) gb__b(b)->UseRealTime();
  return b;
}

gb_bench *gb_bench_iterations(gb_bench *b, int64_t n) {
  if (b && n >= 1) gb__b(b)->Iterations(n);
  return b;
}

// Keys the JSON reporter writes into "context" itself: a custom key with one of these names would duplicate it.
static const char *const gb__builtin_context[] = {"date", "host_name", "executable", "num_cpus", "mhz_per_cpu",
                                                  "cpu_scaling_enabled", "caches", "load_avg",
                                                  "library_build_type", "json_schema_version"};

ad_status gb_add_context(const char *key, const char *value) {
  if (!key || !value) return AD_EINVAL;
  for (const char *k : gb__builtin_context)
    if (std::strcmp(k, key) == 0) return AD_EINVAL;
  try {
    std::map<std::string, std::string> *ctx = benchmark::internal::GetGlobalContext();
    if (ctx && ctx->count(key)) return AD_EINVAL;
    benchmark::AddCustomContext(key, value);
  } catch (const std::bad_alloc &) {
    return AD_ENOMEM;
  }
  return AD_OK;
}

// Reports the engines' allocations (ad_malloc and friends) for the memory run of each benchmark.
class gb__AdAllocMemoryManager : public benchmark::MemoryManager {
 public:
  void Start() override {
    ad_alloc_reset_stats();
    start_ = ad_alloc_get_stats();
  }
  void Stop(Result &r) override {
    ad_alloc_stats s = ad_alloc_get_stats();
    r.num_allocs = static_cast<int64_t>(s.allocs);
    r.max_bytes_used = s.bytes_peak - start_.bytes_now;
    r.total_allocated_bytes = static_cast<int64_t>(s.bytes_total);
    r.net_heap_growth = s.bytes_now - start_.bytes_now;
  }
  void Stop(Result *r) override { Stop(*r); }

 private:
  ad_alloc_stats start_ = {};
};

void gb_memory_manager_enable(void) {
  static gb__AdAllocMemoryManager mm;
  benchmark::RegisterMemoryManager(&mm);
}

// ---- Running ----------------------------------------------------------------------------------------------------

static void (*gb__help)(void);

static void gb__print_help() {
  benchmark::PrintDefaultHelp();
  if (gb__help) gb__help();
}

int gb_main(int argc, char **argv, void (*help)(void)) {
  static const char out_flag[] = "--benchmark_out=";
  const size_t out_len = sizeof out_flag - 1;
  std::string out, tmp;
  std::vector<std::string> args;
  std::vector<char *> av;
  try {
    for (int i = 0; i < argc; ++i) {
      args.push_back(argv[i] ? argv[i] : "");
      if (args.back().compare(0, out_len, out_flag) == 0) out = args.back().substr(out_len); // the last one wins
    }
    if (!out.empty()) { // every --benchmark_out names the temporary file; the last one is renamed at the end
      tmp = out + "." + std::to_string(static_cast<long>(getpid())) + ".tmp";
      for (std::string &a : args)
        if (a.compare(0, out_len, out_flag) == 0) a = out_flag + tmp;
    }
    for (std::string &a : args) av.push_back(&a[0]);
    av.push_back(nullptr);
  } catch (const std::bad_alloc &) {
    std::fprintf(stderr, "%s: out of memory\n", argc > 0 && argv[0] ? argv[0] : "gb_main");
    return 1;
  }
  int ac = argc;
  gb__help = help;
  benchmark::Initialize(&ac, av.data(), gb__print_help);
  if (benchmark::ReportUnrecognizedArguments(ac, av.data())) return 2;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  if (!tmp.empty() && access(tmp.c_str(), F_OK) == 0 && std::rename(tmp.c_str(), out.c_str()) != 0) {
    std::fprintf(stderr, "%s: cannot move %s to %s\n", av[0], tmp.c_str(), out.c_str());
    std::remove(tmp.c_str());
    return 1;
  }
  return 0;
}

// ---- Inside a benchmark function ------------------------------------------------------------------------------

int gb_keep_running(gb_state *st) { return gb__st(st).KeepRunning() ? 1 : 0; }
void gb_pause_timing(gb_state *st) { gb__st(st).PauseTiming(); }
void gb_resume_timing(gb_state *st) { gb__st(st).ResumeTiming(); }
int64_t gb_range(const gb_state *st, int i) { return gb__st(st).range(static_cast<size_t>(i)); }
int64_t gb_iterations(const gb_state *st) { return gb__st(st).iterations(); }

void gb_counter(gb_state *st, const char *name, double v, int flags) {
  if (!name) return;
  int f = benchmark::Counter::kDefaults;
  if (flags & GB_COUNTER_RATE) f |= benchmark::Counter::kIsRate;
  if (flags & GB_COUNTER_ITER_INVARIANT) f |= benchmark::Counter::kIsIterationInvariant;
  if (flags & GB_COUNTER_AVG_ITERATIONS) f |= benchmark::Counter::kAvgIterations;
  if (flags & GB_COUNTER_INVERT) f |= benchmark::Counter::kInvert;
  try {
    gb__st(st).counters[name] = benchmark::Counter(v, static_cast<benchmark::Counter::Flags>(f));
  } catch (const std::bad_alloc &) { // the counter is left out of the report
  }
}

void gb_set_items_processed(gb_state *st, int64_t items) {
  try {
    gb__st(st).SetItemsProcessed(items);
  } catch (const std::bad_alloc &) {
  }
}

void gb_set_bytes_processed(gb_state *st, int64_t bytes) {
  try {
    gb__st(st).SetBytesProcessed(bytes);
  } catch (const std::bad_alloc &) {
  }
}

void gb_set_label(gb_state *st, const char *label) {
  try {
    gb__st(st).SetLabel(label ? label : "");
  } catch (const std::bad_alloc &) {
  }
}

void gb_skip_with_error(gb_state *st, const char *msg) { gb__st(st).SkipWithError(msg ? msg : "error"); }
int gb_error_occurred(const gb_state *st) { return gb__st(st).error_occurred() ? 1 : 0; }

void gb_do_not_optimize(const void *p) { benchmark::DoNotOptimize(p); }
