/* test_fuzz: differential fuzzing. Random programs (prog.h: random DAGs of every op of ad_ops.def over 1 to 6
 * inputs, with constants and data-dependent branches) run on every engine of ENG_LIST (tests/tprog_<engine>.c) and
 * are checked against an independent complex-step reference and against each other (tests/tprog.h).
 *
 *   test_fuzz                        10000 programs from run seed 1
 *   test_fuzz --seed S --count N     N programs from run seed S
 *   test_fuzz --replay P             the single program with program seed P: printed, checked, results shown
 *
 * Program i of a run has program seed P_i, the i-th SplitMix64 output from the run seed. P_i alone fixes the
 * program's shape (k = 1 + r % 6 inputs, n = 1 + r % 40 instructions, r from SplitMix64 seeded with P_i) and,
 * through prog_generate, its inputs and instructions; so a failure's P_i replays it.
 * A run also fails if it did not exercise every instruction code and both branch outcomes (runs of 2000 or more
 * programs), or if more than 1% of gradient components could not be compared with the reference.
 *
 * About one program in five is wild (prog.c): infinite and NaN inputs, overflowing exp, log and sqrt of 0,
 * division by 0. A program that meets an infinite or NaN value is checked against the plain interpreter of the
 * non-finite policy (ad_ops.def; tprog.h): NaN positions must agree exactly, forward mode against its forward
 * reference. The summary says how many programs met such values (a run of 2000 or more fails if under 5%).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "testkit.h"
#include "tprog.h"

enum { FUZZ_MAX_K = 6, FUZZ_MAX_N = 40, FUZZ_SHOW = 3 };

/* The shape of program seed p. */
static void fuzz_shape(uint64_t p, int *k, int *n) {
  wl_rng r = {p ^ 0x6a09e667f3bcc909ull};
  *k = 1 + (int)(wl_rng_next(&r) % FUZZ_MAX_K);
  *n = 1 + (int)(wl_rng_next(&r) % FUZZ_MAX_N);
}

/* Generates program p into data and x; returns its number of instructions. */
static int fuzz_make(uint64_t p, double *data, double *x) {
  int k, n;
  fuzz_shape(p, &k, &n);
  prog_generate(k, n, p, x, data);
  return n;
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
  fprintf(stderr, "usage: test_fuzz [--seed S] [--count N] | --replay PROGRAM_SEED\n");
  return 2;
}

/* Checks one program seed; prints the program and the failures if it fails (or if verbose). Returns failures. */
static int fuzz_one(uint64_t p, const tprog_tol *tol, tprog_cover *cover, tprog_errs *errs, int verbose, int show) {
  double data[PROG_HEADER + PROG_STRIDE * FUZZ_MAX_N], x[PROG_MAX_INPUTS];
  int n = fuzz_make(p, data, x);
  tprog_ref ref;
  if (!tprog_reference(data, x, &ref, cover)) {
    fprintf(stderr, "program seed %llu: the reference cannot evaluate it\n", (unsigned long long)p);
    tprog_print(stderr, data, x);
    return 1;
  }
  int fails = tprog_check(data, x, &ref, tol, show || verbose ? stderr : NULL, errs);
  if (!ref.nonfinite) /* the preaccumulating order's reference is the policy's gradient in another association */
    for (int j = 0; j < ref.k; ++j)
      if (!tprog_agree(ref.pmixed[j], ref.pgrad[j], tol->engines, ref.pmag[j])) {
        fprintf(stderr, "program seed %llu: d/dx%d in the preaccumulating order %.17g, the policy's %.17g\n",
                (unsigned long long)p, j, ref.pmixed[j], ref.pgrad[j]);
        fails++;
      }
  if ((fails && show) || verbose) {
    fprintf(stderr, "program seed %llu (%d instructions): %d failed check(s)\n", (unsigned long long)p, n, fails);
    tprog_print(stderr, data, x);
    fprintf(stderr, "  reference: value %.17g, gradient", ref.value);
    for (int j = 0; j < ref.k; ++j) fprintf(stderr, " %.17g", ref.grad[j]);
    fprintf(stderr, "\n");
    for (int e = 0; e < tprog_engine_count; ++e) {
      tprog_eng r;
      tprog_run(tprog_engines[e], data, x, &r);
      fprintf(stderr, "  %-9s %s value %.17g, gradient", tprog_engines[e]->name, ad_status_str(r.st), r.y);
      for (int j = 0; j < ref.k; ++j) fprintf(stderr, " %.17g", r.J[j]);
      fprintf(stderr, "\n");
    }
    fprintf(stderr, "  replay: test_fuzz --replay %llu\n", (unsigned long long)p);
  }
  return fails;
}

