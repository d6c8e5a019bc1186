/* test_asserts: asserts are on in this build. Registered only for configurations that promise them
 * (-DADLAB_ASSERTS=ON, the default with -DADLAB_SANITIZE=ON), where it fails if NDEBUG crept back into the flags.
 *
 *   test_asserts        exit 0 if asserts run, 1 if not
 *
 * Two checks: NDEBUG is not defined here (the tests get the same build-type flags as the engines), and an
 * invariant assert inside the engine library fires: the prog workload, run by the tape engine on constant data
 * whose header disagrees with the size (assert in bench/workloads/prog.c), must abort a child process. A child
 * given consistent data must exit normally, so the abort is the assert's and not the harness's.
 */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "eng.h"
#include "wl.h"

/* In a child: the tape engine's gradient of prog at size, with data[0] (the input count) off by corrupt.
 * Exit 0 after a gradient, 3 if the session could not be opened or the gradient failed. */
static void child_run(int size, int corrupt) {
  const wl_info *w = wl_find("prog");
  const eng_api *e = eng_find("tape");
  int n = w->n_in(size);
  double *x = calloc((size_t)n, sizeof(double)), *g = calloc((size_t)n, sizeof(double));
  double *data = calloc((size_t)w->n_data(size) + 1, sizeof(double)), y = 0;
  if (!x || !g || !data) _exit(3);
  w->init(size, 1, x, data);
  data[0] += corrupt;
  eng_session *s = e->open(w, size, data);
  if (!s || e->jacobian(s, x, &y, g) != AD_OK) _exit(3);
  e->close(s);
  free(x), free(g), free(data);
  _exit(0);
}

/* The child's wait status for child_run(size, corrupt); -1 if fork or wait failed. */
static int run_in_child(int size, int corrupt) {
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    /* the expected abort's report goes nowhere: only the status matters */
    if (!freopen("/dev/null", "w", stderr)) _exit(4);
    child_run(size, corrupt);
  }
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return -1;
  return status;
}

int main(void) {
#ifdef NDEBUG
  CHECK(0, "NDEBUG is defined: this configuration promises asserts (ADLAB_ASSERTS) but compiles them out");
#endif
  const wl_info *w = wl_find("prog");
  CHECK(w && eng_find("tape"), "the prog workload and the tape engine are registered");
  if (!w || !eng_find("tape")) return 1;
  int size = w->check_sizes[0];

  int st = run_in_child(size, 0);
  CHECK(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
        "tape on prog with consistent data exits normally (wait status %d)", st);

  st = run_in_child(size, 1);
  CHECK(st >= 0 && WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT,
        "tape on prog with data[0] != the input count aborts on prog.c's assert (wait status %d: %s)", st,
        st >= 0 && WIFEXITED(st) ? "exited normally, so the engine library was built with NDEBUG" : "no abort");
  printf("test_asserts: %s\n", g_fail ? "asserts are OFF" : "asserts are on (NDEBUG undefined, engine assert fires)");
  return g_fail ? 1 : 0;
}
