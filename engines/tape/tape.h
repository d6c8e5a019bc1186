/* tape.h: reverse mode on a Jacobian tape (a Wengert list of partials), in structure-of-arrays form.
 *
 *   tape_t *t = tape_new();
 *   ad_t x = tape_input(t, 2.0), w = tape_input(t, 1.0);       // independent variables
 *   ad_t y = ad_mul_vv(t, ad_add_vv(t, x, w), ad_add_vc(t, w, 1.0));
 *   if (tape_status(t) != AD_OK) ...                             // sticky: an allocation failed while recording
 *   double *adj = tape_adjoints(t);                              // zeroed, one slot per statement
 *   tape_seed(t, y, 1.0);                                        // adj[y.i] += 1.0 * y.d
 *   tape_reverse(t);                                              // adj[w.i] == 5, adj[x.i] == 2
 *   tape_reset(t);                                                // record again, keeping the storage
 *   tape_free(t);
 *
 * Layout (CoDiPack's Jacobian tape with linear indices). Every recorded statement gets the next index; index 0
 * stands for every passive value (constants), which records nothing. Per statement the tape stores only its
 * argument count (1 byte); per argument the partial (8 bytes) and the argument's index (4 bytes), in separate
 * contiguous arrays. The statement's own index is its position, so it needs no storage: 1 + 12 k bytes for a
 * statement with k active arguments. The reverse sweep visits statements last to first:
 *     a = adj[s];  for each argument j of s:  adj[idx[j]] += partial[j] * a
 * A statement whose adjoint is zero propagates nothing, so the statements an output does not reach cost no
 * arithmetic. That skip is exact for finite partials (0 * p adds nothing). Under the non-finite policy of
 * ad_ops.def a statement the output reaches must still propagate 0 * Inf = NaN, and one it does not reach must
 * not: so the sweep tests the partials of zero-adjoint statements, and at the first non-finite one it works out
 * which statements the seeds reach (one byte per statement, allocated then) and goes on tracking that.
 * Storage is two chunked streams (ad_chunk.h): statements, and arguments nested in them. Chunks grow (the first
 * small, each next one twice as large, up to TAPE_CHUNK_MAX statements), so recording never copies what it has
 * written, and tape_reset keeps every chunk for the next recording. A push checks one bound for both streams
 * (st_end: how far the statement cursor may go while both chunks have room for statements of TAPE_ARGS_MAX
 * arguments). The sweep runs statements of three, two and four arguments (nearly all of them under
 * preaccumulation: tape_ops.h) as straight-line code, carries the adjoint of the statement below in a register,
 * and steps over a run of argument-free statements (inputs) at once: their adjoints are complete in memory when the
 * sweep reaches them.
 * Measured on rosenbrock (12,500 elements, callgrind; ns per element at the best of 5 interleaved runs, 1.0 ns for the
 * primal): the recording 114 -> 102 instructions per element (8.1-8.7 ns before, 8.2 after: within the noise), the
 * sweep 141 -> 115 (8.8 -> 5.7-6.1 ns); most of the sweep's gain is the argument-chunk test compiled as the unlikely
 * branch (it was a jump out of line and back per statement). Tried and not kept: carrying the adjoints of statements
 * s - 1 .. s - 3 in registers (a branch per argument: 9.8 against 8.8 ns), no carried register at all (19 ns: the sweep
 * waits on store-to-load forwarding), statement offset and argument offset as the only induction variables (112
 * instructions, no faster), the adjoint vector at other offsets modulo 4096 (no change). Clearing the adjoint vector
 * costs 0.6-0.7 ns per element (callgrind's 32 "instructions" per element are rep stosb's bytes).
 * With pending pairs (tape_ops.h; 1.5 statements of three arguments per rosenbrock element instead of three of two)
 * the sweep takes 72 instructions per element, the recording 100 and the clearing 23 (statements halved). Tried
 * and not kept then (gradient / primal at 10^6 nodes, medians of three alternated runs, without -> with): an
 * adjoint kept in a register while consecutive statements take the same slot at the same argument position (lse's
 * maximum, poly's x: their updates chain through store-to-load forwarding): lse 2.66 -> 2.61, poly 6.13 -> 5.94, but
 * rosenbrock 12.1 -> 12.4, gmm 6.64 -> 6.93, mlp 2.44 -> 2.53 and 35% more sweep instructions; at 10^6 nodes the
 * sweep streams the recording from memory, and the chain is not what it waits on. Non-temporal stores for the
 * argument stream (no read for ownership of the recording's lines): slower everywhere (poly 6.3 -> 8.1 at 10^6
 * nodes, rosenbrock 12.3 -> 14.2 at 10^4: the sweep then reads from memory what the cache held).
 */
