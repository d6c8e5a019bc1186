/* prog_gen.c: the generator of the random programs the fuzz and op tests run on every engine (prog.h: their
 * encoding; prog.c: the interpreter, compiled once per engine by tests/tprog_<engine>.c).
 * The encoding (prog.h): data = {k, n, then per instruction: code, a, b, K}; code is an op of ad_ops.def, a
 * constant, or a branch "if v[a] <cmp> K (or v[b]) then instruction i + 1 else instruction i + 2". The output is
 * the last value.
 *
 * prog_generate makes a program and its inputs from the seed (SplitMix64, as every workload). It keeps the program
 * well conditioned and inside every op's domain at the generated inputs, so finite differences (adcheck) and
 * complex-step references (test_fuzz) apply, and a disagreement means a wrong rule or a wrong engine:
 *   inputs uniform in [-2, 2); constants uniform in [-2.5, 2.5) or, one time in three, from a short list of
 *   "nice" values (0, +-1, 2, ...) so pow sees integer exponents;
 *   each candidate instruction is evaluated (ad_op_eval, tracking every value's derivatives with respect to each
 *   input and the summed magnitudes of its derivative paths) and rejected unless
 *     its value and partials are finite and at most 1e4 in magnitude;
 *     its partials barely change when an operand moves by 1e-4 relative, or by as far as an input move of
 *       2.5e-3 carries it (no kink such as abs at 0 or a max/min tie within reach, no pole nearby);
 *     a nonzero partial is not tiny next to the value (no saturated tanh or logistic, whose rules v (1 - v)
 *       lose relative accuracy there);
 *     its path magnitudes stay at most 1e6, its largest derivative is at least 1e-2 of its largest path
 *       magnitude (no cancelling paths, as in x - x) and 1e-3 of its value (not flat), and no nonzero
 *       derivative is below 1e-60 (complex steps of 1e-200 would underflow);
 *   an op whose facts (ad_ops.def) say its operand a must be positive (AD_POS_A: log, sqrt, pow) and whose
 *   operand is not gets a guarded operand straight away, exp(v) or sqr(v) + c with c in [0.1, 1); any other op
 *   rejected on an operand is retried on exp(v), sqr(v) + c or tanh(v); a constant base of k ** x is drawn
 *   positive, a constant divisor away from 0 (AD_NONZERO_B);
 *   branch conditions are decided with a margin of at least 5% of max(1, |value|) and beyond what an input move
 *   of 5e-3 can change, so the branch taken holds under finite differences and under a different libm;
 *   the last instruction is an op with an active result.
 * Operands come mostly from values no instruction reads yet, else from recent values or anywhere before; once the
 * room left is just enough, the program folds its unread values two by two into the output, so that few values
 * are dead (about three quarters of all instructions reach the output at the fuzz test's sizes).
 *
 * One program in five (decided by a hash of the seed, so the others do not change) is WILD: it meets infinite and
 * NaN values on purpose, to test the non-finite policy of ad_ops.def. An input is, one time in four, one of
 * +-Inf, NaN or 0; constants are, one time in four, one of 0, +-1000, Inf or 1e308; about one step in eight is a
 * poison pair, exp(1000 v), log(0 v), sqrt(0 v), v / 0 or 1 / (0 v); and a candidate whose value or partials are
 * infinite or NaN is accepted (the others still pass every check above, so the finite part stays well
 * conditioned). Finite differences do not apply to such programs; the fuzz test checks them against a plain
 * interpreter of the policy (tests/tprog.h). */

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "prog.h"
#include "wl.h"


enum { PROG_GEN_ATTEMPTS = 24 };
#define PROG_VMAX 1e4  /* largest |value| and |partial| the generator accepts */
#define PROG_SMAX 1e6  /* largest summed magnitude of the derivative paths from one input */
#define PROG_COND 1e-2 /* least ratio of a value's largest derivative to its largest path magnitude */
#define PROG_FLAT 1e-3 /* least ratio of a value's largest derivative to the value itself */
#define PROG_TINY 1e-60 /* least magnitude of a nonzero derivative (complex steps of 1e-200 must not underflow) */
#define PROG_KINK 1e-4 /* relative operand move under which partials must stay nearly constant */
#define PROG_REACH 2.5e-3 /* input move the checks must survive (adcheck's finite differences reach 2e-3) */
#define PROG_MARGIN 0.05 /* least relative margin of a branch condition */

