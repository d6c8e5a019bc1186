/* adcheck: do all engines agree on every workload's derivatives? A driver over the checker library
 * (harness/checker.h: what is checked and how; harness/judge.h: the measures and tolerances).
 *
 *   adcheck                                   every workload and engine at each workload's two check sizes
 *   adcheck --workload rosenbrock --size 50   one workload, one size (--workload and --size repeat, or a,b lists)
 *   adcheck --engine tape --seed 7            one engine against the references, another input seed
 *   adcheck --json out.json                   also write inputs, values, derivatives and errors as JSON
 *   adcheck --tol fd=1e-8 --max-seconds 10    a tighter tolerance for one check; a 10 s budget per case
 * Exit status: 0 all agree, 1 a disagreement, 2 bad usage, 3 out of memory (adcheck --help).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checker.h"
#include "cli.h"
#include "eng.h"
#include "json.h"
#include "judge.h"
#include "wl.h"

enum { MAX_LIST = 64 };

#define USAGE(flag, what) cli_usage_error("adcheck", flag, what) /* prints, returns CK_EXIT_USAGE */

typedef struct opts {
  const wl_info *wl[MAX_LIST];
  int n_wl;
  const eng_api *eng[MAX_LIST];
  int n_eng;
  int sizes[MAX_LIST], n_sizes;
  const char *json;
  ck_config c;
} opts;

static void help(void) {
  printf("usage: adcheck [options]\n"
         "  --workload NAME[,NAME]   workloads to check (repeats; default: all but the test-only ones)\n"
         "  --engine NAME[,NAME]     engines to check (repeats; default: all)\n"
         "  --size N                 sizes (repeats; default: each workload's two check sizes); a size above a\n"
         "                           named workload's largest is an error, above another's skips it\n"
         "  --seed S                 input seed (default 42)\n"
         "  --fd-max K               finite differences on at most K coordinates (default 64)\n"
         "  --tol CHECK=T            tolerance T for CHECK (engines, manual, fd, replay, lanes) for every engine\n"
         "  --max-seconds S          time budget per workload and size (default 60; 0: none): an engine or\n"
         "                           reference that would pass it is skipped, with a message, and counted\n"
         "  --json FILE|-            also write every case as JSON (non-finite numbers as null, listed in\n"
         "                           a <field>_nonfinite string)\n"
         "checks: value (bit for bit against the primal engine), engines, manual, fd, replay, lanes (vector modes:\n"
         "every lane count against 1); tolerances:");
  for (int c = 0; c < JD_CHECK_COUNT; ++c) printf(" %s %g", jd_check_name[c], jd_tol(NULL, c));
  printf(" (peers: their own, if larger)\nworkloads:");
  for (int i = 0; i < WL_COUNT; ++i) printf(" %s (max size %d)", wl_all[i]->name, wl_all[i]->max_size);
  printf("\nengines:");
  for (int i = 0; i < eng_count; ++i) printf(" %s", eng_all[i]->name);
  printf("\nexit status: %d all agree (pieces skipped by the budget are printed and counted)\n"
         "             %d a disagreement, an engine error, or the JSON could not be written\n"
         "             %d bad usage\n"
         "             %d out of memory (and no disagreement)\n",
         CK_EXIT_OK, CK_EXIT_DISAGREE, CK_EXIT_USAGE, CK_EXIT_NOMEM);
}

static int add_workload(const char *name, void *p) {
  opts *o = (opts *)p;
  const wl_info *w = wl_find(name);
  if (!w || o->n_wl >= MAX_LIST) return 0;
  o->wl[o->n_wl++] = w;
  return 1;
}

static int add_engine(const char *name, void *p) {
  opts *o = (opts *)p;
  const eng_api *e = eng_find(name);
  if (!e || o->n_eng >= MAX_LIST) return 0;
  o->eng[o->n_eng++] = e;
  return 1;
}

static int add_size(const char *s, void *p) {
  opts *o = (opts *)p;
  long v;
  if (!cli_long(s, 1, INT_MAX, &v) || o->n_sizes >= MAX_LIST) return 0;
  o->sizes[o->n_sizes++] = (int)v;
  return 1;
}

/* "engines=1e-10": sets that check's tolerance. */
static int set_tol(const char *s, opts *o) {
  const char *eq = strchr(s, '=');
  for (int c = 0; eq && c < JD_CHECK_COUNT; ++c)
    if (strlen(jd_check_name[c]) == (size_t)(eq - s) && !strncmp(s, jd_check_name[c], (size_t)(eq - s)))
      return cli_double(eq + 1, 1e-300, 1e300, &o->c.tol[c]);
  return 0;
}

