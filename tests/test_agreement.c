/* test_agreement: the agreement test. Runs adcheck (the path of its executable is the first argument):
 *
 *   adcheck                                 every workload and every engine at the small and medium check sizes
 *
 * (Random programs, which meet infinite and NaN values where finite differences do not apply, are the fuzz
 * test's: tests/test_fuzz.c.) The run must exit 0 ("all agree": values bit-identical to the primal engine's,
 * engines within 1e-12 of each other and of the hand-written gradients, finite differences within 1e-6; see
 * bench/harness/checker.h). Its table must also show an "ok" row for every workload of wl_all at each of its
 * check sizes for every engine of eng_all, so a run that silently checked less fails too.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "eng.h"
#include "testkit.h"
#include "wl.h"

enum { OUT_MAX = 1 << 20 };

/* Runs cmd; its output (stdout and stderr) goes to out (NUL-terminated, truncated at OUT_MAX). Returns the exit
 * status, or -1 if it could not run. */
static int run(const char *cmd, char *out) {
  FILE *p = popen(cmd, "r");
  if (!p) return -1;
  size_t n = fread(out, 1, OUT_MAX - 1, p);
  out[n] = 0;
  while (fgetc(p) != EOF) { /* drain what did not fit */
  }
  int st = pclose(p);
  return st == -1 ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* 1 if out has a row "<workload> <size> <n_in> <engine> ... ok". */
static int has_ok_row(const char *out, const char *workload, int size, const char *engine) {
  for (const char *line = out; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
    char w[64], e[64];
    int sz, n;
    if (sscanf(line, "%63s %d %d %63s", w, &sz, &n, e) != 4) continue;
    if (strcmp(w, workload) || sz != size || strcmp(e, engine)) continue;
    const char *end = strchr(line, '\n');
    size_t len = end ? (size_t)(end - line) : strlen(line);
    if (len >= 2 && !strncmp(line + len - 2, "ok", 2)) return 1;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: test_agreement PATH_TO_ADCHECK\n");
    return 2;
  }
  char *out = (char *)malloc(OUT_MAX), cmd[4096];
  if (!out) return 1;

  snprintf(cmd, sizeof cmd, "'%s' 2>&1", argv[1]);
  int st = run(cmd, out);
  if (st != 0) fprintf(stderr, "%s\n", out);
  CHECKF(st == 0, "adcheck exited with %d", st);
  int rows = 0;
  for (int i = 0; i < WL_COUNT; ++i) {
    const wl_info *w = wl_all[i];
    for (int s = 0; s < 2; ++s) {
      if (s == 1 && w->check_sizes[1] == w->check_sizes[0]) continue;
      for (int k = 0; k < eng_own_count; ++k) {
        int ok = has_ok_row(out, w->name, w->check_sizes[s], eng_all[k]->name);
        CHECKF(ok, "no ok row for %s at size %d on %s", w->name, w->check_sizes[s], eng_all[k]->name);
        rows += ok;
      }
    }
  }
  printf("adcheck: %d workload/size/engine rows agree\n", rows);

  free(out);
  return test_report("test_agreement");
}
