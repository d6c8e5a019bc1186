/* tape_lanes.c: the vector reverse sweep of the Jacobian tape, K adjoint lanes per statement (tape.h). The sweep
 * is written once, in tape_lanes_sweep.h, and built here once per lane count K = 1, 2, 4, 8, 16. */
#include <assert.h>
#include <string.h>
#if defined(__SSE2__)
#include <immintrin.h>
#endif

#include "tape.h"

/* The K-wide helpers of tape_lanes_sweep.h are always inlined: their vector arguments never cross a call, so the
 * ABI note GCC gives for 16-double vectors without AVX-512 does not apply. */
#pragma GCC diagnostic ignored "-Wpsabi"

/* The per-lane reach marks (two bytes per statement, zero between sweeps), allocated on first need and kept. */
static ad_status tape__lreach(tape_t *t) {
  size_t need = tape__next(t);
  if (t->lreach_cap >= need) return AD_OK;
  ad_free(t->lreach, t->lreach_cap * sizeof(uint16_t));
  t->lreach = (uint16_t *)ad_calloc(need * sizeof(uint16_t));
  t->lreach_cap = t->lreach ? need : 0;
  return t->lreach ? AD_OK : AD_ENOMEM;
}

#define TAPE_LANES 1
#include "tape_lanes_sweep.h"
#undef TAPE_LANES
#define TAPE_LANES 2
#include "tape_lanes_sweep.h"
#undef TAPE_LANES
#define TAPE_LANES 4
#include "tape_lanes_sweep.h"
#undef TAPE_LANES
#define TAPE_LANES 8
#include "tape_lanes_sweep.h"
#undef TAPE_LANES
#define TAPE_LANES 16
#include "tape_lanes_sweep.h"
#undef TAPE_LANES

int tape_lanes_valid(int lanes) { return lanes == 1 || lanes == 2 || lanes == 4 || lanes == 8 || lanes == 16; }

double *tape_adjoints_lanes(tape_t *t, int lanes) {
  if (!t || !tape_lanes_valid(lanes)) return NULL;
  size_t need = (size_t)tape__next(t) * (size_t)lanes;
  if (t->ladj_cap < need) { /* exact, as tape_adjoints */
    ad_free(t->ladj, t->ladj_cap * sizeof(double));
    t->ladj = (double *)ad_malloc(need * sizeof(double));
    t->ladj_cap = t->ladj ? need : 0;
    if (!t->ladj) {
      t->ladj_lanes = 0;
      if (t->status == AD_OK) t->status = AD_ENOMEM;
      return NULL;
    }
  }
  t->ladj_lanes = lanes;
  memset(t->ladj, 0, need * sizeof(double));
  return t->ladj;
}

void tape_clear_adjoints_lanes(tape_t *t, uint32_t top) {
  if (!t || !t->ladj || !t->ladj_lanes) return;
  size_t n = (size_t)(top < tape__next(t) ? top + 1u : tape__next(t)) * (size_t)t->ladj_lanes;
  memset(t->ladj, 0, (n < t->ladj_cap ? n : t->ladj_cap) * sizeof(double));
}

/* The lane adjoints are there for the current recording, handed out for lanes. */
static int tape__lanes_ready(const tape_t *t) {
  return t->status == AD_OK && t->ladj && t->ladj_lanes && t->ladj_cap >= (size_t)tape__next(t) * (size_t)t->ladj_lanes;
}

ad_status tape_reverse_lanes_from(tape_t *t, int lanes, uint32_t top) {
  if (!t || !tape_lanes_valid(lanes)) return AD_EINVAL;
  /* checkpointed, or with array ops: not for the vector sweep */
  if (!tape__lanes_ready(t) || t->ck_reverse || tape__arrays_count(t->arrays)) return AD_ESTATE;
  if (lanes != t->ladj_lanes || top == 0 || top >= tape__next(t)) return AD_EINVAL;
  tape_pos p = tape__pos_at(t, top);
  switch (lanes) {
  case 1: return tape__lanes1(t, p);
  case 2: return tape__lanes2(t, p);
  case 4: return tape__lanes4(t, p);
  case 8: return tape__lanes8(t, p);
  default: return tape__lanes16(t, p);
  }
}

ad_status tape_reverse_lanes(tape_t *t, int lanes) {
  if (!t || !tape_lanes_valid(lanes)) return AD_EINVAL;
  if (!tape__lanes_ready(t)) return AD_ESTATE;
  uint32_t top = tape__next(t) - 1u;
  return top ? tape_reverse_lanes_from(t, lanes, top) : AD_OK; /* nothing recorded: nothing to sweep */
}