/* Parses argv into o. Returns -1 to go on, else the exit status (0 after --help). */
static int parse(int argc, char **argv, opts *o) {
  static const struct option longs[] = {
      {"workload", required_argument, 0, 'w'}, {"engine", required_argument, 0, 'e'},
      {"size", required_argument, 0, 's'},     {"seed", required_argument, 0, 'S'},
      {"fd-max", required_argument, 0, 'f'},   {"tol", required_argument, 0, 't'},
      {"max-seconds", required_argument, 0, 'm'}, {"json", required_argument, 0, 'j'},
      {"help", no_argument, 0, 'h'},           {0, 0, 0, 0}};
  int ch;
  long v;
  opterr = 0;
  while ((ch = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
    switch (ch) {
    case 'w':
      if (cli_each(optarg, add_workload, o) < 0)
        return USAGE("--workload", "known workload names, comma-separated, not empty");
      break;
    case 'e':
      if (cli_each(optarg, add_engine, o) < 0)
        return USAGE("--engine", "known engine names, comma-separated, not empty");
      break;
    case 's':
      if (cli_each(optarg, add_size, o) < 0) return USAGE("--size", "whole numbers from 1 to 2^31-1");
      break;
    case 'S':
      if (!cli_long(optarg, 0, 0x7fffffffL, &v)) return USAGE("--seed", "a whole number from 0 to 2^31-1");
      o->c.seed = (uint64_t)v;
      break;
    case 'f':
      if (!cli_long(optarg, 2, 1000000L, &v)) return USAGE("--fd-max", "a whole number from 2 to 10^6");
      o->c.fd_max = (int)v;
      break;
    case 't':
      if (!set_tol(optarg, o)) return USAGE("--tol", "CHECK=T, CHECK one of engines, manual, fd, replay, T > 0");
      break;
    case 'm':
      if (!cli_double(optarg, 0, 1e9, &o->c.max_seconds)) return USAGE("--max-seconds", "a number of seconds >= 0");
      break;
    case 'j':
      if (!*optarg) return USAGE("--json", "a file name, or - for standard output");
      o->json = optarg;
      break;
    case 'h': help(); return 0;
    default: return USAGE(argv[optind - 1], "unknown option or missing value");
    }
  }
  if (optind < argc) return USAGE(argv[optind], "unexpected argument");
  for (int a = 0; a < o->n_wl; ++a) /* a named workload cannot run a size above its largest */
    for (int i = 0; i < o->n_sizes; ++i)
      if (o->sizes[i] > o->wl[a]->max_size) {
        char what[160];
        snprintf(what, sizeof what, "%d is larger than %s's largest size, %d", o->sizes[i], o->wl[a]->name,
                 o->wl[a]->max_size);
        return USAGE("--size", what);
      }
  return -1;
}

int main(int argc, char **argv) {
  opts o;
  memset(&o, 0, sizeof o);
  ck_defaults(&o.c);
  int st = parse(argc, argv, &o);
  if (st >= 0) return st;
  int named = o.n_wl > 0;
  if (!o.n_wl)
    for (int i = 0; i < WL_COUNT; ++i)
      o.wl[o.n_wl++] = wl_all[i];
  if (!o.n_eng)
    for (int i = 0; i < eng_count && i < MAX_LIST; ++i) o.eng[o.n_eng++] = eng_all[i];

  FILE *jf = NULL;
  js_writer jw;
  char tmp[4096];
  if (o.json) {
    snprintf(tmp, sizeof tmp, "%s.tmp", o.json);
    jf = strcmp(o.json, "-") ? fopen(tmp, "w") : stdout;
    if (!jf) {
      fprintf(stderr, "adcheck: cannot write %s: %s\n", tmp, strerror(errno));
      return CK_EXIT_USAGE;
    }
    js_init(&jw, jf);
    o.c.json = &jw;
    js_obj(&jw, NULL);
    js_obj(&jw, "tolerances"); /* adlab's engines; a peer's is its own where larger */
    for (int c = 0; c < JD_CHECK_COUNT; ++c) js_num(&jw, jd_check_name[c], ck_tol(&o.c, NULL, c));
    js_end(&jw);
    js_num(&jw, "max_seconds", o.c.max_seconds);
    js_arr(&jw, "checks");
  }
  o.c.table = jf == stdout ? stderr : stdout;
  ck_header(o.c.table);

  ck_tally t = {0};
  for (int a = 0; a < o.n_wl; ++a) {
    const wl_info *w = o.wl[a];
    int sizes[MAX_LIST], ns = 0;
    for (int i = 0; i < o.n_sizes; ++i) {
      if (o.sizes[i] <= w->max_size) sizes[ns++] = o.sizes[i];
      else if (!named) /* every workload: one that cannot run the size says so */
        fprintf(o.c.table, "%-11s %8d %8s %-7s  skipped: larger than its largest size, %d\n", w->name, o.sizes[i],
                "-", "-", w->max_size), t.skipped++;
    }
    if (!o.n_sizes) {
      sizes[ns++] = w->check_sizes[0];
      if (w->check_sizes[1] != w->check_sizes[0]) sizes[ns++] = w->check_sizes[1];
    }
    for (int i = 0; i < ns; ++i) ck_case(&o.c, w, sizes[i], o.eng, o.n_eng, &t);
  }
  st = ck_exit_status(&t);
  if (jf) {
    js_end(&jw);
    js_obj(&jw, "summary");
    js_int(&jw, "cases", t.cases);
    js_int(&jw, "failed_checks", t.fails);
    js_int(&jw, "out_of_memory", t.nomem);
    js_int(&jw, "skipped", t.skipped);
    js_int(&jw, "exit_status", st);
    js_end(&jw);
    js_end(&jw);
    fputc('\n', jf);
    int bad = js_failed(&jw);
    if (jf != stdout && ((fclose(jf) != 0) | bad || rename(tmp, o.json) != 0)) {
      fprintf(stderr, "adcheck: cannot write %s\n", o.json);
      remove(tmp);
      return st ? st : CK_EXIT_DISAGREE;
    }
  }
  fprintf(o.c.table, "%d workload/size cases, %d engine(s): %s", t.cases, o.n_eng,
          st == CK_EXIT_DISAGREE ? "DISAGREEMENT" : st == CK_EXIT_NOMEM ? "OUT OF MEMORY" : "all agree");
  if (t.nomem) fprintf(o.c.table, "; %d ran out of memory", t.nomem);
  if (t.skipped) fprintf(o.c.table, "; %d skipped (time budget or size limit), see above", t.skipped);
  fprintf(o.c.table, "\n");
  return st;
}
