// gb_shim.cc: the C interface of gb_shim.h over Google Benchmark's C++ API (version 1.7.1).
#include "gb_shim.h"

#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <memory>
#include <ostream>

#include <cstdio>
#include <cstring>
#include <list>
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

// What gb_init learnt from the --benchmark_* flags before Google Benchmark took them.
static struct {
  std::string out, tmp;              // --benchmark_out (the last one) and the temporary file written instead
  std::string format, out_format;    // --benchmark_format, --benchmark_out_format
  std::string color, tabular;        // --benchmark_color, --benchmark_counters_tabular
  double min_time = -1;              // --benchmark_min_time, -1 if not given
  bool initialised = false;
  std::vector<std::string> args;     // argv as handed to Google Benchmark (it keeps pointers into it)
} gb__flags;

// The temporary file's path for the signal handler (a plain array: the handler may not touch std::string).
static char gb__tmp_path[4096];

extern "C" void gb__on_signal(int sig) {
  if (gb__tmp_path[0]) unlink(gb__tmp_path); // async-signal-safe
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

static void (*gb__catch(int sig))(int) {
  void (*old)(int) = std::signal(sig, gb__on_signal);
  if (old == SIG_IGN) std::signal(sig, SIG_IGN);
  return old;
}

static bool gb__truthy(const std::string &v) {
  return v == "1" || v == "true" || v == "TRUE" || v == "True" || v == "yes" || v == "on" || v == "y" || v == "t";
}

// The console reporter, except that a GB_COUNTER_TIME_PER counter, a plain number (nanoseconds per item) that
// Google Benchmark computes as an inverted rate, prints as the number it is, not as seconds.
class gb__Console : public benchmark::ConsoleReporter {
 public:
  explicit gb__Console(OutputOptions o) : ConsoleReporter(o) {}
  void ReportRuns(const std::vector<Run> &runs) override {
    std::vector<Run> plain(runs);
    const int time_per = benchmark::Counter::kIsRate | benchmark::Counter::kIsIterationInvariant |
                         benchmark::Counter::kInvert;
    for (Run &r : plain)
      for (auto &c : r.counters)
        if ((c.second.flags & time_per) == time_per) c.second.flags = benchmark::Counter::kDefaults;
    ConsoleReporter::ReportRuns(plain);
  }
};

// The file reporter: the reporter --benchmark_out_format names, writing into the stream Google Benchmark opened,
// and remembering whether every write reached it (the stream's state after a flush at the end).
class gb__Checked : public benchmark::BenchmarkReporter {
 public:
  explicit gb__Checked(const std::string &format) {
    if (format == "console") {
      inner_.reset(new gb__Console(benchmark::ConsoleReporter::OO_None));
    } else if (format == "csv") {
      BENCHMARK_DISABLE_DEPRECATED_WARNING
      inner_.reset(new benchmark::CSVReporter());
      BENCHMARK_RESTORE_DEPRECATED_WARNING
    } else {
      inner_.reset(new benchmark::JSONReporter());
    }
  }
  bool ReportContext(const Context &ctx) override {
    inner_->SetOutputStream(&GetOutputStream());
    inner_->SetErrorStream(&GetErrorStream());
    started_ = true;
    bool r = inner_->ReportContext(ctx);
    ok_ = ok_ && GetOutputStream().good();
    return r;
  }
  void ReportRuns(const std::vector<Run> &runs) override {
    inner_->ReportRuns(runs);
    ok_ = ok_ && GetOutputStream().good();
  }
  void Finalize() override {
    inner_->Finalize();
    GetOutputStream().flush();
    ok_ = ok_ && GetOutputStream().good();
    finalized_ = true;
  }
  bool complete() const { return ok_ && finalized_; }
  bool started() const { return started_; } // false after --benchmark_list_tests: nothing was reported

 private:
  std::unique_ptr<benchmark::BenchmarkReporter> inner_;
  bool ok_ = true, finalized_ = false, started_ = false;
};

// The value of --name=value in a, if a is that flag.
static bool gb__flag(const std::string &a, const char *name, std::string *value) {
  std::string prefix = std::string("--") + name + "=";
  if (a.compare(0, prefix.size(), prefix) != 0) return false;
  *value = a.substr(prefix.size());
  return true;
}

int gb_init(int *argc, char **argv, void (*help)(void)) {
  if (!argc || *argc < 1 || !argv) return 2;
  gb__flags.out.clear(), gb__flags.tmp.clear(), gb__flags.format.clear(), gb__flags.out_format.clear();
  gb__flags.color.clear(), gb__flags.tabular.clear(), gb__flags.min_time = -1;
  static const char out_flag[] = "--benchmark_out=";
  std::vector<char *> keep; // the arguments Google Benchmark leaves
  try {
    // Google Benchmark keeps pointers into the arguments it was given (argv[0], the executable's name): an
    // earlier call's arguments stay alive (moving a vector keeps its elements where they are).
    static std::list<std::vector<std::string>> earlier;
    if (!gb__flags.args.empty()) earlier.push_back(std::move(gb__flags.args));
    gb__flags.args.clear();
    for (int i = 0; i < *argc; ++i) {
      std::string a = argv[i] ? argv[i] : "", v;
      gb__flags.args.push_back(a);
      if (gb__flag(a, "benchmark_out", &v)) gb__flags.out = v; // the last one wins
      if (gb__flag(a, "benchmark_format", &v)) gb__flags.format = v;
      if (gb__flag(a, "benchmark_out_format", &v)) gb__flags.out_format = v;
      if (gb__flag(a, "benchmark_color", &v)) gb__flags.color = v;
      if (gb__flag(a, "benchmark_counters_tabular", &v)) gb__flags.tabular = v;
      if (gb__flag(a, "benchmark_min_time", &v)) {
        char *end = nullptr;
        double t = std::strtod(v.c_str(), &end);
        if (end && !*end && t >= 0) gb__flags.min_time = t;
      }
    }
    if (!gb__flags.out.empty()) { // every --benchmark_out names the temporary file; it is renamed at the end
      gb__flags.tmp = gb__flags.out + "." + std::to_string(static_cast<long>(getpid())) + ".tmp";
      if (gb__flags.tmp.size() >= sizeof gb__tmp_path) {
        std::fprintf(stderr, "%s: --benchmark_out: path too long\n", argv[0]);
        return 2;
      }
      for (std::string &a : gb__flags.args)
        if (a.compare(0, sizeof out_flag - 1, out_flag) == 0) a = out_flag + gb__flags.tmp;
    }
  } catch (const std::bad_alloc &) {
    std::fprintf(stderr, "%s: out of memory\n", argv[0] ? argv[0] : "gb_init");
    return 1;
  }
  std::vector<char *> av;
  for (std::string &a : gb__flags.args) av.push_back(&a[0]);
  av.push_back(nullptr);
  int ac = *argc;
  gb__help = help;
  benchmark::Initialize(&ac, av.data(), gb__print_help);
  // Google Benchmark removed its flags from av; map what is left back onto the caller's argv, in order.
  int k = 0;
  for (int i = 0, j = 0; i < ac; ++i) {
    while (j < *argc && av[i] != &gb__flags.args[static_cast<size_t>(j)][0]) ++j;
    if (j < *argc) argv[k++] = argv[j++];
  }
  argv[k] = nullptr;
  *argc = k;
  gb__flags.initialised = true;
  return 0;
}

double gb_min_time_flag(void) { return gb__flags.min_time; }

void gb_default_min_time(double seconds) {
  if (!gb__flags.initialised || gb__flags.args.empty() || gb__flags.min_time >= 0 || !(seconds > 0)) return;
  // Google Benchmark's flags are set only by Initialize: hand it the one flag (the others keep their values).
  // It keeps argv[0] as the executable's name: the copy gb_init made lives until the program ends.
  std::string &prog = gb__flags.args[0], flag = "--benchmark_min_time=";
  char num[64];
  std::snprintf(num, sizeof num, "%.17g", seconds);
  flag += num;
  char *av[] = {&prog[0], &flag[0], nullptr};
  int ac = 2;
  benchmark::Initialize(&ac, av, gb__print_help);
}

// Removes the temporary file (if any) and says why the results file was left as it was.
static int gb__discard(const char *prog, const char *why) {
  if (!gb__flags.tmp.empty()) {
    std::remove(gb__flags.tmp.c_str());
    std::fprintf(stderr, "%s: %s; %s left as it was\n", prog, why, gb__flags.out.c_str());
  } else {
    std::fprintf(stderr, "%s: %s\n", prog, why);
  }
  return 1;
}

// Whether the file at path holds something and reaches the disk (fsync); errno-style message in *why if not.
static bool gb__synced(const std::string &path, const char **why) {
  int fd = open(path.c_str(), O_RDONLY);
  if (fd < 0) return *why = "the results file disappeared", false;
  struct stat sb;
  bool ok = fstat(fd, &sb) == 0 && sb.st_size > 0;
  if (!ok) *why = "the results file is empty";
  else if (fsync(fd) != 0) ok = false, *why = "the results file could not be synced to disk";
  close(fd);
  return ok;
}

int gb_run(void) {
  const char *prog = gb__flags.args.empty() ? "gb_run" : gb__flags.args[0].c_str();
  if (!gb__flags.initialised) return 2;
  bool has_out = !gb__flags.tmp.empty();
  if (has_out) std::snprintf(gb__tmp_path, sizeof gb__tmp_path, "%s", gb__flags.tmp.c_str());
  // Signals that end the process remove the temporary file first (SIGXFSZ: past RLIMIT_FSIZE); an ignored one
  // (nohup, or SIGXFSZ ignored so that writes fail instead) stays ignored.
  void (*old_int)(int) = gb__catch(SIGINT), (*old_term)(int) = gb__catch(SIGTERM);
  void (*old_hup)(int) = gb__catch(SIGHUP), (*old_xfsz)(int) = gb__catch(SIGXFSZ);
  size_t matched = 0;
  bool complete = true, listed = false;
  try {
    std::unique_ptr<benchmark::BenchmarkReporter> display;
    if (gb__flags.format.empty() || gb__flags.format == "console") {
      bool color = gb__flags.color.empty() || gb__flags.color == "auto"
                       ? isatty(fileno(stdout)) && std::getenv("TERM") && std::strcmp(std::getenv("TERM"), "dumb")
                       : gb__truthy(gb__flags.color);
      int o = (color ? benchmark::ConsoleReporter::OO_Color : 0) |
              (gb__truthy(gb__flags.tabular) ? benchmark::ConsoleReporter::OO_Tabular : 0);
      display.reset(new gb__Console(static_cast<benchmark::ConsoleReporter::OutputOptions>(o)));
    }
    std::unique_ptr<gb__Checked> file;
    if (has_out) file.reset(new gb__Checked(gb__flags.out_format));
    matched = benchmark::RunSpecifiedBenchmarks(display.get(), file.get());
    complete = !file || file->complete();
    listed = file && !file->started(); // --benchmark_list_tests: names only, no results to keep
  } catch (const std::bad_alloc &) {
    complete = false;
  }
  static bool shutdown_registered = false; // Shutdown frees the custom context and may run only once: at exit
  if (!shutdown_registered) shutdown_registered = std::atexit([] { benchmark::Shutdown(); }) == 0;
  int rc = 0;
  const char *why = nullptr;
  if (matched == 0) rc = gb__discard(prog, "no benchmark matched the filter");
  else if (listed) std::remove(gb__flags.tmp.c_str());
  else if (!complete) rc = gb__discard(prog, "writing the results failed (disk full?)");
  else if (has_out && !gb__synced(gb__flags.tmp, &why)) rc = gb__discard(prog, why);
  else if (has_out && std::rename(gb__flags.tmp.c_str(), gb__flags.out.c_str()) != 0)
    rc = gb__discard(prog, "cannot move the results into place");
  gb__tmp_path[0] = '\0';
  std::signal(SIGINT, old_int), std::signal(SIGTERM, old_term), std::signal(SIGHUP, old_hup);
  std::signal(SIGXFSZ, old_xfsz);
  return rc;
}

int gb_main(int argc, char **argv, void (*help)(void)) {
  int rc = gb_init(&argc, argv, help);
  if (rc != 0) return rc;
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  return gb_run();
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
