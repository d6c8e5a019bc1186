/* replay.c: storage (three chunked streams, ad_chunk.h), forward replay with guards and the reverse sweep of the replayable tape (see
 * replay.h). Both sweeps are switch statements generated from ad_ops.def. */
#include "replay.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

enum { REPLAY_FIRST = 256, REPLAY_SCRATCH = 64 };

/* Scratch space that absorbs writes after an allocation failure, so recording can continue harmlessly until the
 * caller checks replay_status. Its contents are never read. */
static uint8_t replay__scratch_op[REPLAY_SCRATCH];
static uint32_t replay__scratch_arg[REPLAY_SCRATCH];
static double replay__scratch_cst[REPLAY_SCRATCH];
static double replay__scratch_val[REPLAY_SCRATCH];

/* Records how far the current chunks are filled, so the sweeps know where each stream ends. */
static void replay__seal(replay_t *t) {
  adc_seal(&t->ops);
  adc_seal(&t->args);
  adc_seal(&t->csts);
}

static void fail(replay_t *t, ad_status s) {
  if (t->status == AD_OK) t->status = s;
  t->values = t->status;
  adc_sink(&t->ops, replay__scratch_op, NULL, REPLAY_SCRATCH);
  adc_sink(&t->args, replay__scratch_arg, NULL, REPLAY_SCRATCH);
  adc_sink(&t->csts, replay__scratch_cst, NULL, REPLAY_SCRATCH);
  t->vp = replay__scratch_val;
  t->vp_end = replay__scratch_val + REPLAY_SCRATCH;
}

_Static_assert(REPLAY_CODE_COUNT <= 256, "statement codes are one byte");

void replay__fail(replay_t *t, ad_status s) {
  if (s != AD_OK) fail(t, s);
}

replay_t *replay_new(void) {
  replay_t *t = (replay_t *)ad_calloc(sizeof *t);
  if (!t) return NULL;
  const adc_spec ops = {{sizeof(uint8_t), 0}, REPLAY_FIRST, REPLAY_CHUNK_MAX, 0, 0};
  const adc_spec args = {{sizeof(uint32_t), 0}, 2 * REPLAY_FIRST, REPLAY_CHUNK_MAX, 0, 0};
  const adc_spec csts = {{sizeof(double), 0}, REPLAY_FIRST, REPLAY_CHUNK_MAX, 0, 0};
  int ok = adc_init(&t->args, &args) == AD_OK && adc_init(&t->csts, &csts) == AD_OK &&
           adc_init(&t->ops, &ops) == AD_OK && adc_nest(&t->ops, &t->args) == AD_OK &&
           adc_nest(&t->ops, &t->csts) == AD_OK;
  t->val = ok ? (double *)ad_malloc(REPLAY_FIRST * sizeof(double)) : NULL;
  if (!t->val) {
    adc_free(&t->args);
    adc_free(&t->csts);
    adc_free(&t->ops);
    ad_free(t, sizeof *t);
    return NULL;
  }
  t->val_cap = REPLAY_FIRST;
  t->kink_guards = 1;
  replay_reset(t);
  return t;
}

void replay_free(replay_t *t) {
  if (!t) return;
  replay__arr_free(t);
  adc_free(&t->ops); /* and the operand and constant streams nested in it */
  ad_free(t->val, t->val_cap * sizeof(double));
  ad_free(t->adj, t->adj_cap * sizeof(double));
  ad_free(t->reach, t->adj_cap);
  ad_free(t->ladj, t->ladj_cap * sizeof(double));
  ad_free(t->lreach, t->lreach_cap * sizeof(uint16_t));
  ad_free(t, sizeof *t);
}

/* A nonzero tag for t's current generation: a hash of the tape's address and its generation, so that variables of
 * two tapes, or of two generations of one, differ (but for one chance in 2^32). */
static uint32_t replay__tag_of(const replay_t *t) {
  uint64_t h = ((uint64_t)(uintptr_t)t >> 4) * 0x9E3779B97F4A7C15ull + (uint64_t)t->generation * 0xBF58476D1CE4E5B9ull;
  uint32_t tag = (uint32_t)(h >> 32);
  return tag ? tag : 1u;
}

replay_var replay__foreign(replay_t *t) {
  fail(t, AD_EFOREIGN);
  replay_var r;
  r.v = __builtin_nan("");
  r.i = 0;
  r.g = 0;
  return r;
}

