/* ad_steps.h: checkpointable time steps in the op interface (engines/ad.h), for workloads. Include it after the
 * engine's <engine>_ops.h. A loop of steps, each mapping a state to the next, is written as
 *
 *   static void my_step(ad_ctx *c, const void *env, int k, const ad_t *p, ad_t *s) { ... s = F_k(s, p) ... }
 *   AD_STEPS(c, my_step, &env, sizeof env, n_steps, np, p, ns, s);
 *
 * step k (0 .. n_steps - 1) reads the parameters p[0 .. np) and the state s[0 .. ns), and overwrites s with the next
 * state. Rules for the step: it reads active variables only through p and s; env (copied, env_size bytes) holds
 * constants, sizes, and pointers to data and scratch that stay valid until the recording's last reverse sweep; it
 * allocates nothing. An engine that checkpoints (the tape or the graph with a schedule: ckpt_tape_ops.h,
 * ckpt_graph_ops.h) defines AD_STEPS before this header and may run a step several times, with or without recording;
 * every other engine (and a C++ peer) runs the steps in order with a direct call: the same ops as the loop written
 * inline.
 *
 * A loop whose length is known only when it ends (an adaptive integrator: how many steps, and which are rejected,
 * depends on values) is written with AD_STEPS_WHILE, a step that says whether there was a step to take, and a passive
 * control state q (na doubles: a time, a step size, counters) that the step reads and updates beside s:
 *
 *   static int my_step(ad_ctx *c, const void *env, int k, const ad_t *p, ad_t *s, double *q) {
 *     if (q[0] >= t_end) return 0;            // done: nothing computed, s and q untouched
 *     ... s = F(s, p, q); update q ...        // decisions may read values (ad_val, ad_gt_vc, ...)
 *     return 1;
 *   }
 *   AD_STEPS_WHILE(c, my_step, &env, sizeof env, max_steps, np, p, ns, s, na, q);
 *
 * runs steps k = 0, 1, ... until one returns 0 or max_steps steps were taken (the caller then sees from q whether
 * the loop finished). A step that returns 0 must have computed nothing and changed neither s nor q. Besides AD_STEPS'
 * rules, the step's decisions depend only on (k, p, s, q) and env: a checkpointing engine re-runs steps from saved
 * (s, q) values and needs the same decisions again (it checks that every re-run step still returns 1). Engines that
 * do not checkpoint run the loop as written.
 */
#ifndef AD_STEPS
#define AD_STEPS(c, fn, env, env_size, n_steps, np, p, ns, s)                                                   \
  do {                                                                                                         \
    (void)(env_size), (void)(np), (void)(ns);                                                                  \
    for (int ad_steps_k_ = 0; ad_steps_k_ < (n_steps); ++ad_steps_k_) fn((c), (env), ad_steps_k_, (p), (s));   \
  } while (0)
#endif
#ifndef AD_STEPS_WHILE
#define AD_STEPS_WHILE(c, fn, env, env_size, max_steps, np, p, ns, s, na, q)                                     \
  do {                                                                                                         \
    (void)(env_size), (void)(np), (void)(ns), (void)(na);                                                      \
    for (int ad_steps_k_ = 0; ad_steps_k_ < (max_steps) && fn((c), (env), ad_steps_k_, (p), (s), (q));         \
         ++ad_steps_k_) {                                                                                      \
    }                                                                                                          \
  } while (0)
#endif
