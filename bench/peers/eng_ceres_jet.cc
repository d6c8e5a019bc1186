/* eng_ceres_jet.cc: Ceres Solver's ceres::Jet<double, 1> dual numbers (forward mode, header-only) behind eng.h.
 *
 *   const eng_api *e = eng_find("ceres_jet");
 *   eng_session *s = e->open(wl_find("rosenbrock"), 1000, data);
 *   e->jvp(s, x, v, y, jv);               // one forward pass: y = f(x), jv = J v
 *   e->jacobian(s, x, y, g);              // n passes, one per input
 *   e->close(s);
 *
 * A Jet<double, 1> carries the value `a` and one tangent `v[0]`, like adlab's dual engine; every op is the Jet's
 * own operator or function (ceres/jet.h: std::sin on the value, the derivative rule on the tangent). fmax and
 * fmin are the Jet's own (a tie gives the second operand). The context is unused.
 */
/* The session arrays are plain ad_malloc storage (16-byte aligned): Jet<double, K> for K >= 4 holds an Eigen vector
 * that Eigen would otherwise align to 32 bytes and load with aligned instructions (a crash on malloc'd memory).
 * Jet<double, 1> has no vectorisable storage, so this changes nothing for it. */
#define EIGEN_MAX_STATIC_ALIGN_BYTES 0
#include <ceres/jet.h>
#include <ceres/version.h>

#include "peers.h"

#ifndef ADLAB_CERES_VERSION /* normally from CMake: the headers' version and the Debian package's */
#define ADLAB_CERES_VERSION CERES_VERSION_STRING
#endif

typedef ceres::Jet<double, 1> ad_t;
typedef struct jet_ctx { int unused; } ad_ctx;

#define PEER_VALUE(x) ((x).a)
#define PEER_CONST(c, v) ad_t(v)
#define PEER_NOTE(c, k) ((void)(c))
#define PEER_abs(a, b) abs(a) /* ceres/jet.h names it abs */
#define PEER_LANES_PRELUDE                                                                                     \
  template <class A, class B> static inline ad_t peer_fmax(const A &a, const B &b) { return ad_t(fmax(a, b)); } \
  template <class A, class B> static inline ad_t peer_fmin(const A &a, const B &b) { return ad_t(fmin(a, b)); }
PEER_LANES_PRELUDE

#include "peer_ops.hh"

#define ENG_SESSION_FIELDS void *lane_s[4]; /* the K-lane sessions of jacobian_lanes (peer_lanes.inc) */
#include "../adapters/eng_session.inc"

static inline ad_t jet_seed(double v, double d) {
  ad_t r(v);
  r.v[0] = d;
  return r;
}
#define PEER_SEED(v, d) jet_seed(v, d)
#define PEER_TANGENT(x) ((x).v[0])
#include "peer_forward.inc"

/* Vector forward mode: Jet<double, K>, K = 2, 4, 8, 16. */
#define PEER_LANES_TYPE(K) ceres::Jet<double, K>
#define PEER_LANES_SEED(x, l) ((x).v[l] = 1.0)
#define PEER_LANES_DX(x, l) ((x).v[l])
#include "peer_lanes.inc"

extern "C" const eng_api eng_ceres_jet =
    peer_api(peer_lanes_api(fwd_api("ceres_jet")), "Ceres", ADLAB_CERES_VERSION,
             "ceres::Jet<double, 1> forward mode, one tangent per pass; Jet<double, K> in vector mode",
             NULL);