void replay_reset(replay_t *t) {
  if (!t) return;
  t->generation++;
  t->tag = replay__tag_of(t);
  t->status = AD_OK;
  t->values = AD_OK;
  t->next = 1; /* index 0 stands for every passive value */
  t->n_inputs = 0;
  t->n_guards = 0;
  memset(&t->guard, 0, sizeof t->guard);
  replay__arr_reset(t);
  adc_reset(&t->ops); /* and the nested streams */
  t->val[0] = 0.0;
  t->vp = t->val + 1;
  t->vp_end = t->val + t->val_cap;
}

void replay_shrink(replay_t *t) {
  if (!t) return;
  replay__arr_free(t);
  adc_shrink(&t->ops); /* and the nested streams */
  ad_free(t->adj, t->adj_cap * sizeof(double));
  ad_free(t->reach, t->adj_cap);
  t->adj = NULL;
  t->reach = NULL;
  t->adj_cap = 0;
  ad_free(t->ladj, t->ladj_cap * sizeof(double));
  ad_free(t->lreach, t->lreach_cap * sizeof(uint16_t));
  t->ladj = NULL;
  t->lreach = NULL;
  t->ladj_cap = t->lreach_cap = 0;
  t->ladj_lanes = 0;
  if (t->val_cap > REPLAY_FIRST) {
    double *v = (double *)ad_realloc(t->val, t->val_cap * sizeof(double), REPLAY_FIRST * sizeof(double));
    if (v) { /* shrinking cannot fail in practice; if it does, the larger vector is kept */
      t->val = v;
      t->val_cap = REPLAY_FIRST;
    }
  }
  replay_reset(t);
}

ad_status replay_status(const replay_t *t) { return t ? t->status : AD_EINVAL; }

void replay_set_kink_guards(replay_t *t, int on) {
  if (t) t->kink_guards = on != 0;
}

void replay__grow(replay_t *t, unsigned nargs, unsigned ncst, unsigned nval) {
  if (t->status != AD_OK) { /* already failed: keep absorbing writes */
    fail(t, t->status);
    return;
  }
  if (nval && t->next >= UINT32_MAX - 1) {
    fail(t, AD_ERANGE);
    return;
  }
  /* A record's operands and constants never straddle two chunks (adc_reserve). */
  ad_status st = adc_reserve(&t->ops, 1);
  if (st == AD_OK) st = adc_reserve(&t->args, nargs);
  if (st == AD_OK) st = adc_reserve(&t->csts, ncst);
  if (st != AD_OK) {
    fail(t, st);
    return;
  }
  if (nval && t->vp == t->vp_end) {
    size_t cap = t->val_cap * 2;
    if (cap > (size_t)UINT32_MAX + 1) cap = (size_t)UINT32_MAX + 1;
    double *v = (double *)ad_realloc(t->val, t->val_cap * sizeof(double), cap * sizeof(double));
    if (!v) {
      fail(t, AD_ENOMEM);
      return;
    }
    t->val = v;
    t->val_cap = cap;
    t->vp = v + t->next;
    t->vp_end = v + cap;
  }
}

/* ---- Guards ------------------------------------------------------------------------------------------------ */

typedef enum guard_family { GF_CMP_VV, GF_CMP_VC, GF_ORDER_VV, GF_ORDER_VC, GF_SIGN, GF_VALUE, GF_NONE } guard_family;

static guard_family family_of(unsigned code) {
  if (code < REPLAY_G_CMP_VV) return GF_NONE;
  if (code < REPLAY_G_CMP_VC) return GF_CMP_VV;
  if (code < REPLAY_G_ORDER_VV) return GF_CMP_VC;
  if (code < REPLAY_G_ORDER_VC) return GF_ORDER_VV;
  if (code < REPLAY_G_SIGN) return GF_ORDER_VC;
  if (code < REPLAY_G_VALUE) return GF_SIGN;
  if (code == REPLAY_G_VALUE) return GF_VALUE;
  return GF_NONE;
}

/* Operand indices and constants a guard family keeps. */
static const unsigned char family_args[] = {2, 1, 2, 1, 1, 1, 0};
static const unsigned char family_csts[] = {0, 1, 0, 1, 0, 1, 0};

static int cmp_eval(unsigned cmp, double a, double b) {
  switch (cmp) {
#define REPLAY__X(name, op)                                                                                    \
  case REPLAY_CMP_##name:                                                                                      \
    return a op b;
    AD_CMP_LIST(REPLAY__X)
#undef REPLAY__X
  default:
    assert(0 && "bad comparison code");
    return 0;
  }
}