int main(int argc, char **argv) {
  uint64_t seed = 1, count = 10000, replay = 0;
  int have_replay = 0;
  for (int i = 1; i < argc; ++i) {
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(argv[i], "--seed") && v && parse_u64(v, &seed)) i++;
    else if (!strcmp(argv[i], "--count") && v && parse_u64(v, &count)) i++;
    else if (!strcmp(argv[i], "--replay") && v && parse_u64(v, &replay)) i++, have_replay = 1;
    else return usage();
  }
  tprog_tol tol = tprog_tol_default();
  tprog_cover cover;
  tprog_errs errs;
  memset(&cover, 0, sizeof cover);
  memset(&errs, 0, sizeof errs);

  if (have_replay) {
    int fails = fuzz_one(replay, &tol, &cover, &errs, 1, 1);
    printf("program seed %llu: %s\n", (unsigned long long)replay, fails ? "FAIL" : "ok");
    CHECKF(fails == 0, "program seed %llu: %d failed check(s)", (unsigned long long)replay, fails);
    return test_report("test_fuzz --replay");
  }

  wl_rng run = {seed};
  long failed = 0, instructions = 0;
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t p = wl_rng_next(&run);
    int k, n;
    fuzz_shape(p, &k, &n);
    instructions += n;
    if (fuzz_one(p, &tol, &cover, &errs, 0, failed < FUZZ_SHOW)) failed++;
  }

  CHECKF(failed == 0, "%ld of %llu programs failed", failed, (unsigned long long)count);
  printf("test_fuzz: %llu programs (run seed %llu, %ld instructions) on %d engines: %ld failed\n",
         (unsigned long long)count, (unsigned long long)seed, instructions, tprog_engine_count, failed);
  printf("  largest errors: value %.2e of vmag, gradient %.2e of max path magnitude, between engines %.2e of "
         "|gradient| (allowed %.0e, %.0e, %.0e)\n",
         errs.value, errs.grad, errs.engines, tol.ref_value, tol.ref_grad, tol.engines);
  printf("  gradient components compared with the reference: %ld, skipped: %ld\n", errs.compared, errs.skipped);
  printf("  replays at a moved point: %ld accepted and checked, %ld refused by a guard\n", errs.replays,
         errs.replays_refused);
  printf("  branches: %ld then, %ld else\n", cover.taken[1], cover.taken[0]);
  printf("  programs that met an infinite or NaN value: %ld (checked under the non-finite policy: %ld gradient "
         "components, %ld of them NaN; %ld order-dependent, left uncompared)\n",
         errs.nonfinite_programs, errs.policy_compared, errs.policy_nan, errs.order_dependent);
  CHECKF(errs.order_dependent * 1000 <= errs.policy_compared,
         "more than 0.1%% of the policy's gradient components were order-dependent");
  CHECKF(errs.skipped * 100 <= errs.compared + errs.skipped, "more than 1%% of gradient components had no reference");
  if (count >= 2000) { /* a run this long must have exercised everything */
    for (int c = 0; c < PROG_CODE_COUNT; ++c)
      CHECKF(cover.code[c] >= 10, "instruction %s executed only %ld times", prog_code_name(c), cover.code[c]);
    CHECKF(cover.taken[0] >= 10 && cover.taken[1] >= 10, "branches did not go both ways");
    CHECKF(errs.nonfinite_programs * 20 >= (long)count && errs.policy_nan >= 10, /* about one in five is wild */
           "too few programs met infinite or NaN values");
  }
  printf("  executed:");
  for (int c = 0; c < PROG_CODE_COUNT; ++c) printf(" %s %ld", prog_code_name(c), cover.code[c]);
  printf("\n");
  return test_report("test_fuzz");
}
