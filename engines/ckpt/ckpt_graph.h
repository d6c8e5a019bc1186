/* ckpt_graph.h: checkpointed time steps on the graph engine, in the spirit of torch.utils.checkpoint: a loop of steps
 * whose nodes are dropped in the forward pass and re-recorded (with grad enabled) when backward reaches them, by a
 * schedule of ckpt.h, so that a gradient fits where its whole graph does not.
 *
 *   graph_ctx *g = graph_new();
 *   ckpt_spec sp;  ckpt_parse("binomial:16", &sp);
 *   ckpt_graph_attach(g, sp);                       // from now on AD_STEPS regions on g are checkpointed
 *   ... x = graph_leaf(g, ..., 1) ...
 *   ckpt_graph_steps(g, step, &env, sizeof env, 1000, np, params, ns, state);  // what AD_STEPS expands to
 *   graph_backward(g, y, 1.0, 0);                  // re-runs the dropped steps as the sweep reaches them
 *   ckpt_graph_detach(g); graph_free(g);           // detach before graph_free
 *
 * The step: void step(graph_ctx *g, const void *env, int k, graph_node *const *p, graph_node **s) computes state s of
 * step k + 1 from s (ns nodes) and the parameters p (np nodes), with the rules of ad_steps.h: it reads nodes only
 * through p and s; env (copied) holds sizes, constants and pointers that stay valid until the last backward over
 * the recording; its control flow may depend on values but not on whether it is recorded.
 *
 * How (the model of ckpt.h):
 *  - Forward (inside the workload): the plan's actions up to its first REVERSE run step by step, each step recorded
 *    from fresh nodes holding the state's values and dropped at once (graph__rewind), so the arena holds one step at
 *    most; checkpoints keep the state's values and which of its nodes require grad. Then the region's boundary is
 *    recorded: one node per state variable that requires grad, grad_fn "CheckpointFunctionBackward" (a constant leaf
 *    for one that does not), and the first REVERSE's steps (the last ones) are recorded in place from it.
 *  - Backward: when the sweep reaches the boundary (GRAPH_F_CKPT nodes), every gradient of the boundary is complete
 *    (all its users are newer). Each further REVERSE of the plan then records its steps at the top of the arena, from
 *    nodes holding the checkpointed values (the region's own input nodes for the segment at step 0), seeds the
 *    segment's outputs with the gradients gathered for them, sweeps the segment's nodes (graph__sweep_range: their
 *    contributions to the parameters and to the region's input nodes land in those nodes, which the main sweep
 *    visits later, as always) and drops them. The main sweep then goes on below the boundary.
 *  - Bit for bit: a re-recorded step forms the same nodes with the same partials, and the contributions into every
 *    node are added in the same order as in the store-all graph (newest user first): a boundary's gathered gradient
 *    is the sum of the first contributions, in order, so seeding it and adding the rest gives the same sums. This
 *    holds when the step's output nodes are distinct, and the state's nodes are used outside the region only
 *    through it (true of ode, lstm and recur; the tests compare every schedule with store-all bit for bit).
 *  - store_all, and a region of one step, record through: the same graph as without checkpointing.
 * PyTorch semantics:
 *  - Leaves' grads accumulate as in store-all (the parameters' contributions pass through their acc, as always).
 *  - The nodes of re-recorded steps exist only during backward: they cannot be retained, hooked or inspected
 *    (torch.utils.checkpoint's recomputed tensors are not the user's either). The boundary nodes refuse retain_grad
 *    and hooks (AD_ESTATE), and their grad_fn lists no next_functions. The nodes of the steps recorded in place, the
 *    region's outputs among them, are ordinary nodes.
 *  - retain_graph: a backward with retain_graph re-runs the region's forward actions at the next backward (from the
 *    checkpoint of step 0) and sweeps it again: a second backward gives the same gradient. A backward without
 *    retain_graph frees the region (its checkpoints, and marks the boundary's grad_fn freed): a later backward that
 *    reaches it fails with AD_EFREED and PyTorch's message, as for any freed graph.
 *  - A backward that fails re-recording a segment (AD_ENOMEM) returns that status with no marks or pending
 *    gradients left behind; the leaves above the region may have received their part.
 * Budgets (budget:BYTES): the first step is recorded once to measure its nodes (T bytes with the boundary), then
 * ckpt_choose picks the schedule for checkpoints of ns doubles and ns flags and two step graphs (the in-place steps
 * and a re-recorded segment). Not counted: the rest of the graph, the plan (24 bytes per action) and the arena's
 * chunk rounding. AD_EBUDGET when not even one checkpoint fits: the context's sticky status (graph_status).
 * Without ckpt_graph_attach AD_STEPS records through.
 */
#ifndef CKPT_GRAPH_H
#define CKPT_GRAPH_H

#include "../graph/graph.h"
#include "ckpt.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef void (*ckpt_graph_fn)(graph_ctx *c, const void *env, int k, graph_node *const *p, graph_node **s);

typedef struct ckpt_graph_stats {
  uint64_t regions;       /* AD_STEPS regions of the current recording */
  uint64_t steps;         /* their steps */
  uint64_t evaluations;   /* step evaluations since the recording began (recorded or not, backward passes included) */
  uint64_t recomputed;    /* evaluations beyond one per step */
  uint64_t nodes_dropped; /* nodes the forward pass recorded and dropped (the steps before the ones kept) */
  uint64_t nodes_added;   /* boundary nodes the regions added */
  uint64_t bytes_now;     /* bytes checkpointing holds: checkpoints, plans, copies */
  uint64_t bytes_peak;    /* the most it held at once since attached */
  uint64_t slot_bytes;    /* of the last region: its checkpoints' bytes */
  uint64_t step_bytes;    /* of the last region under budget: the measured bytes of one step's nodes */
  uint32_t slots;         /* of the last region: checkpoints of its plan */
  ckpt_spec chosen;       /* of the last region: its schedule (for budget: the one chosen) */
} ckpt_graph_stats;

/* Checkpoints c's AD_STEPS regions with schedule sp from now on (replacing an earlier schedule, whose regions are
 * forgotten). AD_OK, AD_EINVAL for NULL, AD_ESTATE during backward, AD_ENOMEM. */
ad_status ckpt_graph_attach(graph_ctx *c, ckpt_spec sp);
/* Back to recording through; frees the checkpointing state. The boundary nodes of regions still recorded become
 * constants (gradients stop there). NULL or an unattached context is ignored. Call it before graph_free. */
void ckpt_graph_detach(graph_ctx *c);
/* Counters of the current recording (zeros when not attached). */
ckpt_graph_stats ckpt_graph_get_stats(const graph_ctx *c);

/* Runs n_steps steps of fn on state s (ns nodes, updated in place) with parameters p (np nodes), as the schedule
 * attached to c says (records through when none is, under no_grad, or after a recording error). Errors (AD_ENOMEM,
 * AD_EBUDGET for a budget too small for one checkpoint and two steps' nodes) become c's sticky status (graph_status;
 * graph_last_error says which), as after any failed recording: the values of s are then unspecified. */
void ckpt_graph_steps(graph_ctx *c, ckpt_graph_fn fn, const void *env, size_t env_size, int n_steps, int np,
                      graph_node *const *p, int ns, graph_node **s);

#ifdef __cplusplus
}
#endif
#endif
