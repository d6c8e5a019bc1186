/* cli.h: what adlab's programs share on their command lines. Each program declares its options for getopt_long
 * (so both `--size 50` and `--size=50` work) and parses values with these functions, which reject what a strtol
 * or strtod would let through: empty strings, trailing junk, signs where none belong, NaN, out-of-range values.
 *
 *   long size;
 *   if (!cli_long(optarg, 1, 1000000, &size)) return cli_usage_error("adcheck", "--size", "a whole number from 1 to 10^6");
 *   if (cli_each(optarg, add_workload, &opts) < 0) return cli_usage_error("adcheck", "--workload", "known names");
 */
#ifndef CLI_H
#define CLI_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Parses all of s as a decimal integer in [lo, hi] into *out. Returns 1, or 0 (and leaves *out) if s is NULL,
 * empty, has anything else, or is out of range (a leading minus on an unsigned quantity included). */
int cli_long(const char *s, long lo, long hi, long *out);

/* Parses all of s as a finite number in [lo, hi] into *out ("1e6" and "0.5" included). Returns 1, or 0 (and
 * leaves *out) if s is NULL, empty, not a number, NaN, infinite or out of range. */
int cli_double(const char *s, double lo, double hi, double *out);

/* Calls add(name, ctx) for each name of the comma-separated list s ("a,b,c"). Returns the number of names, or -1
 * if s is NULL or empty, a name is empty ("a,,b", "a,"), or add returned 0 for one (it is then not called for
 * the rest). */
int cli_each(const char *s, int (*add)(const char *name, void *ctx), void *ctx);

/* Prints "<prog>: <flag>: <what>" and "try <prog> --help" on stderr; returns 2, the exit status for bad usage. */
int cli_usage_error(const char *prog, const char *flag, const char *what);

#ifdef __cplusplus
}
#endif
#endif
