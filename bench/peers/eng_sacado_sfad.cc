/* eng_sacado_sfad.cc: Sacado's SFad forward mode (Sacado::Fad::SFad<double, 1>, expression templates) behind
 * eng.h.
 *
 *   const eng_api *e = eng_find("sacado_sfad");
 *   eng_session *s = e->open(wl_find("chain"), 1000, data);
 *   e->jvp(s, x, v, y, jv);           // one forward pass: y = f(x), jv = J v
 *   e->close(s);
 *
 * SFad<double, 1> holds the value and one tangent in fixed storage (no allocation), like adlab's dual engine;
 * jacobian_lanes runs SFad<double, K> with K tangents per pass (peer_lanes.inc);
 * each op is one of Sacado's expression templates, evaluated when the adapter returns it as an SFad. The
 * context is unused.
 */
#include <Sacado_No_Kokkos.hpp>
#include <Trilinos_version.h>

#include "peers.h"

#ifndef ADLAB_SACADO_VERSION /* normally from CMake: the headers' version and the Debian package's */
#define ADLAB_SACADO_VERSION TRILINOS_VERSION_STRING
#endif

typedef Sacado::Fad::SFad<double, 1> ad_t;
typedef struct sfad_ctx { int unused; } ad_ctx;

#define PEER_VALUE(x) ((x).val())
#define PEER_CONST(c, v) ad_t(v)
#define PEER_NOTE(c, k) ((void)(c))
#define PEER_LANES_PRELUDE                                                                                     \
  template <class A, class B> static inline ad_t peer_fmax(const A &a, const B &b) { return max(a, b); }       \
  template <class A, class B> static inline ad_t peer_fmin(const A &a, const B &b) { return min(a, b); }
PEER_LANES_PRELUDE

#include "peer_ops.hh"

#define ENG_SESSION_FIELDS void *lane_s[4]; /* the K-lane sessions of jacobian_lanes (peer_lanes.inc) */
#include "../adapters/eng_session.inc"

static inline ad_t sfad_seed(double v, double d) {
  ad_t r(v);
  r.fastAccessDx(0) = d;
  return r;
}
#define PEER_SEED(v, d) sfad_seed(v, d)
#define PEER_TANGENT(x) ((x).dx(0))
#include "peer_forward.inc"

/* Vector forward mode: SFad<double, K>, K = 2, 4, 8, 16. */
#define PEER_LANES_TYPE(K) Sacado::Fad::SFad<double, K>
#define PEER_LANES_SEED(x, l) ((x).fastAccessDx(l) = 1.0)
#define PEER_LANES_DX(x, l) ((x).dx(l))
#include "peer_lanes.inc"

extern "C" const eng_api eng_sacado_sfad =
    peer_api(peer_lanes_api(fwd_api("sacado_sfad")), "Sacado", ADLAB_SACADO_VERSION,
             "Sacado::Fad::SFad<double, 1> forward mode, one tangent per pass; SFad<double, K> in vector mode",
             NULL);
