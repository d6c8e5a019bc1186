/* checker.h: the agreement checks behind adcheck, as a library: do the engines agree with each other, with the
 * workload's hand-written derivatives, with finite differences, and (static-graph engines) does a replayed
 * recording equal a fresh one?
 *
 *   ck_config c;
 *   ck_defaults(&c);                                  // seed 42, 64 fd coordinates, judge.h's tolerances
 *   c.table = stdout;                                 // one row per engine, a FAIL line per disagreement
 *   ck_tally t = {0};
 *   const eng_api *engs[] = {&eng_primal, &eng_tape, &eng_graph};
 *   ck_case(&c, wl_find("rosenbrock"), 50, engs, 3, &t);
 *   return ck_exit_status(&t);                        // CK_EXIT_OK, CK_EXIT_DISAGREE or CK_EXIT_NOMEM
 *
 * The checks of one case (workload w at size, inputs from the seed), each judged by judge.h with the engine's
 * tolerance (jd_tol, or the config's override):
 *   value    every engine's f(x) equals the primal engine's bit for bit (a peer's: within its tolerance);
 *   engines  each derivative engine against every other of adlab's (jd_compare: a NaN on either side fails);
 *   manual   against the hand-written gradient or Jacobian, where the workload has one;
 *   fd       against finite differences (jd_fd_jacobian) on up to fd_max coordinates; entries at kinks are
 *            left out and counted, and more than a quarter of them left out fails;
 *   replay   engines with replay(): recorded at x, replayed at other inputs (half near x, half from other
 *            seeds); each accepted replay equals a fresh recording at the same inputs (value bit for bit,
 *            jd_compare_nan on the Jacobian); replays refused by a guard are counted, not failures.
 *   lanes    engines with jacobian_lanes (vector modes): K = 1 equals the primal value bit for bit and the manual
 *            derivatives within JD_MANUAL; K = 2, 4, 8, 16 equal K = 1 (value bit for bit, the Jacobian within
 *            JD_LANES, 1e-14, by jd_compare_nan).
 * A disagreement prints a line naming the engine, workload, size, check, error and the entry that decided it
 * ("d y[0] / d x[3]: 1.5, reference 2.5"). Out of memory is not a disagreement: it is counted apart. A piece
 * whose estimated time (from a timed primal evaluation) would pass the case's budget c.max_seconds is skipped
 * with a message and counted.
 */
#ifndef CHECKER_H
#define CHECKER_H

#include <stdint.h>
#include <stdio.h>

#include "eng.h"
#include "json.h"
#include "judge.h"
#include "wl.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The exit statuses of a checking program (adcheck --help lists them). */
enum { CK_EXIT_OK = 0, CK_EXIT_DISAGREE = 1, CK_EXIT_USAGE = 2, CK_EXIT_NOMEM = 3 };

typedef struct ck_config {
  uint64_t seed;              /* the inputs' seed (w->init) */
  int fd_max;                 /* finite differences on at most this many coordinates (>= 2) */
  double tol[JD_CHECK_COUNT]; /* > 0: this tolerance for every engine instead of jd_tol's */
  double max_seconds;         /* time budget of one case; 0: none */
  FILE *table;                /* the rows and FAIL lines; NULL: nowhere */
  js_writer *json;            /* each case as one element of an open JSON array; NULL: none */
} ck_config;

typedef struct ck_tally {
  int cases;    /* workload/size cases checked */
  int fails;    /* failed checks (disagreements and engine errors other than out of memory) */
  int nomem;    /* engines or references that ran out of memory */
  int skipped;  /* pieces skipped by the time budget */
} ck_tally;

/* Fills c with the defaults: seed 42, fd_max 64, judge.h's tolerances, a 60 s budget, no table, no JSON. */
void ck_defaults(ck_config *c);

/* Prints the table's header line to f (nothing if f is NULL). */
void ck_header(FILE *f);

/* The tolerance of check for engine e under c: c->tol[check] if set, else jd_tol(e, check). */
double ck_tol(const ck_config *c, const eng_api *e, jd_check check);

/* Checks engs[0 .. n_eng) on workload w at size (1 <= size <= w->max_size; the caller validates) and adds the
 * outcome to *t. Prints to c->table and writes c->json as described above. Returns the number of failed
 * checks of this case; out-of-memory goes to t->nomem only. */
int ck_case(const ck_config *c, const wl_info *w, int size, const eng_api *const *engs, int n_eng, ck_tally *t);

/* CK_EXIT_DISAGREE if any check failed, else CK_EXIT_NOMEM if anything ran out of memory, else CK_EXIT_OK. */
int ck_exit_status(const ck_tally *t);

#ifdef __cplusplus
}
#endif
#endif