/* A candidate instruction and its evaluation at the generated inputs: value, derivatives with respect to each
 * input, and the summed magnitudes of the derivative paths from each input (all 0: passive). */
typedef struct prog_cand {
  int code, a, b;
  double kc, v;
  double grad[PROG_MAX_INPUTS], mag[PROG_MAX_INPUTS];
} prog_cand;

/* Generator state: every value's evaluation (slots k + n), indexed like the program's values. */
typedef struct prog_gen {
  wl_rng r;
  double *data;
  int k, n, i;          /* inputs, instructions, next instruction */
  double *val;          /* value of slot r */
  double *grad, *mag;   /* k per slot */
  unsigned char *used;  /* some instruction reads slot r */
  int n_unused;         /* active values no instruction reads yet */
  int wild;             /* 1: a program that meets infinite and NaN values on purpose (see the top) */
} prog_gen;

static uint64_t gen_below(prog_gen *g, uint64_t m) { return wl_rng_next(&g->r) % m; }

static double gen_max_mag(const prog_gen *g, int r) {
  double m = 0;
  for (int j = 0; j < g->k; ++j) m = g->mag[(size_t)r * g->k + j] > m ? g->mag[(size_t)r * g->k + j] : m;
  return m;
}

/* Marks slot r as read by some instruction. */
static void gen_use(prog_gen *g, int r) {
  if (g->used[r]) return;
  g->used[r] = 1;
  if (gen_max_mag(g, r) > 0) g->n_unused--;
}

/* Counts a newly written slot r as unread if it is active. */
static void gen_fresh(prog_gen *g, int r) {
  g->used[r] = 0;
  if (gen_max_mag(g, r) > 0) g->n_unused++;
}

static double gen_const(prog_gen *g) {
  static const double nice[] = {0.0, 1.0, -1.0, 2.0, 0.5, -0.5, 3.0, -2.0, 1.5, 0.25, 4.0, -3.0};
  static const double wild[] = {0.0, 1000.0, -1000.0, INFINITY, 1e308};
  if (g->wild && gen_below(g, 4) == 0) return wild[gen_below(g, sizeof wild / sizeof wild[0])];
  if (gen_below(g, 3) == 0) return nice[gen_below(g, sizeof nice / sizeof nice[0])];
  return wl_rng_uniform(&g->r, -2.5, 2.5);
}

/* An active value below limit that no instruction reads yet, searched from a random start over at most 64
 * slots; -1 if there is none there. */
static int gen_unused(prog_gen *g, int limit) {
  int start = (int)gen_below(g, (uint64_t)limit), span = limit < 64 ? limit : 64;
  for (int p = 0; p < span; ++p) {
    int r = (start + p) % limit;
    if (!g->used[r] && gen_max_mag(g, r) > 0) return r;
  }
  return -1;
}

/* An operand among values [0, limit): mostly one no instruction reads yet (so that few values are dead and
 * every input tends to matter), else a recent one or any; active values preferred. */
static int gen_pick(prog_gen *g, int limit) {
  int r = 0;
  for (int tries = 0; tries < 3; ++tries) {
    uint64_t u = gen_below(g, 20);
    if (u < 11 && (r = gen_unused(g, limit)) >= 0) return r;
    if (u < 17) {
      int back = limit < 6 ? limit : 6;
      r = limit - 1 - (int)gen_below(g, (uint64_t)back);
    } else {
      r = (int)gen_below(g, (uint64_t)limit);
    }
    if (gen_max_mag(g, r) > 0) break;
  }
  return r;
}

