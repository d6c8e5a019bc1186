/* test_graph.h: the check macros of the graph engine's tests (sds style: each failed check prints where and what,
 * the test exits non-zero if any failed).
 *
 *   CHECK(graph_is_leaf(x));
 *   CHECK_NEAR(gw, 5.0, 1e-15);          // |a - b| <= tol * max(1, |b|)
 *   CHECK_STR(graph_grad_fn_name(y), "MulBackward0");   // NULL compares equal only to NULL
 *   return test_report("test_graph_semantics");
 */
#ifndef TEST_GRAPH_H
#define TEST_GRAPH_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static int test_checks, test_fails;

static inline void test_fail(const char *file, int line, const char *what) {
  test_fails++;
  fprintf(stderr, "%s:%d: check failed: %s\n", file, line, what);
}

#define CHECK(cond)                                                                                            \
  do {                                                                                                         \
    test_checks++;                                                                                             \
    if (!(cond)) test_fail(__FILE__, __LINE__, #cond);                                                         \
  } while (0)

static inline int test_near(double a, double b, double tol) {
  double scale = fabs(b) > 1.0 ? fabs(b) : 1.0;
  return fabs(a - b) <= tol * scale; /* false for NaN */
}

#define CHECK_NEAR(a, b, tol)                                                                                  \
  do {                                                                                                         \
    double test_a_ = (a), test_b_ = (b);                                                                       \
    test_checks++;                                                                                             \
    if (!test_near(test_a_, test_b_, (tol))) {                                                                 \
      char test_msg_[256];                                                                                     \
      snprintf(test_msg_, sizeof test_msg_, "%s = %.17g, expected %s = %.17g", #a, test_a_, #b, test_b_);      \
      test_fail(__FILE__, __LINE__, test_msg_);                                                                \
    }                                                                                                          \
  } while (0)

static inline int test_str_eq(const char *a, const char *b) { return (!a && !b) || (a && b && strcmp(a, b) == 0); }

#define CHECK_STR(a, b)                                                                                        \
  do {                                                                                                         \
    const char *test_a_ = (a), *test_b_ = (b);                                                                 \
    test_checks++;                                                                                             \
    if (!test_str_eq(test_a_, test_b_)) {                                                                      \
      char test_msg_[512];                                                                                     \
      snprintf(test_msg_, sizeof test_msg_, "%s = \"%s\", expected \"%s\"", #a, test_a_ ? test_a_ : "(NULL)",  \
               test_b_ ? test_b_ : "(NULL)");                                                                  \
      test_fail(__FILE__, __LINE__, test_msg_);                                                                \
    }                                                                                                          \
  } while (0)

/* Prints the tally; returns the exit status (1 if any check failed or none ran). */
static inline int test_report(const char *name) {
  printf("%s: %d checks, %d failed\n", name, test_checks, test_fails);
  return test_fails || !test_checks ? 1 : 0;
}

#endif
