/* test_fuzz_array: differential fuzzing of arrays. Random array programs (aprog.h: every op of ad_array_ops.def and
 * every op of ad_ops.def lifted elementwise in every operand form, shapes 1 .. 64 in one or two dimensions,
 * broadcasting of one-element arrays and scalar variables, constant data, views, gathers with repeated indices,
 * reductions, mv and mm with every transpose, scalar and array code mixed) run in array form on every engine with
 * arrays (primal, dual, tape, tape_op, graph, replay) and are checked against the reference: the same program
 * unrolled by hand into scalar ops (aprog_run.c's scalar form) on the scalar tape without preaccumulation.
 *   values       bit-identical to the reference, on every engine (the kernels compute the scalar ops' bits and
 *                every engine sums in the order of ad_array_vals.h);
 *   gradients    reverse engines: to 1e-12 relative (largest difference over the largest reference entry);
 *                dual: its full gradient (n_in <= 16) or its jvp along a fixed direction against the reference's
 *                gradient times that direction, to 1e-12 of sum |g_j v_j|;
 *   bad programs about one in seven carries one instruction that must fail (mismatched shapes, an out-of-range
 *                slice, row, index, element or axis, an empty stack or data array): every engine must report that
 *                status, give a NaN output, and the tape engines must refuse the reverse sweep (run under ASan and
 *                UBSan: nothing is written out of bounds).
 *
 *   test_fuzz_array                        2000 programs from run seed 1
 *   test_fuzz_array --seed S --count N     N programs from run seed S
 *   test_fuzz_array --replay P             the single program with program seed P: printed, checked, results shown
 *
 * Program i of a run has program seed P_i, the i-th SplitMix64 output from the run seed; P_i alone fixes the
 * program. A run of 400 or more programs fails unless it generated every array op, every elementwise op in every
 * form its kind has, every scalar op, both transposes of mv, all four of mm, both axes, and a bad instruction of
 * every kind. The comparison is itself fed wrong answers at start (a value one ulp off, a gradient entry 1e-11
 * off, a wrong status) and must fail them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "aprog.h"
#include "eng.h"
#include "testkit.h"
#include "judge.h"

#define GRAD_TOL 1e-12
enum { DUAL_FULL = 16, SHOW = 3 };

static const aprog_api *const engines[] = {&aprog_primal, &aprog_dual, &aprog_tape, &aprog_tape_op, &aprog_graph,
                                           &aprog_replay};
enum { N_ENGINES = sizeof engines / sizeof *engines };


/* The direction of dual's jvp: component j is 1 + j / 8, alternating in sign. */
static double dir_at(int j) { return (j & 1 ? -1.0 : 1.0) * (1.0 + j / 8.0); }

typedef struct errs {
  double grad, jvp; /* largest relative errors seen */
  long compared;    /* gradients and jvps compared */
} errs;

/* Checks one engine's output o of a valid program against the reference ref; prints each failure to log (if not
 * NULL). Returns the number of failed checks. dual_full: o holds dual's full gradient (else g[0] is its jvp). */
static int compare(const aprog *p, const aprog_api *e, const aprog_out *o, const aprog_out *ref, int dual_full,
                   FILE *log, errs *er) {
  int fails = 0;
  if (o->st != AD_OK || o->st_rev != AD_OK) {
    if (log)
      fprintf(log, "  %s: status %s (from r%d), reverse %s\n", e->name, ad_status_str(o->st), o->failed_at,
              ad_status_str(o->st_rev));
    return 1;
  }
  if (memcmp(&o->y, &ref->y, sizeof o->y) != 0) {
    if (log) fprintf(log, "  %s: value %.17g, reference %.17g (not bit-identical)\n", e->name, o->y, ref->y);
    fails++;
  }
  double err = 0;
  if (e->kind == ENG_REVERSE || (e->kind == ENG_FORWARD && dual_full)) {
    err = jd_rel_err(o->g, ref->g, (size_t)p->k);
  } else if (e->kind == ENG_FORWARD) {
    double jv = 0, scale = 0;
    for (int j = 0; j < p->k; ++j) jv += ref->g[j] * dir_at(j), scale += fabs(ref->g[j] * dir_at(j));
    err = fabs(o->g[0] - jv) / (scale > 0 ? scale : 1.0);
  } else {
    return fails;
  }
  if (er) {
    double *worst = e->kind == ENG_FORWARD && !dual_full ? &er->jvp : &er->grad;
    if (err > *worst) *worst = err;
    er->compared++;
  }
  if (!(err <= GRAD_TOL)) {
    if (log) {
      fprintf(log, "  %s: %s error %.2e against the reference\n", e->name,
              e->kind == ENG_FORWARD && !dual_full ? "jvp" : "gradient", err);
      for (int j = 0; j < p->k && (e->kind == ENG_REVERSE || dual_full); ++j)
        if (o->g[j] != ref->g[j]) fprintf(log, "    d/dx%d: %.17g, reference %.17g\n", j, o->g[j], ref->g[j]);
    }
    fails++;
  }
  return fails;
}

