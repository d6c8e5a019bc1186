/* tprog.c: complex-step reference, engine runner, checker and printer for `prog` programs (see tprog.h). */
#include "judge.h"
#include "tprog.h"

#include <complex.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TPROG_STEP 1e-200 /* the complex step h: far below any rounding, so h^2 terms vanish entirely */

static double complex cx(double re, double im) { return CMPLX(re, im); }
static int p_program(const double *data, const double *x, tprog_ref *ref);
static double complex cnan(void) { return cx(NAN, NAN); }

/* a^b on the real axis: cpow for a > 0; for a < 0 only integer real exponents, as (-1)^b (-a)^b; for a
 * constant zero base only b > 0, where 0^b is identically 0 nearby. NaN elsewhere (not comparable). */
static double complex c_pow(double complex a, double complex b) {
  double ra = creal(a), rb = creal(b);
  if (ra > 0) return cpow(a, b);
  if (ra == 0 && cimag(a) == 0 && rb > 0) return cx(0, 0);
  if (ra < 0 && cimag(b) == 0 && rb == nearbyint(rb)) {
    double complex p = cpow(-a, b);
    return fmod(rb, 2.0) == 0 ? p : -p;
  }
  return cnan();
}

/* max and min decided on the real parts; a tie averages, giving half the derivative to each operand. */
static double complex c_max(double complex a, double complex b) {
  if (creal(a) > creal(b)) return a;
  if (creal(b) > creal(a)) return b;
  if (creal(a) == creal(b)) return (a + b) / 2.0;
  return cnan();
}
static double complex c_min(double complex a, double complex b) {
  if (creal(a) < creal(b)) return a;
  if (creal(b) < creal(a)) return b;
  if (creal(a) == creal(b)) return (a + b) / 2.0;
  return cnan();
}

/* |a| decided on the real part, with derivative 0 at 0. */
static double complex c_fabs(double complex a) {
  if (creal(a) > 0) return a;
  if (creal(a) < 0) return -a;
  if (creal(a) == 0) return cx(0, 0);
  return cnan();
}

/* The complex counterpart of every op of ad_ops.def, written here by hand: U ops use A; VV ops (A, B); VC ops
 * get their constant as B, CV ops as A. The table below is generated from the list, so an op without a c_<name>
 * here does not compile. */
typedef double complex (*c_fn)(double complex A, double complex B);
#define C_FN(name, expr)                                                                                       \
  static double complex c_##name(double complex A, double complex B) {                                         \
    (void)A, (void)B;                                                                                          \
    return expr;                                                                                               \
  }
C_FN(add_vv, A + B)
C_FN(add_vc, A + B)
C_FN(sub_vv, A - B)
C_FN(sub_vc, A - B)
C_FN(sub_cv, A - B)
C_FN(mul_vv, A * B)
C_FN(mul_vc, A * B)
C_FN(div_vv, A / B)
C_FN(div_vc, A / B)
C_FN(div_cv, A / B)
C_FN(pow_vv, c_pow(A, B))
C_FN(pow_vc, c_pow(A, B))
C_FN(pow_cv, c_pow(A, B))
C_FN(fmax_vv, c_max(A, B))
C_FN(fmax_vc, c_max(A, B))
C_FN(fmin_vv, c_min(A, B))
C_FN(fmin_vc, c_min(A, B))
C_FN(neg, -A)
C_FN(sqr, A * A)
C_FN(sqrt, creal(A) > 0 ? csqrt(A) : cnan())
C_FN(exp, cexp(A))
C_FN(log, creal(A) > 0 ? clog(A) : cnan())
C_FN(sin, csin(A))
C_FN(cos, ccos(A))
C_FN(tan, ctan(A))
C_FN(tanh, ctanh(A))
C_FN(logistic, 1.0 / (1.0 + cexp(-A)))
C_FN(abs, c_fabs(A))
#undef C_FN

static const c_fn c_ops[] = {
#define AD_OP(name, kind, torch, facts, pre, value, da, db) c_##name,
#include "ad_ops.def"
#undef AD_OP
};
_Static_assert(sizeof c_ops / sizeof c_ops[0] == AD_OP_COUNT, "one complex counterpart per op of ad_ops.def");

/* Op `code` on complex operands (see c_ops). Returns 0 for a code that is not an op. */
static int c_op(int code, double complex A, double complex B, double complex *out) {
  if (code < 0 || code >= AD_OP_COUNT) return 0;
  *out = c_ops[code](A, B);
  return 1;
}

/* The comparison of a branch code on real numbers. */
static int c_cond(int code, double a, double b) {
  switch (code) {
#define TPROG__X(name, op)                                                                                     \
  case PROG_IF_VC_##name:                                                                                      \
  case PROG_IF_VV_##name:                                                                                      \
    return a op b;
    AD_CMP_LIST(TPROG__X)
#undef TPROG__X
  default:
    return 0;
  }
}

/* The complex operands of op instruction ins over values z: (A, B) as c_op takes them, and which of them are
 * variables (slots ia, ib; -1 for a constant). */
static void c_operands(const double *ins, const double complex *z, double complex *A, double complex *B, int *ia,
                       int *ib) {
  int code = (int)ins[PROG_F_CODE], a = (int)ins[PROG_F_A], b = (int)ins[PROG_F_B];
  double kc = ins[PROG_F_K];
  *A = *B = 0;
  *ia = *ib = -1;
  switch (ad_op_kind[code]) {
  case AD_KIND_U: *A = z[a], *B = 0, *ia = a; break;
  case AD_KIND_VV: *A = z[a], *B = z[b], *ia = a, *ib = b; break;
  case AD_KIND_VC: *A = z[a], *B = kc, *ia = a; break;
  case AD_KIND_CV: *A = kc, *B = z[a], *ib = a; break;
  }
}