#ifndef TAPE_H
#define TAPE_H

#include <stddef.h>
#include <stdint.h>

#include "../ad.h"
#include "../ad_chunk.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A variable: its value v and its derivative as a combination of at most two recorded statements,
 * d * statement i + d2 * statement i2 (i2 = 0: one statement, d2 unused; i = i2 = 0: passive; statement 0 stands
 * for every passive value, so a term of statement 0 adds nothing: its adjoint slot is never read).
 * Inputs and recorded results have d = 1 and i2 = 0. With preaccumulation (tape_ops.h) an op of one active operand
 * records nothing and only scales d and d2, and an op of two one-statement operands records nothing either: its
 * result keeps both (the pending pair), so a variable stands for d * statement i + d2 * statement i2 until an op
 * that would need more records them. Seed an output with tape_seed, or make it one statement with tape_settle. */
typedef struct tape_var {
  double v;
  double d, d2;
  uint32_t i, i2;
} tape_var;

/* A statement's argument count. Wrapped in a struct so that storing it is not a character-type store, which
 * in C may alias anything and would force the compiler to reload the tape's cursors after every statement. */
typedef struct tape_nargs {
  uint8_t n;
} tape_nargs;

/* Two chunked streams (ad_chunk.h), read by the inline ops in tape_ops.h. Treat as opaque.
 * Recording updates only the two write cursors per statement (st.used and args.used): a statement's index is the
 * number of its record in st, and its arguments' partials and indices share one offset in args' two lanes. */
typedef struct tape_t {
  adc_stream st;     /* statements: argument counts (tape_nargs), numbered from 1; each chunk records args' position */
  adc_stream args;   /* arguments: partial (lane 0, double) and argument index (lane 1, uint32_t) */
  size_t st_end;     /* st.used may grow to st_end without a check: both current chunks have room for statements
                      * of up to TAPE_ARGS_MAX arguments until then; the one bound a push checks (tape__room sets
                      * it wherever a cursor moves but in a push) */
  ad_status status;  /* sticky: first error while recording */
  double *adj;       /* adjoint vector, adj_cap slots */
  size_t adj_cap;
  uint8_t *reach;      /* reach marks of a sweep that met a non-finite partial (zero between sweeps) */
  size_t reach_cap;
  double *ladj;        /* lane adjoints of the vector sweep (tape_lanes.c): ladj_lanes per statement */
  size_t ladj_cap;     /* in doubles */
  int ladj_lanes;      /* the lane count ladj was last handed out for (0: none) */
  uint16_t *lreach;    /* per-lane reach marks (bit l: lane l) of a vector sweep that met a non-finite partial */
  size_t lreach_cap;
  struct tape_stats_at_fail { uint64_t statements, arguments; } at_fail; /* what was recorded before an error */
  /* Checkpointing (engines/ckpt/ckpt_tape.h), all NULL without it: tape_reverse and tape_reverse_from hand the
   * sweep to ck_reverse (which sweeps with tape_sweep_down between the regions it re-records), tape_reset calls
   * ck_reset. */
  ad_status (*ck_reverse)(struct tape_t *t, uint32_t top);
  void (*ck_reset)(struct tape_t *t);
  void *ck;
  struct tape_arrays *arrays; /* array ops' records and arena (tape_array.h); NULL until an array op records */
} tape_t;

/* The argument count of an array op's statement (tape_array.h): it has no arguments in the argument stream; the
 * reverse sweep hands it to tape__arrays_stmt. */
