/* eng_sacado_rad.cc: Sacado's Rad reverse mode (Sacado::Rad::ADvar<double>, Sacado_trad.hpp) behind eng.h.
 *
 *   const eng_api *e = eng_find("sacado_rad");
 *   eng_session *s = e->open(wl_find("rosenbrock"), 1000, data);
 *   e->jacobian(s, x, y, g);          // record (each op allocates its node and partials), one reverse sweep
 *   e->value(s, x, y);                // record only; then
 *   e->vjp(s, w, wJ);                 //   Weighted_Gradcomp with weights w, repeatable on that recording
 *   e->close(s);
 *
 * Rad records every op as it runs: an ADvari node (value, adjoint) and its Derp partials, carved out of 8000-byte
 * blocks of Sacado's own allocator. Its state is global (one recording at a time in the process): the next
 * recording after a reverse sweep reuses the blocks. Sessions must therefore be used one at a time, from one
 * thread: a vjp must follow the value() of its own session.
 *
 * Counters: nodes and args are the workload's ops and their variable operands (counted by the adapter, two
 * adds per op); bytes_used is the heap the
 * last recording took (glibc mallinfo2, measured by stats() on a fresh recording at the last inputs, so the
 * timed calls carry no measurement).
 */
/* Every op returns an ADvar by value. Without RAD_EQ_ALIAS, constructing an ADvar from an op's result records a
 * second node (a copy with partial 1) per op, a cost native Rad code pays only at named assignments; with it
 * (Sacado's own option) the ADvar aliases the op's node. The workloads never update an ADvar in place (no +=),
 * so aliasing is safe. */
#define RAD_EQ_ALIAS 1
#include <Sacado_No_Kokkos.hpp>
#include <Trilinos_version.h>

#include "peer_heap.hh"
#include "peers.h"

#ifndef ADLAB_SACADO_VERSION /* normally from CMake: the headers' version and the Debian package's */
#define ADLAB_SACADO_VERSION TRILINOS_VERSION_STRING
#endif

typedef Sacado::Rad::ADvar<double> ad_t;
typedef struct rad_ctx { uint64_t nodes, args; } ad_ctx;

#define PEER_VALUE(x) ((x).val())
#define PEER_CONST(c, v) ad_t(v)
#define PEER_NOTE(c, k) ((c)->nodes++, (c)->args += (k))
template <class A, class B> static inline ad_t peer_fmax(const A &a, const B &b) { return max(a, b); }
template <class A, class B> static inline ad_t peer_fmin(const A &a, const B &b) { return min(a, b); }

#include "peer_ops.hh"

#define ENG_SESSION_FIELDS                                                                                     \
  ad_ctx ctx;                                                                                                  \
  int recorded;                                                                                                \
  double *last_x;  /* inputs of the last recording (n_in) */                                                   \
  ad_t **outs;     /* pointers to the outputs, for Weighted_Gradcomp */                                        \
  double *weights; /* n_out */
#include "../adapters/eng_session.inc"

typedef Sacado::Rad::ADcontext<double> rad_context;

static void rad_close(eng_session *s) {
  if (!s) return;
  ad_free(s->last_x, (size_t)s->n_in * sizeof(double));
  ad_free(s->outs, (size_t)s->n_out * sizeof(ad_t *));
  ad_free(s->weights, (size_t)s->n_out * sizeof(double));
  peer_destroy(s->x, s->n_in);
  peer_destroy(s->y, s->n_out);
  peer_destroy(s->s, s->n_scratch);
  sess_close(s);
}

static const char *rad_skip(const wl_info *w, int size) {
  if (w->nodes(size) > 5e7) return "Sacado Rad above 5e7 nodes would need more than about 5 GB of heap";
  return NULL;
}

