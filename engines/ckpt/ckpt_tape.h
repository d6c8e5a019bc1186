/* ckpt_tape.h: checkpointed time steps on the tape engine: a loop of steps whose tapes are dropped and re-recorded
 * during the reverse sweep by a schedule of ckpt.h, so that a gradient fits where its whole tape does not.
 *
 *   tape_t *t = tape_new();
 *   ckpt_spec sp;  ckpt_parse("binomial:16", &sp);
 *   ckpt_tape_attach(t, sp);                         // from now on AD_STEPS regions on t are checkpointed
 *   ... x = tape_input(...) ...
 *   ckpt_tape_steps(t, step, &env, sizeof env, 1000, np, params, ns, state);   // what AD_STEPS expands to
 *   tape_adjoints(t); tape_seed(t, y, 1.0); tape_reverse(t);                  // re-records steps as it goes
 *   ckpt_tape_detach(t); tape_free(t);
 *
 * The step: void step(tape_t *t, const void *env, int k, const tape_var *p, tape_var *s) computes state s of step
 * k + 1 from s (ns variables) and the parameters p (np variables). It must read active variables only through p and s
 * (env holds sizes, constants and pointers to scratch or constant data that stay valid until the last reverse sweep
 * of the recording; env itself is copied), and its control flow may depend on values but not on whether it records.
 *
 * How (the model of ckpt.h, Griewank and Walther's advance / takeshot / restore / youturn):
 *  - Forward (inside the workload): the plan's actions up to its first REVERSE run with passive copies of p and s
 *    (values only: the ops record nothing); checkpoints keep the state's values. The first REVERSE's steps (the last
 *    ones) are recorded in place on the tape. The region's outputs become statements of their own.
 *  - Reverse (tape_reverse): the sweep runs down to the region, then each further REVERSE of the plan records its
 *    steps above the tape's end, seeds their outputs with the adjoints gathered for them, sweeps them (their inputs'
 *    adjoints land in statements of the main tape, the parameters' directly in the parameters' adjoints) and drops
 *    them. A second sweep over the same recording first re-runs the forward actions from the first checkpoint.
 *  - Bit for bit: every step's outputs pass through one statement each (a copy: partial d of the output), in every
 *    schedule store_all included, so a re-recorded step forms the same partials and the sweep adds the same products
 *    in the same order as the store-all tape.
 * Budgets (budget:BYTES): the first step is recorded once to measure its tape T (statements with their adjoints,
 * arguments, boundary statements), then ckpt_choose picks the schedule for checkpoints of ns doubles and two step
 * tapes (the in-place steps and a re-recorded one). Not counted: the rest of the main tape, the plan (24 bytes per
 * action, about 3 per step), and the tape's chunk rounding (chunks double up to TAPE_CHUNK_MAX statements, 6.5 MB
 * with their arguments), so the allocator's high-water mark may exceed a small budget.
 * Without ckpt_tape_attach (the plain tape engine) AD_STEPS records through: the steps' ops as if written inline.
 * Loops of unknown length (AD_STEPS_WHILE, ckpt_tape_steps_while): the forward sweep runs the steps on values only,
 * keeping checkpoints as it goes, until the step function says the loop is done; then, the length l known, the plan
 * is made and the reverse sweep proceeds as above. Schedules: online:C (the doubling stride of ckpt.h, at most C
 * states); every:K (checkpoints at the multiples of K, as with a known length; the forward sweep runs to l instead of
 * stopping at the last checkpoint, so up to K - 1 more steps are recomputed); binomial:C needs the length in advance
 * and runs as online:C (the stats' `chosen` says so); budget:BYTES chooses online:C with as many checkpoints as fit
 * (store-all is never chosen: whether l step tapes fit is not known before the end); store_all records through.
 * The control state q (na doubles) is kept in each checkpoint beside the state's values. A re-run step that returns
 * 0 (its decisions changed: the step broke AD_STEPS_WHILE's rules) is AD_EGUARD.
 * Limits: the non-finite policy's reach marks (tape.h) do not cross a segment's boundary: a zero adjoint that would
 * carry a NaN (0 * Inf) into a re-recorded step counts as not reached there.
 */