/* Checks a bad program's output: the expected status, a NaN output, and a refused sweep on native tapes. */
static int compare_bad(const aprog *p, const aprog_api *e, const aprog_out *o, FILE *log) {
  int fails = 0;
  if (o->st != p->expect || o->failed_at != p->bad) {
    if (log)
      fprintf(log, "  %s: status %s (from r%d), want %s\n", e->name, ad_status_str(o->st), o->failed_at,
              ad_status_str(p->expect));
    fails++;
  }
  if (o->y == o->y) {
    if (log) fprintf(log, "  %s: output %.17g, want NaN\n", e->name, o->y);
    fails++;
  }
  if (e->native && e->kind == ENG_REVERSE && o->st_rev == AD_OK) {
    if (log) fprintf(log, "  %s: the reverse sweep ran on a failed recording\n", e->name);
    fails++;
  }
  return fails;
}

static void run_engine(const aprog_api *e, const aprog *p, aprog_out *o, int *dual_full) {
  static double dir[AP_MAX_K];
  for (int j = 0; j < AP_MAX_K; ++j) dir[j] = dir_at(j);
  memset(o, 0, sizeof *o);
  *dual_full = e->kind == ENG_FORWARD && p->k <= DUAL_FULL && p->bad < 0;
  e->run(p, 0, *dual_full ? NULL : dir, o);
}

/* Checks program seed s; prints it and the failures if it fails (or verbose). Returns the number of failures. */
static int fuzz_one(aprog *p, uint64_t s, ap_cover *cover, errs *er, int verbose, int show, long *bad_programs) {
  aprog_generate(p, s, 1, cover);
  FILE *log = show || verbose ? stderr : NULL;
  int fails = 0;
  aprog_out ref, o;
  memset(&ref, 0, sizeof ref);
  if (p->bad < 0) {
    aprog_tape_op.run(p, 1, NULL, &ref);
    if (ref.st != AD_OK || ref.st_rev != AD_OK) {
      if (log) fprintf(log, "  reference: %s, %s\n", ad_status_str(ref.st), ad_status_str(ref.st_rev));
      fails++;
    }
  } else {
    ++*bad_programs;
  }
  for (int e = 0; e < N_ENGINES && !fails; ++e) {
    int dual_full;
    run_engine(engines[e], p, &o, &dual_full);
    fails += p->bad < 0 ? compare(p, engines[e], &o, &ref, dual_full, log, er) : compare_bad(p, engines[e], &o, log);
  }
  if ((fails && show) || verbose) {
    fprintf(stderr, "array program seed %llu: %d failed check(s)\n", (unsigned long long)s, fails);
    aprog_print(stderr, p);
    if (p->bad < 0) {
      fprintf(stderr, "  reference (scalar form on tape_op): value %.17g, gradient", ref.y);
      for (int j = 0; j < p->k; ++j) fprintf(stderr, " %.17g", ref.g[j]);
      fprintf(stderr, "\n");
    }
    for (int e = 0; e < N_ENGINES; ++e) {
      int dual_full;
      run_engine(engines[e], p, &o, &dual_full);
      fprintf(stderr, "  %-8s %s value %.17g", engines[e]->name, ad_status_str(o.st), o.y);
      if (engines[e]->kind != ENG_PRIMAL) {
        fprintf(stderr, ", %s", dual_full || engines[e]->kind == ENG_REVERSE ? "gradient" : "jvp");
        for (int j = 0; j < (engines[e]->kind == ENG_FORWARD && !dual_full ? 1 : p->k); ++j)
          fprintf(stderr, " %.17g", o.g[j]);
      }
      fprintf(stderr, "\n");
    }
    fprintf(stderr, "  replay: test_fuzz_array --replay %llu\n", (unsigned long long)s);
  }
  return fails;
}