/* Work space of one reference evaluation. */
typedef struct c_run {
  const double *data;
  int k, n;
  double complex *z;  /* k + n values */
  double *mag, *vmag; /* (k + n) x k path magnitudes; k + n value error scales */
  tprog_cover *cover;
} c_run;

/* Executes op or constant instruction ins into slot r. With mags, also computes its local partials by a
 * complex step of the op alone and propagates path magnitudes and error scales. Returns 0 on an unknown code. */
static int c_exec(c_run *c, const double *ins, int r, int mags) {
  int code = (int)ins[PROG_F_CODE], k = c->k;
  if (code == PROG_CONST) {
    c->z[r] = ins[PROG_F_K];
    if (mags) {
      for (int j = 0; j < k; ++j) c->mag[(size_t)r * k + j] = 0;
      c->vmag[r] = fabs(ins[PROG_F_K]);
    }
    if (c->cover) c->cover->code[PROG_CONST]++;
    return 1;
  }
  if (code < 0 || code >= AD_OP_COUNT) {
    fprintf(stderr, "tprog: instruction code %d is neither an op nor a constant\n", code);
    return 0;
  }
  double complex A, B, out;
  int ia, ib;
  c_operands(ins, c->z, &A, &B, &ia, &ib);
  if (!c_op(code, A, B, &out)) {
    fprintf(stderr, "tprog: op %s has no complex-step reference: add it to c_ops in tests/tprog.c\n",
            ad_op_name[code]);
    return 0;
  }
  c->z[r] = out;
  if (c->cover) c->cover->code[code]++;
  if (!mags) return 1;
  /* Local partials, each by its own complex step at the real operand values. */
  double pa = 0, pb = 0, ra = creal(A), rb = creal(B);
  double complex t;
  if (ia >= 0 && c_op(code, cx(ra, TPROG_STEP), rb, &t)) pa = cimag(t) / TPROG_STEP;
  if (ib >= 0 && c_op(code, ra, cx(rb, TPROG_STEP), &t)) pb = cimag(t) / TPROG_STEP;
  /* A path through a NaN partial (no derivative there, as d/db of a^b at a < 0) makes only the inputs it
   * reaches not comparable; the value's error scale leaves such terms out. */
  double e = fabs(creal(out));
  for (int j = 0; j < k; ++j) {
    double m = 0, ma = ia >= 0 ? c->mag[(size_t)ia * k + j] : 0, mb = ib >= 0 ? c->mag[(size_t)ib * k + j] : 0;
    if (ma != 0) m += fabs(pa) * ma;
    if (mb != 0) m += fabs(pb) * mb;
    c->mag[(size_t)r * k + j] = m;
  }
  if (ia >= 0 && !isnan(pa)) e += fabs(pa) * c->vmag[ia];
  if (ib >= 0 && !isnan(pb)) e += fabs(pb) * c->vmag[ib];
  c->vmag[r] = e;
  return 1;
}

/* Runs the whole program over c->z (inputs already in place). Returns 0 on an unknown code. */
static int c_program(c_run *c, int mags) {
  int k = c->k, n = c->n;
  for (int i = 0; i < n;) {
    const double *ins = prog_ins(c->data, i);
    int code = (int)ins[PROG_F_CODE];
    if (!prog_is_branch(code)) {
      if (!c_exec(c, ins, k + i, mags)) return 0;
      i += 1;
      continue;
    }
    if (i + 2 >= n) {
      fprintf(stderr, "tprog: branch at instruction %d lacks its two instructions\n", i);
      return 0;
    }
    double a = creal(c->z[(int)ins[PROG_F_A]]);
    double b = code >= PROG_IF_VV_FIRST ? creal(c->z[(int)ins[PROG_F_B]]) : ins[PROG_F_K];
    int cond = c_cond(code, a, b), r = k + i, taken = cond ? i + 1 : i + 2;
    if (c->cover) {
      c->cover->code[code]++;
      c->cover->taken[cond]++;
    }
    if (!c_exec(c, prog_ins(c->data, taken), r, mags)) return 0;
    for (int s = 1; s <= 2; ++s) {
      c->z[r + s] = c->z[r];
      if (mags) {
        memcpy(c->mag + (size_t)(r + s) * k, c->mag + (size_t)r * k, (size_t)k * sizeof(double));
        c->vmag[r + s] = c->vmag[r];
      }
    }
    i += 3;
  }
  return 1;
}

