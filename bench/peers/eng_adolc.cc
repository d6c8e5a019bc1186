/* eng_adolc.cc: ADOL-C's taping reverse mode (adouble, trace_on/trace_off, fos_reverse) behind eng.h.
 *
 *   const eng_api *e = eng_find("adolc");
 *   eng_session *s = e->open(wl_find("rosenbrock"), 1000, data);     // one ADOL-C tape tag per session
 *   e->jacobian(s, x, y, g);          // record with the Taylor stack kept, then one fos_reverse sweep
 *   e->replay(s, x2, y, g);           // ADOL-C's gradient() way: zos_forward on the tape, then fos_reverse
 *   e->jacobian_lanes(s, 8, x, y, J); // vector reverse: fov_reverse with 8 weight vectors per sweep
 *   e->close(s);                      // removes the tape
 *
 * Recording: trace_on(tag, keep = 1, ...) with the independents marked by <<= and the dependents by >>=; the
 * workload's ops are adouble's own operators and functions. keep = 1 leaves the Taylor stack (the values the
 * reverse sweep needs) from the recording itself, so a full gradient is exactly one recording and one
 * fos_reverse: nothing is evaluated twice.
 *
 * In memory: ADOL-C keeps each of its four tapes (operations, locations, values, Taylor stack) in a buffer of
 * fixed size and writes to files in the working directory beyond it (default 524288 entries, usrparms.h). Every
 * recording here passes its buffer sizes to trace_on (the API form, not an .adolcrc file): the first from the
 * workload's node count, later ones from the previous recording's counts plus 1/8 (a recording's cost grows
 * with the buffers it is given); if ADOL-C still reports a file access (tapestats), the sizes double and the
 * recording is made again, so a finished recording is always entirely in memory.
 *
 * Comparisons are ADOL-C's own (they record a comparison op), so replay() returns AD_EGUARD when zos_forward
 * reports that a comparison would now go the other way. ADOL-C keeps global state (the adouble location store,
 * the tape table), so sessions must be used from one thread.
 */
#include <adolc/adolc.h>

#include "peers.h"

typedef adouble ad_t;
typedef struct adolc_ctx { int unused; } ad_ctx;

/* Ops take any badouble and return ADOL-C's temporary adub, as expressions in code written for ADOL-C do: an op
 * result becomes an adouble (a named location) only where the workload names it. */
#define PEER_ARG badouble
#define PEER_RET adub
#define PEER_VALUE(x) ((x).getValue())
#define PEER_CONST(c, v) ad_t(v)
#define PEER_NOTE(c, k) ((void)(c))
#define PEER_fmax_vv(a, b) fmax(a, b)
#define PEER_fmin_vv(a, b) fmin(a, b)
#define PEER_fmax_vc(a, b) fmax(a, b)
#define PEER_fmin_vc(a, b) fmin(a, b)
#define PEER_pow_vv(a, b) (+pow(a, b)) /* ADOL-C's pow of two variables returns an adouble: unary + gives an adub */
#define PEER_pow_cv(a, b) (+pow(a, b))
/* ADOL-C's comparisons record a guard on the tape (zos_forward reports a changed branch). */
#define PEER_CMP(name, op)                                                                                     \
  static inline int ad_##name##_vv(ad_ctx *c, const badouble &x, const badouble &y) { (void)c; return x op y; } \
  static inline int ad_##name##_vc(ad_ctx *c, const badouble &x, double k) { (void)c; return x op k; }

#include "peer_ops.hh"

#define ENG_SESSION_FIELDS                                                                                     \
  short tag;                                                                                                   \
  int recorded;       /* a recording with its Taylor stack exists */                                           \
  double want[4];     /* buffer entries for the next recording: operations, locations, values, Taylors */      \
  unsigned buf[4];    /* buffer sizes of the last recording, in the same order */                              \
  size_t stat[STAT_SIZE];
#include "../adapters/eng_session.inc"

/* Tape tags in use; a closed session's tag is reused. */
enum { ADOLC_TAGS = 4096 };
static unsigned char adolc_tag_used[ADOLC_TAGS];

static void adolc_close(eng_session *s) {
  if (!s) return;
  if (s->tag) {
    if (s->recorded) removeTape(s->tag, ADOLC_REMOVE_COMPLETELY);
    adolc_tag_used[s->tag] = 0;
  }
  peer_destroy(s->x, s->n_in);
  peer_destroy(s->y, s->n_out);
  peer_destroy(s->s, s->n_scratch);
  sess_close(s);
}

