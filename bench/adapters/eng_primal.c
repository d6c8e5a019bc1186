/* eng_primal.c: the primal engine behind eng.h: every workload on plain doubles. */
#include "../../engines/primal/primal_array.h"

#define ENG_SESSION_FIELDS
#include "eng_session.inc"

static ad_status primal_value(eng_session *s, const double *x, double *y) {
  for (int i = 0; i < s->n_in; ++i) s->x[i] = x[i];
  ad_status st = sess_run(s, NULL);
  for (int i = 0; i < s->n_out; ++i) y[i] = s->y[i];
  return st;
}

static ad_status primal_jacobian(eng_session *s, const double *x, double *y, double *J) {
  (void)s, (void)x, (void)y, (void)J;
  return AD_ESTATE; /* the primal engine computes no derivatives */
}

static eng_stats primal_stats(eng_session *s) {
  eng_stats st;
  memset(&st, 0, sizeof st);
  st.bytes_held = s ? sizeof *s + (size_t)(s->n_in + s->n_out + s->n_scratch) * sizeof(ad_t) : 0;
  return st;
}

const eng_api eng_primal = {
    .name = "primal",
    .kind = ENG_PRIMAL,
    .open = sess_open,
    .close = sess_close,
    .value = primal_value,
    .jacobian = primal_jacobian,
    .stats = primal_stats,
};
