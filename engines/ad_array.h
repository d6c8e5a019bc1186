/* ad_array.h: arrays in adlab's op interface: the design every engine's array type follows, the arena that owns
 * array memory, shapes and broadcasting, and the array op tables.
 *
 * A workload written once against these names (rosenbrock in tensor form, bench/workloads/rosenbrock_t.c):
 *
 *   #include "tape/tape_array.h"                            // or primal/, dual/, graph/, replay/ <engine>_array.h
 *   ad_arr X = ad_arr_stack(c, x, n);                        // the n scalar inputs as one 1-D array
 *   ad_arr x0 = ad_arr_slice(c, X, 0, n - 1), x1 = ad_arr_slice(c, X, 1, n);   // views, no copy
 *   ad_arr t = ad_arr_sub_cv(c, 1.0, x0);                    // constant op array
 *   ad_arr u = ad_arr_sub_vv(c, x1, ad_arr_sqr(c, x0));      // array op array
 *   ad_arr e = ad_arr_add_vv(c, ad_arr_sqr(c, t), ad_arr_mul_vc(c, ad_arr_sqr(c, u), 100.0));
 *   y[0] = ad_arr_sum(c, e);                                 // back to a scalar variable (ad_t)
 *   if (ad_arr_status(c) != AD_OK) ...                       // sticky: a shape error or a failed allocation
 *
 * THE ARRAY TYPE. Every engine defines `ad_arr` beside `ad_t`: a 1-D (n) or 2-D (rows x cols, row-major) array of
 * variables, passed by value (a small struct: pointers and a shape). What it holds per engine:
 *   primal  the values (double *);
 *   dual    the values and the tangents (two double arrays; tangents NULL when no element has one; dual_array.h);
 *   tape    the values, and where its adjoints live (the record that made it, an offset in the tape's array
 *           adjoint space): the tape records ONE statement per array op (tape/tape_array.h says what it stores);
 *   graph   the values and the node of the op that made it: ONE graph node per array op, with PyTorch's grad_fn
 *           name (graph/graph_array.h says what a node keeps and which of PyTorch's rules hold for it);
 *   replay  the values, and where its adjoints live: ONE replay statement per array op, recomputed in place by
 *           replay_forward at new inputs (replay/replay_array.h).
 * Every engine's arrays compute their values with the same rules and the same elementary functions (elementwise
 * ops through ad_kernels.h, which give the bits of the scalar ops; reductions and products sum in the same fixed
 * order, left to right), so values are bit-identical across engines and equal to the scalar form of a workload
 * that sums in the same order.
 *
 * WHO OWNS ARRAY MEMORY. Arrays live in an arena (ad_arena below): a bump allocator in chunks from ad_malloc, with
 * O(1) reset that keeps its chunks. No array op calls malloc; an op allocates its result (and what its engine
 * records) from the arena, which grows by a new chunk when full. The tape's arena is in its context
 * (tape_array.h) and is reset with tape_reset and freed with tape_free; graph's and replay's likewise are in their
 * contexts (graph_reset, replay_reset). The primal and dual engines have no context (their ad_ctx is NULL): their
 * arrays come from the calling thread's current arena, ad_arena_default(), which the driver owns and chooses with ad_arena_use (the
 * benchmark session holds one, resets it before each evaluation and frees it when it closes). An array is valid
 * until its arena is reset. Constant data arrays (ad_arr_data) are not copied: the data must outlive the
 * arrays made from it.
 *
 * ERRORS. A failed allocation or a bad argument (mismatched shapes, an out-of-range slice, index or axis, a
 * non-positive size) never crashes and never writes out of bounds: the op sets the arena's sticky status (the
 * first error wins: AD_ENOMEM, AD_EINVAL for shapes, AD_ERANGE for indices), returns an invalid array (ndim 0,
 * no elements) or a NaN scalar constant, and every op on an invalid array returns an invalid array again. Check
 * ad_arr_status(c) once after the computation; the tape's tape_status also reports it.
 *
 * SHAPES AND BROADCASTING. A shape is (ndim, rows, cols): ndim 1 has rows == 1 and cols == n; ndim 2 is
 * rows x cols. Elementwise binary ops take two arrays of the same shape, or one array and anything with one
 * element, which is broadcast:
 *   ad_arr_mul_vv(c, X, Y)       array op array (either may be a constant data array: it records nothing)
 *   ad_arr_mul_vc(c, X, 2.0)     array op constant scalar        (the op's VC line of ad_ops.def)
 *   ad_arr_sub_cv(c, 1.0, Y)     constant op array               (its CV line)
 *   ad_arr_mul_vv_bs(c, X, s)    array op scalar variable s, broadcast (b is a scalar)
 *   ad_arr_mul_vv_as(c, s, Y)    scalar variable op array        (a is a scalar)
 * Row broadcasting ((rows x cols) with (cols)) is not in this phase: stack or gather the row explicitly.
 *
 * ACCESS. ad_arr_get(c, X, i) gives element i (row-major) as a scalar variable; ad_arr_slice and ad_arr_row give
 * contiguous views (1-D: elements [lo, hi); 2-D: rows); ad_arr_reshape gives the same elements as another shape;
 * ad_arr_gather(c, X, idx, n) picks elements by an integer index array; ad_arr_stack(c, x, n) stacks scalar
 * variables into a 1-D array; ad_arr_data(c, d, n) wraps constant data. ad_arr_val(X) reads the values.
 *
 * THE OPS. Elementwise: every op of ad_ops.def, with the value and partials of its line (no second copy of a rule).
 * Beyond: the list ad_array_ops.def (sum, sum_axis, max, max_axis, dot, mv, mm with transposes, slice, gather,
 * stack, get, reshape), which gives their names and PyTorch grad_fn names once. Every engine's <engine>_array.h
 * defines, with the same names (c is the engine's context, NULL for primal and dual):
 *   ad_arr  ad_arr_stack(c, const ad_t *x, int64_t n)        n scalar variables as a 1-D array
 *   ad_arr  ad_arr_data(c, const double *d, int64_t n)       constant data, 1-D (reshape for 2-D)
 *   ad_t    ad_arr_get(c, X, int64_t i)                      element i, row-major
 *   ad_arr  ad_arr_slice(c, X, lo, hi), ad_arr_row(c, X, r), ad_arr_reshape(c, X, rows, cols)  views
 *                                                            (reshape rows 0: 1-D of cols)
 *   ad_arr  ad_arr_gather(c, X, const int32_t *idx, int64_t n)
 *   ad_arr  ad_arr_<op>(c, X[, Y | k])                       every op of ad_ops.def, by its kind (U, VV, VC, CV)
 *   ad_arr  ad_arr_<op>_bs(c, X, ad_t s), ad_arr_<op>_as(c, ad_t s, Y)   VV ops with a scalar variable
 *   ad_t    ad_arr_sum(c, X), ad_arr_max(c, X), ad_arr_dot(c, X, Y)
 *   ad_arr  ad_arr_sum_axis(c, X, axis), ad_arr_max_axis(c, X, axis)     axis 0: over rows; 1: over columns
 *   ad_arr  ad_arr_mv(c, A, int transA, x), ad_arr_mm(c, A, int transA, B, int transB)
 *   int64_t ad_arr_n(X);  ad_status ad_arr_status(c)
 * Phase 1 leaves out: row broadcasting, cumulative sums, empty arrays, array outputs seeded directly (reduce them
 * or read elements), array leaves with an array .grad in the graph engine.
 */