int tprog_reference(const double *data, const double *x, tprog_ref *ref, tprog_cover *cover) {
  memset(ref, 0, sizeof *ref);
  c_run c;
  memset(&c, 0, sizeof c);
  c.data = data;
  c.k = ref->k = (int)data[0];
  c.n = ref->n = (int)data[1];
  if (c.k < 1 || c.k > PROG_MAX_INPUTS || c.n < 1 || c.n > PROG_MAX_INSTR) {
    fprintf(stderr, "tprog: bad program header k = %g, n = %g\n", data[0], data[1]);
    return 0;
  }
  size_t nv = (size_t)(c.k + c.n);
  c.z = (double complex *)malloc(nv * sizeof *c.z);
  c.mag = (double *)calloc(nv * (size_t)c.k, sizeof(double));
  c.vmag = (double *)calloc(nv, sizeof(double));
  int ok = c.z && c.mag && c.vmag;
  if (!ok) fprintf(stderr, "tprog: out of memory\n");
  /* Values, branch decisions, path magnitudes and error scales. */
  if (ok) {
    for (int j = 0; j < c.k; ++j) {
      c.z[j] = x[j];
      c.mag[(size_t)j * c.k + j] = 1.0;
      c.vmag[j] = fabs(x[j]);
    }
    c.cover = cover;
    ok = c_program(&c, 1);
    c.cover = NULL;
  }
  if (ok) {
    size_t out = nv - 1;
    ref->value = creal(c.z[out]);
    ref->vmag = c.vmag[out];
    for (int j = 0; j < c.k; ++j) ref->mag[j] = c.mag[out * (size_t)c.k + j];
  }
  /* One complex-step pass per input. */
  for (int j = 0; ok && j < c.k; ++j) {
    for (int i = 0; i < c.k; ++i) c.z[i] = cx(x[i], i == j ? TPROG_STEP : 0.0);
    ok = c_program(&c, 0);
    if (ok) ref->grad[j] = cimag(c.z[nv - 1]) / TPROG_STEP;
  }
  free(c.z);
  free(c.mag);
  free(c.vmag);
  if (ok && !p_program(data, x, ref)) {
    fprintf(stderr, "tprog: the policy reference cannot evaluate the program\n");
    ok = 0;
  }
  return ok;
}

/* ---- The non-finite policy's reference ---- */

/* The op's value and partials with respect to its variable operands, by the rules of ad_ops.def (ad_op_eval):
 * pa for v[a], pb for v[b] (VV only). */
static void p_eval(int code, double va, double vb, double kc, double *v, double *pa, double *pb) {
  double da, db;
  *pb = 0;
  switch (ad_op_kind[code]) {
  case AD_KIND_CV: ad_op_eval((ad_op)code, kc, va, v, &db, pa); break;
  case AD_KIND_VV: ad_op_eval((ad_op)code, va, vb, v, pa, pb); break;
  default: ad_op_eval((ad_op)code, va, kc, v, pa, &db); break;
  }
  (void)da;
}

/* A plain interpreter of the program that applies the policy of ad_ops.def by its definition, with none of the
 * engines' machinery: values and partials by the list's rules; a value is active if it depends on an input (a
 * passive operand gets no edge, as in every engine); the reverse pass visits the values the output reaches
 * through edges, whatever the adjoint, and multiplies every partial of a reached value by its adjoint (IEEE);
 * unreached values are never visited. Sets ref->pvalue, ref->pgrad and ref->nonfinite. Returns 0 on a bad
 * program (the complex-step pass reports it). */
