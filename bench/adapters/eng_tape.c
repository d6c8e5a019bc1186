/* eng_tape.c: the tape engine behind eng.h: record once, then one reverse sweep per output (jacobian), or one
 * sweep per K outputs with K adjoint lanes (jacobian_lanes, tape_lanes.c). Compiled twice: as
 * `tape` (statement-level preaccumulation, TAPE_PREACC 1) and, from eng_tape_op.c, as `tape_op` (one statement
 * per op), so that both designs are measured in the same run. */
#ifndef ENG_TAPE_API
#define ENG_TAPE_API eng_tape
#define ENG_TAPE_NAME "tape"
#endif
/* A tape variable is 32 bytes; GCC copies it through a 256-bit register where it may, which makes every function
 * that keeps one on its stack realign the stack to 32 bytes and clear the upper halves before each call: 8% of
 * det's gradient (a recursion that keeps its variables across calls). Vectors of 128 bits here: nothing in these
 * functions is vectorised wider. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__AVX__)
#pragma GCC target("prefer-vector-width=128")
#endif
#include <assert.h>

#include "../../engines/tape/tape_ops.h"
#include "../../engines/ckpt/ckpt_tape_ops.h" /* AD_STEPS: checkpointed when a schedule is set (ckpt_tape_default) */
#include "../../engines/tape/tape_array.h"

#define ENG_SESSION_FIELDS                                                                                       \
  tape_t *tape;                                                                                                  \
  uint32_t x0; /* the inputs' statements are x0 .. x0 + n_in - 1 (recorded in a row): their adjoints, one copy */
#include "eng_session.inc"

static void et_close(eng_session *s) {
  if (!s) return;
  ckpt_tape_detach(s->tape);
  tape_free(s->tape);
  sess_close(s);
}

static eng_session *et_open(const wl_info *w, int size, const double *data) {
  eng_session *s = sess_open(w, size, data);
  if (!s) return NULL;
  s->tape = tape_new();
  const ckpt_spec *sp = ckpt_tape_default();
  if (!s->tape || (sp && ckpt_tape_attach(s->tape, *sp) != AD_OK)) {
    tape_free(s->tape);
    sess_close(s);
    return NULL;
  }
  return s;
}

/* Records f at x on a reset tape. */
static ad_status et_record(eng_session *s, const double *x, double *y) {
  tape_t *t = s->tape;
  tape_reset(t);
  tape_inputs(t, (size_t)s->n_in, x, s->x);
  s->x0 = s->n_in ? s->x[0].i : 0; /* a row: tape_inputs numbers statements one after another */
  assert(tape_status(t) != AD_OK || !s->n_in || s->x[s->n_in - 1].i == s->x0 + (uint32_t)s->n_in - 1);
  sess_run(s, t); /* array errors are in the tape's status too */
  for (int i = 0; i < s->n_out; ++i) s->y[i] = tape_output(t, s->y[i]); /* a pending pair stays one */
  if (y)
    for (int i = 0; i < s->n_out; ++i) y[i] = s->y[i].v;
  return tape_status(t);
}

static ad_status et_vjp(eng_session *s, const double *w, double *wJ) {
  double *adj = tape_adjoints(s->tape);
  if (!adj) return tape_status(s->tape) != AD_OK ? tape_status(s->tape) : AD_ENOMEM;
  uint32_t top = 0;
  for (int i = 0; i < s->n_out; ++i) {
    tape_seed(s->tape, s->y[i], w[i]); /* adj[y.i] += w * y.d (and its second term); nothing for a passive y */
    if (tape_top(s->y[i]) > top) top = tape_top(s->y[i]);
  }
  adj[0] = 0.0;
  ad_status st = top ? tape_reverse_from(s->tape, top) : AD_OK; /* nothing above the last output matters */
  if (st != AD_OK) return st;
  adj = s->tape->adj; /* a checkpointed sweep may have moved it (tape_adjoints_cover) */
  memcpy(wJ, adj + s->x0, (size_t)s->n_in * sizeof(double));
  return AD_OK;
}

/* Row by row: one recording, then sweep i seeds output i and yields row i of J. A sweep starts at its output's
 * statement (nothing recorded after it can reach it) and clears only the adjoints the previous sweep touched. */