/* The comparisons themselves, fed wrong answers: each must fail. */
static void self_test(aprog *p) {
  aprog_out ref, o;
  int dual_full;
  uint64_t s = 1;
  do aprog_generate(p, s++, 0, NULL);
  while (p->k < 3 || p->k > DUAL_FULL);
  memset(&ref, 0, sizeof ref);
  aprog_tape_op.run(p, 1, NULL, &ref);
  CHECK(ref.st == AD_OK && ref.st_rev == AD_OK);
  for (int e = 0; e < N_ENGINES; ++e) {
    const aprog_api *en = engines[e];
    run_engine(en, p, &o, &dual_full);
    CHECKF(compare(p, en, &o, &ref, dual_full, NULL, NULL) == 0, "%s: self-test program fails", en->name);
    aprog_out w = o;
    w.y = nextafter(w.y, INFINITY);
    CHECKF(compare(p, en, &w, &ref, dual_full, NULL, NULL) == 1, "%s: a value one ulp off passed", en->name);
    if (en->kind != ENG_PRIMAL) {
      double gmax = 0;
      for (int j = 0; j < p->k; ++j) gmax = fabs(ref.g[j]) > gmax ? fabs(ref.g[j]) : gmax;
      w = o;
      w.g[p->k - 1] += 1e-11 * (gmax > 0 ? gmax : 1.0); /* dual_full here: a full gradient on every engine */
      CHECKF(compare(p, en, &w, &ref, dual_full, NULL, NULL) == 1, "%s: a gradient off by 1e-11 passed", en->name);
      w = o;
      w.g[0] = NAN;
      CHECKF(compare(p, en, &w, &ref, dual_full, NULL, NULL) == 1, "%s: a NaN derivative passed", en->name);
    }
    w = o;
    w.st = AD_EINVAL;
    CHECKF(compare(p, en, &w, &ref, dual_full, NULL, NULL) == 1, "%s: a failed status passed", en->name);
    /* as a bad program: an OK status, a finite output and (native tapes) a sweep that ran must fail */
    p->bad = 0, p->expect = AD_ERANGE;
    CHECKF(compare_bad(p, en, &o, NULL) >= 2, "%s: a bad program that did not fail passed", en->name);
    w = o, w.st = AD_ERANGE, w.y = NAN, w.st_rev = AD_ESTATE, w.failed_at = 0;
    CHECKF(compare_bad(p, en, &w, NULL) == 0, "%s: the bad program's right answer failed", en->name);
    w.st = AD_EINVAL;
    CHECKF(compare_bad(p, en, &w, NULL) == 1, "%s: a wrong status passed", en->name);
    p->bad = -1, p->expect = AD_OK;
  }
}

static int parse_u64(const char *s, uint64_t *out) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 0);
  if (errno || end == s || *end || *s == '-') return 0;
  *out = v;
  return 1;
}

static int usage(void) {
  fprintf(stderr, "usage: test_fuzz_array [--seed S] [--count N] | --replay PROGRAM_SEED\n");
  return 2;
}

