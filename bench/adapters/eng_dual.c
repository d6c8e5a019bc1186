/* eng_dual.c: the dual engine behind eng.h: forward mode, one pass per input for a full Jacobian; in vector mode
 * (jacobian_lanes) K tangent lanes per pass, by the K-lane builds of the same ops (eng_dual_lanes.h). */
#include "../../engines/dual/dual_array.h"

#include "eng_dual_lanes.h"

enum { DUAL_VEC_BUILDS = 4 }; /* K = 2, 4, 8, 16 */
/* The K-lane sessions, opened on first use by jacobian_lanes. */
#define ENG_SESSION_FIELDS void *lane_s[DUAL_VEC_BUILDS];
#include "eng_session.inc"

static const dual_lanes_api *const dual_vec_builds[DUAL_VEC_BUILDS] = {&dual_lanes_2, &dual_lanes_4, &dual_lanes_8,
                                                                       &dual_lanes_16};

/* One forward pass with tangent v (NULL: zero tangent), writing y and, if jv, the directional derivative. */
static ad_status dual_pass(eng_session *s, const double *x, const double *v, int unit, double *y, double *jv) {
  for (int i = 0; i < s->n_in; ++i) s->x[i] = dual_make(x[i], v ? v[i] : (i == unit ? 1.0 : 0.0));
  ad_status st = sess_run(s, NULL);
  if (y)
    for (int i = 0; i < s->n_out; ++i) y[i] = s->y[i].v;
  if (jv)
    for (int i = 0; i < s->n_out; ++i) jv[i] = s->y[i].d;
  return st;
}

static ad_status dual_value(eng_session *s, const double *x, double *y) {
  return dual_pass(s, x, NULL, -1, y, NULL);
}

static ad_status dual_jvp(eng_session *s, const double *x, const double *v, double *y, double *jv) {
  return dual_pass(s, x, v, -1, y, jv);
}

/* Column by column: pass j seeds input j and yields column j of J. */
static ad_status dual_jacobian(eng_session *s, const double *x, double *y, double *J) {
  for (int j = 0; j < s->n_in; ++j) {
    ad_status st = dual_pass(s, x, NULL, j, j == 0 ? y : NULL, NULL);
    if (st != AD_OK) return st;
    for (int i = 0; i < s->n_out; ++i) J[(size_t)i * s->n_in + j] = s->y[i].d;
  }
  return AD_OK;
}

/* K = 1: the one-tangent passes above; K = 2, 4, 8, 16: the K-lane build, its session opened on first use. */
static ad_status dual_jacobian_lanes(eng_session *s, int lanes, const double *x, double *y, double *J) {
  if (lanes == 1) return dual_jacobian(s, x, y, J);
  for (int b = 0; b < DUAL_VEC_BUILDS; ++b) {
    const dual_lanes_api *L = dual_vec_builds[b];
    if (L->lanes != lanes) continue;
    /* The K-lane builds have no arrays (their tensor workloads are never run): the one-tangent passes. */
    if (wl_is_tensor(s->w)) return dual_jacobian(s, x, y, J);
    if (!s->lane_s[b] && !(s->lane_s[b] = L->open(s->w, s->size, s->data))) return AD_ENOMEM;
    return L->jacobian(s->lane_s[b], x, y, J);
  }
  return AD_EINVAL;
}

static void dual_close(eng_session *s) {
  if (!s) return;
  for (int b = 0; b < DUAL_VEC_BUILDS; ++b) dual_vec_builds[b]->close(s->lane_s[b]);
  sess_close(s);
}

static eng_stats dual_stats(eng_session *s) {
  eng_stats st;
  memset(&st, 0, sizeof st);
  st.bytes_held = s ? sizeof *s + (size_t)(s->n_in + s->n_out + s->n_scratch) * sizeof(ad_t) : 0;
  for (int b = 0; s && b < DUAL_VEC_BUILDS; ++b) st.bytes_held += dual_vec_builds[b]->bytes_held(s->lane_s[b]);
  return st;
}

const eng_api eng_dual = {
    .name = "dual",
    .kind = ENG_FORWARD,
    .open = sess_open,
    .close = dual_close,
    .value = dual_value,
    .jacobian = dual_jacobian,
    .jvp = dual_jvp,
    .stats = dual_stats,
    .jacobian_lanes = dual_jacobian_lanes,
};