/* The op's value and partials with respect to its variable operands (pb only for VV). */
static void gen_eval(int code, double va, double vb, double kc, double *v, double *pa, double *pb) {
  double da, db;
  switch (ad_op_kind[code]) {
  case AD_KIND_CV:
    ad_op_eval((ad_op)code, kc, va, v, &db, &da); /* the variable is the second operand */
    *pa = da;
    *pb = 0;
    break;
  case AD_KIND_VV:
    ad_op_eval((ad_op)code, va, vb, v, &da, &db);
    *pa = da;
    *pb = db;
    break;
  default:
    ad_op_eval((ad_op)code, va, kc, v, &da, &db);
    *pa = da;
    *pb = 0;
    break;
  }
}

static int gen_small(double p) { return isfinite(p) && fabs(p) <= PROG_VMAX; }

/* Partials p and q (at two nearby points) agree: no kink or pole in between. */
static int gen_steady(double p, double q) {
  double s = fabs(p) > fabs(q) ? fabs(p) : fabs(q);
  return fabs(p - q) <= 0.25 * s + 1e-9;
}

/* Evaluates candidate c on the current values; 1 if it is acceptable (see the top of the file), with c->v,
 * c->grad and c->mag set. */
/* Evaluates candidate c on the current values without judging it: c->v, c->grad, c->mag. */
static void gen_calc(const prog_gen *g, prog_cand *c) {
  int vv = ad_op_kind[c->code] == AD_KIND_VV, k = g->k;
  double va = g->val[c->a], vb = vv ? g->val[c->b] : 0.0, pa, pb;
  gen_eval(c->code, va, vb, c->kc, &c->v, &pa, &pb);
  const double *ga = g->grad + (size_t)c->a * k, *ma = g->mag + (size_t)c->a * k;
  const double *gb = g->grad + (size_t)c->b * k, *mb = g->mag + (size_t)c->b * k;
  for (int j = 0; j < k; ++j) {
    c->grad[j] = pa * ga[j] + (vv ? pb * gb[j] : 0.0);
    c->mag[j] = fabs(pa) * ma[j] + (vv ? fabs(pb) * mb[j] : 0.0);
  }
}

static int gen_check(const prog_gen *g, prog_cand *c);

static int gen_try(const prog_gen *g, prog_cand *c) {
  if (gen_check(g, c)) return 1;
  if (!g->wild) return 0;
  /* Wild programs also take a candidate that is infinite or NaN, in its value or its partials. */
  int vv = ad_op_kind[c->code] == AD_KIND_VV;
  double v, pa, pb;
  gen_eval(c->code, g->val[c->a], vv ? g->val[c->b] : 0.0, c->kc, &v, &pa, &pb);
  if (isfinite(v) && isfinite(pa) && isfinite(pb)) return 0;
  gen_calc(g, c);
  return 1;
}

