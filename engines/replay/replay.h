/* replay.h: reverse mode on a primal-value tape that can be replayed at new inputs, with control-flow guards.
 *
 *   #include "replay/replay_ops.h"                                    // the op interface, recording on t
 *   replay_t *t = replay_new();
 *   replay_var x = replay_input(t, 2.0), w = replay_input(t, 1.0);     // record once, at x = 2, w = 1
 *   replay_var y = ad_mul_vv(t, ad_add_vv(t, x, w), ad_add_vc(t, w, 1.0));
 *   double x2[2] = {3.0, 0.5};
 *   if (replay_forward(t, x2, 2) == AD_OK) {                           // re-evaluate at x = 3, w = 0.5
 *     double *adj = replay_adjoints(t);
 *     adj[y.i] = 1.0;
 *     replay_reverse(t);                       // replay_value(t, y) == 5.25, adj[x.i] == 1.5, adj[w.i] == 5
 *   }                                          // AD_EGUARD instead: control flow changed, record again
 *   replay_free(t);
 *
 * Layout (a primal-value tape, as ADOL-C's and CoDiPack's primal-value tapes). Every recorded statement gets the
 * next index; index 0 stands for every passive value (constants), which records nothing. Per statement the tape
 * stores its code (1 byte: the ad_op of ad_ops.def, or an input), its active operands' indices (4 bytes each),
 * the constant operand of a VC or CV op (or of a VV op with one passive operand, 8 bytes), and its value
 * (8 bytes, in a value vector indexed by statement). No partial derivative is stored: replay_forward re-evaluates
 * every statement at new inputs with the list's value expressions, and replay_reverse recomputes the partials
 * from the stored operand values with the list's partial expressions. Both are switch statements generated
 * from ad_ops.def, so they cannot drift from the other engines; a replay gives bit for bit the values and
 * adjoints a fresh recording at the same inputs gives.
 *
 * Guards. The recording is valid only for inputs that take the same path through the program. So the tape also
 * keeps, in recording order, a guard for every decision that depended on an active value:
 *   comparisons   ad_lt_vv, ad_gt_vc, ... (replay_ops.h): the comparison and the outcome it had;
 *   kinks         abs (sign of its operand), fmax and fmin (which operand won, or the tie): where the
 *                 derivative rule switches;
 *   value reads   ad_val of an active variable: the value itself (the program may have used it for anything).
 * replay_forward re-evaluates each guard where it was recorded and stops at the first whose outcome differs,
 * returning AD_EGUARD: the values are then those of a path the program would not take, and replay_reverse
 * refuses them until a replay succeeds or a new recording is made. replay_guard_message says where
 * ("control flow changed at op N (...): record again").
 *
 * Only the inputs change on replay: constants (a workload's data, its sizes, every double passed to a _vc or _cv
 * op) are part of the recording. Through the op interface, a program gets a double out of an active value only
 * by ad_val or a comparison, and both are guarded; reading replay_var.v directly bypasses the guards.
 *
 * Arrays (replay_array.h): an array op is one statement (code REPLAY_CODE_ARRAY, one operand: its record in the
 * tape's array side), whose values both sweeps recompute with the same kernels.
 *
 * Storage: the code, operand and constant streams are chunked streams (ad_chunk.h; the first chunk small, each
 * next one twice as large, up to REPLAY_CHUNK_MAX entries; the codes' chunks record where the other two stood),
 * so recording never copies them; the value and adjoint vectors are contiguous
 * (replay reads operand values by index) and grow by doubling. replay_reset keeps all storage.
 */
#ifndef REPLAY_H
#define REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "../ad.h"
#include "../ad_chunk.h"