#ifndef AD_ARRAY_H
#define AD_ARRAY_H

#include <stddef.h>
#include <stdint.h>

#include "ad.h"
#include "ad_kernels.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- The arena ------------------------------------------------------------------------------------------------ */

typedef struct ad_arena_chunk ad_arena_chunk;

/* A bump allocator in chunks. Zero-initialise (or ad_arena_init) before use. Treat as opaque. */
typedef struct ad_arena {
  ad_arena_chunk *head, *cur; /* chunks in allocation order; cur is being filled */
  size_t held;                /* bytes held in chunks */
  size_t used;                /* bytes handed out since the last reset */
  ad_status status;           /* sticky: the first error of an array op since the last reset */
} ad_arena;

/* Largest single allocation, bytes: larger requests fail with AD_ERANGE (sizes stay far from overflow). */
#define AD_ARENA_MAX ((size_t)1 << 40)

/* An empty arena (no memory held). */
void ad_arena_init(ad_arena *a);
/* n bytes aligned to 32, from the current chunk or a new one (ad_malloc); NULL on failure, which also sets the
 * sticky status (AD_ENOMEM, or AD_ERANGE for n > AD_ARENA_MAX). n == 0 gives a valid pointer. a must not be NULL. */
void *ad_arena_alloc(ad_arena *a, size_t n);
/* Forgets every allocation and the status, keeps the chunks: O(chunks). NULL is ignored. */
void ad_arena_reset(ad_arena *a);
/* Frees every chunk; the arena is empty again. NULL is ignored. */
void ad_arena_free(ad_arena *a);
/* Records error s unless an error is already recorded (the first wins). */
void ad_arena_fail(ad_arena *a, ad_status s);
/* The calling thread's current arena: primal and dual take array memory from it. It is the
 * arena last passed to ad_arena_use, or (none, or NULL) an arena of the thread's own, which is never freed. */
