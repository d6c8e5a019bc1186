/* prog.c: the interpreter of prog programs (prog.h), written once against the op interface (engines/ad.h) and
 * compiled once per engine by tests/tprog_<engine>.c, after that engine's ops header (as bench/eng_session.inc
 * compiles the workloads), so every engine runs every op, constant and branch through its own inline ops.
 *
 *   ad_t out = prog_eval(c, data, s);   // s[0 .. k) hold the inputs; s has k + n slots
 */
#include <assert.h>

#include "prog.h"

/* Operand f of instruction ins, and the call of an op by kind. */
#define PROG__V(f) v[(int)ins[f]]
#define PROG__CALL_U(name) ad_##name(c, PROG__V(PROG_F_A))
#define PROG__CALL_VV(name) ad_##name(c, PROG__V(PROG_F_A), PROG__V(PROG_F_B))
#define PROG__CALL_VC(name) ad_##name(c, PROG__V(PROG_F_A), ins[PROG_F_K])
#define PROG__CALL_CV(name) ad_##name(c, ins[PROG_F_K], PROG__V(PROG_F_A))

/* Runs one op or constant instruction over the values v. */
static ad_t prog_exec(ad_ctx *c, const double *ins, const ad_t *v) {
  switch ((int)ins[PROG_F_CODE]) {
#define AD_OP(name, kind, torch, facts, pre, value, da, db)                                                    \
  case AD_OP_##name:                                                                                           \
    return PROG__CALL_##kind(name);
#include "ad_ops.def"
#undef AD_OP
  default:
    assert((int)ins[PROG_F_CODE] == PROG_CONST && "prog: a branch may only run ops and constants");
    return ad_const(c, ins[PROG_F_K]);
  }
}

/* The condition of a branch instruction. */
static int prog_cond(ad_ctx *c, const double *ins, const ad_t *v) {
  switch ((int)ins[PROG_F_CODE]) {
#define PROG__X(name, op)                                                                                      \
  case PROG_IF_VC_##name:                                                                                      \
    return ad_##name##_vc(c, PROG__V(PROG_F_A), ins[PROG_F_K]);                                                \
  case PROG_IF_VV_##name:                                                                                      \
    return ad_##name##_vv(c, PROG__V(PROG_F_A), PROG__V(PROG_F_B));
    AD_CMP_LIST(PROG__X)
#undef PROG__X
  default:
    assert(0 && "prog: not a branch");
    return 0;
  }
}

/* Runs the program held in data over s (s[0 .. k) are the inputs, k + n slots) and returns its output. */
static ad_t prog_eval(ad_ctx *c, const double *data, ad_t *s) {
  int k = (int)data[0], n = (int)data[1];
  for (int i = 0; i < n;) {
    const double *ins = prog_ins(data, i);
    if (prog_is_branch((int)ins[PROG_F_CODE])) {
      assert(i + 2 < n);
      ad_t r = prog_exec(c, prog_ins(data, prog_cond(c, ins, s) ? i + 1 : i + 2), s);
      s[k + i] = r;
      s[k + i + 1] = r;
      s[k + i + 2] = r;
      i += 3;
    } else {
      s[k + i] = prog_exec(c, ins, s);
      i += 1;
    }
  }
  return s[k + n - 1];
}

#undef PROG__V
#undef PROG__CALL_U
#undef PROG__CALL_VV
#undef PROG__CALL_VC
#undef PROG__CALL_CV

