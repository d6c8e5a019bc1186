/* eng_replay.c: the replay engine behind eng.h: a static graph. value(), jacobian() and jacobian_lanes() (K
 * adjoint lanes per sweep) record afresh (as the tape engine does); replay() re-evaluates that recording at new inputs and sweeps it backwards, refusing with
 * AD_EGUARD where the program's control flow would differ from the recording. */
#include "../../engines/replay/replay_array.h"

#define ENG_SESSION_FIELDS                                                                                     \
  replay_t *tape;                                                                                              \
  int recorded; /* 1 once a recording succeeded */
#include "eng_session.inc"

static void er_close(eng_session *s) {
  if (!s) return;
  replay_free(s->tape);
  sess_close(s);
}

static eng_session *er_open(const wl_info *w, int size, const double *data) {
  eng_session *s = sess_open(w, size, data);
  if (!s) return NULL;
  s->tape = replay_new();
  if (!s->tape) {
    sess_close(s);
    return NULL;
  }
  return s;
}

/* Records f at x on a reset tape. Outputs are read directly, not through ad_val (which would record a guard). */
static ad_status er_record(eng_session *s, const double *x, double *y) {
  replay_t *t = s->tape;
  replay_reset(t);
  for (int i = 0; i < s->n_in; ++i) s->x[i] = replay_input(t, x[i]);
  ad_status st = sess_run(s, t);
  if (y)
    for (int i = 0; i < s->n_out; ++i) y[i] = s->y[i].v;
  if (replay_status(t) != AD_OK) st = replay_status(t);
  s->recorded = st == AD_OK;
  return st;
}

static ad_status er_vjp(eng_session *s, const double *w, double *wJ) {
  double *adj = replay_adjoints(s->tape);
  if (!adj) return replay_status(s->tape) != AD_OK ? replay_status(s->tape) : AD_ENOMEM;
  for (int i = 0; i < s->n_out; ++i) adj[s->y[i].i] += w[i]; /* a passive output adds into slot 0, unused */
  ad_status st = replay_reverse(s->tape);
  if (st != AD_OK) return st;
  for (int j = 0; j < s->n_in; ++j) wJ[j] = adj[s->x[j].i];
  return AD_OK;
}

/* One reverse sweep per output over the tape's current values; row i of J from output i. */
static ad_status er_sweeps(eng_session *s, double *J) {
  for (int i = 0; i < s->n_out; ++i) {
    double *adj = replay_adjoints(s->tape);
    if (!adj) return AD_ENOMEM;
    adj[s->y[i].i] = 1.0;
    adj[0] = 0.0;
    ad_status st = replay_reverse(s->tape);
    if (st != AD_OK) return st;
    for (int j = 0; j < s->n_in; ++j) J[(size_t)i * s->n_in + j] = adj[s->x[j].i];
  }
  return AD_OK;
}

/* The Jacobian with `lanes` adjoint lanes per sweep over one recording: sweep b seeds outputs b K .. b K + K - 1
 * in lanes 0 .. K - 1 and yields those rows of J, so m outputs take ceil(m / K) sweeps. One lane is
 * replay_reverse's sweep, as jacobian (the vector sweep's K = 1 build gives the same values, more slowly). */
static ad_status er_jacobian_lanes(eng_session *s, int lanes, const double *x, double *y, double *J) {
  if (lanes != 1 && lanes != 2 && lanes != 4 && lanes != 8 && lanes != 16) return AD_EINVAL;
  ad_status st = er_record(s, x, y);
  if (st != AD_OK) return st;
  if (lanes == 1) return er_sweeps(s, J);
  const size_t K = (size_t)lanes;
  for (int i0 = 0; i0 < s->n_out; i0 += lanes) {
    int nb = s->n_out - i0 < lanes ? s->n_out - i0 : lanes;
    double *adj = replay_adjoints_lanes(s->tape, lanes);
    if (!adj) return replay_status(s->tape) != AD_OK ? replay_status(s->tape) : AD_ENOMEM;
    for (int l = 0; l < nb; ++l)
      if (s->y[i0 + l].i) adj[s->y[i0 + l].i * K + (size_t)l] = 1.0; /* a passive output has a zero row */
    if ((st = replay_reverse_lanes(s->tape, lanes)) != AD_OK) return st;
    for (int l = 0; l < nb; ++l) {
      double *row = J + (size_t)(i0 + l) * s->n_in;
      int active = s->y[i0 + l].i != 0;
      for (int j = 0; j < s->n_in; ++j) row[j] = active ? adj[s->x[j].i * K + (size_t)l] : 0.0;
    }
  }
  return AD_OK;
}

static ad_status er_jacobian(eng_session *s, const double *x, double *y, double *J) {
  ad_status st = er_record(s, x, y);
  return st != AD_OK ? st : er_sweeps(s, J);
}

static ad_status er_replay(eng_session *s, const double *x, double *y, double *J) {
  if (!s->recorded) return AD_ESTATE;
  ad_status st = replay_forward(s->tape, x, (size_t)s->n_in);
  if (st != AD_OK) return st;
  if (y)
    for (int i = 0; i < s->n_out; ++i) y[i] = replay_value(s->tape, s->y[i]);
  return J ? er_sweeps(s, J) : AD_OK;
}

static eng_stats er_stats(eng_session *s) {
  eng_stats st;
  memset(&st, 0, sizeof st);
  if (!s) return st;
  replay_stats rs = replay_get_stats(s->tape);
  st.nodes = rs.statements - rs.inputs;
  st.statements = st.nodes;
  if (wl_is_tensor(s->w)) /* one statement per array op: ops counted as the workload counts them, as the tape does */
    st.nodes = (uint64_t)(s->w->nodes(s->size) + 0.5);
  st.args = rs.arguments;
  st.bytes_used = rs.bytes_used;
  st.bytes_held = rs.bytes_held;
  return st;
}

const eng_api eng_replay = {
    .name = "replay",
    .kind = ENG_REVERSE,
    .open = er_open,
    .close = er_close,
    .value = er_record,
    .jacobian = er_jacobian,
    .vjp = er_vjp,
    .stats = er_stats,
    .replay = er_replay,
    .jacobian_lanes = er_jacobian_lanes,
};