static int p_program(const double *data, const double *x, tprog_ref *ref) {
  int k = (int)data[0], n = (int)data[1];
  size_t nv = (size_t)(k + n);
  double *val = (double *)calloc(nv, sizeof(double)), *adj = (double *)calloc(nv, sizeof(double));
  double *pa = (double *)calloc(nv, sizeof(double)), *pb = (double *)calloc(nv, sizeof(double));
  int *ea = (int *)malloc(nv * sizeof(int)), *eb = (int *)malloc(nv * sizeof(int)); /* edges, -1: none */
  int *opa = (int *)malloc(nv * sizeof(int)), *opb = (int *)malloc(nv * sizeof(int)); /* operands, -1: none */
  unsigned char *act = (unsigned char *)calloc(nv, 1), *reach = (unsigned char *)calloc(nv, 1);
  int ok = val && adj && pa && pb && ea && eb && opa && opb && act && reach;
  int *alias = ok ? (int *)malloc(nv * sizeof(int)) : NULL; /* branch copies stand for one value */
  ok = ok && alias;
  for (size_t r = 0; ok && r < nv; ++r) ea[r] = eb[r] = opa[r] = opb[r] = -1, alias[r] = (int)r;
  for (int j = 0; ok && j < k; ++j) val[j] = x[j], act[j] = 1;
  int nonfinite = 0;
  for (int i = 0; ok && i < n;) {
    const double *ins = prog_ins(data, i);
    int code = (int)ins[PROG_F_CODE], r = k + i;
    if (prog_is_branch(code)) {
      double a = val[alias[(int)ins[PROG_F_A]]];
      double b = code >= PROG_IF_VV_FIRST ? val[alias[(int)ins[PROG_F_B]]] : ins[PROG_F_K];
      ins = prog_ins(data, c_cond(code, a, b) ? i + 1 : i + 2);
      code = (int)ins[PROG_F_CODE];
      alias[r + 1] = alias[r + 2] = r;
      i += 3;
    } else {
      i += 1;
    }
    if (code == PROG_CONST) {
      val[r] = ins[PROG_F_K];
      continue;
    }
    if (code < 0 || code >= AD_OP_COUNT) {
      ok = 0;
      break;
    }
    int a = alias[(int)ins[PROG_F_A]], b = ad_op_kind[code] == AD_KIND_VV ? alias[(int)ins[PROG_F_B]] : -1;
    p_eval(code, val[a], b >= 0 ? val[b] : 0.0, ins[PROG_F_K], &val[r], &pa[r], &pb[r]);
    opa[r] = a, opb[r] = b;
    if (act[a]) ea[r] = a;
    if (b >= 0 && act[b]) eb[r] = b;
    act[r] = ea[r] >= 0 || eb[r] >= 0;
    if (!isfinite(val[r]) || (ea[r] >= 0 && !isfinite(pa[r])) || (eb[r] >= 0 && !isfinite(pb[r]))) nonfinite = 1;
  }
  for (int j = 0; ok && j < k; ++j) nonfinite |= !isfinite(x[j]);
  if (ok) {
    int out = alias[(int)nv - 1];
    ref->pvalue = val[out];
    double *am = (double *)calloc(nv, sizeof(double)); /* path magnitudes, as adj with |finite partials| */
    if (act[out]) {
      adj[out] = 1.0;
      reach[out] = 1;
      if (am) am[out] = 1.0;
    }
    for (int r = out; r >= k; --r) {
      if (!reach[r]) continue;
      if (ea[r] >= 0) adj[ea[r]] += pa[r] * adj[r], reach[ea[r]] = 1;
      if (eb[r] >= 0) adj[eb[r]] += pb[r] * adj[r], reach[eb[r]] = 1;
      if (am && ea[r] >= 0 && isfinite(pa[r])) am[ea[r]] += fabs(pa[r]) * am[r];
      if (am && eb[r] >= 0 && isfinite(pb[r])) am[eb[r]] += fabs(pb[r]) * am[r];
    }
    for (int j = 0; j < k; ++j) ref->pgrad[j] = adj[j], ref->pmag[j] = am ? am[j] : 0.0;
    free(am);
    ref->nonfinite = nonfinite;
    /* Forward mode: k passes seeded with unit vectors, one with tprog_dir. A value that does not depend on the
     * seeded inputs has no tangent (reach[] reused as "has a tangent"), and its terms are left out. */
    for (int pass = 0; pass <= k; ++pass) {
      memset(reach, 0, nv);
      for (int j = 0; j < k; ++j) {
        adj[j] = pass < k ? (j == pass) : tprog_dir(j);
        reach[j] = adj[j] != 0;
      }
      for (int r = k; r <= out; ++r) {
        int ta = ea[r] >= 0 && reach[ea[r]], tb = eb[r] >= 0 && reach[eb[r]];
        reach[r] = ta || tb;
        adj[r] = (ta ? pa[r] * adj[ea[r]] : 0.0) + (tb ? pb[r] * adj[eb[r]] : 0.0);
      }
      double d = reach[out] ? adj[out] : 0.0;
      if (pass < k) ref->pfwd[pass] = d;
      else ref->pjv = d;
    }
    /* The preaccumulating order (tape_ops.h): value r stands for dm[r][0] times statement sm[r][0] plus, when
     * ns[r] = 2, dm[r][1] times statement sm[r][1] (a pending pair; -1: a passive term, which adds nothing). An op
     * of one operand scales the terms; an op of two operands of one term each is a pair of their terms (one term
     * if the second is passive); any other op of two operands is a statement of all their terms, x's first. The
     * output is seeded as tape_output leaves it (a pair term by term; settled where a partial is zero). Then the
     * reverse sweep of the policy over the statements. */
    int (*sm)[2] = (int (*)[2])malloc(nv * sizeof *sm), *ns = (int *)malloc(nv * sizeof(int));
    double (*dm)[2] = (double (*)[2])calloc(nv, sizeof *dm);
    int (*as)[4] = (int (*)[4])malloc(nv * sizeof *as), *na = (int *)calloc(nv, sizeof(int));
    double (*ap)[4] = (double (*)[4])calloc(nv, sizeof *ap);
    if (sm && ns && dm && as && na && ap) {
      for (size_t r = 0; r < nv; ++r) sm[r][0] = sm[r][1] = -1, ns[r] = 1;
      for (int j = 0; j < k; ++j) sm[j][0] = j, dm[j][0] = 1.0;
      for (int r = k; r <= out; ++r) {
        if (opa[r] < 0) continue; /* a constant or a branch copy: passive, or never read (alias) */
        int A = opa[r], B = opb[r];
        if (B < 0) { /* one operand: its terms scaled */
          if (ea[r] < 0) continue; /* passive */
          ns[r] = ns[A];
          for (int q = 0; q < 2; ++q) sm[r][q] = sm[A][q], dm[r][q] = dm[A][q] * pa[r];
        } else if (ea[r] < 0 && eb[r] < 0) {
          continue; /* two passive operands: passive */
        } else if (ns[A] == 1 && ns[B] == 1) { /* a pending pair */
          sm[r][0] = sm[A][0], dm[r][0] = dm[A][0] * pa[r];
          sm[r][1] = sm[B][0], dm[r][1] = dm[B][0] * pb[r];
          ns[r] = sm[r][1] >= 0 ? 2 : 1;
        } else { /* a statement of every term */
          for (int q = 0; q < ns[A]; ++q) as[r][na[r]] = sm[A][q], ap[r][na[r]++] = dm[A][q] * pa[r];
          for (int q = 0; q < ns[B]; ++q) as[r][na[r]] = sm[B][q], ap[r][na[r]++] = dm[B][q] * pb[r];
          sm[r][0] = r, dm[r][0] = 1.0, ns[r] = 1;
        }
      }
      memset(adj, 0, nv * sizeof(double));
      memset(reach, 0, nv);
      if (ns[out] == 2 && (dm[out][0] == 0.0 || dm[out][1] == 0.0 || sm[out][0] < 0)) {
        /* settled (tape_output): a statement of its two terms, seeded with 1 */
        na[out] = 0;
        for (int q = 0; q < 2; ++q) as[out][na[out]] = sm[out][q], ap[out][na[out]++] = dm[out][q];
        adj[out] = 1.0;
        reach[out] = 1;
      } else if (ns[out] == 2) { /* a pair seeded term by term; a statement whose seeds cancel is not reached */
        adj[sm[out][0]] += dm[out][0];
        adj[sm[out][1]] += dm[out][1];
        reach[sm[out][0]] = adj[sm[out][0]] != 0.0;
        reach[sm[out][1]] = adj[sm[out][1]] != 0.0;
      } else if (sm[out][0] >= 0) {
        adj[sm[out][0]] = dm[out][0];
        reach[sm[out][0]] = dm[out][0] != 0.0; /* a zero seed is no seed */
      }
      for (int r = out; r >= k; --r) {
        if (!na[r] || !(reach[r] || adj[r] != 0.0)) continue; /* not a statement, or not reached */
        for (int q = 0; q < na[r]; ++q)
          if (as[r][q] >= 0) adj[as[r][q]] += ap[r][q] * adj[r], reach[as[r][q]] = 1;
      }
      for (int j = 0; j < k; ++j) ref->pmixed[j] = adj[j];
    } else {
      for (int j = 0; j < k; ++j) ref->pmixed[j] = ref->pgrad[j];
    }
    free(sm), free(ns), free(dm), free(as), free(na), free(ap);
  }
  free(val), free(adj), free(pa), free(pb), free(ea), free(eb), free(opa), free(opb), free(act), free(reach);
  free(alias);
  return ok;
}