static ad_status et_jacobian(eng_session *s, const double *x, double *y, double *J) {
  ad_status st = et_record(s, x, y);
  if (st != AD_OK) return st;
  double *adj = tape_adjoints(s->tape);
  if (!adj) return tape_status(s->tape) != AD_OK ? tape_status(s->tape) : AD_ENOMEM;
  uint32_t touched = 0; /* adjoints [0, touched] may be nonzero */
  for (int i = 0; i < s->n_out; ++i) {
    memset(adj, 0, ((size_t)touched + 1) * sizeof(double));
    uint32_t top = tape_top(s->y[i]);
    if (top) { /* a passive output has a zero row */
      tape_seed(s->tape, s->y[i], 1.0); /* the output is y.d times its statement (plus its second term) */
      if ((st = tape_reverse_from(s->tape, top)) != AD_OK) return st;
      adj = s->tape->adj; /* a checkpointed sweep may have moved it (tape_adjoints_cover) */
      touched = top;
    }
    if (top) memcpy(J + (size_t)i * s->n_in, adj + s->x0, (size_t)s->n_in * sizeof(double));
    else memset(J + (size_t)i * s->n_in, 0, (size_t)s->n_in * sizeof(double));
  }
  return AD_OK;
}

/* The Jacobian with `lanes` adjoint lanes per sweep: one recording, then sweep b seeds outputs b K .. b K + K - 1
 * in lanes 0 .. K - 1 and yields those rows of J, so m outputs take ceil(m / K) sweeps. A sweep starts at the
 * highest output statement of its block and clears only the lane adjoints the previous sweep touched. One lane is
 * the one-adjoint sweep of et_jacobian (the vector sweep's K = 1 build gives the same bits, a little slower). */
static ad_status et_jacobian_lanes(eng_session *s, int lanes, const double *x, double *y, double *J) {
  if (!tape_lanes_valid(lanes)) return AD_EINVAL;
  /* One lane, or array ops (the vector sweep takes scalar statements only): the one-adjoint sweeps. */
  if (lanes == 1 || wl_is_tensor(s->w)) return et_jacobian(s, x, y, J);
  ad_status st = et_record(s, x, y);
  if (st != AD_OK) return st;
  double *adj = tape_adjoints_lanes(s->tape, lanes);
  if (!adj) return tape_status(s->tape) != AD_OK ? tape_status(s->tape) : AD_ENOMEM;
  const size_t K = (size_t)lanes;
  uint32_t touched = 0; /* lane adjoints of statements [0, touched] may be nonzero */
  for (int i0 = 0; i0 < s->n_out; i0 += lanes) {
    int nb = s->n_out - i0 < lanes ? s->n_out - i0 : lanes;
    tape_clear_adjoints_lanes(s->tape, touched);
    uint32_t top = 0;
    for (int l = 0; l < nb; ++l) {
      tape_var v = s->y[i0 + l];
      if (!tape_top(v)) continue; /* a passive output has a zero row */
      adj[v.i * K + (size_t)l] += v.d; /* the output is y.d times its statement (plus its second term) */
      if (v.i2) adj[v.i2 * K + (size_t)l] += v.d2;
      if (tape_top(v) > top) top = tape_top(v);
    }
    if (top) {
      if ((st = tape_reverse_lanes_from(s->tape, lanes, top)) != AD_OK) return st;
      touched = top;
    }
    for (int l = 0; l < nb; ++l) {
      double *row = J + (size_t)(i0 + l) * s->n_in;
      int active = tape_top(s->y[i0 + l]) != 0;
      for (int j = 0; j < s->n_in; ++j) row[j] = active ? adj[s->x[j].i * K + (size_t)l] : 0.0;
    }
  }
  return AD_OK;
}

static eng_stats et_stats(eng_session *s) {
  eng_stats st;
  memset(&st, 0, sizeof st);
  if (!s) return st;
  tape_stats ts = tape_get_stats(s->tape);
  st.nodes = (uint64_t)(s->w->nodes(s->size) + 0.5); /* ops: the workload's count (the tape counts statements) */
  st.statements = ts.statements > (uint64_t)s->n_in ? ts.statements - (uint64_t)s->n_in : 0;
  st.args = ts.arguments;
  st.bytes_used = ts.bytes_used;
  st.bytes_held = ts.bytes_held;
  ckpt_tape_stats cs = ckpt_tape_get_stats(s->tape);
  st.peak_bytes = ts.bytes_held + cs.bytes_peak; /* the tape's chunks and adjoints only grow */
  st.ckpt_steps = cs.steps;
  st.recomputed = cs.recomputed;
  return st;
}

const eng_api ENG_TAPE_API = {
    .name = ENG_TAPE_NAME,
    .kind = ENG_REVERSE,
    .open = et_open,
    .close = et_close,
    .value = et_record,
    .jacobian = et_jacobian,
    .vjp = et_vjp,
    .stats = et_stats,
    .jacobian_lanes = et_jacobian_lanes,
};
