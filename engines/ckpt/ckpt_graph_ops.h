/* ckpt_graph_ops.h: the graph engine's AD_STEPS (ad_steps.h): the loop goes to ckpt_graph_steps (one call per region,
 * one indirect call per step), which checkpoints it when a schedule is attached to the context. Include after
 * graph/graph_ops.h and before the workloads. */
#ifndef CKPT_GRAPH_OPS_H
#define CKPT_GRAPH_OPS_H

#include "ckpt_graph.h"

#define AD_STEPS(c, fn, env, env_size, n_steps, np, p, ns, s)                                                   \
  ckpt_graph_steps((c), (fn), (env), (env_size), (n_steps), (np), (p), (ns), (s))

#endif
