/* ckpt.h: checkpointing schedules: which states of a time-stepping loop to keep, and which steps to recompute,
 * so that the reverse sweep of l steps fits in a memory budget.
 *
 *   ckpt_spec sp;
 *   ckpt_parse("binomial:16", &sp);                     // or store_all, every:K, online:C, budget:BYTES
 *   ckpt_plan pl;
 *   if (ckpt_plan_make(&pl, sp, 1000) != AD_OK) ...     // the actions for 1000 steps
 *   for (size_t j = 0; j < pl.n; ++j) switch (pl.act[j].kind) {
 *     case CKPT_ADVANCE: ... run steps [a, b) without recording ...
 *     case CKPT_STORE:   ... keep the current state (at step a) in slot `slot` ...
 *     case CKPT_RESTORE: ... the current state is slot `slot` (at step a) ...
 *     case CKPT_REVERSE: ... record steps [a, b) from the current state, sweep them, drop their tape ...
 *   }
 *   ckpt_plan_free(&pl);
 *
 * The model (Griewank and Walther, "Algorithm 799: Revolve", ACM TOMS 26(1), 2000; Griewank and Walther,
 * "Evaluating Derivatives", 2nd ed., SIAM 2008, chapter 12): a loop of l steps x_{k+1} = F_k(x_k); its reverse sweep
 * needs each step's tape, last step first. A checkpoint (snapshot) keeps one state x_k; from it any later state can be
 * recomputed by ADVANCE (plain evaluation, no tape). REVERSE [a, b) records steps a .. b-1 from x_a and sweeps them.
 * Every schedule visits the steps' reverses exactly once, last to first.
 *
 * Schedules (ckpt_kind):
 *   store_all    every step recorded once, nothing recomputed: memory l step tapes. (No actions: the engine records
 *                through.)
 *   every:K      a checkpoint at steps 0, K, 2K, ...; each interval of K steps is recomputed once and recorded as one
 *                tape: memory ceil(l / K) states + K step tapes, l - K' recomputed steps (K' = the last interval).
 *                K = sqrt(l) gives sqrt(l) memory for one extra forward sweep (Chen et al. 2016, "Training deep nets
 *                with sublinear memory cost").
 *   binomial:C   Revolve: C checkpoints (the one at step 0 included), one step tape; the fewest recomputed steps any
 *                schedule with C checkpoints can achieve (Griewank 1992): with beta(s, t) = C(s + t, s) the number of
 *                steps that s checkpoints reverse with at most t evaluations of each step, and r the repetition number
 *                (beta(C, r - 1) < l <= beta(C, r)), the advances number r l - beta(C + 1, r - 1) (ckpt_binomial_cost).
 *   online:C     for a loop whose length is known only at its end: during the forward sweep, checkpoints at the
 *                multiples of a stride that doubles whenever the C slots are full (every other one is then dropped:
 *                "thinning", the online doubling scheme of Stumm and Walther's survey, "New algorithms for optimal
 *                online checkpointing", SIAM J. Sci. Comput. 32(2), 2010, section 2); at the end each interval between
 *                kept checkpoints is reversed with binomial checkpointing in the slots then free. Not optimal (Stumm
 *                and Walther's online r = 2 algorithm is), but at most C states and one step tape, with at most the
 *                interval's binomial cost per interval.
 *   budget:BYTES the schedule chosen by ckpt_choose for a memory budget.
 */
#ifndef CKPT_H
#define CKPT_H

#include <stddef.h>
#include <stdint.h>

#include "../ad.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ckpt_kind { CKPT_STORE_ALL, CKPT_EVERY, CKPT_BINOMIAL, CKPT_ONLINE, CKPT_BUDGET } ckpt_kind;

/* A schedule: its kind and its argument (every: K steps; binomial, online: C checkpoints; budget: bytes). */
typedef struct ckpt_spec {
  ckpt_kind kind;
  uint64_t arg;
} ckpt_spec;

/* Parses "store_all", "every:K", "binomial:C", "online:C" or "budget:BYTES" (K, C >= 1; BYTES >= 1, with an
 * optional suffix k, M or G for 2^10, 2^20, 2^30). AD_OK, or AD_EINVAL (and *out untouched) for anything else. */
ad_status ckpt_parse(const char *text, ckpt_spec *out);
/* Writes sp as ckpt_parse reads it into buf (n bytes, NUL-terminated, truncated if short); returns buf. */
char *ckpt_format(ckpt_spec sp, char *buf, size_t n);

/* ---- Binomial counts ----------------------------------------------------------------------------------------- */

/* beta(s, t) = C(s + t, s): the most steps s checkpoints can reverse when no step is evaluated more than t times
 * (besides its recording). Saturates at UINT64_MAX. */
uint64_t ckpt_beta(unsigned s, unsigned t);
/* The repetition number r(l, s): the least r with beta(s, r) >= l (0 for l <= 1). s >= 1. */
unsigned ckpt_reps(uint64_t l, unsigned s);
/* The fewest advances (step evaluations without recording) that reverse l steps with s >= 1 checkpoints, the one
 * holding step 0 included, each step recorded once: r l - beta(s + 1, r - 1) with r = ckpt_reps(l, s); 0 for
 * l <= 1. UINT64_MAX if it overflows. */
