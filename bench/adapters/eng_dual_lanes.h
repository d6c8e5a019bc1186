/* eng_dual_lanes.h: the dual engine's vector builds (eng_dual_lanes.c compiled once per K = 2, 4, 8, 16 with
 * DUAL_LANES = K), behind one small table each; the dual engine's jacobian_lanes (eng_dual.c) dispatches to them.
 *
 *   const dual_lanes_api *L = dual_lanes_for(8);
 *   void *ls = L->open(w, size, data);              // a session with K-lane variables
 *   L->jacobian(ls, x, y, J);                       // ceil(n_in / 8) passes
 *   L->close(ls);
 */
#ifndef ENG_DUAL_LANES_H
#define ENG_DUAL_LANES_H

#include <stddef.h>

#include "../harness/wl.h"
#include "../../engines/ad.h"

typedef struct dual_lanes_api {
  int lanes; /* K */
  /* A session of workload w at size with data (borrowed); NULL on ENOMEM or a size outside [1, w->max_size]. */
  void *(*open)(const wl_info *w, int size, const double *data);
  void (*close)(void *s); /* NULL is ignored */
  /* y = f(x) and the full Jacobian J (n_out x n_in, row-major) in ceil(n_in / K) passes; entries as the K = 1
   * engine writes them (a raw tangent: -0.0 where y does not depend on that input). Returns AD_OK. */
  ad_status (*jacobian)(void *s, const double *x, double *y, double *J);
  size_t (*bytes_held)(void *s); /* bytes the session holds; 0 for NULL */
} dual_lanes_api;

extern const dual_lanes_api dual_lanes_2, dual_lanes_4, dual_lanes_8, dual_lanes_16;

#endif