/* ---- Engines ---- */

double tprog_dir(int j) { return 1.0 + j / 4.0; }

void tprog_moved(const double *x, int k, double *out) {
  for (int j = 0; j < k; ++j) out[j] = x[j] * (1.0 + 1e-8 * (j + 1));
}

const tprog_api *const tprog_engines[] = {
#define TPROG__X(name) &tprog_##name,
    ENG_LIST(TPROG__X)
#undef TPROG__X
};
const int tprog_engine_count = (int)(sizeof tprog_engines / sizeof tprog_engines[0]);

ad_status tprog_run(const tprog_api *e, const double *data, const double *x, tprog_eng *out) {
  memset(out, 0, sizeof *out);
  out->e = e;
  int k = (int)data[0];
  ad_status st = e->value(data, x, &out->y);
  out->y_jac = out->y;
  if (st == AD_OK && e->grad) st = e->grad(data, x, &out->y_jac, out->J);
  if (st == AD_OK && e->jvp) {
    double v[PROG_MAX_INPUTS], y;
    for (int j = 0; j < k; ++j) v[j] = tprog_dir(j);
    st = e->jvp(data, x, v, &y, &out->jv);
  }
  if (st == AD_OK && e->vjp) {
    double y;
    st = e->vjp(data, x, 1.0, &y, out->wJ);
  }
  if (st == AD_OK && e->replay) {
    double x2[PROG_MAX_INPUTS];
    out->has_replay = 1;
    out->replay_same = e->replay(data, x, x, &out->y_same, out->J_same);
    tprog_moved(x, k, x2);
    out->replay_moved = e->replay(data, x, x2, &out->y_moved, out->J_moved);
    if (out->replay_moved == AD_OK) st = e->grad(data, x2, &out->y_fresh, out->J_fresh);
  }
  return out->st = st;
}

tprog_tol tprog_tol_default(void) {
  tprog_tol t;
  /* Values: the engines use SLEEF (1 ulp), the reference glibc (under 1 ulp, and cpow about |b log a| ulps);
   * the running error bound n u vmag stays below 1e-13 vmag for n <= 40 instructions. 1e-10 leaves room and
   * still catches any wrong value formula, which misses by O(|value|). */
  t.ref_value = 1e-10;
  /* Gradients: rounding in any order of accumulation stays below about n u max mag (< 1e-14 max mag), plus
   * the effect of the two libraries' values differing by ulps (second order, far smaller). A wrong partial on
   * a path of weight w moves the result by about w times the partial's error, which is O(1) relative for a
   * wrong rule, so 1e-9 is five orders of magnitude above rounding and catches a wrong rule on any path that
   * carries more than a billionth of the derivative. */
  t.ref_grad = 1e-9;
  /* Engines against each other: the same partials summed in different orders (forward, reverse, with or
   * without FMA): n u norm-wise for well-conditioned programs; 1e-12 as adcheck. */
  t.engines = 1e-12;
  return t;
}

/* Bit for bit, except that any NaN equals any NaN: C leaves a NaN's sign and payload unspecified (the compiler
 * may swap the operands of a commutative op, and with two NaN operands the first one's sign wins). */
/* Bit for bit, any NaN equal to any NaN: judge.h's rule, for one value. */
static int same_bits(double a, double b) { return jd_same_bits(&a, &b, 1); }

/* max_j |a_j - b_j|, where NaN in both agrees; NaN if only one is NaN (and it stays NaN: a later finite
 * difference does not overwrite it). */
static double max_diff(const double *a, const double *b, int n) {
  double m = 0;
  for (int j = 0; j < n; ++j) {
    if (isnan(a[j]) && isnan(b[j])) continue;
    if (isnan(a[j]) || isnan(b[j])) return NAN;
    double d = fabs(a[j] - b[j]);
    if (!(d <= m)) m = d;
  }
  return m;
}

static double vmax_abs(const double *v, int n) {
  double m = 0;
  for (int j = 0; j < n; ++j)
    if (!(fabs(v[j]) <= m)) m = fabs(v[j]); /* NaN wins */
  return m;
}