static int order_of(double a, double b) {
  return a < b ? REPLAY_ORDER_LT : a == b ? REPLAY_ORDER_EQ : a > b ? REPLAY_ORDER_GT : REPLAY_ORDER_UNORDERED;
}

static int same_bits(double a, double b) {
  uint64_t x, y;
  memcpy(&x, &a, sizeof x);
  memcpy(&y, &b, sizeof y);
  return x == y;
}

/* The outcome the guard with this code had when recorded. */
static int guard_recorded(unsigned code) {
  switch (family_of(code)) {
  case GF_CMP_VV: return (int)((code - REPLAY_G_CMP_VV) & 1u);
  case GF_CMP_VC: return (int)((code - REPLAY_G_CMP_VC) & 1u);
  case GF_ORDER_VV: return (int)(code - REPLAY_G_ORDER_VV);
  case GF_ORDER_VC: return (int)(code - REPLAY_G_ORDER_VC);
  case GF_SIGN: return (int)(code - REPLAY_G_SIGN);
  case GF_VALUE: return 1;
  default: return 0;
  }
}

/* The outcome the guard with this code has at operand values a and b (b: the second operand or the constant). */
static int guard_now(unsigned code, double a, double b) {
  switch (family_of(code)) {
  case GF_CMP_VV: return cmp_eval((code - REPLAY_G_CMP_VV) >> 1, a, b);
  case GF_CMP_VC: return cmp_eval((code - REPLAY_G_CMP_VC) >> 1, a, b);
  case GF_ORDER_VV:
  case GF_ORDER_VC: return order_of(a, b);
  case GF_SIGN: return order_of(a, 0.0);
  case GF_VALUE: return same_bits(a, b);
  default: return 0;
  }
}

static const char *const cmp_vv_name[REPLAY_CMP_COUNT] = {
#define REPLAY__X(name, op) #name "_vv",
    AD_CMP_LIST(REPLAY__X)
#undef REPLAY__X
};
static const char *const cmp_vc_name[REPLAY_CMP_COUNT] = {
#define REPLAY__X(name, op) #name "_vc",
    AD_CMP_LIST(REPLAY__X)
#undef REPLAY__X
};

const char *replay_guard_name(unsigned code) {
  switch (family_of(code)) {
  case GF_CMP_VV: return cmp_vv_name[(code - REPLAY_G_CMP_VV) >> 1];
  case GF_CMP_VC: return cmp_vc_name[(code - REPLAY_G_CMP_VC) >> 1];
  case GF_ORDER_VV:
  case GF_ORDER_VC: return "fmax/fmin";
  case GF_SIGN: return "abs";
  case GF_VALUE: return "ad_val";
  default: return "?";
  }
}

replay_guard replay_last_guard(const replay_t *t) {
  replay_guard g;
  if (t) return t->guard;
  memset(&g, 0, sizeof g);
  return g;
}

static const char *outcome_str(unsigned code, int o) {
  static const char *const order[REPLAY_ORDER_COUNT] = {"a < b", "a == b", "a > b", "unordered"};
  static const char *const sign[REPLAY_ORDER_COUNT] = {"negative", "zero", "positive", "NaN"};
  switch (family_of(code)) {
  case GF_CMP_VV:
  case GF_CMP_VC: return o ? "true" : "false";
  case GF_ORDER_VV:
  case GF_ORDER_VC: return o >= 0 && o < REPLAY_ORDER_COUNT ? order[o] : "?";
  case GF_SIGN: return o >= 0 && o < REPLAY_ORDER_COUNT ? sign[o] : "?";
  case GF_VALUE: return o ? "the recorded value" : "a different value";
  default: return "?";
  }
}

int replay_guard_message(const replay_t *t, char *buf, size_t n) {
  if (!t) {
    if (buf && n) buf[0] = '\0';
    return 0;
  }
  const replay_guard *g = &t->guard;
  if (family_of(g->code) == GF_NONE) return snprintf(buf, buf ? n : 0, "no guard fired");
  return snprintf(buf, buf ? n : 0, "control flow changed at op %llu (%s: recorded %s, now %s): record again",
                  (unsigned long long)g->op, replay_guard_name(g->code), outcome_str(g->code, g->recorded),
                  outcome_str(g->code, g->now));
}

/* ---- Stats ------------------------------------------------------------------------------------------------- */

