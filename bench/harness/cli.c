/* cli.c: command-line value parsing shared by adlab's programs (cli.h). */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_long(const char *s, long lo, long hi, long *out) {
  if (!s || !*s || isspace((unsigned char)*s)) return 0;
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || end == s || *end || v < lo || v > hi) return 0;
  *out = v;
  return 1;
}

int cli_double(const char *s, double lo, double hi, double *out) {
  if (!s || !*s || isspace((unsigned char)*s)) return 0;
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (errno == ERANGE || end == s || *end || !isfinite(v) || v < lo || v > hi) return 0;
  *out = v;
  return 1;
}

int cli_each(const char *s, int (*add)(const char *name, void *ctx), void *ctx) {
  if (!s || !*s) return -1;
  int count = 0;
  for (const char *p = s;; ++count) {
    const char *comma = strchr(p, ',');
    size_t len = comma ? (size_t)(comma - p) : strlen(p);
    char name[128];
    if (len == 0 || len >= sizeof name) return -1;
    memcpy(name, p, len);
    name[len] = '\0';
    if (!add(name, ctx)) return -1;
    if (!comma) return count + 1;
    p = comma + 1;
  }
}

int cli_usage_error(const char *prog, const char *flag, const char *what) {
  fprintf(stderr, "%s: %s: %s\ntry '%s --help'\n", prog, flag, what, prog);
  return 2;
}