/* Records err / scale as a candidate for the largest. */
static void note(double *worst, double err, double scale) {
  double q = scale > 0 ? err / scale : err;
  if (!(q <= *worst)) *worst = q;
}

#define TPROG_FAIL(...)                                                                                        \
  do {                                                                                                         \
    fails++;                                                                                                   \
    if (log) fprintf(log, __VA_ARGS__);                                                                        \
  } while (0)

int tprog_agree(double a, double b, double tol, double scale) {
  if (isnan(a) || isnan(b)) return isnan(a) && isnan(b);
  if (isinf(a) || isinf(b)) {
    if (a == b) return 1;
    /* a product that overflows in one order of association and not in another (forward and reverse mode) */
    double f = isinf(a) ? b : a, i = isinf(a) ? a : b;
    return fabs(f) >= 1e290 && (f > 0) == (i > 0);
  }
  double m = fabs(a) > fabs(b) ? fabs(a) : fabs(b);
  if (scale > m) m = scale;
  return fabs(a - b) <= tol * m;
}

/* The checks of a program that meets infinite or NaN values: every engine against the policy's reference
 * (NaN positions must agree, infinities must be equal, finite entries within tol->engines relative to the largest
 * finite reference entry), jvp, vjp and replays likewise. */
static int check_policy(const double *x, const tprog_ref *ref, const tprog_tol *tol, FILE *log, tprog_errs *errs,
                        const tprog_eng *r, const tprog_eng *prim) {
  int k = ref->k, fails = 0;
  double scale = 0, scale_jv = 0;
  (void)x;
  for (int j = 0; j < k; ++j) {
    if (isfinite(ref->pgrad[j]) && fabs(ref->pgrad[j]) > scale) scale = fabs(ref->pgrad[j]);
    if (isfinite(ref->pfwd[j]) && fabs(ref->pfwd[j]) > scale) scale = fabs(ref->pfwd[j]);
    if (isfinite(ref->pfwd[j])) scale_jv += fabs(ref->pfwd[j]) * tprog_dir(j);
    if (isfinite(ref->pmag[j]) && ref->pmag[j] > scale) scale = ref->pmag[j];
  }
  errs->nonfinite_programs++;
  if (prim->st != AD_OK) TPROG_FAIL("  primal: %s\n", ad_status_str(prim->st));
  else if (!same_bits(prim->y, ref->pvalue))
    TPROG_FAIL("  primal: value %.17g, the rules give %.17g\n", prim->y, ref->pvalue);
  for (int e = 0; e < tprog_engine_count; ++e) {
    const tprog_eng *q = &r[e];
    const char *name = q->e->name;
    if (q->st != AD_OK) {
      TPROG_FAIL("  %s: %s\n", name, ad_status_str(q->st));
      continue;
    }
    if (!same_bits(q->y, ref->pvalue) || !same_bits(q->y_jac, ref->pvalue))
      TPROG_FAIL("  %s: value %.17g (jacobian's %.17g), the rules give %.17g\n", name, q->y, q->y_jac, ref->pvalue);
    if (q->e->kind == ENG_PRIMAL) continue;
    const int fwd = q->e->kind == ENG_FORWARD;
    const double *want = fwd ? ref->pfwd : ref->pgrad;
    for (int j = 0; j < k; ++j) {
      errs->policy_compared++;
      errs->policy_nan += isnan(want[j]) != 0;
      int ok = tprog_agree(q->J[j], want[j], tol->engines, scale);
      if (!ok && q->e->mixed_order) /* either association order, or non-finite where the reverse one is */
        ok = tprog_agree(q->J[j], ref->pfwd[j], tol->engines, scale) || (!isfinite(want[j]) && !isfinite(q->J[j])) ||
             tprog_agree(q->J[j], ref->pmixed[j], tol->engines, scale);
      /* A path whose product overflows (its magnitude is infinite): whether a fused multiply-add (the tape's
       * sweep, on FMA machines) or a rounded product meets an infinity decides between NaN and +-Inf. */
      if (!ok && !isfinite(ref->pmag[j]) && !isfinite(want[j]) && !isfinite(q->J[j])) ok = 1;
      /* Sums of products beyond the double range: in another order of association a sum that cancels in the
       * reference (1e308 a - 1e308 a = 0) can overflow first (1e308 (a - a) versus (1e308 a) - (1e308 a)), so the
       * component is order-dependent: counted, not compared. */
      if (!ok && q->e->mixed_order && !isfinite(ref->pmag[j])) ok = 1, errs->order_dependent++;
      if (!ok)
        TPROG_FAIL("  %s: d/dx%d = %.17g, the policy's %s reference %.17g\n", name, j, q->J[j],
                   fwd ? "forward" : "reverse", want[j]);
    }
    if (fwd && q->e->jvp && !tprog_agree(q->jv, ref->pjv, tol->engines, scale_jv))
      TPROG_FAIL("  %s: jvp %.17g, the policy's forward reference %.17g\n", name, q->jv, ref->pjv);
    if (q->e->kind == ENG_REVERSE && q->e->vjp)
      for (int j = 0; j < k; ++j)
        if (!tprog_agree(q->wJ[j], q->J[j], tol->engines, scale))
          TPROG_FAIL("  %s: vjp d/dx%d = %.17g, jacobian %.17g\n", name, j, q->wJ[j], q->J[j]);
    if (q->has_replay) {
      if (q->replay_same != AD_OK) {
        TPROG_FAIL("  %s: replay at the recorded point: %s\n", name, ad_status_str(q->replay_same));
      } else {
        int same = same_bits(q->y_same, q->y_jac);
        for (int j = 0; j < k; ++j) same &= tprog_agree(q->J_same[j], q->J[j], tol->engines, scale);
        if (!same)
          TPROG_FAIL("  %s: replay at the recorded point gives %.17g, d/dx0 %.17g; recording %.17g, %.17g\n", name,
                     q->y_same, q->J_same[0], q->y_jac, q->J[0]);
      }
      if (q->replay_moved == AD_EGUARD) {
        errs->replays_refused++;
      } else if (q->replay_moved != AD_OK) {
        TPROG_FAIL("  %s: replay at a moved point: %s\n", name, ad_status_str(q->replay_moved));
      } else {
        errs->replays++;
        int same = same_bits(q->y_moved, q->y_fresh);
        for (int j = 0; j < k; ++j) same &= tprog_agree(q->J_moved[j], q->J_fresh[j], tol->engines, scale);
        if (!same)
          TPROG_FAIL("  %s: replay at a moved point gives %.17g, d/dx0 %.17g; fresh recording %.17g, %.17g\n", name,
                     q->y_moved, q->J_moved[0], q->y_fresh, q->J_fresh[0]);
      }
    }
  }
  return fails;
}