replay_stats replay_get_stats(const replay_t *t) {
  replay_stats s;
  memset(&s, 0, sizeof s);
  if (!t) return s;
  s.statements = t->next - 1;
  s.inputs = t->n_inputs;
  s.guards = t->n_guards;
  if (t->status == AD_OK) {
    s.arguments = adc_count(&t->args);
    s.constants = adc_count(&t->csts);
  }
  s.bytes_used = s.statements + s.guards + s.arguments * sizeof(uint32_t) + s.constants * sizeof(double) +
                 s.statements * sizeof(double) + replay__arr_bytes_used(t);
  s.value_bytes = t->val_cap * sizeof(double);
  s.adjoint_bytes = t->adj_cap * (sizeof(double) + 1) + /* adjoints and their reach marks, and the lanes' */
                    t->ladj_cap * sizeof(double) + t->lreach_cap * sizeof(uint16_t);
  s.bytes_held = sizeof *t + adc_bytes_held(&t->ops) + adc_bytes_held(&t->args) + adc_bytes_held(&t->csts) +
                 s.value_bytes + s.adjoint_bytes + replay__arr_bytes_held(t);
  return s;
}

/* ---- Adjoints ---------------------------------------------------------------------------------------------- */

double *replay_adjoints(replay_t *t) {
  if (!t || t->status != AD_OK) return NULL;
  size_t need = t->next;
  if (t->adj_cap < need) {
    size_t cap = need + need / 8;
    ad_free(t->adj, t->adj_cap * sizeof(double));
    ad_free(t->reach, t->adj_cap);
    t->adj = (double *)ad_malloc(cap * sizeof(double));
    t->reach = (uint8_t *)ad_calloc(cap);
    if (!t->adj || !t->reach) {
      ad_free(t->adj, cap * sizeof(double));
      ad_free(t->reach, cap);
      t->adj = NULL;
      t->reach = NULL;
    }
    t->adj_cap = t->adj ? cap : 0;
    if (!t->adj) {
      if (t->status == AD_OK) t->status = AD_ENOMEM;
      t->values = t->status;
      return NULL;
    }
  }
  memset(t->adj, 0, need * sizeof(double));
  memset(t->reach, 0, need);
  if (replay__arr_adjoints(t) != AD_OK) {
    if (t->status == AD_OK) t->status = AD_ENOMEM;
    t->values = t->status;
    return NULL;
  }
  return t->adj;
}

void replay_clear_adjoints(replay_t *t) {
  if (t && t->adj) memset(t->adj, 0, (t->adj_cap < t->next ? t->adj_cap : t->next) * sizeof(double));
  if (t) replay__arr_clear(t);
}

/* ---- Forward replay ---------------------------------------------------------------------------------------- */

/* Stream cursors (ad_chunk.h readers) over the operand and constant streams; the cases read the current chunk's
 * records through a pointer range. Forward, step into the next chunk when the range is used up; backward, into the
 * previous one at its start. A record's entries never straddle two chunks. */
#define FWD_ARG()                                                                                              \
  while (AD_UNLIKELY(ap == ae)) {                                                                              \
    adc__step_fwd(&ar);                                                                                        \
    ap = ADC_RLANE(&ar, const uint32_t);                                                                       \
    ae = ap + ar.chunk->used;                                                                                  \
  }
#define FWD_CST()                                                                                              \
  while (AD_UNLIKELY(cp == ce)) {                                                                              \
    adc__step_fwd(&cr);                                                                                        \
    cp = ADC_RLANE(&cr, const double);                                                                         \
    ce = cp + cr.chunk->used;                                                                                  \
  }
#define REV_ARG(k)                                                                                             \
  while (AD_UNLIKELY(ap == ab)) {                                                                              \
    adc__step_back(&ar);                                                                                       \
    ab = ADC_RLANE(&ar, const uint32_t);                                                                       \
    ap = ab + ar.off;                                                                                          \
  }                                                                                                            \
  ap -= (k);
#define REV_CST()                                                                                              \
  while (AD_UNLIKELY(cp == cb)) {                                                                              \
    adc__step_back(&cr);                                                                                       \
    cb = ADC_RLANE(&cr, const double);                                                                         \
    cp = cb + cr.off;                                                                                          \
  }                                                                                                            \
  cp -= 1;

/* Forward cases: load a and b as the code says, evaluate the op's value. The previous statement's value is
 * usually an operand of the next (a chain, Horner's rule): it is kept in a register, so the dependency does not
 * go through a store and a load of the value vector. */