static int gen_check(const prog_gen *g, prog_cand *c) {
  int vv = ad_op_kind[c->code] == AD_KIND_VV, same = vv && c->a == c->b, k = g->k;
  double va = g->val[c->a], vb = vv ? g->val[c->b] : 0.0, v, pa, pb;
  gen_eval(c->code, va, vb, c->kc, &v, &pa, &pb);
  if (!gen_small(v) || !gen_small(pa) || !gen_small(pb)) return 0;
  /* Saturation (tanh or logistic far out, sin near a peak): a partial that is not 0 but tiny next to the value
   * is computed with a large relative error by rules such as v (1 - v). */
  if (pa != 0 && fabs(pa) * (fabs(va) > 1 ? fabs(va) : 1) < PROG_FLAT * fabs(v)) return 0;
  if (pb != 0 && fabs(pb) * (fabs(vb) > 1 ? fabs(vb) : 1) < PROG_FLAT * fabs(v)) return 0;
  /* How far each operand may move: a relative step, or as far as an input move of PROG_REACH carries it. */
  double ra = PROG_KINK * (fabs(va) > 1 ? fabs(va) : 1), rb = PROG_KINK * (fabs(vb) > 1 ? fabs(vb) : 1);
  if (PROG_REACH * gen_max_mag(g, c->a) > ra) ra = PROG_REACH * gen_max_mag(g, c->a);
  if (vv && PROG_REACH * gen_max_mag(g, c->b) > rb) rb = PROG_REACH * gen_max_mag(g, c->b);
  for (int side = -1; side <= 1; side += 2) { /* move each operand both ways (a shared one as one) */
    double v2, pa2, pb2;
    gen_eval(c->code, va + side * ra, same ? vb + side * ra : vb, c->kc, &v2, &pa2, &pb2);
    if (!gen_small(v2) || !gen_steady(pa, pa2) || !gen_steady(pb, pb2)) return 0;
    if (vv && !same) {
      gen_eval(c->code, va, vb + side * rb, c->kc, &v2, &pa2, &pb2);
      if (!gen_small(v2) || !gen_steady(pa, pa2) || !gen_steady(pb, pb2)) return 0;
    }
  }
  double gmax = 0, mmax = 0;
  const double *ga = g->grad + (size_t)c->a * k, *ma = g->mag + (size_t)c->a * k;
  const double *gb = g->grad + (size_t)c->b * k, *mb = g->mag + (size_t)c->b * k;
  for (int j = 0; j < k; ++j) {
    c->grad[j] = pa * ga[j] + (vv ? pb * gb[j] : 0.0);
    c->mag[j] = fabs(pa) * ma[j] + (vv ? fabs(pb) * mb[j] : 0.0);
    gmax = fabs(c->grad[j]) > gmax ? fabs(c->grad[j]) : gmax;
    mmax = c->mag[j] > mmax ? c->mag[j] : mmax;
    if (c->grad[j] != 0 && fabs(c->grad[j]) < PROG_TINY) return 0;
  }
  if (!(mmax <= PROG_SMAX)) return 0;
  if (mmax > 0 && (gmax < PROG_COND * mmax || gmax < PROG_FLAT * fabs(v))) return 0; /* cancelling, or flat */
  c->v = v;
  return 1;
}

/* A random op with operands below limit. */
/* A random op with operands below limit. The op's domain facts (ad_ops.def) shape its constant operand: a
 * positive base for k ** x (AD_POS_A on a CV op), a divisor away from 0 for x / k (AD_NONZERO_B on a VC op). */
static void gen_draw(prog_gen *g, prog_cand *c, int limit) {
  c->code = (int)gen_below(g, AD_OP_COUNT);
  ad_kind kind = ad_op_kind[c->code];
  unsigned facts = ad_op_facts[c->code];
  c->a = gen_pick(g, limit);
  c->b = kind == AD_KIND_VV ? gen_pick(g, limit) : 0;
  c->kc = kind == AD_KIND_VC || kind == AD_KIND_CV ? gen_const(g) : 0.0;
  if (kind == AD_KIND_CV && (facts & AD_POS_A)) c->kc = fabs(c->kc);
  if (kind == AD_KIND_VC && (facts & AD_NONZERO_B) && fabs(c->kc) < 0.25) c->kc = c->kc < 0 ? -0.5 : 0.5;
}

/* The op needs its variable operand a positive (AD_POS_A on a U, VV or VC op) and the one drawn is not. */
static int gen_needs_positive(const prog_gen *g, const prog_cand *c) {
  return (ad_op_facts[c->code] & AD_POS_A) && ad_op_kind[c->code] != AD_KIND_CV && !(g->val[c->a] > 0);
}

/* Records c's evaluation as slot r's. */
static void gen_store(prog_gen *g, int r, const prog_cand *c) {
  g->val[r] = c->v;
  for (int j = 0; j < g->k; ++j) {
    g->grad[(size_t)r * g->k + j] = c->grad[j];
    g->mag[(size_t)r * g->k + j] = c->mag[j];
  }
}

/* Writes c as instruction i (its evaluation is stored by the caller). */
static void gen_put(prog_gen *g, int i, const prog_cand *c) {
  prog_set(g->data, i, c->code, c->a, c->b, c->kc);
  if (c->code < AD_OP_COUNT) {
    gen_use(g, c->a);
    if (ad_op_kind[c->code] == AD_KIND_VV) gen_use(g, c->b);
  }
}