int tprog_check(const double *data, const double *x, const tprog_ref *ref, const tprog_tol *tol, FILE *log,
                tprog_errs *errs) {
  int k = ref->k, fails = 0;
  tprog_errs local;
  memset(&local, 0, sizeof local);
  if (!errs) errs = &local;
  tprog_eng *r = (tprog_eng *)calloc((size_t)tprog_engine_count + 1, sizeof *r);
  if (!r) {
    if (log) fprintf(log, "tprog: out of memory\n");
    return 1;
  }
  tprog_eng *prim = &r[tprog_engine_count];
  tprog_run(&tprog_primal, data, x, prim);
  for (int e = 0; e < tprog_engine_count; ++e) tprog_run(tprog_engines[e], data, x, &r[e]);
  if (ref->nonfinite) {
    fails = check_policy(x, ref, tol, log, errs, r, prim);
    free(r);
    return fails;
  }
  if (prim->st != AD_OK) TPROG_FAIL("  primal: %s\n", ad_status_str(prim->st));
  /* The gradient's error scale is the largest path magnitude; on top of tol * mmax, an absolute floor of
   * 8 (n + 1) u vmag, the rounding level of the value itself: rules computed from a rounded value cannot
   * resolve less (tanh(20) rounds to 1, so every engine's partial 1 - v^2 is 0 while the true one is 4e-17). */
  double mmax = 0, gnorm = 0;
  double floor = isfinite(ref->vmag) ? 8.0 * (ref->n + 1) * DBL_EPSILON * ref->vmag : 0.0;
  int comparable[PROG_MAX_INPUTS];
  for (int j = 0; j < k; ++j) {
    comparable[j] = !isnan(ref->grad[j]) && isfinite(ref->mag[j]);
    if (comparable[j] && ref->mag[j] > mmax) mmax = ref->mag[j];
    if (comparable[j] && fabs(ref->grad[j]) > gnorm) gnorm = fabs(ref->grad[j]);
  }
  for (int e = 0; e < tprog_engine_count; ++e) {
    const tprog_eng *q = &r[e];
    const char *name = q->e->name;
    if (q->st != AD_OK) {
      TPROG_FAIL("  %s: %s\n", name, ad_status_str(q->st));
      continue;
    }
    if (prim->st == AD_OK && (!same_bits(q->y, prim->y) || !same_bits(q->y_jac, prim->y)))
      TPROG_FAIL("  %s: value %.17g (jacobian's %.17g) differs from primal's %.17g\n", name, q->y, q->y_jac,
                 prim->y);
    if (isfinite(ref->value) && isfinite(ref->vmag)) note(&errs->value, fabs(q->y - ref->value), ref->vmag);
    if (isfinite(ref->value) && isfinite(ref->vmag) && !(fabs(q->y - ref->value) <= tol->ref_value * ref->vmag))
      TPROG_FAIL("  %s: value %.17g, reference %.17g (error %.2e, allowed %.2e)\n", name, q->y, ref->value,
                 fabs(q->y - ref->value), tol->ref_value * ref->vmag);
    if (q->e->kind == ENG_PRIMAL) continue;
    for (int j = 0; j < k; ++j) {
      if (!comparable[j]) {
        errs->skipped++;
        continue;
      }
      errs->compared++;
      double err = fabs(q->J[j] - ref->grad[j]);
      note(&errs->grad, err, mmax);
      if (!(err <= tol->ref_grad * mmax + floor))
        TPROG_FAIL("  %s: d/dx%d = %.17g, complex step %.17g (error %.2e, allowed %.2e)\n", name, j, q->J[j],
                   ref->grad[j], err, tol->ref_grad * mmax + floor);
    }
    if (q->e->kind == ENG_FORWARD && q->e->jvp) {
      double jv = 0, scale = 0;
      for (int j = 0; j < k; ++j) {
        jv += q->J[j] * tprog_dir(j);
        scale += fabs(q->J[j] * tprog_dir(j)) + (isfinite(ref->mag[j]) ? ref->mag[j] * tprog_dir(j) : 0);
      }
      if (!(fabs(q->jv - jv) <= tol->engines * scale) && !(isnan(q->jv) && isnan(jv)))
        TPROG_FAIL("  %s: jvp %.17g, J v %.17g\n", name, q->jv, jv);
    }
    if (q->e->kind == ENG_REVERSE && q->e->vjp) {
      double jn = vmax_abs(q->J, k);
      for (int j = 0; j < k; ++j)
        if (!(fabs(q->wJ[j] - q->J[j]) <= tol->engines * jn) && !(isnan(q->wJ[j]) && isnan(q->J[j])))
          TPROG_FAIL("  %s: vjp d/dx%d = %.17g, jacobian %.17g\n", name, j, q->wJ[j], q->J[j]);
    }
    if (q->has_replay) {
      double jn = vmax_abs(q->J, k);
      if (q->replay_same != AD_OK)
        TPROG_FAIL("  %s: replay at the recorded point: %s\n", name, ad_status_str(q->replay_same));
      else if (!same_bits(q->y_same, q->y_jac) || !(max_diff(q->J_same, q->J, k) <= tol->engines * jn))
        TPROG_FAIL("  %s: replay at the recorded point gives %.17g, d/dx0 %.17g; recording %.17g, %.17g\n", name,
                   q->y_same, q->J_same[0], q->y_jac, q->J[0]);
      if (q->replay_moved == AD_EGUARD) {
        errs->replays_refused++;
      } else if (q->replay_moved != AD_OK) {
        TPROG_FAIL("  %s: replay at a moved point: %s\n", name, ad_status_str(q->replay_moved));
      } else {
        errs->replays++;
        double fn = vmax_abs(q->J_fresh, k);
        if (!same_bits(q->y_moved, q->y_fresh) || !(max_diff(q->J_moved, q->J_fresh, k) <= tol->engines * fn))
          TPROG_FAIL("  %s: replay at a moved point gives %.17g, d/dx0 %.17g; fresh recording %.17g, %.17g\n", name,
                     q->y_moved, q->J_moved[0], q->y_fresh, q->J_fresh[0]);
      }
    }
    for (int o = 0; o < e; ++o) {
      const tprog_eng *p = &r[o];
      if (p->st != AD_OK || p->e->kind == ENG_PRIMAL) continue;
      double scale = gnorm > 0 ? gnorm : vmax_abs(p->J, k);
      for (int j = 0; j < k; ++j) {
        if (!comparable[j] && isnan(q->J[j]) && isnan(p->J[j])) continue;
        double err = fabs(q->J[j] - p->J[j]);
        if (!(isnan(q->J[j]) && isnan(p->J[j]))) note(&errs->engines, err, scale);
        if (!(err <= tol->engines * scale) && !(isnan(q->J[j]) && isnan(p->J[j])))
          TPROG_FAIL("  %s and %s: d/dx%d = %.17g and %.17g (error %.2e, allowed %.2e)\n", name, p->e->name, j,
                     q->J[j], p->J[j], err, tol->engines * scale);
      }
    }
  }
  free(r);
  return fails;
}
#undef TPROG_FAIL

