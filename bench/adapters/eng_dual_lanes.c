/* eng_dual_lanes.c: the dual engine with K tangent lanes (K = DUAL_LANES, set by the build: this file is compiled
 * once per K), every workload compiled with the K-lane ops inlined. Pass p seeds inputs pK .. pK + K - 1, one
 * per lane, and yields those K columns of the Jacobian. See eng_dual_lanes.h. */
#ifndef DUAL_LANES
#error "compile eng_dual_lanes.c with -DDUAL_LANES=K (2, 4, 8 or 16)"
#endif
#include "../../engines/dual/dual_ops.h"

#define ENG_SESSION_FIELDS
#include "eng_session.inc"

#include "eng_dual_lanes.h"

#define DL__CAT2(a, b) a##b
#define DL__CAT(a, b) DL__CAT2(a, b)

static void *dl_open(const wl_info *w, int size, const double *data) { return sess_open(w, size, data); }
static void dl_close(void *s) { sess_close((eng_session *)s); }

static ad_status dl_jacobian(void *vs, const double *x, double *y, double *J) {
  eng_session *s = (eng_session *)vs;
  int n = s->n_in, m = s->n_out;
  for (int j0 = 0; j0 < n; j0 += DUAL_LANES) {
    /* in place, field by field: a K-lane variable is 16 + 8 K bytes, and whole-struct copies cost more here than
     * the workload itself on small ones (ba) */
    for (int i = 0; i < n; ++i) {
      ad_t *v = &s->x[i];
      v->v = x[i], v->m = 0;
      for (int q = 0; q < DUAL_CHUNKS; ++q) v->d[q] = (dual_vec){0};
      if (i >= j0 && i < j0 + DUAL_LANES) v->m = 1u << (i - j0), v->d[(i - j0) / DUAL_W][(i - j0) % DUAL_W] = 1.0;
    }
    s->fn(NULL, s->size, s->data, s->x, s->y, s->s);
    if (j0 == 0)
      for (int i = 0; i < m; ++i) y[i] = s->y[i].v;
    int lanes = n - j0 < DUAL_LANES ? n - j0 : DUAL_LANES;
    for (int i = 0; i < m; ++i) {
      const ad_t *v = &s->y[i];
      double *row = J + (size_t)i * n + j0;
      for (int l = 0; l < lanes; ++l) row[l] = (v->m >> l & 1u) ? v->d[l / DUAL_W][l % DUAL_W] : DUAL_NONE;
    }
  }
  return AD_OK;
}

static size_t dl_bytes(void *vs) {
  eng_session *s = (eng_session *)vs;
  return s ? sizeof *s + (size_t)(s->n_in + s->n_out + s->n_scratch) * sizeof(ad_t) : 0;
}

const dual_lanes_api DL__CAT(dual_lanes_, DUAL_LANES) = {DUAL_LANES, dl_open, dl_close, dl_jacobian, dl_bytes};