static eng_session *rad_open(const wl_info *w, int size, const double *data) {
  if (!w || size < 1 || size > w->max_size || rad_skip(w, size)) return NULL;
  eng_session *s = sess_open(w, size, data);
  if (!s) return NULL;
  s->last_x = (double *)ad_calloc((size_t)s->n_in * sizeof(double));
  s->outs = (ad_t **)ad_calloc((size_t)s->n_out * sizeof(ad_t *));
  s->weights = (double *)ad_calloc((size_t)s->n_out * sizeof(double));
  peer_construct(s->x, s->n_in);
  peer_construct(s->y, s->n_out);
  peer_construct(s->s, s->n_scratch);
  if (!s->last_x || !s->outs || !s->weights) {
    rad_close(s);
    return NULL;
  }
  for (int i = 0; i < s->n_out; ++i) s->outs[i] = &s->y[i];
  return s;
}

static ad_status rad_record(eng_session *s, const double *x, double *y) {
  s->ctx.nodes = s->ctx.args = 0;
  for (int i = 0; i < s->n_in; ++i) s->x[i] = x[i]; /* a new independent variable */
  s->fn(&s->ctx, s->size, s->data, s->x, s->y, s->s);
  if (y)
    for (int i = 0; i < s->n_out; ++i) y[i] = s->y[i].val();
  if (x != s->last_x) memcpy(s->last_x, x, (size_t)s->n_in * sizeof(double));
  s->recorded = 1;
  return AD_OK;
}

static ad_status rad_vjp(eng_session *s, const double *w, double *wJ) {
  if (!s->recorded) return AD_ESTATE;
  memcpy(s->weights, w, (size_t)s->n_out * sizeof(double));
  ad_t::Weighted_Gradcomp((size_t)s->n_out, s->outs, s->weights);
  for (int j = 0; j < s->n_in; ++j) wJ[j] = s->x[j].adj();
  return AD_OK;
}

/* One recording, then one reverse sweep per output row. */
static ad_status rad_jacobian(eng_session *s, const double *x, double *y, double *J) {
  rad_record(s, x, y);
  if (s->n_out == 1) {
    ad_t::Outvar_Gradcomp(s->y[0]);
    for (int j = 0; j < s->n_in; ++j) J[j] = s->x[j].adj();
    return AD_OK;
  }
  double *w = (double *)ad_calloc((size_t)s->n_out * sizeof(double));
  if (!w) return AD_ENOMEM;
  for (int i = 0; i < s->n_out; ++i) {
    w[i] = 1.0;
    rad_vjp(s, w, J + (size_t)i * s->n_in);
    w[i] = 0.0;
  }
  ad_free(w, (size_t)s->n_out * sizeof(double));
  return AD_OK;
}

static eng_stats rad_stats(eng_session *s) {
  eng_stats st;
  memset(&st, 0, sizeof st);
  if (!s || !s->recorded) return st;
  rad_context::free_all(); /* drop every block, so the heap growth is this recording's (first blocks included) */
  size_t before = peer_heap_bytes();
  rad_context::re_init();
  rad_record(s, s->last_x, NULL);
  size_t after = peer_heap_bytes();
  st.nodes = s->ctx.nodes;
  st.args = s->ctx.args;
  st.bytes_used = peer_heap_delta(before, after);
  st.bytes_held = st.bytes_used + sizeof *s + (size_t)(s->n_in + s->n_out + s->n_scratch) * sizeof(ad_t);
  return st;
}

static eng_api rad_api(void) {
  eng_api e;
  memset(&e, 0, sizeof e);
  e.name = "sacado_rad";
  e.kind = ENG_REVERSE;
  e.open = rad_open;
  e.close = rad_close;
  e.value = rad_record;
  e.jacobian = rad_jacobian;
  e.vjp = rad_vjp;
  e.stats = rad_stats;
  return e;
}

extern "C" const eng_api eng_sacado_rad =
    peer_api(rad_api(), "Sacado", ADLAB_SACADO_VERSION,
             "Sacado::Rad::ADvar<double> reverse mode: record, then Outvar_Gradcomp / Weighted_Gradcomp",
             rad_skip);