#ifdef __cplusplus
extern "C" {
#endif

/* An active variable: its value when recorded, its index on the tape (0: passive) and the tag of the tape and
 * generation that recorded it (in what would be padding): ops refuse a variable of another tape, or one from before
 * the last replay_reset or replay_shrink, with AD_EFOREIGN instead of reading a wrong or out-of-range index. */
typedef struct replay_var {
  double v;
  uint32_t i;
  uint32_t g;
} replay_var;

/* ---- Statement and guard codes (one byte each on the tape) -------------------------------------------------- */

/* The comparisons of AD_CMP_LIST, numbered. */
typedef enum replay_cmp {
#define REPLAY__X(name, op) REPLAY_CMP_##name,
  AD_CMP_LIST(REPLAY__X)
#undef REPLAY__X
  REPLAY_CMP_COUNT
} replay_cmp;

/* Order of two doubles, the outcome of fmax/fmin and abs guards. */
enum { REPLAY_ORDER_LT, REPLAY_ORDER_EQ, REPLAY_ORDER_GT, REPLAY_ORDER_UNORDERED, REPLAY_ORDER_COUNT };

enum {
  /* [0, AD_OP_COUNT): an op with its operands as its kind says (U: 1 index; VV: 2; VC, CV: 1 index, 1 constant) */
  REPLAY_CODE_VK = AD_OP_COUNT,       /* + VV op whose b operand was passive: 1 index (a), 1 constant (b) */
  REPLAY_CODE_KV = 2 * AD_OP_COUNT,   /* + VV op whose a operand was passive: 1 index (b), 1 constant (a) */
  REPLAY_CODE_INPUT = 3 * AD_OP_COUNT, /* an independent variable: no operand */
  /* Guards: no value, no index of their own. The outcome they had is part of the code. */
  REPLAY_G_CMP_VV,                                          /* + 2 cmp + outcome: 2 indices */
  REPLAY_G_CMP_VC = REPLAY_G_CMP_VV + 2 * REPLAY_CMP_COUNT, /* + 2 cmp + outcome: 1 index, 1 constant */
  REPLAY_G_ORDER_VV = REPLAY_G_CMP_VC + 2 * REPLAY_CMP_COUNT, /* + order (fmax_vv, fmin_vv): 2 indices */
  REPLAY_G_ORDER_VC = REPLAY_G_ORDER_VV + REPLAY_ORDER_COUNT, /* + order (fmax_vc, fmin_vc): 1 index, 1 constant */
  REPLAY_G_SIGN = REPLAY_G_ORDER_VC + REPLAY_ORDER_COUNT,     /* + order against 0 (abs): 1 index */
  REPLAY_G_VALUE = REPLAY_G_SIGN + REPLAY_ORDER_COUNT,        /* value read (ad_val): 1 index, 1 constant */
  REPLAY_CODE_ARRAY, /* an array op (replay_array.h): 1 index, its record in the array side; a value slot */
  REPLAY_CODE_COUNT
};

/* ---- The tape ---------------------------------------------------------------------------------------------- */

/* A guard that fired: where, and what it saw. */
typedef struct replay_guard {
  uint64_t op;        /* position on the tape: records (inputs, statements, guards) before it */
  uint32_t statement; /* index of the statement recorded right after it */
  unsigned code;      /* its code, REPLAY_G_... plus outcome */
  int recorded, now;  /* outcomes: 0/1 for comparisons, REPLAY_ORDER_... for kinks, 1/0 (same value) for reads */
} replay_guard;

/* The hot fields come first; all are read by the inline ops in replay_ops.h. Treat as opaque. */
typedef struct replay_t {
  adc_stream ops;           /* codes (uint8_t), one per record; each chunk records where args and csts stood */
  adc_stream args;          /* operand indices (uint32_t) */
  adc_stream csts;          /* constants (double) */
  double *vp, *vp_end;      /* while recording: &val[next], end of the value vector */
  uint32_t next;            /* index the next statement receives */
  uint32_t tag;             /* nonzero tag of this tape and generation, carried by its variables */
  uint32_t generation;      /* replay_reset counts up */
  ad_status status;         /* sticky: first error while recording */
  ad_status values;         /* AD_OK when val[] holds a complete evaluation (recording or replay) */
  int kink_guards;          /* 1: kink guards stop a replay (the default) */
  uint32_t n_inputs;
  uint64_t n_guards;
  double *val; /* value vector, val_cap slots */
  size_t val_cap;
  double *adj; /* adjoint vector, adj_cap slots */
  uint8_t *reach; /* adj_cap reach marks of the reverse sweep (zero between sweeps) */
  size_t adj_cap;
  double *ladj;    /* lane adjoints of the vector sweep: ladj_lanes per statement, ladj_cap doubles */
  size_t ladj_cap;
  int ladj_lanes;  /* the lane count ladj was last handed out for (0: none) */
  uint16_t *lreach; /* lreach_cap per-lane reach marks of the vector sweep (bit l: lane l; zero between sweeps) */
  size_t lreach_cap;
  replay_guard guard; /* the last guard that fired */
  struct replay_arrays *arrays; /* array ops' records and arena (replay_array.h); NULL until an array op records */
} replay_t;

typedef struct replay_stats {
  uint64_t statements;    /* recorded statements, inputs included */
  uint64_t inputs;
  uint64_t guards;        /* recorded guards */
  uint64_t arguments;     /* recorded operand indices (of statements and guards) */
  uint64_t constants;     /* recorded constants */
  uint64_t bytes_used;    /* the recording: (statements + guards) + 4 arguments + 8 constants + 8 statements */
  uint64_t bytes_held;    /* bytes allocated by the tape: chunks and their headers, value and adjoint vectors */
  uint64_t value_bytes;   /* of which the value vector's capacity */
  uint64_t adjoint_bytes; /* of which the adjoint vector's capacity and its reach marks (1 byte per slot) */
} replay_stats;

/* Largest chunk, in entries. */
#define REPLAY_CHUNK_MAX ((size_t)1 << 20)

/* A new, empty tape; NULL if memory is exhausted. Free with replay_free. */
replay_t *replay_new(void);
/* Frees the tape and all its storage. NULL is ignored. */
void replay_free(replay_t *t);
/* Forgets the recording and the error state, keeps all storage (and the kink setting) for the next recording.
 * NULL is ignored. */
void replay_reset(replay_t *t);
/* Frees all storage beyond the first chunks (after a large recording). Implies replay_reset. NULL is ignored. */
void replay_shrink(replay_t *t);
/* AD_OK, or the first error met while recording (AD_ENOMEM, AD_ERANGE, or AD_EFOREIGN: an op was given a variable
 * of another tape or generation). NULL gives AD_EINVAL. */
ad_status replay_status(const replay_t *t);
/* Sizes of the current recording and of the storage held. NULL gives zeros. */
replay_stats replay_get_stats(const replay_t *t);

/* Records an independent variable with value v. Replays take new values for the inputs in recording order. */
static inline replay_var replay_input(replay_t *t, double v);

/* The value of x in the last complete evaluation: the recording, or the last successful replay. Passive x gives
 * its constant value; so does any x after a failed recording, and an x of another tape or generation (never read
 * out of range). Meaningless after a refused replay. */
static inline double replay_value(const replay_t *t, replay_var x);

/* Re-evaluates the recording at new inputs x[0..n_x), in the order replay_input recorded them, checking every
 * guard. Returns AD_OK (values updated; replay_reverse may follow), AD_EGUARD at the first guard whose outcome
 * differs (see replay_last_guard; the values are then unusable until a replay succeeds or a new recording),
 * AD_ESTATE if the recording failed, AD_EINVAL for NULL t, NULL x with n_x > 0, or n_x different from the
 * number of recorded inputs. Allocates nothing. */
ad_status replay_forward(replay_t *t, const double *x, size_t n_x);

/* Like replay_forward, but ignores guards: evaluates the recorded path at x whatever the program would do there
 * and stores in *fired (may be NULL) how many guards' outcomes differed. When *fired > 0 the values and the
 * gradient after it belong to the recorded path, not to the function at x: it exists to show that hazard (and
 * to measure a replay without guard checks). Same errors as replay_forward, never AD_EGUARD. */
ad_status replay_forward_unguarded(replay_t *t, const double *x, size_t n_x, uint64_t *fired);

/* on = 1 (the default): abs, fmax and fmin guards stop a replay like comparisons. on = 0: they are ignored.
 * Since this tape recomputes partials from the replayed values, a kink crossed on replay still gives the
 * derivative a fresh recording gives; what stops being true is that the tape's derivative rules are those seen
 * while recording. Comparisons and value reads always stop a replay. NULL is ignored. */
void replay_set_kink_guards(replay_t *t, int on);

/* The last guard that fired (zeros if none did). NULL gives zeros. */
replay_guard replay_last_guard(const replay_t *t);
/* A name for the decision a guard code stands for: "gt_vc", "fmax/fmin", "abs", "ad_val", ...; "?" otherwise. */
const char *replay_guard_name(unsigned code);
/* Writes "control flow changed at op N (gt_vc: recorded true, now false): record again" for the last guard
 * that fired ("no guard fired" if none did) into buf (at most n bytes, always terminated when n > 0; buf may be
 * NULL when n is 0). Returns the length it needed (as snprintf); 0 for NULL t. */
int replay_guard_message(const replay_t *t, char *buf, size_t n);

/* Returns the adjoint vector, one zeroed double per statement plus slot 0 (indexed by replay_var.i); NULL if the
 * recording failed, or (with replay_status set to AD_ENOMEM) if it cannot be allocated. Valid until the next
 * recording, reset or shrink. */
double *replay_adjoints(replay_t *t);
/* Sets every adjoint back to zero (between reverse sweeps of a Jacobian). NULL is ignored. */
void replay_clear_adjoints(replay_t *t);
/* The reverse sweep over the last complete evaluation: propagates the adjoints the caller seeded in
 * replay_adjoints() to all statements the nonzero seeds reach, recomputing each partial from the stored values;
 * statements they do not reach propagate nothing (the non-finite policy of ad_ops.def). Each sweep adds into the
 * adjoints, so clear them between sweeps. Returns AD_EINVAL for NULL; AD_ESTATE if the recording failed or no
 * adjoint vector was requested; AD_EGUARD after a refused replay; AD_OK otherwise. Allocates nothing. */
ad_status replay_reverse(replay_t *t);

/* ---- Vector reverse mode: K adjoint lanes per sweep ----
 *
 *   double *A = replay_adjoints_lanes(t, 4);            // zeroed: A[i * 4 + l] is lane l of statement i
 *   for (int l = 0; l < 4; ++l) A[y[l].i * 4 + l] = 1.0; // lane l seeds output l
 *   replay_reverse_lanes(t, 4);                         // A[x[j].i * 4 + l] is d y[l] / d x[j]
 *
 * One sweep carries K adjoints per statement, so m outputs take ceil(m / K) sweeps; each statement's partials are
 * recomputed once for the K lanes, and the K-wide multiply-adds run as SIMD (engines/tape/tape_lanes_vec.h). Each
 * lane gives what replay_reverse gives with that lane's seeds, the non-finite policy included (reach is tracked per
 * lane); a zero may differ in sign. K is 1, 2, 4, 8 or 16, each a build of the same source (replay_lanes_sweep.h). */

/* Returns the lane adjoints: lanes zeroed doubles per statement plus slot 0, lane l of statement i at
 * [i * lanes + l]; valid until the next recording, reset, shrink or call with another lane count. NULL for NULL t,
 * a lane count other than 1, 2, 4, 8, 16, or a failed recording; NULL with replay_status set to AD_ENOMEM if they
 * cannot be allocated. */
double *replay_adjoints_lanes(replay_t *t, int lanes);
/* Sets every lane adjoint back to zero (between sweeps). NULL is ignored. */
void replay_clear_adjoints_lanes(replay_t *t);
/* The vector reverse sweep over the last complete evaluation: per lane, what replay_reverse does with that lane's
 * seeds. Adds into the lane adjoints. A recording with array ops (replay_array.h) is swept one lane at a time by
 * replay_reverse, through the one-adjoint vector (allocated by replay_adjoints if need be: AD_ENOMEM if it cannot). Returns AD_EINVAL for NULL or a lane count other than the one of the last
 * replay_adjoints_lanes call; AD_ESTATE if the recording failed or no lane adjoints were requested; AD_EGUARD after
 * a refused replay; AD_OK otherwise. Allocates nothing. */
ad_status replay_reverse_lanes(replay_t *t, int lanes);

/* Internal: makes room for one record with nargs indices, ncst constants and nval values, moving to the next
 * chunk or growing the value vector. On failure sets the sticky status and redirects writes into scratch space,
 * so recording goes on harmlessly. */
void replay__grow(replay_t *t, unsigned nargs, unsigned ncst, unsigned nval);
/* An op was given a variable of another tape or generation: sets the sticky status to AD_EFOREIGN (recording goes
 * on harmlessly, as after an allocation failure) and returns a passive NaN. */
replay_var replay__foreign(replay_t *t);
/* 1 if x is passive or was recorded by t in its current generation. */
AD_INLINE int replay__ours(const replay_t *t, replay_var x) { return !x.i || x.g == t->tag; }

/* ---- inline recording primitives (used by replay_ops.h) ---- */

/* A statement with code, na indices (i0, i1) and nc constants (k), value v. Takes every slot before storing,
 * since stores through uint8_t * may alias the cursors; the code goes last. */
AD_INLINE uint32_t replay__push(replay_t *t, unsigned code, unsigned na, uint32_t i0, uint32_t i1, unsigned nc,
                                double k, double v) {
  if (AD_UNLIKELY(t->vp == t->vp_end || t->ops.used == t->ops.cap || t->args.cap - t->args.used < na ||
                  (nc && t->csts.used == t->csts.cap)))
    replay__grow(t, na, nc, 1);
  uint8_t *op = ADC_LANE(&t->ops, uint8_t) + adc_push(&t->ops, 1);
  uint32_t *arg = ADC_LANE(&t->args, uint32_t) + adc_push(&t->args, na);
  double *cst = ADC_LANE(&t->csts, double) + adc_push(&t->csts, nc), *vp = t->vp;
  uint32_t id = t->next;
  t->vp = vp + 1;
  t->next = id + 1;
  if (na > 0) arg[0] = i0;
  if (na > 1) arg[1] = i1;
  if (nc) cst[0] = k;
  vp[0] = v;
  op[0] = (uint8_t)code;
  return id;
}

/* Hooks of the array side (replay_array.c), called by replay.c; all accept a tape without arrays. */
struct replay_arrays;
void replay__arr_free(replay_t *t);
void replay__arr_reset(replay_t *t);
uint32_t replay__arr_count(const replay_t *t); /* array ops recorded */
uint64_t replay__arr_bytes_used(const replay_t *t);
uint64_t replay__arr_bytes_held(const replay_t *t);
ad_status replay__arr_adjoints(replay_t *t); /* zeroed array adjoints; AD_ENOMEM if they cannot be allocated */
void replay__arr_clear(replay_t *t);          /* zeroes the array adjoints */
int replay__arr_ready(const replay_t *t);     /* 1 if the array adjoints exist (or none are needed) */
/* Replays array record ri at the current values val; returns its scalar result (0 for an array result). */
double replay__arr_fwd(replay_t *t, uint32_t ri, const double *val);
/* Visits array record ri in the reverse sweep: w the adjoint of its statement, reached as for scalar statements. */
void replay__arr_rev(replay_t *t, uint32_t ri, double w, int reached, const double *val, double *adj, uint8_t *reach);
/* Sets the sticky status (first error wins) as an allocation failure does: recording goes on harmlessly. */
void replay__fail(replay_t *t, ad_status s);

/* A guard with code, na indices (i0, i1) and nc constants (k): no value, no index of its own. */
AD_INLINE void replay__guard(replay_t *t, unsigned code, unsigned na, uint32_t i0, uint32_t i1, unsigned nc,
                             double k) {
  if (AD_UNLIKELY(t->ops.used == t->ops.cap || t->args.cap - t->args.used < na ||
                  (nc && t->csts.used == t->csts.cap)))
    replay__grow(t, na, nc, 0);
  uint8_t *op = ADC_LANE(&t->ops, uint8_t) + adc_push(&t->ops, 1);
  uint32_t *arg = ADC_LANE(&t->args, uint32_t) + adc_push(&t->args, na);
  double *cst = ADC_LANE(&t->csts, double) + adc_push(&t->csts, nc);
  t->n_guards++;
  if (na > 0) arg[0] = i0;
  if (na > 1) arg[1] = i1;
  if (nc) cst[0] = k;
  op[0] = (uint8_t)code;
}

static inline replay_var replay_input(replay_t *t, double v) {
  replay_var r;
  r.v = v;
  r.i = replay__push(t, REPLAY_CODE_INPUT, 0, 0, 0, 0, 0.0, v);
  r.g = t->tag;
  t->n_inputs++;
  return r;
}

static inline double replay_value(const replay_t *t, replay_var x) {
  return x.i && t->status == AD_OK && x.g == t->tag && x.i < t->next ? t->val[x.i] : x.v;
}

#ifdef __cplusplus
}
#endif
#endif