static void gen_emit(prog_gen *g, const prog_cand *c) {
  gen_put(g, g->i, c);
  gen_store(g, g->k + g->i, c);
  gen_fresh(g, g->k + g->i);
  g->i++;
}

static double gen_cand_max_mag(const prog_gen *g, const prog_cand *c) {
  double m = 0;
  for (int j = 0; j < g->k; ++j) m = c->mag[j] > m ? c->mag[j] : m;
  return m;
}

/* Tries to place candidate c after a guard of its first operand: exp(v), sqr(v) + c or, unless the op needs a
 * positive operand, tanh(v). The guard's evaluation goes into the slots it will occupy, which nothing reads before
 * they are written for good. */
static int gen_guarded(prog_gen *g, const prog_cand *c) {
  int room = g->n - g->i, kind = (int)gen_below(g, gen_needs_positive(g, c) ? 2 : 3); /* tanh is not positive */
  int need = kind == 1 ? 3 : 2, at = g->k + g->i;
  if (room < need) return 0;
  prog_cand g1, g2, t;
  memset(&g1, 0, sizeof g1);
  g1.code = kind == 0 ? AD_OP_exp : kind == 1 ? AD_OP_sqr : AD_OP_tanh;
  g1.a = c->a;
  if (!gen_try(g, &g1)) return 0;
  gen_store(g, at, &g1);
  if (kind == 1) {
    memset(&g2, 0, sizeof g2);
    g2.code = AD_OP_add_vc;
    g2.a = at;
    g2.kc = wl_rng_uniform(&g->r, 0.1, 1.0);
    if (!gen_try(g, &g2)) return 0;
    gen_store(g, at + 1, &g2);
  }
  int guard = kind == 1 ? at + 1 : at;
  t = *c;
  t.a = guard;
  if (ad_op_kind[t.code] == AD_KIND_VV && c->b == c->a) t.b = guard;
  if (!gen_try(g, &t) || (room == need && gen_cand_max_mag(g, &t) == 0)) return 0; /* the output: active */
  gen_emit(g, &g1);
  if (kind == 1) gen_emit(g, &g2);
  gen_emit(g, &t);
  return 1;
}

/* A constant instruction. */
static void gen_constant(prog_gen *g) {
  prog_cand c;
  memset(&c, 0, sizeof c);
  c.code = PROG_CONST;
  c.kc = gen_const(g);
  c.v = c.kc;
  gen_emit(g, &c);
}

/* An op over values below limit that passes gen_try; 0 if none was found in a few attempts. */
static int gen_plain(prog_gen *g, prog_cand *c, int limit) {
  for (int t = 0; t < PROG_GEN_ATTEMPTS; ++t) {
    gen_draw(g, c, limit);
    if (gen_try(g, c)) return 1;
  }
  return 0;
}

