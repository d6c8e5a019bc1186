/* context.h: the facts a benchmark report carries beside its numbers: how the binary was built, on which machine,
 * and with which parameters, as key: value strings (Google Benchmark's "context" block).
 *
 *   ctx_table t = {0};
 *   ctx_add_build(&t);                          // adlab_version, git_commit, build_type, compiler, cflags, build_isa,
 *                                               // elemfn (the elementary functions: ADLAB_ELEMFN)
 *   ctx_add_machine(&t);                        // cpu_model, cpu_flags, sleef_version, sleef_variant
 *   ctx_set(&t, "adbench_seed", "42");          // later calls for the same key replace the value
 *   for (int i = 0; i < t.n; ++i) use(t.key[i], t.val[i]);
 *   ctx_free(&t);
 */
#ifndef CONTEXT_H
#define CONTEXT_H

#ifdef __cplusplus
extern "C" {
#endif

enum { CTX_MAX = 256 };

typedef struct ctx_table {
  int n;
  char *key[CTX_MAX], *val[CTX_MAX]; /* owned copies */
} ctx_table;

/* Sets key to value (both copied; a later call for the same key replaces the value). Returns 1, or 0 if key or
 * value is NULL, key is empty, the table is full or memory is exhausted (the table is then unchanged). */
int ctx_set(ctx_table *t, const char *key, const char *value);

/* ctx_set with a printf-formatted value. */
int ctx_setf(ctx_table *t, const char *key, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Parses "KEY=VALUE" (KEY non-empty) and sets it. Returns 1, or 0 if kv has no '=' after a non-empty key or
 * ctx_set fails. */
int ctx_set_pair(ctx_table *t, const char *kv);

/* The value of key, or NULL. */
const char *ctx_get(const ctx_table *t, const char *key);

/* How this binary was built: adlab_version, git_commit, build_type, compiler, compiler_cxx, cflags, build_isa,
 * sleef_version, elemfn (ad_math_choice: the elementary functions chosen by ADLAB_ELEMFN). Returns 1, or 0 if a ctx_set failed. */
int ctx_add_build(ctx_table *t);

/* The machine: cpu_model and cpu_flags (those of /proc/cpuinfo that bear on floating-point speed or timing),
 * "unknown" where /proc/cpuinfo does not say, and sleef_variant. Returns 1, or 0 if a ctx_set failed. */
int ctx_add_machine(ctx_table *t);

/* Frees the copies; t is then empty. */
void ctx_free(ctx_table *t);

#ifdef __cplusplus
}
#endif
#endif
