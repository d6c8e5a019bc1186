/* json.h: a small streaming JSON writer that always writes valid JSON: strings escaped, non-finite numbers as
 * null (JSON has no NaN or Inf) with the entries that were not finite named in a separate string field.
 *
 *   js_writer j;
 *   js_init(&j, stdout);
 *   js_obj(&j, NULL);                      // {
 *   js_str(&j, "workload", "mix");         //  "workload":"mix",
 *   js_doubles(&j, "value", y, 2);         //  "value":[null,1.5],"value_nonfinite":"0:nan",
 *   js_end(&j);                            // }
 *   if (js_failed(&j)) ...                 // a write error, or unbalanced nesting
 *
 * Keys are NULL inside arrays and at the top level, and a string otherwise.
 */
#ifndef JSON_H
#define JSON_H

#include <stddef.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

enum { JS_MAX_DEPTH = 32 };

typedef struct js_writer {
  FILE *f;
  int depth;
  int count[JS_MAX_DEPTH]; /* members written so far at each open level */
  char close[JS_MAX_DEPTH]; /* the bracket that closes each open level */
  int bad;                 /* nesting misuse seen */
} js_writer;

/* Starts writing to f (borrowed). */
void js_init(js_writer *j, FILE *f);

/* Opens an object or an array (as member key of the enclosing object, or NULL in an array or at the top). */
void js_obj(js_writer *j, const char *key);
void js_arr(js_writer *j, const char *key);
/* Closes the innermost open object or array. */
void js_end(js_writer *j);

/* One member or element: a string (escaped; NULL writes null), a number (null if not finite), an integer. */
void js_str(js_writer *j, const char *key, const char *s);
void js_num(js_writer *j, const char *key, double v);
void js_int(js_writer *j, const char *key, long long v);

/* An array of n doubles, non-finite ones as null; if any, also the member "<key>_nonfinite", a string listing
 * them as "index:value" ("3:nan,7:-inf"). key must be a plain name (letters, digits, '_'), not NULL. */
void js_doubles(js_writer *j, const char *key, const double *v, size_t n);

/* 1 if a write failed or the nesting was misused, else 0. */
int js_failed(const js_writer *j);

#ifdef __cplusplus
}
#endif
#endif