/* One branch (three instructions) at g->i; 0 if none could be made. */
static int gen_branch(prog_gen *g) {
  int i = g->i, limit = g->k + i, cmp = (int)gen_below(g, PROG_N_CMP);
  prog_cand br, then_c, else_c;
  memset(&br, 0, sizeof br);
  br.code = PROG_IF_VC_FIRST + cmp;
  br.a = gen_pick(g, limit);
  double va = g->val[br.a], vb;
  if (gen_below(g, 2)) { /* compare two values, if some pair is far enough apart */
    for (int t = 0; t < 4; ++t) {
      int cb = gen_pick(g, limit);
      double s = fabs(va) > fabs(g->val[cb]) ? fabs(va) : fabs(g->val[cb]);
      double reach = 2 * PROG_REACH * (gen_max_mag(g, br.a) + gen_max_mag(g, cb));
      if (fabs(va - g->val[cb]) >= PROG_MARGIN * (s > 1 ? s : 1) && fabs(va - g->val[cb]) >= reach) {
        br.b = cb;
        br.code = PROG_IF_VV_FIRST + cmp;
        break;
      }
    }
  }
  if (br.code < PROG_IF_VV_FIRST) {
    double margin = wl_rng_uniform(&g->r, PROG_MARGIN, 1.0) * (fabs(va) > 1 ? fabs(va) : 1);
    if (margin < 2 * PROG_REACH * gen_max_mag(g, br.a)) margin += 2 * PROG_REACH * gen_max_mag(g, br.a);
    br.kc = gen_below(g, 2) ? va + margin : va - margin;
    vb = br.kc;
  } else {
    vb = g->val[br.b];
  }
  int cond = 0;
  switch (br.code) {
#define PROG__X(name, op)                                                                                      \
  case PROG_IF_VC_##name:                                                                                      \
  case PROG_IF_VV_##name:                                                                                      \
    cond = va op vb;                                                                                           \
    break;
    AD_CMP_LIST(PROG__X)
#undef PROG__X
  }
  if (!gen_plain(g, &then_c, limit) || !gen_plain(g, &else_c, limit)) return 0;
  gen_put(g, i, &br);
  gen_use(g, br.a);
  if (br.code >= PROG_IF_VV_FIRST) gen_use(g, br.b);
  gen_put(g, i + 1, &then_c);
  gen_put(g, i + 2, &else_c);
  for (int j = 0; j < 3; ++j) gen_store(g, limit + j, cond ? &then_c : &else_c);
  gen_fresh(g, limit);
  g->used[limit + 1] = g->used[limit + 2] = 1; /* copies of slot k + i: that one stands for the three */
  g->i += 3;
  return 1;
}

/* A binary op of two values no instruction reads yet; 0 if none was found in a few attempts. */
static int gen_fold(prog_gen *g) {
  int limit = g->k + g->i;
  for (int t = 0; t < PROG_GEN_ATTEMPTS; ++t) {
    prog_cand c;
    memset(&c, 0, sizeof c);
    c.a = gen_unused(g, limit);
    c.b = gen_unused(g, limit);
    if (c.a < 0 || c.b < 0 || c.a == c.b) continue;
    do c.code = (int)gen_below(g, AD_OP_COUNT);
    while (ad_op_kind[c.code] != AD_KIND_VV);
    if (gen_try(g, &c) && gen_cand_max_mag(g, &c) > 0) {
      gen_emit(g, &c);
      return 1;
    }
  }
  return 0;
}

/* One or more instructions at g->i. The last instruction is an op with an active result. Once the room left is
 * just enough to combine the values no instruction reads yet, the program folds them two by two into its
 * output, so that few values are dead. */
/* Wild programs: a poison pair on an active value, exp(1000 v), log(0 v), sqrt(0 v), v / 0 or 1 / (0 v). */
static int gen_poison(prog_gen *g) {
  if (g->n - g->i < 3) return 0; /* keep room for an op after it */
  prog_cand c1, c2;
  memset(&c1, 0, sizeof c1);
  memset(&c2, 0, sizeof c2);
  c1.a = gen_pick(g, g->k + g->i);
  int kind = (int)gen_below(g, 5);
  if (kind == 3) { /* v / 0: one instruction */
    c1.code = AD_OP_div_vc;
    gen_calc(g, &c1);
    gen_emit(g, &c1);
    return 1;
  }
  c1.code = AD_OP_mul_vc;
  c1.kc = kind == 0 ? 1000.0 : 0.0;
  gen_calc(g, &c1);
  gen_emit(g, &c1);
  c2.a = g->k + g->i - 1;
  c2.code = kind == 0 ? AD_OP_exp : kind == 1 ? AD_OP_log : kind == 2 ? AD_OP_sqrt : AD_OP_div_cv;
  c2.kc = 1.0;
  gen_calc(g, &c2);
  gen_emit(g, &c2);
  return 1;
}

