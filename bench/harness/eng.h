/* eng.h: the engine registry: one calling convention for every engine (adlab's own and the peer AD tools), so
 * the checker, the benchmarks and the tests treat engines alike.
 *
 *   const eng_api *e = eng_find("tape");
 *   eng_session *s = e->open(wl_find("rosenbrock"), 1000, data);
 *   e->jacobian(s, x, y, g);                  // value and full gradient (record + reverse sweep)
 *   e->close(s);
 *
 * Each engine's adapter (bench/adapters/eng_<name>.c, bench/peers/eng_<peer>.cc) compiles every workload with that engine's ops inlined; the calls
 * below cost one indirect call per evaluation, never per op.
 */
#ifndef ENG_H
#define ENG_H

#include "../../engines/ad.h"
#include "wl.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ENG_LIST(X) X(primal) X(dual) X(tape) X(tape_op) X(graph) X(replay)

typedef enum eng_kind { ENG_PRIMAL, ENG_FORWARD, ENG_REVERSE } eng_kind;

typedef struct eng_session eng_session; /* engine-specific */

typedef struct eng_stats {
  uint64_t nodes;      /* ops of the last recording (graph nodes), inputs excluded: counted by the graph and replay
                        * engines, the workload's count for the tape (which folds ops); 0 for primal and dual */
  uint64_t statements; /* statements it recorded, inputs excluded: nodes, or fewer where the tape preaccumulates */
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
  /* Vector modes: value y and Jacobian J (as jacobian) with `lanes` directions per pass (forward) or per reverse sweep (reverse), lanes one of 1, 2, 4, 8, 16; AD_EINVAL for another count. NULL: no vector mode. */
  ad_status (*jacobian_lanes)(eng_session *s, int lanes, const double *x, double *y, double *J);

  /* ---- peers: other AD tools behind the same calling convention (bench/peers/); all zero for adlab's own ---- */
  const char *tool;    /* the tool ("ADOL-C", "Sacado", "Ceres", "libtorch"); NULL for adlab's own engines */
  const char *version; /* the tool's version, from its headers and its Debian package */
  const char *about;   /* one line: which of the tool's AD modes the adapter runs, and how */
  double tol;          /* relative tolerance of its values and derivatives against adlab's engines (its own
                        * elementary functions round differently); 0 for adlab's engines (judge.h's tolerances) */
  /* Why the tool cannot run workload w at size (too slow, too much memory, no vectorised form), or NULL. NULL
   * pointer: it runs everything. */
  const char *(*skip)(const wl_info *w, int size);
} eng_api;

#define ENG__X(name) extern const eng_api eng_##name;
ENG_LIST(ENG__X)
#undef ENG__X

extern const eng_api *const eng_all[]; /* adlab's own engines (ENG_LIST), then the peers built in */
extern const int eng_count;
extern const int eng_own_count;          /* eng_all[0 .. eng_own_count) are adlab's own engines */

/* The engine named name, or NULL. */
const eng_api *eng_find(const char *name);

/* 1 if e is a peer AD tool (e->tool set), 0 for adlab's own engines and for NULL. */
int eng_is_peer(const eng_api *e);

/* Why engine e does not run workload w at size (a peer's own limit), or NULL if it runs. */
const char *eng_skip_reason(const eng_api *e, const wl_info *w, int size);

#ifdef __cplusplus
}
#endif
#endif
