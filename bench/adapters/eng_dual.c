/* eng_dual.c: the dual engine behind eng.h: forward mode, one pass per input for a full Jacobian. */
#include "../../engines/dual/dual_array.h"

#define ENG_SESSION_FIELDS
#include "eng_session.inc"

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

static eng_stats dual_stats(eng_session *s) {
  eng_stats st;
  memset(&st, 0, sizeof st);
  st.bytes_held = s ? sizeof *s + (size_t)(s->n_in + s->n_out + s->n_scratch) * sizeof(ad_t) : 0;
  return st;
}

const eng_api eng_dual = {
    .name = "dual",
    .kind = ENG_FORWARD,
    .open = sess_open,
    .close = sess_close,
    .value = dual_value,
    .jacobian = dual_jacobian,
    .jvp = dual_jvp,
    .stats = dual_stats,
};