AD_INLINE double fwd_ld(const double *val, double last, uint32_t s, uint32_t i) {
  return i + 1 == s ? last : val[i];
}
#define FWD_LD(i) fwd_ld(val, last, s, (i))
#define FWD_EVAL(pre, value)                                                                                   \
  ad_m2 t = pre;                                                                                               \
  (void)t, (void)b;                                                                                            \
  val[s++] = last = (value);
#define FWD_U(name, pre, value)                                                                                \
  case AD_OP_##name: {                                                                                         \
    FWD_ARG();                                                                                                 \
    double a = FWD_LD(ap[0]), b = 0;                                                                           \
    ap += 1;                                                                                                   \
    FWD_EVAL(pre, value)                                                                                       \
    break;                                                                                                     \
  }
#define FWD_VC(name, pre, value)                                                                               \
  case AD_OP_##name: {                                                                                         \
    FWD_ARG();                                                                                                 \
    FWD_CST();                                                                                                 \
    double a = FWD_LD(*ap++), b = *cp++;                                                                       \
    FWD_EVAL(pre, value)                                                                                       \
    break;                                                                                                     \
  }
#define FWD_CV(name, pre, value)                                                                               \
  case AD_OP_##name: {                                                                                         \
    FWD_ARG();                                                                                                 \
    FWD_CST();                                                                                                 \
    double a = *cp++, b = FWD_LD(*ap++);                                                                       \
    FWD_EVAL(pre, value)                                                                                       \
    break;                                                                                                     \
  }
#define FWD_VV(name, pre, value)                                                                               \
  case AD_OP_##name: {                                                                                         \
    FWD_ARG();                                                                                                 \
    double a = FWD_LD(ap[0]), b = FWD_LD(ap[1]);                                                               \
    ap += 2;                                                                                                   \
    FWD_EVAL(pre, value)                                                                                       \
    break;                                                                                                     \
  }                                                                                                            \
  case REPLAY_CODE_VK + AD_OP_##name: {                                                                        \
    FWD_ARG();                                                                                                 \
    FWD_CST();                                                                                                 \
    double a = FWD_LD(*ap++), b = *cp++;                                                                       \
    FWD_EVAL(pre, value)                                                                                       \
    break;                                                                                                     \
  }                                                                                                            \
  case REPLAY_CODE_KV + AD_OP_##name: {                                                                        \
    FWD_ARG();                                                                                                 \
    FWD_CST();                                                                                                 \
    double a = *cp++, b = FWD_LD(*ap++);                                                                       \
    FWD_EVAL(pre, value)                                                                                       \
    break;                                                                                                     \
  }

static ad_status replay__run(replay_t *tp, const double *x, size_t n_x, int stop, uint64_t *fired) {
  if (!tp || (!x && n_x)) return AD_EINVAL;
  if (tp->status != AD_OK) return AD_ESTATE;
  if (n_x != tp->n_inputs) return AD_EINVAL;
  replay__seal(tp);
  double *restrict val = tp->val;
  double last = 0.0; /* val[s - 1] */
  uint32_t s = 1;    /* index of the next statement */
  size_t xi = 0;
  uint64_t nfired = 0, op_base = 0; /* op_base: records in the code chunks before this one */
  const int kinks = tp->kink_guards;
  adc_reader ar = adc_reader_begin(&tp->args), cr = adc_reader_begin(&tp->csts);
  const uint32_t *ap = ADC_RLANE(&ar, const uint32_t), *ae = ap + ar.chunk->used;
  const double *cp = ADC_RLANE(&cr, const double), *ce = cp + cr.chunk->used;
  for (adc_chunk *oc = tp->ops.head;; oc = oc->next) {
    const uint8_t *o0 = (const uint8_t *)oc->lane[0], *oe = o0 + oc->used;
    for (const uint8_t *o = o0; o < oe; ++o) {
      const unsigned code = *o;
      switch (code) {
#define AD_OP(name, kind, torch, facts, pre, value, da, db) FWD_##kind(name, pre, value)
#include "../ad_ops.def"
#undef AD_OP
      case REPLAY_CODE_INPUT:
        val[s++] = last = x[xi++];
        break;
      case REPLAY_CODE_ARRAY: /* an array op (replay_array.c): values recomputed in place */
        FWD_ARG();
        val[s] = last = replay__arr_fwd(tp, *ap++, val);
        s++;
        break;
      default: { /* a guard */
        guard_family f = family_of(code);
        assert(f != GF_NONE && "bad code on the tape");
        double a = 0, b = 0;
        FWD_ARG();
        a = FWD_LD(*ap++);
        if (family_args[f] > 1) b = FWD_LD(*ap++);
        if (family_csts[f]) {
          FWD_CST();
          b = *cp++;
        }
        int rec = guard_recorded(code), now = guard_now(code, a, b);
        if (AD_UNLIKELY(rec != now)) {
          int kink = f == GF_ORDER_VV || f == GF_ORDER_VC || f == GF_SIGN;
          if (kink && !kinks) break;
          if (!stop) {
            nfired++;
            break;
          }
          tp->guard.op = op_base + (uint64_t)(o - o0);
          tp->guard.statement = s;
          tp->guard.code = code;
          tp->guard.recorded = rec;
          tp->guard.now = now;
          tp->values = AD_EGUARD;
          return AD_EGUARD;
        }
        break;
      }
      }
    }
    op_base += oc->used;
    if (oc == tp->ops.cur) break;
  }
  assert(s == tp->next && xi == n_x);
  if (fired) *fired = nfired;
  tp->values = AD_OK;
  return AD_OK;
}