static const char *adolc_skip(const wl_info *w, int size) {
  /* about 23 bytes of tape per ADOL-C op, 1-3 ops per workload node, plus its location store */
  if (w->nodes(size) > 5e7) return "ADOL-C tape in memory above 5e7 nodes would exceed about 4 GB";
  return NULL;
}

static eng_session *adolc_open(const wl_info *w, int size, const double *data) {
  if (!w || adolc_skip(w, size)) return NULL;
  short tag = 0;
  for (int i = 1; i < ADOLC_TAGS && !tag; ++i)
    if (!adolc_tag_used[i]) tag = (short)i;
  if (!tag) return NULL;
  eng_session *s = sess_open(w, size, data);
  if (!s) return NULL;
  adolc_tag_used[tag] = 1;
  disableBranchSwitchWarnings(); /* a changed branch is reported by replay() as AD_EGUARD */
  s->tag = tag;
  double nodes = w->nodes(size) + s->n_in + s->n_out + 1024; /* first guess, from the workload's node count */
  s->want[0] = 3 * nodes, s->want[1] = 9 * nodes, s->want[2] = 3 * nodes, s->want[3] = 3 * nodes;
  peer_construct(s->x, s->n_in);
  peer_construct(s->y, s->n_out);
  peer_construct(s->s, s->n_scratch);
  return s;
}

static unsigned adolc_buf(double entries) { return entries > 4e9 ? 4000000000u : (unsigned)entries; }

/* Records f at x with the Taylor stack kept, entirely in memory. Buffers are sized from the last recording
 * (its exact counts plus 1/8), since ADOL-C's cost per recording grows with the buffer sizes it is given. */
static ad_status adolc_record(eng_session *s, const double *x, double *y) {
  static const int counts[4] = {NUM_OPERATIONS, NUM_LOCATIONS, NUM_VALUES, TAY_STACK_SIZE};
  for (int attempt = 0; attempt < 4; ++attempt) {
    for (int k = 0; k < 4; ++k) s->buf[k] = adolc_buf(s->want[k]);
    trace_on(s->tag, 1, s->buf[0], s->buf[1], s->buf[2], s->buf[3]);
    for (int i = 0; i < s->n_in; ++i) s->x[i] <<= x[i];
    s->fn(NULL, s->size, s->data, s->x, s->y, s->s);
    for (int i = 0; i < s->n_out; ++i) s->y[i] >>= y[i];
    trace_off();
    s->recorded = 1;
    tapestats(s->tag, s->stat);
    int spilled = s->stat[OP_FILE_ACCESS] || s->stat[LOC_FILE_ACCESS] || s->stat[VAL_FILE_ACCESS] ||
                  s->stat[TAY_STACK_SIZE] > s->stat[TAY_BUFFER_SIZE];
    for (int k = 0; k < 4; ++k) { /* next time: what this recording took, with room to vary; after a spill at least
                                   * that and twice the last size (a recording after a larger one reuses location
                                   * numbers up to the larger one's, so its Taylor stack is larger than its ops) */
      double need = 1.125 * (double)s->stat[counts[k]] + 4096;
      s->want[k] = spilled && 2 * s->want[k] > need ? 2 * s->want[k] : need;
    }
    if (!spilled) return AD_OK;
  }
  return AD_ENOMEM;
}

static ad_status adolc_value(eng_session *s, const double *x, double *y) { return adolc_record(s, x, y); }

/* w^T J by one fos_reverse over the Taylor stack of the last forward (recording or replay). */
static ad_status adolc_vjp(eng_session *s, const double *w, double *wJ) {
  if (!s->recorded) return AD_ESTATE;
  int rc = fos_reverse(s->tag, s->n_out, s->n_in, const_cast<double *>(w), wJ);
  return rc < 0 ? AD_ESTATE : AD_OK;
}

/* Row i of J by a reverse sweep with weight e_i (one sweep in all for a gradient). */
static ad_status adolc_rows(eng_session *s, double *J) {
  static const double one = 1.0;
  if (s->n_out == 1) return adolc_vjp(s, &one, J);
  double *w = (double *)ad_calloc((size_t)s->n_out * sizeof(double));
  if (!w) return AD_ENOMEM;
  ad_status st = AD_OK;
  for (int i = 0; i < s->n_out && st == AD_OK; ++i) {
    w[i] = 1.0;
    st = adolc_vjp(s, w, J + (size_t)i * s->n_in);
    w[i] = 0.0;
  }
  ad_free(w, (size_t)s->n_out * sizeof(double));
  return st;
}

