/* peers.h: established C++ AD tools (ADOL-C, Sacado, Ceres, libtorch) behind eng.h, beside adlab's engines.
 *
 *   for (int i = 0; i < eng_count; ++i) {
 *     const eng_api *e = eng_all[i];
 *     if (eng_is_peer(e)) printf("%s is %s %s: %s\n", e->name, e->tool, e->version, e->about);
 *     const char *why = eng_skip_reason(e, wl_find("chain"), 1000000);
 *     if (why) printf("skipped: %s\n", why);                 // too slow or too large for this tool
 *   }
 *
 * Each peer is one C++ adapter, bench/peers/eng_<peer>.cc, that defines ad_t as the tool's own scalar type, the
 * ops of ad_ops.def as the tool's own operators and functions (peer_ops.hh), and compiles every workload for it
 * through eng_session.inc. An adapter is built only when CMake finds its tool (-DADLAB_PEERS=ON), which defines
 * ADLAB_HAVE_<TOOL>; the built ones join eng_all (bench/harness/eng.c) through PEER_LIST and run in adcheck and the
 * benchmarks like any engine. Peers compute values with their own elementary functions, so their values and
 * derivatives agree with adlab's to rounding (PEER_TOL), not bit for bit.
 */
#ifndef PEERS_H
#define PEERS_H

#include "../harness/eng.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The peers built into this binary, in report order. */
#ifdef ADLAB_HAVE_ADOLC
#define PEER__ADOLC(X) X(adolc) X(adolc_tl)
#else
#define PEER__ADOLC(X)
#endif
#ifdef ADLAB_HAVE_SACADO
#define PEER__SACADO(X) X(sacado_rad) X(sacado_sfad)
#else
#define PEER__SACADO(X)
#endif
#ifdef ADLAB_HAVE_CERES
#define PEER__CERES(X) X(ceres_jet)
#else
#define PEER__CERES(X)
#endif
#ifdef ADLAB_HAVE_TORCH
#define PEER__TORCH(X) X(torch) X(torch_vec)
#else
#define PEER__TORCH(X)
#endif
#define PEER_LIST(X) PEER__ADOLC(X) PEER__SACADO(X) PEER__CERES(X) PEER__TORCH(X)

#define PEER__X(name) extern const eng_api eng_##name;
PEER_LIST(PEER__X)
#undef PEER__X

/* Relative tolerance for a peer's value and derivatives against adlab's engines and the manual gradients:
 * the tools' elementary functions (glibc's, libtorch's) differ from SLEEF's by up to an ulp or so per call, and
 * those differences propagate through the graph. 1e-10 leaves a wide margin above what the check workloads show
 * (see bench/peers/README.md) while still catching any wrong partial, which gives errors of order 1. */
#define PEER_TOL 1e-10

#ifdef __cplusplus
}
/* An adapter's eng_api with its peer fields set (tolerance PEER_TOL). */
static inline eng_api peer_api(eng_api e, const char *tool, const char *version, const char *about,
                               const char *(*skip)(const wl_info *w, int size)) {
  e.tool = tool;
  e.version = version;
  e.about = about;
  e.tol = PEER_TOL;
  e.skip = skip;
  return e;
}
#endif
#endif
