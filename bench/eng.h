/* eng.h: one calling convention for every engine, so the checker and the benchmarks treat engines alike.
 *
 *   const eng_api *e = eng_find("tape");
 *   eng_session *s = e->open(wl_find("rosenbrock"), 1000, data);
 *   e->jacobian(s, x, y, g);                  // value and full gradient (record + reverse sweep)
 *   e->close(s);
 *
 * Each engine's adapter (bench/eng_<name>.c) compiles every workload with that engine's ops inlined; the calls
 * below cost one indirect call per evaluation, never per op.
 */
#ifndef ENG_H
#define ENG_H

#include "../engines/ad.h"
#include "wl.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ENG_LIST(X) X(primal) X(dual) X(tape) X(graph) X(replay)

typedef enum eng_kind { ENG_PRIMAL, ENG_FORWARD, ENG_REVERSE } eng_kind;

typedef struct eng_session eng_session; /* engine-specific */

typedef struct eng_stats {
  uint64_t nodes;      /* nodes (statements) of the last recording, inputs excluded; 0 for primal and dual */
  uint64_t args;       /* recorded arguments (edges) */
  uint64_t bytes_used; /* bytes the last recording occupies */
  uint64_t bytes_held; /* bytes the engine holds now */
} eng_stats;

typedef struct eng_api {
  const char *name;
  eng_kind kind;
  /* A session for workload w at size with constant data (borrowed: must outlive the session). NULL on ENOMEM. */
  eng_session *(*open)(const wl_info *w, int size, const double *data);
  void (*close)(eng_session *s); /* NULL is ignored */
  /* Evaluates f(x) into y. Reverse engines record, keeping the recording for vjp. */
  ad_status (*value)(eng_session *s, const double *x, double *y);
  /* Value and full Jacobian J (n_out x n_in, row-major); for n_out == 1, the gradient. */
  ad_status (*jacobian)(eng_session *s, const double *x, double *y, double *J);
  /* Forward engines: y = f(x) and jv = J v in one pass. NULL elsewhere. */
  ad_status (*jvp)(eng_session *s, const double *x, const double *v, double *y, double *jv);
  /* Reverse engines: wJ = w^T J by one reverse sweep over the recording made by the last value() call; can be
   * repeated on the same recording. NULL elsewhere. */
  ad_status (*vjp)(eng_session *s, const double *w, double *wJ);
  eng_stats (*stats)(eng_session *s);
  /* Static-graph engines: value y and Jacobian J at x (as jacobian) by re-evaluating the recording made by the
   * last value() or jacobian() call, with no re-recording: a forward replay, then one reverse sweep per output.
   * AD_EGUARD if control flow at x would differ from the recording (call value() or jacobian() to record
   * again); y and J are then unspecified. AD_ESTATE without a recording. NULL elsewhere. */
  ad_status (*replay)(eng_session *s, const double *x, double *y, double *J);
} eng_api;

#define ENG__X(name) extern const eng_api eng_##name;
ENG_LIST(ENG__X)
#undef ENG__X

extern const eng_api *const eng_all[]; /* adlab's own engines (ENG_LIST), then the peers built in */
extern const int eng_count;
extern const int eng_own_count;          /* eng_all[0 .. eng_own_count) are adlab's own engines */

/* The engine named name, or NULL. */
const eng_api *eng_find(const char *name);

/* How far a is from the reference b: max |a - b| / max |b| over n entries (absolute when b is all zeros); NaN
 * anywhere gives NaN. The measure every agreement check in adlab uses. */
double eng_rel_err(const double *a, const double *b, size_t n);

#ifdef __cplusplus
}
#endif
#endif