ad_status replay_forward(replay_t *t, const double *x, size_t n_x) { return replay__run(t, x, n_x, 1, NULL); }

ad_status replay_forward_unguarded(replay_t *t, const double *x, size_t n_x, uint64_t *fired) {
  if (fired) *fired = 0;
  return replay__run(t, x, n_x, 0, fired);
}

/* ---- Reverse sweep ----------------------------------------------------------------------------------------- */

/* acc += p * w, fused where the CPU has FMA, as the tape engine's sweep does (adjoints may differ from a separate
 * multiply-add in the last bit; values never do). */
#if defined(__FMA__)
#define REPLAY_MADD(acc, p, w) ((acc) = __builtin_fma((p), (w), (acc)))
#else
#define REPLAY_MADD(acc, p, w) ((acc) += (p) * (w))
#endif

/* Reverse cases: load the operands as the code says, recompute the partials, propagate the adjoint of s.
 * Most statements feed the statement right after them, so the adjoint of s - 1 is carried in a register
 * (loaded before statement s adds its share): a chain never waits for a store to be forwarded to a load. The
 * adjoint of s is complete when s is visited (its consumers all come after it) and is written back then. */
#define REV_VISIT()                                                                                            \
  const double w = carry;                                                                                      \
  adj[s] = w;                                                                                                  \
  const uint32_t prev = s - 1;                                                                                 \
  carry = adj[prev];                                                                                           \
  const int reached = w != 0.0 || reach[s];                                                                    \
  reach[s] = 0;
#define REV_ACC(i, p)                                                                                          \
  do {                                                                                                         \
    const double p_ = (p);                                                                                     \
    reach[(i)] = 1;                                                                                            \
    if ((i) == prev) REPLAY_MADD(carry, p_, w);                                                                \
    else REPLAY_MADD(adj[(i)], p_, w);                                                                         \
  } while (0)
/* A statement no seed reaches propagates nothing (the policy of ad_ops.def: an Inf partial there must not turn
 * into 0 * Inf = NaN), and its partials are not even computed. */
#define REV_PRE(pre)                                                                                           \
  REV_VISIT()                                                                                                  \
  if (!reached) {                                                                                              \
    --s;                                                                                                       \
    break;                                                                                                     \
  }                                                                                                            \
  ad_m2 t = pre;                                                                                               \
  const double v = val[s];                                                                                     \
  (void)t, (void)v, (void)a, (void)b;
#define REV_U(name, pre, value, da, db)                                                                        \
  case AD_OP_##name: {                                                                                         \
    REV_ARG(1);                                                                                                \
    const uint32_t i0 = ap[0];                                                                                 \
    double a = val[i0], b = 0;                                                                                 \
    REV_PRE(pre)                                                                                               \
    REV_ACC(i0, (da));                                                                                         \
    --s;                                                                                                       \
    break;                                                                                                     \
  }
#define REV_VC(name, pre, value, da, db)                                                                       \
  case AD_OP_##name: {                                                                                         \
    REV_ARG(1);                                                                                                \
    REV_CST();                                                                                                 \
    const uint32_t i0 = ap[0];                                                                                 \
    double a = val[i0], b = cp[0];                                                                             \
    REV_PRE(pre)                                                                                               \
    REV_ACC(i0, (da));                                                                                         \
    --s;                                                                                                       \
    break;                                                                                                     \
  }