/* ---- Printing ---- */

void tprog_print(FILE *f, const double *data, const double *x) {
  int k = (int)data[0], n = (int)data[1];
  fprintf(f, "program: k = %d inputs, n = %d instructions, output v%d\n", k, n, k + n - 1);
  for (int j = 0; j < k; ++j) fprintf(f, "  v%d = x%d = %.17g\n", j, j, x[j]);
  for (int i = 0; i < n; ++i) {
    const double *ins = prog_ins(data, i);
    int code = (int)ins[PROG_F_CODE], a = (int)ins[PROG_F_A], b = (int)ins[PROG_F_B];
    double kc = ins[PROG_F_K];
    int in_branch = i >= 1 && prog_is_branch((int)prog_ins(data, i - 1)[PROG_F_CODE]);
    in_branch |= i >= 2 && prog_is_branch((int)prog_ins(data, i - 2)[PROG_F_CODE]);
    fprintf(f, "  v%d = %s", k + i, in_branch ? "  " : "");
    if (prog_is_branch(code)) {
      if (code >= PROG_IF_VV_FIRST)
        fprintf(f, "if v%d %s v%d", a, prog_cmp_symbol(code), b);
      else
        fprintf(f, "if v%d %s %.17g", a, prog_cmp_symbol(code), kc);
      fprintf(f, " then v%d else v%d  (v%d, v%d, v%d all take the result)\n", k + i + 1, k + i + 2, k + i,
              k + i + 1, k + i + 2);
    } else if (code == PROG_CONST) {
      fprintf(f, "const %.17g\n", kc);
    } else if (code >= 0 && code < AD_OP_COUNT) {
      switch (ad_op_kind[code]) {
      case AD_KIND_U: fprintf(f, "%s(v%d)\n", ad_op_name[code], a); break;
      case AD_KIND_VV: fprintf(f, "%s(v%d, v%d)\n", ad_op_name[code], a, b); break;
      case AD_KIND_VC: fprintf(f, "%s(v%d, %.17g)\n", ad_op_name[code], a, kc); break;
      case AD_KIND_CV: fprintf(f, "%s(%.17g, v%d)\n", ad_op_name[code], kc, a); break;
      }
    } else {
      fprintf(f, "? code %d\n", code);
    }
  }
  fprintf(f, "  data = {");
  for (int i = 0; i < prog_data_len(n); ++i) fprintf(f, "%s%.17g", i ? ", " : "", data[i]);
  fprintf(f, "}\n");
}
