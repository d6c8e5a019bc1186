/* aprog.h: random array programs for the array fuzz test (test_fuzz_array.c): a generator, an interpreter written
 * once against the array op interface (engines/ad_array.h) and compiled once per engine (aprog_run.c), and a
 * printer.
 *
 *   aprog *p = aprog_new();
 *   aprog_generate(p, seed, 1, NULL);            // valid, or (bad 1: sometimes) with one instruction made to fail
 *   aprog_out ref, o;
 *   aprog_tape_op.run(p, 1, NULL, &ref);         // the reference: the same program unrolled into scalar ops
 *   aprog_graph.run(p, 0, NULL, &o);             // the array ops of one engine; compare o with ref
 *   aprog_print(stderr, p);
 *   aprog_free(p);
 *
 * A program reads k scalar inputs x[0..k) and runs n instructions; instruction r writes register r, a scalar
 * variable or an array (1-D or 2-D, every dimension 1 .. 64, at most AP_MAX_ELEMS elements). The codes cover every
 * op of ad_array_ops.def (stack, get, slice, row, reshape, gather, sum, sum_axis, max, max_axis, dot, mv, mm with
 * every transpose) and every op of ad_ops.def lifted elementwise in every operand form (array op array of the
 * same shape, with a one-element array on either side broadcast, with constant data on either side, array op
 * constant, constant op array, array op scalar variable, scalar variable op array), plus scalar ops on scalar
 * registers (mixed scalar and array code). The output is one scalar: f = t_0 + t_1 + ... over every register in
 * order, t_r = the register for a scalar, sum(R .* W_r) with constant weights W_r for an array.
 *
 * The generator simulates every value as it goes (the rules of ad_ops.def through ad_op_eval, reductions in the
 * order of ad_array_vals.h) and keeps an instruction only if its values and partials are finite and moderate, its
 * operands are in the op's domain (AD_POS_A, AD_NONZERO_B) and no max or max_axis meets a tie (the native engines
 * split a tie evenly, the scalar form and the fallback engines pairwise: both documented, not comparable). A bad
 * program has one instruction that must fail (mismatched shapes, an out-of-range slice, row, index, element or
 * axis, an empty stack or data array): aprog.expect is the status it must give, and every engine must report it.
 */
#ifndef APROG_H
#define APROG_H

#include <stdint.h>
#include <stdio.h>

#include "ad.h"

enum {
  AP_MAX_K = 64,       /* inputs */
  AP_MAX_INS = 48,     /* instructions, helpers included */
  AP_MAX_DIM = 64,     /* largest dimension */
  AP_MAX_ELEMS = 512,  /* largest array */
  AP_MAX_STACK = 8,    /* scalar registers stacked by one AP_STACK */
  AP_MAX_DATA = AP_MAX_INS * (AP_MAX_ELEMS + 8) * 2, /* constant data and output weights, doubles */
  AP_MAX_IDX = AP_MAX_INS * 64                 /* gather indices and stacked registers */
};

typedef enum ap_code {
  AP_X,        /* scalar: x[i0] */
  AP_IN,       /* array: the inputs x[i0 .. i1) stacked, reshaped to i2 x i3 when i2 > 0 */
  AP_STACK,    /* array: the scalar registers idx[off .. off + n) stacked */
  AP_DATA,     /* array: constant data[off .. off + n), reshaped to i2 x i3 when i2 > 0 */
  AP_EW,       /* array: elementwise op `op` in form `form` (ap_form) */
  AP_SOP,      /* scalar: op `op` on scalar registers a (b) or constant k */
  AP_SUM,      /* scalar: sum of a */
  AP_MAX,      /* scalar: max of a */
  AP_SUM_AXIS, /* array: sums of a along axis i0 */
  AP_MAX_AXIS, /* array: maxima of a along axis i0 */
  AP_DOT,      /* scalar: a . b */
  AP_MV,       /* array: op(a) b, a transposed if i0 */
  AP_MM,       /* array: op(a) op(b), a transposed if i0, b if i1 */
  AP_SLICE,    /* array: view [i0, i1) of a (elements of a 1-D a, rows of a 2-D a) */
  AP_ROW,      /* array: view of row i0 of a */
  AP_RESHAPE,  /* array: view of a as i2 x i3 (i2 0: 1-D of i3) */
  AP_GATHER,   /* array: a[idx[off + j]], j < n */
  AP_GET,      /* scalar: element i0 of a */
  AP_CODE_COUNT
} ap_code;

