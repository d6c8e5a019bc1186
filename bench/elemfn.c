/* elemfn: what each choice of elementary functions (ADLAB_ELEMFN, engines/ad_math.h) costs per call on this CPU.
 *
 *   elemfn                     a Markdown table: ns per call of sincos, tan, exp, log, tanh, pow for SLEEF u10,
 *                              SLEEF u35 and libm, and of this build's ad_m_* (what the engines call)
 *   elemfn --min-time 0.01     shorter runs (seconds per function and choice; default 0.05)
 *
 * Each function runs over 1024 inputs drawn once from its usual range (sin, cos, tan in [-pi, pi]; exp in
 * [-10, 10]; log in [0.01, 100]; tanh in [-5, 5]; pow: base in [0.1, 10], exponent in [-3, 3]), the results summed
 * so the calls stay independent (throughput, as in a workload's independent ops), repeated until min-time has
 * passed (CPU time), best of 5 trials. Every choice is called through a function pointer, as the engines reach ad_m_*
 * through the PLT. The table also gives each choice's largest difference from libm in ULP over the same inputs.
 * Exit status: 0, or 2 for bad usage.
 */
#define _GNU_SOURCE /* sincos */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <sleef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../engines/ad_math.h"
#include "harness/cli.h"
#include "harness/wl.h"

/* The FMA builds, declared by sleef.h only when the compiler targets FMA (as in ad_math.c). */
Sleef_double_2 Sleef_sincosd1_u10purecfma(double);
Sleef_double_2 Sleef_sincosd1_u35purecfma(double);
double Sleef_tand1_u10purecfma(double), Sleef_tand1_u35purecfma(double);
double Sleef_expd1_u10purecfma(double);
double Sleef_logd1_u10purecfma(double), Sleef_logd1_u35purecfma(double);
double Sleef_tanhd1_u10purecfma(double), Sleef_tanhd1_u35purecfma(double);
double Sleef_powd1_u10purecfma(double, double);

enum { N_IN = 1024, N_FN = 6, N_CHOICE = 4 };
static const char *const fn_name[N_FN] = {"sincos", "tan", "exp", "log", "tanh", "pow"};
static const char *const choice_name[N_CHOICE] = {"sleef_u10", "sleef_u35", "libm", "this build (ad_m_*)"};

/* One function of one choice, by kind: sincos returns two values, pow takes two arguments. */
typedef struct fn_ptrs {
  ad_m2 (*sc)(double);
  double (*d)(double);
  double (*dd)(double, double);
} fn_ptrs;

static ad_m2 s10_sincos(double x) { Sleef_double_2 r = Sleef_sincosd1_u10purecfma(x); ad_m2 o = {r.x, r.y}; return o; }
static ad_m2 s35_sincos(double x) { Sleef_double_2 r = Sleef_sincosd1_u35purecfma(x); ad_m2 o = {r.x, r.y}; return o; }
static ad_m2 libm_sincos(double x) { ad_m2 o; sincos(x, &o.x, &o.y); return o; }

/* fns[choice][fn]; the SLEEF entries need FMA (checked in main). */
static fn_ptrs fns[N_CHOICE][N_FN];