#define TAPE_NARGS_ARRAY 255u
/* Hooks of the array side (tape_array.c), called by tape.c; all accept NULL. */
void tape__arrays_free(struct tape_arrays *A);
void tape__arrays_reset(struct tape_arrays *A);
uint64_t tape__arrays_bytes_used(const struct tape_arrays *A);
uint32_t tape__arrays_count(const struct tape_arrays *A); /* array ops recorded (0 for NULL) */
uint64_t tape__arrays_bytes_held(const struct tape_arrays *A);
/* Before a sweep: zeroed array adjoints and reach flags; AD_ENOMEM if they cannot be allocated. */
ad_status tape__arrays_begin(struct tape_arrays *A);
/* Visits array statement s in a sweep (reach: NULL in the fast sweep; propagate 0: reach marks only). Returns 1
 * when the fast sweep must hand over to the careful one at s (s has a zero adjoint and a non-finite partial, the
 * case tape.c's fast sweep hands over at for scalar statements too), having done nothing; 0 otherwise. */
int tape__arrays_stmt(struct tape_arrays *A, double *adj, uint8_t *reach, uint32_t s, int propagate);

typedef struct tape_stats {
  uint64_t statements;    /* recorded statements, inputs included */
  uint64_t arguments;     /* recorded arguments */
  uint64_t bytes_used;    /* bytes the recording occupies: statements * 1 + arguments * 12 */
  uint64_t bytes_held;    /* bytes allocated by the tape: chunks with headers and directories, adjoints */
  uint64_t adjoint_bytes; /* of which the adjoint vector */
} tape_stats;

/* Largest chunk, in statements (argument chunks hold twice as many entries). */
#define TAPE_CHUNK_MAX ((size_t)1 << 18)

/* A new, empty tape; NULL if memory is exhausted. Free with tape_free. */
tape_t *tape_new(void);
/* Frees the tape and all its storage. NULL is ignored. */
void tape_free(tape_t *t);
/* Forgets the recording and the error state, keeps all storage for the next recording. NULL is ignored. */
void tape_reset(tape_t *t);
/* Frees all storage beyond the first chunks (after a large recording). Implies tape_reset. */
void tape_shrink(tape_t *t);
/* AD_OK, or the first error met while recording (AD_ENOMEM, AD_ERANGE). NULL gives AD_EINVAL. */
ad_status tape_status(const tape_t *t);
/* Sizes of the current recording and of the storage held. After a recording error, the statements and arguments
 * recorded before it (never more than were recorded). NULL gives zeros. */
tape_stats tape_get_stats(const tape_t *t);

/* Records an independent variable with value v. */
static inline tape_var tape_input(tape_t *t, double v);
/* Records n independent variables with values x[0 .. n) into out[0 .. n): what n calls of tape_input record, their
 * statements consecutive (out[j].i == out[0].i + j while tape_status is AD_OK), in runs of one bound check and one
 * memset of argument counts per chunk instead of a check per input. x and out must not overlap; n = 0 records
 * nothing. After an allocation failure, as tape_input: the status is set and the indices are meaningless. */
void tape_inputs(tape_t *t, size_t n, const double *x, tape_var *out);

/* Returns the adjoint vector, one zeroed double per recorded statement plus slot 0 (indexed by tape_var.i);
 * NULL (with tape_status set to AD_ENOMEM) if it cannot be allocated. Valid until the next recording or reset, and,
 * with checkpointing attached (engines/ckpt/ckpt_tape.h), until the next reverse sweep, which may move it to make
 * room for a re-recorded segment: read t->adj again after tape_reverse. */
double *tape_adjoints(tape_t *t);
/* Adds w times the derivative of y into the adjoints (adj[y.i] += w * y.d, and adj[y.i2] += w * y.d2 for a pending
 * pair): how an output is seeded, since a variable stands for a combination of statements. Nothing for a passive
 * y. Call after tape_adjoints(). A pending pair is seeded term by term, and under the non-finite policy (ad_ops.def)
 * a term whose product is zero is no seed: to seed an output as the op that made it (reached as a whole, so that
 * 0 * Inf below a zero partial gives NaN), make it one statement with tape_settle while recording, as the
 * engine's adapter does. */
