/* test_asserts: asserts are on in this build. Registered only for configurations that promise them
 * (-DADLAB_ASSERTS=ON, the default with -DADLAB_SANITIZE=ON), where it fails if NDEBUG crept back into the flags.
 *
 *   test_asserts        exit 0 if asserts run, 1 if not
 *
 * Two checks: NDEBUG is not defined here (the tests get the same build-type flags as the engines), and an
 * invariant assert inside the engine library fires: adc_rewind (engines/ad_chunk.c, the storage of every recording
 * engine) asserts that the position it is given lies inside the stream; given one past a chunk's capacity it must
 * abort a child process. A child given a valid position must exit normally, so the abort is the assert's.
 */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ad_chunk.h"
#include "testkit.h"

/* In a child: rewinds a fresh stream to its start moved by past records beyond the first chunk's capacity (past 0:
 * the start itself, a valid position). Exit 0 after the rewind, 3 if the stream could not be made. */
static void child_run(int size, int past) {
  adc_spec spec = {{sizeof(double), 0}, (size_t)size, (size_t)size, 0, 0};
  adc_stream s;
  if (adc_init(&s, &spec) != AD_OK) _exit(3);
  adc_pos p = adc_tell(&s);
  if (past) p.off = p.chunk->cap + (size_t)past;
  adc_rewind(&s, p);
  adc_free(&s);
  _exit(0);
}

/* The child's wait status for child_run(size, past); -1 if fork or wait failed. */
static int run_in_child(int size, int past) {
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    /* the expected abort's report goes nowhere: only the status matters */
    if (!freopen("/dev/null", "w", stderr)) _exit(4);
    child_run(size, past);
  }
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return -1;
  return status;
}

int main(void) {
#ifdef NDEBUG
  CHECKF(0, "NDEBUG is defined: this configuration promises asserts (ADLAB_ASSERTS) but compiles them out");
#endif
  int size = 64;
  int st = run_in_child(size, 0);
  CHECKF(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
         "adc_rewind to a valid position exits normally (wait status %d)", st);

  st = run_in_child(size, 1);
  CHECKF(st >= 0 && WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT,
         "adc_rewind past the chunk aborts on ad_chunk.c's assert (wait status %d: %s)", st,
         st >= 0 && WIFEXITED(st) ? "exited normally, so the engine library was built with NDEBUG" : "no abort");
  printf("test_asserts: %s\n", tk_fails ? "asserts are OFF" : "asserts are on (NDEBUG undefined, engine assert fires)");
  return test_report("test_asserts");
}
