/* wl.h: workloads, written once against the op interface (engines/ad.h) and compiled once per engine.
 *
 *   const wl_info *w = wl_find("rosenbrock");
 *   int n = w->n_in(1000);                              // inputs at size 1000
 *   double *x = malloc(n * sizeof *x), *data = ...;    // data: w->n_data(1000) doubles
 *   w->init(1000, 42, x, data);                         // deterministic inputs from seed 42
 *   w->manual(1000, data, x, &f, g);                    // hand-written gradient, where there is one
 *
 * A workload file (bench/workloads/<name>.c) has two parts:
 *  - under `#ifdef WL_META`, compiled once: sizes, input generator, manual gradient, and its wl_info;
 *  - otherwise, compiled once per engine after that engine's <engine>_ops.h: the function itself,
 *      static void WL_FN(name)(ad_ctx *c, int size, const double *data, const ad_t *x, ad_t *y, ad_t *s)
 *    which reads inputs x[0..n_in), writes outputs y[0..n_out), and may use s[0..n_scratch) as scratch.
 * The engine part must be valid C11 and C++17 (no compound literals, designated initialisers or VLAs), so that
 * C++ AD tools can compile the same source with operator-overloading types behind the same names.
 */
#ifndef WL_H
#define WL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The workloads, in report order. Add a line here and a file in bench/workloads/ to add one. */
#define WL_LIST(X) X(seed) X(chain) X(rosenbrock) X(poly) X(mlp) X(branchy) X(gmm) X(ba) X(lstm) X(det) X(lse) \
  X(ode) X(ode_adapt) X(llsq) X(mix) X(recur) X(rosenbrock_t) X(lse_t) X(llsq_t) X(mlp_t) \
  X(gmm_t) X(lstm_t) X(ode_t)

typedef enum wl_id {
#define WL__X(name) WL_##name,
  WL_LIST(WL__X)
#undef WL__X
  WL_COUNT
} wl_id;

typedef struct wl_info {
  wl_id id;
  const char *name;
  const char *doc;               /* one line: what it computes */
  int check_sizes[2];            /* small and medium sizes for the agreement checks */
  int max_size;                  /* largest size the workload supports */
  int (*n_in)(int size);         /* independent inputs */
  int (*n_out)(int size);        /* outputs (1 for a scalar objective) */
  int (*n_data)(int size);       /* constant data, doubles */
  int (*n_scratch)(int size);    /* scratch variables the function may use */
  double (*nodes)(int size);     /* graph nodes recorded (exact, or typical for input-dependent ones) */
  /* Fills x[n_in] and data[n_data] deterministically from seed (see wl_rng). */
  void (*init)(int size, uint64_t seed, double *x, double *data);
  /* Hand-written value and gradient for n_out == 1; NULL if the workload has none. */
  void (*manual)(int size, const double *data, const double *x, double *f, double *g);
  /* Hand-written value y[n_out] and Jacobian J (n_out x n_in, row-major) for n_out > 1; NULL if none. */
  void (*manual_jacobian)(int size, const double *data, const double *x, double *y, double *J);
  /* 1: the sizes enumerate Jacobian shapes (n_in, n_out) rather than growing one problem: adbench runs its
   * forward-vs-reverse crossover grid of shapes on it instead of node targets (plan.h). */
  int grid;
} wl_info;

extern const wl_info *const wl_all[WL_COUNT];

/* The workload named name, or NULL. */
const wl_info *wl_find(const char *name);

/* The smallest size whose node count reaches nodes (clamped to [1, max_size]). */
int wl_size_for_nodes(const wl_info *w, double nodes);

/* ---- deterministic inputs ----
 * SplitMix64 (Steele, Lea, Flood 2014): state += 0x9E3779B97F4A7C15, then the mix below. A uniform double in
 * [0, 1) is the top 53 bits times 2^-53. Any tool can reproduce adlab's inputs from the seed with these lines. */
typedef struct wl_rng { uint64_t s; } wl_rng;

static inline uint64_t wl_rng_next(wl_rng *r) {
  uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
/* Uniform in [lo, hi). */
static inline double wl_rng_uniform(wl_rng *r, double lo, double hi) {
  return lo + (hi - lo) * ((double)(wl_rng_next(r) >> 11) * 0x1.0p-53);
}

/* 1 for a workload in tensor form (named <workload>_t, written against the arrays of engines/ad_array.h). */
int wl_is_tensor(const wl_info *w);

/* The elements of a tensor-form workload and of its scalar twin at size (the unit of adbench's per-element
 * counters): the elements of the workload's largest array (rosenbrock, lse: the n inputs; llsq: the n x 128 data
 * matrix; mlp: the H x 4 first-layer weights), its inputs for a tensor form not listed in meta.c. 0 for a workload
 * that is neither a tensor form nor the twin of one. */
double wl_elements(const wl_info *w, int size);

#ifdef __cplusplus
}
#endif

/* Name of a workload function in an engine build. */
#define WL_FN(name) wl_fn_##name

/* A tensor-form workload in a build whose engine has no arrays (a peer tool's adapter): a function that is never
 * run, since eng_skip_reason skips tensor workloads for peers (unless eng_api.tensors: a program of their own). */
#define WL_NO_ARRAYS(name)                                                                                     \
  static void WL_FN(name)(ad_ctx *c, int size, const double *data, const ad_t *x, ad_t *y, ad_t *s) {          \
    (void)c, (void)size, (void)data, (void)x, (void)y, (void)s;                                                \
  }

#endif