static inline void tape_seed(tape_t *t, tape_var y, double w);
/* y as one statement (i2 = 0): a pending pair is recorded as a statement of its two terms, which is then y with
 * d = 1; any other y is returned as it is. For code that needs one index per variable (checkpointed states, array
 * ops). Call while recording. */
static inline tape_var tape_settle(tape_t *t, tape_var y);
/* y made ready to be seeded as an output with tape_seed, without a statement where none is needed: a pending pair
 * whose two partials are nonzero stays a pair (seeded term by term, and a sweep from tape_top(y) starts where y was
 * computed, not at the end of the recording); a pair with a zero partial is settled (a zero term would be no seed,
 * where the non-finite policy reaches the op that made y as a whole). Call while recording. */
static inline tape_var tape_output(tape_t *t, tape_var y);
/* The highest statement y stands for (0 for a passive y): where a reverse sweep seeded at y starts. */
static inline uint32_t tape_top(tape_var y) { return y.i > y.i2 ? y.i : y.i2; }
/* Sets every adjoint back to zero (between reverse sweeps of a Jacobian). */
void tape_clear_adjoints(tape_t *t);
/* The reverse sweep: propagates the adjoints the caller seeded in tape_adjoints() to all statements. Each sweep
 * adds into the adjoints, so clear them between sweeps. A seed is a nonzero adjoint: a statement seeded with 0 and
 * not reached from a nonzero seed counts as not reached (the policy of ad_ops.def: it propagates nothing).
 * Returns AD_ESTATE if the recording failed or no adjoint vector was requested, AD_EINVAL for NULL, AD_ENOMEM if
 * a sweep that met a non-finite partial cannot allocate its reach marks; AD_OK otherwise. */
ad_status tape_reverse(tape_t *t);
/* The reverse sweep over statements top, top - 1, ..., 1 only: what tape_reverse does when every statement above
 * top has a zero adjoint, in time proportional to top (a Jacobian's rows: seed one output, sweep from it).
 * Returns AD_EINVAL for NULL or top outside [1, statements], AD_ESTATE as tape_reverse. */
ad_status tape_reverse_from(tape_t *t, uint32_t top);

/* ---- Segments: what checkpointing needs (engines/ckpt/ckpt_tape.h) ---- */

/* Where the recording stands (both streams' write cursors). */
typedef struct tape_mark {
  adc_pos st, args;
} tape_mark;
/* A position of a reverse sweep: the statements before it (and their arguments) are still to be visited. */
typedef struct tape_cursor {
  adc_reader sr, ar;
} tape_cursor;

/* The recording's end, to come back to with tape_rewind. */
tape_mark tape_tell(const tape_t *t);
/* Forgets every statement recorded after m (a mark of the current recording), keeping the chunks for reuse; clears
 * an error met after m. */
void tape_rewind(tape_t *t, tape_mark m);
/* Makes the adjoint vector cover every statement recorded so far, keeping the values it holds (new slots zero).
 * AD_ENOMEM (the vector unchanged), AD_ESTATE without an adjoint vector, AD_EINVAL for NULL. */
ad_status tape_adjoints_cover(tape_t *t);
/* A sweep cursor just above the last statement recorded, or just above statement top (1 <= top < next). */
tape_cursor tape_cursor_end(const tape_t *t);
ad_status tape_cursor_at(const tape_t *t, uint32_t top, tape_cursor *c);
/* Sweeps the statements from *c down to, not including, statement stop, as tape_reverse does, and leaves *c just
 * above stop. AD_ENOMEM as tape_reverse. The adjoint vector must cover the statements (tape_adjoints_cover). */
ad_status tape_sweep_down(tape_t *t, tape_cursor *c, uint32_t stop);

/* Sets the sticky status to s (if it is AD_OK) and sinks further recording, as a failed allocation does: for
 * recording code outside tape.c (checkpointing) that meets an error. */
void tape_fail(tape_t *t, ad_status s);