int main(int argc, char **argv) {
  uint64_t seed = 1, count = 2000, replay = 0;
  int have_replay = 0;
  for (int i = 1; i < argc; ++i) {
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(argv[i], "--seed") && v && parse_u64(v, &seed)) i++;
    else if (!strcmp(argv[i], "--count") && v && parse_u64(v, &count)) i++;
    else if (!strcmp(argv[i], "--replay") && v && parse_u64(v, &replay)) i++, have_replay = 1;
    else return usage();
  }
  aprog *p = aprog_new();
  CHECK(p != NULL);
  if (!p) return test_report("test_fuzz_array");
  ap_cover cover;
  errs er;
  long bad_programs = 0;
  memset(&cover, 0, sizeof cover);
  memset(&er, 0, sizeof er);
  self_test(p);
  if (have_replay) {
    int fails = fuzz_one(p, replay, &cover, &er, 1, 1, &bad_programs);
    CHECKF(fails == 0, "array program seed %llu: %d failed check(s)", (unsigned long long)replay, fails);
    aprog_free(p);
    return test_report("test_fuzz_array --replay");
  }
  wl_rng run = {seed};
  long failed = 0, instructions = 0;
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t s = wl_rng_next(&run);
    if (fuzz_one(p, s, &cover, &er, 0, failed < SHOW, &bad_programs)) failed++;
    instructions += p->n;
  }
  CHECKF(failed == 0, "%ld of %llu array programs failed", failed, (unsigned long long)count);
  printf("test_fuzz_array: %llu programs (run seed %llu, %ld instructions, %ld with a bad instruction) on %d "
         "engines: %ld failed\n",
         (unsigned long long)count, (unsigned long long)seed, instructions, bad_programs, N_ENGINES, failed);
  printf("  largest errors against the scalar reference: gradient %.2e, dual's jvp %.2e (allowed %.0e); %ld "
         "compared; %ld candidate instructions rejected by the value checks\n",
         er.grad, er.jvp, GRAD_TOL, er.compared, cover.retries);
  printf("  instructions:");
  for (int c = 0; c < AP_CODE_COUNT; ++c) printf(" %s %ld", aprog_code_name(c), cover.code[c]);
  printf("\n  bad instructions:");
  for (int c = 0; c < AP_CODE_COUNT; ++c)
    if (cover.bad[c]) printf(" %s %ld", aprog_code_name(c), cover.bad[c]);
  printf("\n  mm by transposes (none, A, B, both): %ld %ld %ld %ld; mv: %ld %ld; axis 0, 1: %ld %ld\n",
         cover.transposes[0], cover.transposes[1], cover.transposes[2], cover.transposes[3], cover.mv_trans[0],
         cover.mv_trans[1], cover.axis[0], cover.axis[1]);
  int small = 0, large = 0;
  for (int d = 1; d <= AP_MAX_DIM; ++d) small += d <= 4 ? (int)(cover.dims[d] > 0) : 0, large += d >= 48 && cover.dims[d];
  printf("  array results by largest dimension: 1 %ld, 2 %ld, 64 %ld; dimensions 1-4 seen %d/4, 48-64 seen %d/17\n",
         cover.dims[1], cover.dims[2], cover.dims[64], small, large);
  if (count >= 400) { /* a run this long must have generated everything */
    for (int c = 0; c < AP_CODE_COUNT; ++c) CHECKF(cover.code[c] > 0, "no %s instruction", aprog_code_name(c));
    for (int op = 0; op < AD_OP_COUNT; ++op) {
      CHECKF(cover.sop[op] > 0, "no scalar %s", ad_op_name[op]);
      static const int forms_u[] = {AP_C_U}, forms_vc[] = {AP_C_VC}, forms_cv[] = {AP_C_CV},
                       forms_vv[] = {AP_C_SAME, AP_C_BCAST_A, AP_C_BCAST_B, AP_C_DATA, AP_C_BS, AP_C_AS};
      ad_kind kind = ad_op_kind[op];
      const int *forms = kind == AD_KIND_U ? forms_u : kind == AD_KIND_VC ? forms_vc : kind == AD_KIND_CV ? forms_cv
                                                                                                           : forms_vv;
      int nf = kind == AD_KIND_VV ? 6 : 1;
      for (int f = 0; f < nf; ++f)
        CHECKF(cover.ew[op][forms[f]] > 0, "no arr_%s in form %s", ad_op_name[op], aprog_cform_name(forms[f]));
    }
    for (int t = 0; t < 4; ++t) CHECKF(cover.transposes[t] > 0, "no mm with transposes %d", t);
    CHECK(cover.mv_trans[0] > 0 && cover.mv_trans[1] > 0 && cover.axis[0] > 0 && cover.axis[1] > 0);
    static const int bad_codes[] = {AP_EW,       AP_SLICE, AP_ROW, AP_RESHAPE, AP_GATHER, AP_GET,  AP_SUM_AXIS,
                                    AP_MAX_AXIS, AP_DOT,   AP_MV,  AP_MM,      AP_STACK,  AP_DATA};
    for (size_t c = 0; c < sizeof bad_codes / sizeof *bad_codes; ++c)
      CHECKF(cover.bad[bad_codes[c]] > 0, "no bad %s instruction", aprog_code_name(bad_codes[c]));
    CHECKF(small == 4 && large >= 4, "array sizes: dimensions 1-4 seen %d/4, 48-64 seen %d", small, large);
  }
  aprog_free(p);
  return test_report("test_fuzz_array");
}
