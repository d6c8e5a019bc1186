/* ckpt_tape_ops.h: the tape engine's AD_STEPS and AD_STEPS_WHILE (ad_steps.h): the loop goes to ckpt_tape_steps or
 * ckpt_tape_steps_while (one call per region, one indirect call per step), which checkpoint it when a schedule is
 * attached to the tape. Include after tape/tape_ops.h and before the workloads. */
#ifndef CKPT_TAPE_OPS_H
#define CKPT_TAPE_OPS_H

#include "ckpt_tape.h"

#define AD_STEPS(c, fn, env, env_size, n_steps, np, p, ns, s)                                                   \
  ckpt_tape_steps((c), (fn), (env), (env_size), (n_steps), (np), (p), (ns), (s))
#define AD_STEPS_WHILE(c, fn, env, env_size, max_steps, np, p, ns, s, na, q)                                     \
  ckpt_tape_steps_while((c), (fn), (env), (env_size), (max_steps), (np), (p), (ns), (s), (na), (q))

#endif
