/* context.c: the build and machine facts of a benchmark report (context.h). */
#include "context.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../engines/ad.h"
#include "adbench_build.h"

static char *dup_str(const char *s) {
  size_t k = strlen(s) + 1;
  char *p = (char *)malloc(k);
  if (p) memcpy(p, s, k);
  return p;
}

int ctx_set(ctx_table *t, const char *key, const char *value) {
  if (!key || !*key || !value) return 0;
  char *v = dup_str(value);
  if (!v) return 0;
  for (int i = 0; i < t->n; ++i)
    if (!strcmp(t->key[i], key)) {
      free(t->val[i]);
      t->val[i] = v;
      return 1;
    }
  char *k = t->n < CTX_MAX ? dup_str(key) : NULL;
  if (!k) {
    free(v);
    return 0;
  }
  t->key[t->n] = k, t->val[t->n++] = v;
  return 1;
}

int ctx_setf(ctx_table *t, const char *key, const char *fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  return ctx_set(t, key, buf);
}

int ctx_set_pair(ctx_table *t, const char *kv) {
  const char *eq = kv ? strchr(kv, '=') : NULL;
  char key[256];
  if (!eq || eq == kv || (size_t)(eq - kv) >= sizeof key) return 0;
  memcpy(key, kv, (size_t)(eq - kv));
  key[eq - kv] = 0;
  return ctx_set(t, key, eq + 1);
}

const char *ctx_get(const ctx_table *t, const char *key) {
  for (int i = 0; key && i < t->n; ++i)
    if (!strcmp(t->key[i], key)) return t->val[i];
  return NULL;
}

void ctx_free(ctx_table *t) {
  for (int i = 0; i < t->n; ++i) free(t->key[i]), free(t->val[i]);
  t->n = 0;
}

/* Instruction sets the build targets, from the compiler's predefined macros. */
static const char *build_isa(void) {
  return ""
#ifdef __AVX512F__
         "avx512f "
#endif
#ifdef __AVX2__
         "avx2 "
#endif
#ifdef __FMA__
         "fma "
#endif
#ifdef __AVX__
         "avx "
#endif
#ifdef __SSE4_2__
         "sse4.2 "
#endif
#ifdef __SSE2__
         "sse2"
#endif
      ;
}

int ctx_add_build(ctx_table *t) {
  const char *fixed[][2] = {
      {"adlab_version", ADBENCH_ADLAB_VERSION}, {"git_commit", ADBENCH_GIT_COMMIT},
      {"build_type", ADBENCH_BUILD_TYPE},       {"compiler", ADBENCH_C_COMPILER},
      {"compiler_cxx", ADBENCH_CXX_COMPILER},   {"cflags", ADBENCH_C_FLAGS},
      {"build_isa", build_isa()},               {"sleef_version", ADBENCH_SLEEF_VERSION},
      {"elemfn", ad_math_choice()},
  };
  int ok = 1;
  for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; ++i) ok &= ctx_set(t, fixed[i][0], fixed[i][1]);
  return ok;
}

/* The value of the first /proc/cpuinfo line starting with field ("model name", "flags") into out; 0 if none. */
static int cpuinfo(const char *field, char *out, size_t cap) {
  FILE *f = fopen("/proc/cpuinfo", "r");
  char line[8192];
  int found = 0;
  if (!f) return 0;
  size_t k = strlen(field);
  while (!found && fgets(line, sizeof line, f)) {
    char *p = strchr(line, ':');
    if (strncmp(line, field, k) != 0 || !p) continue;
    p += 1 + (p[1] == ' ');
    p[strcspn(p, "\n")] = 0;
    snprintf(out, cap, "%s", p);
    found = 1;
  }
  fclose(f);
  return found;
}

/* The flags of a /proc/cpuinfo flags line that bear on floating-point speed (vector units, FMA, bit
 * manipulation, fast string copies) or on timing (hypervisor), in the line's order, into out. */
static void isa_flags(const char *all, char *out, size_t cap) {
  static const char *const keep[] = {"sse2", "ssse3", "sse4_1", "sse4_2", "avx", "avx2", "fma", "f16c", "bmi1",
                                     "bmi2", "adx", "popcnt", "erms", "fsrm", "hypervisor", "avx512f",
                                     "avx512dq", "avx512cd", "avx512bw", "avx512vl", "avx512ifma", "avx512vbmi",
                                     "avx512_vbmi2", "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_tile"};
  size_t len = 0;
  out[0] = 0;
  for (const char *p = all; *p;) {
    size_t k = strcspn(p, " ");
    for (size_t i = 0; i < sizeof keep / sizeof keep[0]; ++i)
      if (strlen(keep[i]) == k && !strncmp(p, keep[i], k) && len + k + 2 < cap) {
        if (len) out[len++] = ' ';
        memcpy(out + len, p, k);
        out[len += k] = 0;
      }
    p += k + (p[k] == ' ');
  }
}

int ctx_add_machine(ctx_table *t) {
  char model[512], flags[8192], isa[512];
  int ok = ctx_set(t, "cpu_model", cpuinfo("model name", model, sizeof model) ? model : "unknown");
  if (cpuinfo("flags", flags, sizeof flags)) isa_flags(flags, isa, sizeof isa);
  else isa[0] = 0;
  ok &= ctx_set(t, "cpu_flags", isa[0] ? isa : "unknown");
  ok &= ctx_set(t, "sleef_variant", ad_math_variant());
  return ok;
}