#define REV_CV(name, pre, value, da, db)                                                                       \
  case AD_OP_##name: {                                                                                         \
    REV_ARG(1);                                                                                                \
    REV_CST();                                                                                                 \
    const uint32_t i0 = ap[0];                                                                                 \
    double a = cp[0], b = val[i0];                                                                             \
    REV_PRE(pre)                                                                                               \
    REV_ACC(i0, (db));                                                                                         \
    --s;                                                                                                       \
    break;                                                                                                     \
  }
#define REV_VV(name, pre, value, da, db)                                                                       \
  case AD_OP_##name: {                                                                                         \
    REV_ARG(2);                                                                                                \
    const uint32_t i0 = ap[0], i1 = ap[1];                                                                     \
    double a = val[i0], b = val[i1];                                                                           \
    REV_PRE(pre)                                                                                               \
    REV_ACC(i0, (da));                                                                                         \
    REV_ACC(i1, (db));                                                                                         \
    --s;                                                                                                       \
    break;                                                                                                     \
  }                                                                                                            \
  case REPLAY_CODE_VK + AD_OP_##name: {                                                                        \
    REV_ARG(1);                                                                                                \
    REV_CST();                                                                                                 \
    const uint32_t i0 = ap[0];                                                                                 \
    double a = val[i0], b = cp[0];                                                                             \
    REV_PRE(pre)                                                                                               \
    REV_ACC(i0, (da));                                                                                         \
    --s;                                                                                                       \
    break;                                                                                                     \
  }                                                                                                            \
  case REPLAY_CODE_KV + AD_OP_##name: {                                                                        \
    REV_ARG(1);                                                                                                \
    REV_CST();                                                                                                 \
    const uint32_t i0 = ap[0];                                                                                 \
    double a = cp[0], b = val[i0];                                                                             \
    REV_PRE(pre)                                                                                               \
    REV_ACC(i0, (db));                                                                                         \
    --s;                                                                                                       \
    break;                                                                                                     \
  }

ad_status replay_reverse(replay_t *tp) {
  if (!tp) return AD_EINVAL;
  if (tp->status != AD_OK || !tp->adj || tp->adj_cap < tp->next || !tp->reach || !replay__arr_ready(tp))
    return AD_ESTATE;
  if (tp->values != AD_OK) return tp->values;
  replay__seal(tp);
  const double *restrict val = tp->val;
  double *restrict adj = tp->adj;
  uint8_t *restrict reach = tp->reach; /* 1: a reached statement took this one as an operand; cleared on visit */
  uint32_t s = tp->next - 1; /* index of the statement being visited */
  double carry = adj[s];     /* adj[s], kept in a register */
  adc_reader ar = adc_reader_end(&tp->args), cr = adc_reader_end(&tp->csts);
  const uint32_t *ab = ADC_RLANE(&ar, const uint32_t), *ap = ab + ar.off;
  const double *cb = ADC_RLANE(&cr, const double), *cp = cb + cr.off;
  for (adc_chunk *oc = tp->ops.cur; oc; oc = oc->prev) {
    const uint8_t *o0 = (const uint8_t *)oc->lane[0];
    for (const uint8_t *o = o0 + oc->used; o != o0;) {
      const unsigned code = *--o;
      switch (code) {
#define AD_OP(name, kind, torch, facts, pre, value, da, db) REV_##kind(name, pre, value, da, db)
#include "../ad_ops.def"
#undef AD_OP
      case REPLAY_CODE_INPUT: {
        REV_VISIT()
        (void)w, (void)reached;
        --s;
        break;
      }
      case REPLAY_CODE_ARRAY: { /* an array op (replay_array.c): it adds into adj[] in memory */
        REV_ARG(1);
        const uint32_t ri = ap[0];
        REV_VISIT()
        replay__arr_rev(tp, ri, w, reached, val, adj, reach);
        carry = adj[prev];
        --s;
        break;
      }
      default: { /* a guard: skip its operands */
        guard_family f = family_of(code);
        assert(f != GF_NONE && "bad code on the tape");
        REV_ARG(family_args[f]);
        if (family_csts[f]) {
          REV_CST();
        }
        break;
      }
      }
    }
  }
  assert(s == 0);
  return AD_OK;
}

