/* json.c: the JSON writer (json.h). */
#include "json.h"

#include <math.h>

void js_init(js_writer *j, FILE *f) {
  j->f = f;
  j->depth = 0;
  j->count[0] = 0;
  j->bad = 0;
}

static void put_string(FILE *f, const char *s) {
  fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)s; *p; ++p) {
    if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
    else if (*p == '\n') fputs("\\n", f);
    else if (*p == '\t') fputs("\\t", f);
    else if (*p < 0x20) fprintf(f, "\\u%04x", *p);
    else fputc(*p, f);
  }
  fputc('"', f);
}

/* The separator and key before a member or element. */
static void member(js_writer *j, const char *key) {
  if (j->count[j->depth]++) fputc(',', j->f);
  if (key) {
    put_string(j->f, key);
    fputc(':', j->f);
  }
}

static void open(js_writer *j, const char *key, char c) {
  member(j, key);
  fputc(c, j->f);
  if (j->depth + 1 >= JS_MAX_DEPTH) {
    j->bad = 1;
    return;
  }
  j->close[j->depth] = c == '{' ? '}' : ']';
  j->count[++j->depth] = 0;
}

void js_obj(js_writer *j, const char *key) { open(j, key, '{'); }
void js_arr(js_writer *j, const char *key) { open(j, key, '['); }

void js_end(js_writer *j) {
  if (j->depth == 0) {
    j->bad = 1;
    return;
  }
  fputc(j->close[--j->depth], j->f);
}

void js_str(js_writer *j, const char *key, const char *s) {
  member(j, key);
  if (s) put_string(j->f, s);
  else fputs("null", j->f);
}

void js_num(js_writer *j, const char *key, double v) {
  member(j, key);
  if (isfinite(v)) fprintf(j->f, "%.17g", v);
  else fputs("null", j->f);
}

void js_int(js_writer *j, const char *key, long long v) {
  member(j, key);
  fprintf(j->f, "%lld", v);
}

void js_doubles(js_writer *j, const char *key, const double *v, size_t n) {
  js_arr(j, key);
  size_t bad = 0;
  for (size_t i = 0; i < n; ++i) {
    js_num(j, NULL, v[i]);
    bad += !isfinite(v[i]);
  }
  js_end(j);
  if (!bad) return;
  member(j, NULL);
  fputc('"', j->f);
  fputs(key, j->f); /* a plain key: see json.h */
  fputs("_nonfinite\":\"", j->f);
  for (size_t i = 0, k = 0; i < n; ++i)
    if (!isfinite(v[i])) fprintf(j->f, "%s%zu:%s", k++ ? "," : "", i, isnan(v[i]) ? "nan" : v[i] > 0 ? "inf" : "-inf");
  fputc('"', j->f);
}

int js_failed(const js_writer *j) { return j->bad || ferror(j->f); }