static void init_fns(void) {
  fn_ptrs *s10 = fns[0], *s35 = fns[1], *lm = fns[2], *ad = fns[3];
  s10[0].sc = s10_sincos, s35[0].sc = s35_sincos, lm[0].sc = libm_sincos, ad[0].sc = ad_m_sincos;
  s10[1].d = Sleef_tand1_u10purecfma, s35[1].d = Sleef_tand1_u35purecfma, lm[1].d = tan, ad[1].d = ad_m_tan;
  s10[2].d = Sleef_expd1_u10purecfma, s35[2].d = Sleef_expd1_u10purecfma, lm[2].d = exp, ad[2].d = ad_m_exp;
  s10[3].d = Sleef_logd1_u10purecfma, s35[3].d = Sleef_logd1_u35purecfma, lm[3].d = log, ad[3].d = ad_m_log;
  s10[4].d = Sleef_tanhd1_u10purecfma, s35[4].d = Sleef_tanhd1_u35purecfma, lm[4].d = tanh, ad[4].d = ad_m_tanh;
  s10[5].dd = Sleef_powd1_u10purecfma, s35[5].dd = Sleef_powd1_u10purecfma, lm[5].dd = pow, ad[5].dd = ad_m_pow;
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double in_a[N_FN][N_IN], in_b[N_IN], out[N_IN][2];
static volatile double sink;

/* Evaluates fn of choice c on every input into out; returns the sum of the results. */
static double sweep(int c, int fn) {
  const fn_ptrs *f = &fns[c][fn];
  double acc = 0;
  for (int i = 0; i < N_IN; ++i) {
    if (fn == 0) {
      ad_m2 r = f->sc(in_a[fn][i]);
      out[i][0] = r.x, out[i][1] = r.y;
    } else if (fn == 5) {
      out[i][0] = f->dd(in_a[fn][i], in_b[i]), out[i][1] = 0;
    } else {
      out[i][0] = f->d(in_a[fn][i]), out[i][1] = 0;
    }
    acc += out[i][0] + out[i][1];
  }
  return acc;
}

/* ns per call of fn in choice c: best of 5 trials of at least min_s CPU seconds each. */
static double ns_per_call(int c, int fn, double min_s) {
  double best = INFINITY;
  for (int trial = 0; trial < 5; ++trial) {
    long reps = 0;
    double t0 = now(), t;
    do {
      sink = sweep(c, fn);
      ++reps;
    } while ((t = now() - t0) < min_s);
    double ns = 1e9 * t / ((double)reps * N_IN);
    if (ns < best) best = ns;
  }
  return best;
}

/* |a - b| in units in the last place of b (0 if both are the same, including both NaN). */
static double ulps(double a, double b) {
  if (a == b || (isnan(a) && isnan(b))) return 0;
  if (!isfinite(a) || !isfinite(b)) return INFINITY;
  double u = nextafter(fabs(b), INFINITY) - fabs(b);
  return fabs(a - b) / u;
}

int main(int argc, char **argv) {
  double min_s = 0.05;
  for (int i = 1; i < argc; ++i) {
    if (!strcmp(argv[i], "--min-time") && i + 1 < argc) {
      if (!cli_double(argv[++i], 1e-6, 60, &min_s)) return cli_usage_error("elemfn", "--min-time", "seconds, 1e-6 .. 60");
    } else {
      fprintf(stderr, "usage: elemfn [--min-time SECONDS]\n");
      return 2;
    }
  }
  if (strcmp(ad_math_variant(), "purecfma") != 0) {
    fprintf(stderr, "elemfn: this CPU has no FMA; the table compares SLEEF's FMA builds\n");
    return 0;
  }
  init_fns();
  wl_rng r = {12345};
  static const double lo[N_FN] = {-3.14159, -3.14159, -10, 0.01, -5, 0.1}, hi[N_FN] = {3.14159, 3.14159, 10, 100, 5, 10};
  for (int fn = 0; fn < N_FN; ++fn)
    for (int i = 0; i < N_IN; ++i) in_a[fn][i] = wl_rng_uniform(&r, lo[fn], hi[fn]);
  for (int i = 0; i < N_IN; ++i) in_b[i] = wl_rng_uniform(&r, -3, 3);
  static double ref[N_FN][N_IN][2];
  for (int fn = 0; fn < N_FN; ++fn) {
    sweep(2, fn);
    memcpy(ref[fn], out, sizeof out);
  }
  printf("Elementary functions, ns per call (best of 5 runs of %g CPU s over %d inputs; max ULP vs libm in brackets); "
         "this build: %s\n\n", min_s, N_IN, ad_math_choice());
  printf("| function |");
  for (int c = 0; c < N_CHOICE; ++c) printf(" %s |", choice_name[c]);
  printf("\n|---|");
  for (int c = 0; c < N_CHOICE; ++c) printf("---:|");
  printf("\n");
  for (int fn = 0; fn < N_FN; ++fn) {
    printf("| %s |", fn_name[fn]);
    for (int c = 0; c < N_CHOICE; ++c) {
      double ns = ns_per_call(c, fn, min_s), err = 0;
      sweep(c, fn);
      for (int i = 0; i < N_IN; ++i)
        for (int k = 0; k < 2; ++k) {
          double e = ulps(out[i][k], ref[fn][i][k]);
          if (e > err) err = e;
        }
      printf(" %.2f [%.2g] |", ns, err);
    }
    printf("\n");
  }
  return 0;
}