static void gen_step(prog_gen *g) {
  int room = g->n - g->i, last = room == 1;
  if (g->n_unused >= 2 && room <= g->n_unused - 1 && gen_fold(g)) return;
  if (g->wild && gen_below(g, 8) == 0 && gen_poison(g)) return;
  uint64_t u = gen_below(g, 100);
  if (!last && room >= 4 && u < 12 && gen_branch(g)) return;
  if (!last && u >= 12 && u < 17) {
    gen_constant(g);
    return;
  }
  prog_cand c;
  for (int t = 0; t < PROG_GEN_ATTEMPTS; ++t) {
    gen_draw(g, &c, g->k + g->i);
    if (!g->wild && gen_needs_positive(g, &c)) { /* log, sqrt, pow of a value <= 0: guard it straight away */
      if (gen_guarded(g, &c)) return;
      continue;
    }
    if (gen_try(g, &c) && (!last || gen_cand_max_mag(g, &c) > 0)) {
      gen_emit(g, &c);
      return;
    }
    if ((t & 1) && gen_guarded(g, &c)) return;
  }
  /* Fallback: neg of the latest active value (or of the last input), which every check accepts. */
  memset(&c, 0, sizeof c);
  c.code = AD_OP_neg;
  c.a = g->k - 1;
  for (int r = g->k + g->i - 1; r >= 0; --r)
    if (gen_max_mag(g, r) > 0) {
      c.a = r;
      break;
    }
  if (!gen_try(g, &c)) { /* cannot happen: neg keeps value, derivatives and magnitudes */
    c.v = -g->val[c.a];
    for (int j = 0; j < g->k; ++j) {
      c.grad[j] = -g->grad[(size_t)c.a * g->k + j];
      c.mag[j] = g->mag[(size_t)c.a * g->k + j];
    }
  }
  gen_emit(g, &c);
}

/* Writes a program with every instruction tanh of the previous value: used only if memory runs out. */
static void prog_fallback(int k, int n, double *data) {
  prog_set_header(data, k, n);
  for (int i = 0; i < n; ++i) prog_set(data, i, AD_OP_tanh, k + i - 1, 0, 0.0);
}

void prog_generate(int k, int n, uint64_t seed, double *x, double *data) {
  prog_gen g;
  memset(&g, 0, sizeof g);
  g.r.s = seed;
  g.data = data;
  g.k = k < 1 ? 1 : k > PROG_MAX_INPUTS ? PROG_MAX_INPUTS : k;
  g.n = n < 1 ? 1 : n > PROG_MAX_INSTR ? PROG_MAX_INSTR : n;
  wl_rng h = {seed ^ 0x510e527fade682d1ull}; /* wild or not: a hash of the seed, so tame programs stay as they were */
  g.wild = wl_rng_next(&h) % 5 == 0;
  for (int j = 0; j < g.k; ++j) x[j] = wl_rng_uniform(&g.r, -2.0, 2.0);
  if (g.wild) {
    static const double special[] = {INFINITY, -INFINITY, NAN, 0.0};
    for (int j = 0; j < g.k; ++j)
      if (wl_rng_next(&h) % 4 == 0) x[j] = special[wl_rng_next(&h) % 4];
  }
  size_t nv = (size_t)(g.k + g.n);
  g.val = (double *)malloc(nv * sizeof(double));
  g.grad = (double *)calloc(nv * (size_t)g.k, sizeof(double));
  g.mag = (double *)calloc(nv * (size_t)g.k, sizeof(double));
  g.used = (unsigned char *)calloc(nv, 1);
  if (!g.val || !g.grad || !g.mag || !g.used) {
    prog_fallback(g.k, g.n, data);
  } else {
    prog_set_header(data, g.k, g.n);
    for (int j = 0; j < g.k; ++j) {
      g.val[j] = x[j];
      g.grad[(size_t)j * g.k + j] = 1.0;
      g.mag[(size_t)j * g.k + j] = 1.0;
      gen_fresh(&g, j);
    }
    while (g.i < g.n) gen_step(&g);
  }
  free(g.val);
  free(g.grad);
  free(g.mag);
  free(g.used);
}