#ifndef CKPT_TAPE_H
#define CKPT_TAPE_H

#include "../tape/tape.h"
#include "ckpt.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef void (*ckpt_tape_fn)(tape_t *t, const void *env, int k, const tape_var *p, tape_var *s);
/* The step of a loop of unknown length (AD_STEPS_WHILE in ad_steps.h): 1 after taking step k, 0 (and nothing
 * computed, s and q untouched) when the loop is done. */
typedef int (*ckpt_tape_while_fn)(tape_t *t, const void *env, int k, const tape_var *p, tape_var *s, double *q);

typedef struct ckpt_tape_stats {
  uint64_t regions;     /* AD_STEPS regions of the current recording */
  uint64_t steps;       /* their steps */
  uint64_t evaluations; /* step evaluations since the recording began (recorded or not, reverse sweeps included) */
  uint64_t recomputed;  /* evaluations beyond one per step */
  uint64_t bytes_now;   /* bytes checkpointing holds: checkpoints, plans, copies */
  uint64_t bytes_peak;  /* the most it held at once since attached */
  uint64_t slot_bytes;  /* of the last region: its checkpoints' bytes */
  uint64_t step_bytes;  /* of the last region under budget: the measured bytes of one step's tape */
  uint32_t slots;       /* of the last region: checkpoints of its plan */
  ckpt_spec chosen;     /* of the last region: its schedule (for budget: the one chosen) */
} ckpt_tape_stats;

/* Checkpoints t's AD_STEPS regions with schedule sp from the next recording on (replacing an earlier schedule).
 * AD_OK, AD_EINVAL for NULL, AD_ENOMEM. */
ad_status ckpt_tape_attach(tape_t *t, ckpt_spec sp);
/* Back to recording through; frees the checkpointing state. NULL or an unattached tape is ignored. */
void ckpt_tape_detach(tape_t *t);
/* Counters of the current recording (zeros when not attached). */
ckpt_tape_stats ckpt_tape_get_stats(const tape_t *t);

/* Runs n_steps steps of fn on state s (ns variables, updated in place) with parameters p (np variables), as the
 * schedule attached to t says (records through when none is). Errors (AD_ENOMEM, AD_EBUDGET for a budget too small
 * for one checkpoint and one step's tape) become t's sticky status, as a failed recording does. */
void ckpt_tape_steps(tape_t *t, ckpt_tape_fn fn, const void *env, size_t env_size, int n_steps, int np,
                     const tape_var *p, int ns, tape_var *s);

/* Runs steps of fn on state s (ns variables) and control state q (na doubles), both updated in place, with
 * parameters p (np variables), until fn returns 0 or max_steps steps were taken, as the schedule attached to t says
 * (records through when none is; binomial runs as online, see above). Errors become t's sticky status: AD_ENOMEM,
 * AD_EBUDGET, AD_EGUARD (in the reverse sweep) for a step whose decisions changed when re-run; after an error in
 * the forward sweep s and q are unspecified (the recording has failed). */
void ckpt_tape_steps_while(tape_t *t, ckpt_tape_while_fn fn, const void *env, size_t env_size, int max_steps, int np,
                           const tape_var *p, int ns, tape_var *s, int na, double *q);

/* The schedule engine adapters attach to the tapes of sessions they open (bench/adapters/eng_tape.c); NULL (the
 * default) for none. Process-wide: set it before opening sessions (adbench --ckpt, tests). */
void ckpt_tape_set_default(const ckpt_spec *sp);
const ckpt_spec *ckpt_tape_default(void);

#ifdef __cplusplus
}
#endif
#endif
