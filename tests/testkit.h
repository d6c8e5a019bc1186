/* testkit.h: the one assertion vocabulary of adlab's C tests (after sds's testhelp.h): tiny programs that count
 * their checks, print each failure with its place and what was expected, go on, and exit non-zero at the end.
 *
 *   #include "testkit.h"
 *   CHECK(graph_is_leaf(x));                                    // the condition is the message
 *   CHECKF(st == AD_OK, "tape_reverse: %s", ad_status_str(st)); // with a printf-style message
 *   CHECK_NEAR(gw, 5.0, 1e-15);                                 // |a - b| <= tol * max(1, |b|); NaN fails
 *   CHECK_STR(graph_grad_fn_name(y), "MulBackward0");           // NULL equals only NULL
 *   return test_report("test_graph_semantics");                 // "N checks, M failed"; 0 or 1
 *
 * A program that made no check at all fails too: a test that asserts nothing is a defect.
 */
#ifndef TESTKIT_H
#define TESTKIT_H

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#if defined(__GNUC__)
#define TK_UNUSED __attribute__((unused))
#define TK_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define TK_UNUSED
#define TK_PRINTF(f, a)
#endif

static int tk_checks, tk_fails;

TK_UNUSED TK_PRINTF(4, 5) static void tk_fail(const char *file, int line, const char *cond, const char *fmt, ...) {
  tk_fails++;
  fprintf(stderr, "FAIL %s:%d: %s", file, line, cond);
  if (fmt && *fmt) {
    va_list ap;
    va_start(ap, fmt);
    fputs(": ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
  }
  fputc('\n', stderr);
}

#define CHECK(cond)                                                                                            \
  do {                                                                                                         \
    tk_checks++;                                                                                               \
    if (!(cond)) tk_fail(__FILE__, __LINE__, #cond, NULL);                                                     \
  } while (0)

#define CHECKF(cond, ...)                                                                                      \
  do {                                                                                                         \
    tk_checks++;                                                                                               \
    if (!(cond)) tk_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);                                              \
  } while (0)

TK_UNUSED static int tk_near(double a, double b, double tol) {
  double scale = fabs(b) > 1.0 ? fabs(b) : 1.0;
  return fabs(a - b) <= tol * scale; /* false for NaN */
}

#define CHECK_NEAR(a, b, tol)                                                                                  \
  do {                                                                                                         \
    double tk_a_ = (a), tk_b_ = (b);                                                                           \
    tk_checks++;                                                                                               \
    if (!tk_near(tk_a_, tk_b_, (tol)))                                                                         \
      tk_fail(__FILE__, __LINE__, #a " ~ " #b, "%.17g, expected %.17g (tolerance %g)", tk_a_, tk_b_,          \
              (double)(tol));                                                                                  \
  } while (0)

#define CHECK_STR(a, b)                                                                                        \
  do {                                                                                                         \
    const char *tk_a_ = (a), *tk_b_ = (b);                                                                     \
    tk_checks++;                                                                                               \
    if ((tk_a_ == NULL) != (tk_b_ == NULL) || (tk_a_ && strcmp(tk_a_, tk_b_) != 0))                            \
      tk_fail(__FILE__, __LINE__, #a " == " #b, "\"%s\", expected \"%s\"", tk_a_ ? tk_a_ : "(null)",          \
              tk_b_ ? tk_b_ : "(null)");                                                                       \
  } while (0)

/* Prints the verdict of the program name and returns its exit status: 0 if every check passed and there was at
 * least one, else 1. */
TK_UNUSED static int test_report(const char *name) {
  if (tk_checks == 0) {
    fprintf(stderr, "%s: no check was made\n", name);
    return 1;
  }
  printf("%s: %d checks, %d failed\n", name, tk_checks, tk_fails);
  return tk_fails ? 1 : 0;
}

#endif
