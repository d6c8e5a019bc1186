/* eng_adolc_tl.cc: ADOL-C's tapeless forward mode (adtl::adouble, one tangent) behind eng.h.
 *
 *   const eng_api *e = eng_find("adolc_tl");
 *   eng_session *s = e->open(wl_find("chain"), 1000, data);
 *   e->jvp(s, x, v, y, jv);           // one forward pass: y = f(x), jv = J v
 *   e->close(s);
 *
 * adtl::adouble keeps its value and its numDir tangents in one block from a boost::pool (the reason the adapter
 * needs libboost-dev's headers); numDir is ADOL-C's default of 1, the same as adlab's dual engine. Every op is
 * adtl's own operator or function. The context is unused.
 */
#include <adolc/adtl.h>

#include "peers.h"

typedef adtl::adouble ad_t;
typedef struct adtl_ctx { int unused; } ad_ctx;

#define PEER_VALUE(x) ((x).getValue())
#define PEER_CONST(c, v) ad_t(v)
#define PEER_NOTE(c, k) ((void)(c))
template <class A, class B> static inline ad_t peer_fmax(const A &a, const B &b) { return fmax(a, b); }
template <class A, class B> static inline ad_t peer_fmin(const A &a, const B &b) { return fmin(a, b); }

#include "peer_ops.hh"

#define ENG_SESSION_FIELDS
#include "../adapters/eng_session.inc"

static inline ad_t adtl_seed(double v, double d) { return ad_t(v, &d); }
#define PEER_SEED(v, d) adtl_seed(v, d)
#define PEER_TANGENT(x) ((x).getADValue(0))
#include "peer_forward.inc"

extern "C" const eng_api eng_adolc_tl =
    peer_api(fwd_api("adolc_tl"), "ADOL-C", ADLAB_ADOLC_VERSION,
             "adtl::adouble tapeless forward mode, one tangent per pass",
             NULL);
