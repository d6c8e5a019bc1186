/* array_rprog.h: random array programs (array_random.inc) run on one engine each (array_rprog_<engine>.c), so that
 * one test can compare engines whose array types cannot share a translation unit. */
#ifndef ARRAY_RPROG_H
#define ARRAY_RPROG_H

#include <stdint.h>

#include "ad.h"

/* The most inputs a program has. */
enum { RP_MAXN_INPUTS = 65 };

/* The number of inputs of program `seed`: a vector of n (1 .. 64) and one scalar. */
static inline int rprog_inputs(uint64_t seed) {
  uint64_t z = seed * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E5ull;
  z ^= z >> 29;
  return 1 + (int)(z % 64u) + 1;
}

/* Program `seed` at x (rprog_inputs(seed) values): its value into *f and (the reverse engines) its gradient into
 * g. replay records at x0 and then replays at x (x0 NULL: records at x). Returns the engine's status. */
ad_status rprog_primal(uint64_t seed, const double *x, double *f);
ad_status rprog_tape(uint64_t seed, const double *x, double *f, double *g);
ad_status rprog_graph(uint64_t seed, const double *x, double *f, double *g);
ad_status rprog_replay(uint64_t seed, const double *x0, const double *x, double *f, double *g);

#endif