/* ---- Vector reverse sweep: K adjoint lanes (replay_lanes_sweep.h, built once per K) ------------------------ */

#if defined(__SSE2__)
#include <immintrin.h>
#endif

/* The K-wide helpers are always inlined: their vector arguments never cross a call, so the ABI note GCC gives for
 * 16-double vectors without AVX-512 does not apply. */
#pragma GCC diagnostic ignored "-Wpsabi"

#define TAPE_LANES 1
#include "replay_lanes_sweep.h"
#undef TAPE_LANES
#define TAPE_LANES 2
#include "replay_lanes_sweep.h"
#undef TAPE_LANES
#define TAPE_LANES 4
#include "replay_lanes_sweep.h"
#undef TAPE_LANES
#define TAPE_LANES 8
#include "replay_lanes_sweep.h"
#undef TAPE_LANES
#define TAPE_LANES 16
#include "replay_lanes_sweep.h"
#undef TAPE_LANES

static int replay__lanes_valid(int lanes) { return lanes == 1 || lanes == 2 || lanes == 4 || lanes == 8 || lanes == 16; }

double *replay_adjoints_lanes(replay_t *t, int lanes) {
  if (!t || t->status != AD_OK || !replay__lanes_valid(lanes)) return NULL;
  size_t n = t->next, need = n * (size_t)lanes;
  if (t->ladj_cap < need || t->lreach_cap < n) {
    ad_free(t->ladj, t->ladj_cap * sizeof(double));
    ad_free(t->lreach, t->lreach_cap * sizeof(uint16_t));
    size_t cap = need > t->ladj_cap ? need : t->ladj_cap, rcap = n > t->lreach_cap ? n : t->lreach_cap;
    t->ladj = (double *)ad_malloc(cap * sizeof(double));
    t->lreach = (uint16_t *)ad_malloc(rcap * sizeof(uint16_t));
    if (!t->ladj || !t->lreach) {
      ad_free(t->ladj, cap * sizeof(double));
      ad_free(t->lreach, rcap * sizeof(uint16_t));
      t->ladj = NULL;
      t->lreach = NULL;
      t->ladj_cap = t->lreach_cap = 0;
      t->ladj_lanes = 0;
      t->status = AD_ENOMEM;
      t->values = t->status;
      return NULL;
    }
    t->ladj_cap = cap;
    t->lreach_cap = rcap;
  }
  t->ladj_lanes = lanes;
  memset(t->ladj, 0, need * sizeof(double));
  memset(t->lreach, 0, n * sizeof(uint16_t));
  return t->ladj;
}

void replay_clear_adjoints_lanes(replay_t *t) {
  if (!t || !t->ladj || !t->ladj_lanes) return;
  size_t need = (size_t)t->next * (size_t)t->ladj_lanes;
  memset(t->ladj, 0, (need < t->ladj_cap ? need : t->ladj_cap) * sizeof(double));
}

/* A recording with array ops (which the vector sweep does not take): one one-adjoint sweep per lane. */
static ad_status replay__lanes_by_one(replay_t *t, int lanes) {
  const size_t n = t->next, K = (size_t)lanes;
  for (size_t l = 0; l < K; ++l) {
    double *adj = replay_adjoints(t); /* zeroed, array adjoints too */
    if (!adj) return AD_ENOMEM;
    for (size_t i = 0; i < n; ++i) adj[i] = t->ladj[i * K + l];
    ad_status st = replay_reverse(t);
    if (st != AD_OK) return st;
    for (size_t i = 0; i < n; ++i) t->ladj[i * K + l] = adj[i];
  }
  return AD_OK;
}

ad_status replay_reverse_lanes(replay_t *t, int lanes) {
  if (!t || !replay__lanes_valid(lanes)) return AD_EINVAL;
  if (t->status != AD_OK || !t->ladj || !t->ladj_lanes || t->lreach_cap < t->next ||
      t->ladj_cap < (size_t)t->next * (size_t)t->ladj_lanes)
    return AD_ESTATE;
  if (lanes != t->ladj_lanes) return AD_EINVAL;
  if (t->values != AD_OK) return t->values;
  if (replay__arr_count(t)) return replay__lanes_by_one(t, lanes);
  switch (lanes) {
  case 1: replay__lanes1(t); break;
  case 2: replay__lanes2(t); break;
  case 4: replay__lanes4(t); break;
  case 8: replay__lanes8(t); break;
  default: replay__lanes16(t); break;
  }
  return AD_OK;
}