ad_arena *ad_arena_default(void);
/* Makes a the calling thread's current arena (NULL: the thread's own); returns the previous choice (NULL for the
 * thread's own). A driver owns its arena: it sets it around a computation and frees it when done. */
ad_arena *ad_arena_use(ad_arena *a);

/* ---- Shapes ------------------------------------------------------------------------------------------------------ */

/* Largest number of elements of one array (indices stay in int32 and adjoint offsets in uint32). */
#define AD_ARR_MAX_N ((int64_t)1 << 30)

typedef struct ad_shape {
  int32_t ndim; /* 1 or 2; 0 marks an invalid array (after an error) */
  int32_t rows; /* 1 for ndim 1 */
  int32_t cols; /* n for ndim 1 */
} ad_shape;

static inline int64_t ad_shape_n(ad_shape s) { return (int64_t)s.rows * s.cols; }
static inline ad_shape ad_shape_1(int32_t n) { ad_shape s; s.ndim = 1; s.rows = 1; s.cols = n; return s; }
static inline ad_shape ad_shape_2(int32_t r, int32_t c) { ad_shape s; s.ndim = 2; s.rows = r; s.cols = c; return s; }
static inline ad_shape ad_shape_bad(void) { ad_shape s; s.ndim = 0; s.rows = 0; s.cols = 0; return s; }
static inline int ad_shape_eq(ad_shape a, ad_shape b) { return a.ndim == b.ndim && a.rows == b.rows && a.cols == b.cols; }

/* The result shape of an elementwise binary op on shapes a and b, and the strides (0 broadcast, 1 not) of each;
 * AD_EINVAL if they neither agree nor is one of them a single element, or either is invalid. */
static inline ad_status ad_shape_ew(ad_shape a, ad_shape b, ad_shape *out, size_t *sa, size_t *sb) {
  if (!a.ndim || !b.ndim) return AD_EINVAL;
  if (ad_shape_eq(a, b)) { *out = a; *sa = *sb = 1; return AD_OK; }
  if (ad_shape_n(b) == 1) { *out = a; *sa = 1; *sb = 0; return AD_OK; }
  if (ad_shape_n(a) == 1) { *out = b; *sa = 0; *sb = 1; return AD_OK; }
  return AD_EINVAL;
}

/* The element (i, k) of op(A), A rows x cols row-major, op(A) = A or (trans) its transpose. */
static inline size_t ad_mat_at(ad_shape a, int trans, int64_t i, int64_t k) {
  return trans ? (size_t)(k * a.cols + i) : (size_t)(i * a.cols + k);
}
/* Rows and columns of op(A) for a 2-D A (a 1-D A is one row). */
static inline int32_t ad_mat_rows(ad_shape a, int trans) { return trans ? a.cols : a.rows; }
static inline int32_t ad_mat_cols(ad_shape a, int trans) { return trans ? a.rows : a.cols; }

/* ---- The array op tables, generated from ad_array_ops.def ------------------------------------------------------ */

#define AD_ARITY_N (-1)

typedef enum ad_aop {
#define AD_AOP(name, in, out, torch, doc) AD_AOP_##name,
#include "ad_array_ops.def"
#undef AD_AOP
  AD_AOP_COUNT
} ad_aop;

extern const char *const ad_aop_name[AD_AOP_COUNT];  /* "sum", "mv", ... */
extern const char *const ad_aop_torch[AD_AOP_COUNT]; /* "SumBackward0", "MvBackward0", ... */
extern const int ad_aop_arity[AD_AOP_COUNT];         /* 1, 2 or AD_ARITY_N */
extern const int ad_aop_array_out[AD_AOP_COUNT];     /* 1: the result is an array; 0: a scalar variable */

#ifdef __cplusplus
}
#endif
#endif
