/* prog.h: the encoding of the random straight-line programs with branches that the fuzz and op tests run on every
 * engine: prog_gen.c generates them, prog.c interprets them (compiled once per engine by tests/tprog_<engine>.c),
 * tprog.h checks them.
 *
 *   double data[PROG_HEADER + 2 * PROG_STRIDE], x[1] = {0.5};
 *   prog_set_header(data, 1, 2);                          // k = 1 input, n = 2 instructions
 *   prog_set(data, 0, AD_OP_sin, 0, 0, 0.0);              // v1 = sin(v0)
 *   prog_set(data, 1, AD_OP_mul_vc, 1, 0, 3.0);           // v2 = v1 * 3, the output
 *   tprog_eng r;
 *   tprog_run(&tprog_tape, data, x, &r);                  // r.y = 3 sin(x0), r.J[0] = 3 cos(x0)
 *
 * Values: v[0 .. k) are the inputs, v[k + i] is the result of instruction i; the output is v[k + n - 1].
 * data[0] = k, data[1] = n, then PROG_STRIDE doubles per instruction: code, a, b, K.
 *   code < AD_OP_COUNT   an op of ad_ops.def, by kind:  U op(v[a])   VV op(v[a], v[b])   VC op(v[a], K)
 *                        CV op(K, v[a]) (the variable operand is always v[a]).
 *   PROG_CONST           v = ad_const(K).
 *   PROG_IF_VC_<cmp>     a branch: if ad_<cmp>_vc(v[a], K) run instruction i + 1, else instruction i + 2; the
 *   PROG_IF_VV_<cmp>     result goes to v[k + i], v[k + i + 1] and v[k + i + 2] alike (ad_<cmp>_vv(v[a], v[b])
 *                        for VV). The two branch instructions must be ops or PROG_CONST whose operands come
 *                        before the branch (index < k + i). The instruction not taken is never evaluated.
 * Operands refer to earlier values only. Operand fields an instruction does not use are 0.
 * 1 <= k <= PROG_MAX_INPUTS, 1 <= n <= PROG_MAX_INSTR.
 */
#ifndef PROG_H
#define PROG_H

#include <stdint.h>

#include "ad.h"

enum {
  PROG_MAX_INPUTS = 8,
  PROG_MAX_INSTR = 1 << 16,
  PROG_HEADER = 2,
  PROG_STRIDE = 4,
  PROG_F_CODE = 0, /* field offsets within an instruction */
  PROG_F_A = 1,
  PROG_F_B = 2,
  PROG_F_K = 3
};

/* Instruction codes beyond the ops of ad_ops.def. */
enum prog_code {
  PROG_CONST = AD_OP_COUNT,
#define PROG__X(name, op) PROG_IF_VC_##name,
  AD_CMP_LIST(PROG__X)
#undef PROG__X
#define PROG__X(name, op) PROG_IF_VV_##name,
  AD_CMP_LIST(PROG__X)
#undef PROG__X
  PROG_CODE_COUNT
};

/* The first branch code of each form; a branch's comparison is its offset within AD_CMP_LIST. */
#define PROG_IF_VC_FIRST (PROG_CONST + 1)
#define PROG_IF_VV_FIRST (PROG_IF_VC_FIRST + PROG_N_CMP)
#define PROG__ONE(name, op) +1
#define PROG_N_CMP (0 AD_CMP_LIST(PROG__ONE))

static inline int prog_is_branch(int code) { return code >= PROG_IF_VC_FIRST && code < PROG_CODE_COUNT; }

/* Writes a random program of k inputs and n instructions, and its inputs x[k], into data[prog_data_len(n)],
 * deterministically from seed (prog_gen.c says how: well conditioned, or one time in five "wild"). */
void prog_generate(int k, int n, uint64_t seed, double *x, double *data);
/* Doubles of data a program of n instructions takes. */
static inline int prog_data_len(int n) { return PROG_HEADER + PROG_STRIDE * n; }

/* Instruction i of a program (const and mutable views). */
static inline const double *prog_ins(const double *data, int i) { return data + PROG_HEADER + PROG_STRIDE * i; }

static inline void prog_set_header(double *data, int k, int n) {
  data[0] = k;
  data[1] = n;
}
static inline void prog_set(double *data, int i, int code, int a, int b, double kc) {
  double *ins = data + PROG_HEADER + PROG_STRIDE * i;
  ins[PROG_F_CODE] = code;
  ins[PROG_F_A] = a;
  ins[PROG_F_B] = b;
  ins[PROG_F_K] = kc;
}

/* "sin", "const", "if_vc_gt", ...; "?" for an unknown code. Never NULL. */
static inline const char *prog_code_name(int code) {
  static const char *const branch[] = {
#define PROG__X(name, op) "if_vc_" #name,
      AD_CMP_LIST(PROG__X)
#undef PROG__X
#define PROG__X(name, op) "if_vv_" #name,
      AD_CMP_LIST(PROG__X)
#undef PROG__X
  };
  if (code >= 0 && code < AD_OP_COUNT) return ad_op_name[code];
  if (code == PROG_CONST) return "const";
  if (prog_is_branch(code)) return branch[code - PROG_IF_VC_FIRST];
  return "?";
}

/* The comparison of a branch code as C source ("<", "<=", ">", ">="); "?" for other codes. Never NULL. */
static inline const char *prog_cmp_symbol(int code) {
  static const char *const sym[] = {
#define PROG__X(name, op) #op,
      AD_CMP_LIST(PROG__X)
#undef PROG__X
  };
  if (!prog_is_branch(code)) return "?";
  return sym[(code - PROG_IF_VC_FIRST) % PROG_N_CMP];
}

#endif
