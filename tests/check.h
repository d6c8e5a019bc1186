/* check.h: the tests' one assertion helper, after sds's test_cond: tiny programs that count failures and exit
 * non-zero.
 *
 *   #include "check.h"
 *   CHECK(st == AD_OK, "tape_reverse: %s", ad_status_str(st));   // on failure: counts it, prints file:line,
 *                                                                 // the condition and the message; goes on
 *   return g_fail ? 1 : 0;
 */
#ifndef TESTS_CHECK_H
#define TESTS_CHECK_H

#include <stdio.h>

static int g_fail = 0; /* failed checks so far */

#define CHECK(cond, ...)                                                                                       \
  do {                                                                                                         \
    if (!(cond)) {                                                                                             \
      g_fail++;                                                                                                \
      fprintf(stderr, "FAIL %s:%d: CHECK(%s): ", __FILE__, __LINE__, #cond);                                   \
      fprintf(stderr, __VA_ARGS__);                                                                            \
      fputc('\n', stderr);                                                                                     \
    }                                                                                                          \
  } while (0)

#endif