uint64_t ckpt_binomial_cost(uint64_t l, unsigned s);

/* ---- Plans: the actions of a schedule ------------------------------------------------------------------------ */

typedef enum ckpt_act_kind { CKPT_ADVANCE, CKPT_STORE, CKPT_RESTORE, CKPT_REVERSE } ckpt_act_kind;

/* ADVANCE: steps a .. b-1 without recording (the current state goes from step a to step b). STORE: keep the current
 * state, at step a, in slot. RESTORE: make slot's state (at step a) current. REVERSE: record steps a .. b-1 from the
 * current state (at step a), sweep them backwards, drop their tape; the current state is then unknown. */
typedef struct ckpt_action {
  uint32_t kind; /* ckpt_act_kind */
  uint32_t slot;
  uint64_t a, b;
} ckpt_action;

typedef struct ckpt_plan {
  ckpt_action *act; /* n actions; the forward sweep is act[0 .. first_reverse], act[first_reverse] is the first REVERSE */
  size_t n, cap;
  size_t first_reverse;
  uint64_t steps;      /* l */
  uint32_t slots;      /* checkpoints used at most (slot numbers 0 .. slots - 1; slot 0 holds step 0 throughout) */
  uint64_t advances;   /* step evaluations without recording (ADVANCE b - a, summed) */
  uint64_t max_tape;   /* the most steps one REVERSE records */
} ckpt_plan;

/* The plan of schedule sp (every, binomial or online; online plans as if the length became known at the end) for
 * steps >= 1 steps, into *p (free with ckpt_plan_free). Begins with STORE slot 0 at step 0. AD_OK; AD_EINVAL for
 * store_all or budget (which have no plan of their own: see ckpt_choose), a zero argument or steps 0; AD_ENOMEM
 * (*p then holds nothing). */
ad_status ckpt_plan_make(ckpt_plan *p, ckpt_spec sp, uint64_t steps);
/* Frees the actions; *p holds nothing afterwards. NULL is ignored. */
void ckpt_plan_free(ckpt_plan *p);

/* ---- Online: thinning checkpoints while the length is unknown ------------------------------------------------ */

typedef struct ckpt_online {
  uint32_t slots;     /* C */
  uint64_t stride;    /* checkpoints are kept at multiples of stride */
  uint64_t *at;       /* at[j]: the step slot j holds, or UINT64_MAX for a free slot */
} ckpt_online;

/* Starts an online schedule with c >= 1 slots; slot 0 holds step 0. AD_EINVAL for c == 0, AD_ENOMEM. */
ad_status ckpt_online_init(ckpt_online *o, uint32_t c);
/* Before step k (k >= 1) of the forward sweep: the slot to store the state at step k into, or -1 to store nothing.
 * Frees (sets to UINT64_MAX) the slots thinning drops; a caller keeping states drops them too. */
long ckpt_online_before(ckpt_online *o, uint64_t k);
/* The length became known (steps l >= 1): the plan of the reverse sweep from the slots o holds (the forward
 * actions, STOREs and ADVANCEs, as they happened, then the REVERSEs with binomial checkpointing per interval).
 * AD_ENOMEM, AD_EINVAL for l == 0. */
ad_status ckpt_online_finish(ckpt_online *o, uint64_t l, ckpt_plan *p);
void ckpt_online_free(ckpt_online *o);

/* ---- Budgets ------------------------------------------------------------------------------------------------- */

/* The schedule for a memory budget of `budget` bytes, given the bytes one checkpoint takes (state_bytes > 0), the
 * bytes one step's tape takes (step_bytes), and the step count (0: known only at the end). store_all if all steps'
 * tapes fit (steps known); otherwise binomial (steps known) or online with C = (budget - step_bytes) / state_bytes
 * checkpoints, at most steps. AD_OK; AD_EBUDGET (*out untouched) when not even one checkpoint and one step tape
 * fit: the budget is too small for any schedule; AD_EINVAL for state_bytes == 0. */
ad_status ckpt_choose(uint64_t budget, uint64_t state_bytes, uint64_t step_bytes, uint64_t steps, ckpt_spec *out);

/* ---- Accounting: the bytes a driver (ckpt_tape.c, ckpt_graph.c) holds --------------------------------------- */

/* A driver's byte counters: held now, and the most held at once. */
typedef struct ckpt_mem {
  uint64_t now, peak;
} ckpt_mem;
/* Counts n more bytes held (the peak follows). */
void ckpt_mem_add(ckpt_mem *m, uint64_t n);
/* ad_malloc(n) (one byte for n = 0), counted in m; NULL (nothing counted) if it fails. */
void *ckpt_mem_alloc(ckpt_mem *m, size_t n);
/* ad_free of what ckpt_mem_alloc(m, n) returned, uncounted; NULL is ignored. */
void ckpt_mem_free(ckpt_mem *m, void *p, size_t n);

#ifdef __cplusplus
}
#endif
#endif