/* ---- vector reverse mode: K adjoint lanes per sweep (tape_lanes.c) ----
 *
 *   for (int l = 0; l < 4; ++l) y[l] = tape_settle(t, y[l]);  // while recording: one statement per output
 *   double *A = tape_adjoints_lanes(t, 4);                    // zeroed: A[i * 4 + l] is lane l of statement i
 *   for (int l = 0; l < 4; ++l) A[y[l].i * 4 + l] = y[l].d;   // lane l seeds output l
 *   tape_reverse_lanes_from(t, 4, top);                       // top: the highest seeded statement
 *   ... A[x[j].i * 4 + l] is d y[l] / d x[j]
 *
 * One sweep carries K adjoints per statement, so a Jacobian of m outputs takes ceil(m / K) sweeps over one
 * recording: the statements, argument counts, partials and indices are read once for K outputs, and the K-wide
 * multiply-adds run as SIMD. Each lane gives bit for bit what a one-adjoint sweep (tape_reverse_from) seeded with
 * that lane's seeds gives (a zero may differ in sign), the non-finite policy included: a statement is reached per
 * lane, and a statement with an infinite or NaN partial propagates exactly into the lanes that reach it. The fast
 * sweep skips a statement whose K lanes are all zero and stops, as the one-adjoint sweep does, at a statement with
 * an infinite or NaN partial where some lane is zero; the careful sweep from there keeps a reach bit per lane.
 * K is 1, 2, 4, 8 or 16, each a build of the same source (tape_lanes_sweep.h). */

/* The largest lane count; the lane counts are the powers of two up to it. */
#define TAPE_LANES_MAX 16
/* 1 if lanes is a lane count the vector sweep is built for (1, 2, 4, 8, 16), else 0. */
int tape_lanes_valid(int lanes);
/* Returns the lane adjoints: lanes zeroed doubles per recorded statement plus slot 0, lane l of statement i at
 * [i * lanes + l]; valid until the next recording, reset or call with another lane count. NULL for NULL t or an
 * invalid lane count, and NULL with tape_status set to AD_ENOMEM if they cannot be allocated. */
double *tape_adjoints_lanes(tape_t *t, int lanes);
/* Sets every lane adjoint of statements 0 .. top back to zero (between sweeps; the statements above top were
 * not touched by a sweep from top). Nothing without lane adjoints; top is clamped to the recording. */
void tape_clear_adjoints_lanes(tape_t *t, uint32_t top);
/* The vector reverse sweep over statements top, top - 1, ..., 1: per lane, what tape_reverse_from does with that
 * lane's seeds (every statement above top must have zero adjoints in every lane). Adds into the lane adjoints.
 * Returns AD_EINVAL for NULL, a lane count other than the one of the last tape_adjoints_lanes call, or top outside
 * [1, statements]; AD_ESTATE if the recording failed, no lane adjoints were requested, checkpointing is
 * attached (ckpt_tape.h: its segments are re-recorded by the one-adjoint sweep only) or the recording holds array
 * ops (tape_array.h: swept by the one-adjoint sweep only); AD_ENOMEM if a sweep
 * that met a non-finite partial cannot allocate its reach marks (two bytes per statement, kept); AD_OK otherwise. */
ad_status tape_reverse_lanes_from(tape_t *t, int lanes, uint32_t top);
/* The same from the last statement (the whole recording). */
ad_status tape_reverse_lanes(tape_t *t, int lanes);

/* Internal: adj += p * a in a sweep, fused where the CPU has FMA (adjoints may differ from a separate
 * multiply-add in the last bit; values never do: they are computed while recording). */
#if defined(__FMA__)
#define TAPE_MADD(acc, p, a) ((acc) = __builtin_fma((p), (a), (acc)))
#else
#define TAPE_MADD(acc, p, a) ((acc) += (p) * (a))
#endif

/* Internal: where a reverse sweep stands (a tape_cursor): sr's first sr.off statements (and those of every chunk
 * before it) are still to be visited, last to first; ar stands just past the arguments of the last of them. */
typedef tape_cursor tape_pos;
/* Internal: the position of a sweep that starts at statement top (1 <= top < tape__next(t)). */
tape_pos tape__pos_at(const tape_t *t, uint32_t top);

