/* ad_steps.h: checkpointable time steps in the op interface (engines/ad.h), for workloads. Include it after the
 * engine's <engine>_ops.h. A loop of steps, each mapping a state to the next, is written as
 *
 *   static void my_step(ad_ctx *c, const void *env, int k, const ad_t *p, ad_t *s) { ... s = F_k(s, p) ... }
 *   AD_STEPS(c, my_step, &env, sizeof env, n_steps, np, p, ns, s);
 *
 * step k (0 .. n_steps - 1) reads the parameters p[0 .. np) and the state s[0 .. ns), and overwrites s with the next
 * state. Rules for the step: it reads active variables only through p and s; env (copied, env_size bytes) holds
 * constants, sizes, and pointers to data and scratch that stay valid until the recording's last reverse sweep; it
 * allocates nothing. An engine that checkpoints (the tape with a schedule: engines/ckpt/ckpt_tape_ops.h) defines
 * AD_STEPS before this header and may run a step several times, with or without recording; every other engine (and a
 * C++ peer) runs the steps in order with a direct call: the same ops as the loop written inline.
 */
#ifndef AD_STEPS
#define AD_STEPS(c, fn, env, env_size, n_steps, np, p, ns, s)                                                   \
  do {                                                                                                         \
    (void)(env_size), (void)(np), (void)(ns);                                                                  \
    for (int ad_steps_k_ = 0; ad_steps_k_ < (n_steps); ++ad_steps_k_) fn((c), (env), ad_steps_k_, (p), (s));   \
  } while (0)
#endif