/* Operand forms of AP_EW (and AP_SOP). The form of a U, VC or CV op is its kind's; VV ops take AA, BS or AS. */
typedef enum ap_form {
  AP_F_U,  /* op(a) */
  AP_F_VC, /* op(a, k) */
  AP_F_CV, /* op(k, a) */
  AP_F_AA, /* op(a, b), arrays: the same shape, or one of them one element (broadcast) */
  AP_F_BS, /* op(a, s): array a, scalar register b broadcast */
  AP_F_AS, /* op(s, b): scalar register a broadcast, array b */
  AP_FORM_COUNT
} ap_form;

/* What the coverage counts per elementwise op (ap_cover.ew): the forms, AA split by broadcasting and data. */
enum { AP_C_U, AP_C_VC, AP_C_CV, AP_C_SAME, AP_C_BCAST_A, AP_C_BCAST_B, AP_C_DATA, AP_C_BS, AP_C_AS, AP_C_COUNT };

typedef struct ap_ins {
  int code, op, form; /* ap_code; the ad_op and ap_form of AP_EW and AP_SOP */
  int a, b;           /* operand registers (-1: none) */
  int i[4];           /* integer parameters, by code */
  int off, n;         /* AP_DATA: data pool; AP_GATHER: index pool; AP_STACK: index pool (registers) */
  double k;           /* the constant of VC and CV forms */
} ap_ins;

typedef struct aprog {
  uint64_t seed;
  int k, n;
  int bad;          /* -1, or the instruction made to fail */
  ad_status expect; /* AD_OK, or the status the bad instruction gives */
  double x[AP_MAX_K];
  ap_ins ins[AP_MAX_INS];
  int arr[AP_MAX_INS];  /* 1: register r is an array */
  int wofs[AP_MAX_INS]; /* its output weights W_r: data[wofs[r] .. + its elements) */
  int ndata, nidx;
  double data[AP_MAX_DATA];
  int32_t idx[AP_MAX_IDX];
} aprog;

/* What generated programs covered (accumulates across aprog_generate calls). */
typedef struct ap_cover {
  long code[AP_CODE_COUNT];
  long ew[AD_OP_COUNT][AP_C_COUNT]; /* elementwise ops by form */
  long sop[AD_OP_COUNT];            /* scalar ops */
  long transposes[4];               /* mm by (ta, tb); mv by ta in [0], [1] too */
  long mv_trans[2];
  long axis[2];                     /* sum_axis and max_axis by axis */
  long dims[AP_MAX_DIM + 1];        /* array results by their largest dimension */
  long bad[AP_CODE_COUNT];          /* bad instructions by code */
  long retries;                     /* candidate instructions rejected by the value checks */
} ap_cover;

/* A zeroed program (about 0.5 MB), or NULL. */
aprog *aprog_new(void);
void aprog_free(aprog *p);

/* Generates program number `seed` into p: the same seed gives the same program. bad: 1 lets about one program in
 * seven carry a bad instruction, 0 never. cover (may be NULL) accumulates what was generated. */
void aprog_generate(aprog *p, uint64_t seed, int bad, ap_cover *cover);

/* Prints the program, one instruction a line, with its inputs. */
void aprog_print(FILE *f, const aprog *p);
/* The name of a code ("mm") and of a coverage form ("bcast_b"). */
const char *aprog_code_name(int code);
const char *aprog_cform_name(int cform);

/* ---- the engines (aprog_run.c, compiled once per engine) ---- */

typedef struct aprog_out {
  ad_status st;     /* the recording: AD_OK, or the first error (array ops' status, then the engine's) */
  ad_status st_rev; /* reverse engines: the reverse sweep's status */
  int failed_at;    /* array form: the instruction after which the array ops' status was first not AD_OK, or -1 */
  double y;         /* the output */
  double g[AP_MAX_K]; /* reverse engines: the gradient; dual: the gradient (dir NULL) or g[0] = jvp along dir */
} aprog_out;

typedef struct aprog_api {
  const char *name;
  int kind;   /* eng.h's ENG_PRIMAL, ENG_FORWARD or ENG_REVERSE */
  int native; /* 1: the engine's own array records, which refuse a reverse sweep after an array error */
  /* Runs program p: its array form (scalar_form 0) or the scalar form (1: every array op unrolled into the
   * engine's scalar ops, element by element, in the order of ad_array_vals.h). */
  void (*run)(const aprog *p, int scalar_form, const double *dir, aprog_out *out);
} aprog_api;

extern const aprog_api aprog_primal, aprog_dual, aprog_tape, aprog_tape_op, aprog_graph, aprog_replay;

#endif