static ad_status adolc_jacobian(eng_session *s, const double *x, double *y, double *J) {
  ad_status st = adolc_record(s, x, y);
  return st != AD_OK ? st : adolc_rows(s, J);
}

/* ADOL-C's vector reverse mode: the Jacobian by fov_reverse with `lanes` weight vectors per sweep over the Taylor
 * stack of one recording (rows i0 .. i0 + p - 1 of J, written by ADOL-C straight into J), so m outputs take
 * ceil(m / lanes) sweeps. One lane is fos_reverse, as jacobian. */
static ad_status adolc_jacobian_lanes(eng_session *s, int lanes, const double *x, double *y, double *J) {
  if (lanes != 1 && lanes != 2 && lanes != 4 && lanes != 8 && lanes != 16) return AD_EINVAL;
  ad_status st = adolc_record(s, x, y);
  if (st != AD_OK || lanes == 1) return st != AD_OK ? st : adolc_rows(s, J);
  const size_t nu = (size_t)lanes * s->n_out;
  double *u = (double *)ad_calloc(nu * sizeof(double));
  double **U = (double **)ad_malloc((size_t)lanes * sizeof(double *)), **Z = (double **)ad_malloc((size_t)lanes * sizeof(double *));
  if (!u || !U || !Z) st = AD_ENOMEM;
  for (int i0 = 0; i0 < s->n_out && st == AD_OK; i0 += lanes) {
    int p = s->n_out - i0 < lanes ? s->n_out - i0 : lanes;
    for (int l = 0; l < p; ++l) {
      U[l] = u + (size_t)l * s->n_out;
      memset(U[l], 0, (size_t)s->n_out * sizeof(double));
      U[l][i0 + l] = 1.0;
      Z[l] = J + (size_t)(i0 + l) * s->n_in;
    }
    if (fov_reverse(s->tag, s->n_out, s->n_in, p, U, Z) < 0) st = AD_ESTATE;
  }
  ad_free(u, nu * sizeof(double));
  ad_free(U, (size_t)lanes * sizeof(double *));
  ad_free(Z, (size_t)lanes * sizeof(double *));
  return st;
}

/* ADOL-C's gradient() on an existing tape: a zero-order forward sweep at x (keeping Taylors), then reverse. */
static ad_status adolc_replay(eng_session *s, const double *x, double *y, double *J) {
  if (!s->recorded) return AD_ESTATE;
  int rc = zos_forward(s->tag, s->n_out, s->n_in, 1, x, y);
  if (rc < 0) return AD_EGUARD; /* a comparison changed: the tape no longer represents f at x */
  return adolc_rows(s, J);
}

/* nodes: ADOL-C's operations (its own count: independents, dependents, assignments and comparisons included);
 * args: its locations; bytes_used: operations (1 byte), locations (4), values (8) and Taylor stack (8 per
 * entry) of the last recording; bytes_held: the buffer sizes passed to trace_on (ADOL-C allocates them, the
 * pages are touched only as far as the tape reaches). */
static eng_stats adolc_stats(eng_session *s) {
  eng_stats st;
  memset(&st, 0, sizeof st);
  if (!s || !s->recorded) return st;
  tapestats(s->tag, s->stat);
  st.nodes = s->stat[NUM_OPERATIONS];
  st.args = s->stat[NUM_LOCATIONS];
  st.bytes_used = s->stat[NUM_OPERATIONS] + s->stat[NUM_LOCATIONS] * sizeof(locint) +
                  (s->stat[NUM_VALUES] + s->stat[TAY_STACK_SIZE]) * sizeof(double);
  st.bytes_held = s->buf[0] + (uint64_t)s->buf[1] * sizeof(locint) +
                  ((uint64_t)s->buf[2] + s->buf[3]) * sizeof(double);
  return st;
}

static eng_api adolc_api(void) {
  eng_api e;
  memset(&e, 0, sizeof e);
  e.name = "adolc";
  e.kind = ENG_REVERSE;
  e.open = adolc_open;
  e.close = adolc_close;
  e.value = adolc_value;
  e.jacobian = adolc_jacobian;
  e.vjp = adolc_vjp;
  e.stats = adolc_stats;
  e.replay = adolc_replay;
  e.jacobian_lanes = adolc_jacobian_lanes;
  return e;
}

extern "C" const eng_api eng_adolc =
    peer_api(adolc_api(), "ADOL-C", ADLAB_ADOLC_VERSION,
             "adouble tape: trace_on(keep=1) + fos_reverse (fov_reverse for jacobian_lanes), buffers sized to stay in memory",
             adolc_skip);