/* The most arguments a scalar statement records (tape__push0 .. tape__push4). */
#define TAPE_ARGS_MAX 4u
/* Internal: makes room for one statement of up to TAPE_ARGS_MAX arguments (st.used < st_end), moving either
 * stream to its next chunk (allocating it if need be) where its chunk is full: the arguments move when fewer than
 * TAPE_ARGS_MAX slots are left, whatever the statement's count (tape_cursor_at replays that placement). On failure
 * sets the sticky status and redirects writes into scratch space, so recording goes on harmlessly. */
void tape__grow(tape_t *t);

/* ---- inline recording primitives (used by tape_ops.h) ---- */

/* Index of the next statement. */
AD_INLINE uint32_t tape__next(const tape_t *t) { return (uint32_t)t->st.first + (uint32_t)t->st.used; }

/* Each push checks one bound (st_end) for both streams. */
AD_INLINE uint32_t tape__push0(tape_t *t) {
  if (AD_UNLIKELY(t->st.used >= t->st_end)) tape__grow(t);
  size_t so = adc_push(&t->st, 1);
  uint32_t id = (uint32_t)t->st.first + (uint32_t)so;
  ADC_LANE(&t->st, tape_nargs)[so].n = 0;
  return id;
}

/* A statement of k (1 .. TAPE_ARGS_MAX, a constant at every call) arguments: indices i[], partials p[]. */
AD_INLINE uint32_t tape__pushk(tape_t *t, unsigned k, const uint32_t *i, const double *p) {
  if (AD_UNLIKELY(t->st.used >= t->st_end)) tape__grow(t);
  size_t so = adc_push(&t->st, 1), ao = adc_push(&t->args, k);
  uint32_t id = (uint32_t)t->st.first + (uint32_t)so;
  double *ap = ADC_LANE(&t->args, double) + ao;
  uint32_t *ai = ADC_LANE1(&t->args, uint32_t) + ao;
  for (unsigned j = 0; j < k; ++j) ap[j] = p[j];
  for (unsigned j = 0; j < k; ++j) ai[j] = i[j];
  ADC_LANE(&t->st, tape_nargs)[so].n = (uint8_t)k;
  return id;
}
AD_INLINE uint32_t tape__push1(tape_t *t, uint32_t i1, double p1) {
  return tape__pushk(t, 1, (const uint32_t[]){i1}, (const double[]){p1});
}
AD_INLINE uint32_t tape__push2(tape_t *t, uint32_t i1, double p1, uint32_t i2, double p2) {
  return tape__pushk(t, 2, (const uint32_t[]){i1, i2}, (const double[]){p1, p2});
}
AD_INLINE uint32_t tape__push3(tape_t *t, uint32_t i1, double p1, uint32_t i2, double p2, uint32_t i3, double p3) {
  return tape__pushk(t, 3, (const uint32_t[]){i1, i2, i3}, (const double[]){p1, p2, p3});
}
AD_INLINE uint32_t tape__push4(tape_t *t, uint32_t i1, double p1, uint32_t i2, double p2, uint32_t i3, double p3,
                               uint32_t i4, double p4) {
  return tape__pushk(t, 4, (const uint32_t[]){i1, i2, i3, i4}, (const double[]){p1, p2, p3, p4});
}

/* Internal: a variable of one statement. */
AD_INLINE tape_var tape__var(double v, double d, uint32_t i) {
  tape_var r;
  r.v = v;
  r.d = d;
  r.d2 = 0.0;
  r.i = i;
  r.i2 = 0;
  return r;
}

static inline tape_var tape_input(tape_t *t, double v) { return tape__var(v, 1.0, tape__push0(t)); }

static inline void tape_seed(tape_t *t, tape_var y, double w) {
  if (!(y.i | y.i2) || !t->adj) return;
  t->adj[y.i] += w * y.d; /* slot 0 (a passive term) is never read */
  if (y.i2) t->adj[y.i2] += w * y.d2;
}

static inline tape_var tape_settle(tape_t *t, tape_var y) {
  if (!y.i2) return y;
  return tape__var(y.v, 1.0, tape__push2(t, y.i, y.d, y.i2, y.d2));
}

static inline tape_var tape_output(tape_t *t, tape_var y) {
  return y.i2 && (y.d == 0.0 || y.d2 == 0.0 || !y.i) ? tape_settle(t, y) : y;
}

#ifdef __cplusplus
}
#endif
#endif
