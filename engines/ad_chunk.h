/* ad_chunk.h: chunked streams of fixed-size records, the storage of the tape, replay and graph engines.
 *
 *   adc_stream args, stmts;                                     // a tape: statements nest their arguments
 *   adc_spec as = {{sizeof(double), sizeof(uint32_t)}, 512, 1u << 19, 0, 0};  // two lanes: partial, index
 *   adc_spec ss = {{1}, 256, 1u << 18, 0, 1};                   // one lane: argument counts; numbered from 1
 *   if (adc_init(&args, &as) != AD_OK || adc_init(&stmts, &ss) != AD_OK) ...
 *   adc_nest(&stmts, &args);                   // each statement chunk records where the arguments stood
 *   if (adc_reserve(&args, 2) != AD_OK || adc_reserve(&stmts, 1) != AD_OK) ...    // AD_ENOMEM: nothing lost
 *   size_t o = adc_push(&args, 2);                              // two records in the current chunk
 *   ADC_LANE(&args, double)[o] = 0.5;  ADC_LANE1(&args, uint32_t)[o] = 7;  ...
 *   adc_reader r = adc_reader_end(&stmts);                      // walk backwards: records last to first
 *   while (adc_reader_more_back(&r)) { size_t j = adc_back(&r, 1); uint8_t k = ADC_RLANE(&r, uint8_t)[j]; ... }
 *   adc_reset(&stmts);                                          // forget the records, keep every chunk
 *   adc_free(&stmts);                                           // frees the nested arguments too
 *
 * A stream is a list of chunks, each holding cap records of one or two lanes (structure of arrays: a record's
 * fields of lane 0 are contiguous with the next record's, lane 1 follows lane 0 in the same allocation). The
 * first chunk holds first_cap records, each next one twice as many, up to max_cap; a record is never moved once
 * written, and adc_reset keeps every chunk for the next recording (adc_shrink frees all but the first). A group of
 * records reserved together (adc_reserve(s, n), n <= first_cap) never straddles two chunks, so a reader gets them
 * as one array; the chunk it did not fit in keeps a short unused tail that readers skip. Every allocation goes through ad_malloc,
 * ad_realloc and ad_free (ad.h); a failed one returns AD_ENOMEM and leaves the stream as it was.
 *
 * Nesting (CoDiPack's ChunkedData with a nested data stream): adc_nest(outer, inner) makes every chunk of outer
 * record the position of inner when the outer chunk was entered. A tape whose statements say how many arguments
 * each has walks both streams backwards together, and can start a reverse walk in the middle: the outer chunk
 * says where inner stood at its start. adc_reset, adc_shrink and adc_free on the outer stream act on the nested
 * ones too (reset: nested streams first, so the recorded positions are those of empty streams).
 *
 * Numbering. Records are numbered from spec.origin in writing order (unused tails get no number; a chunk's first
 * record has number chunk.first), or, with spec.addr_shift > 0, chunk k's records are numbered from
 * k << addr_shift, so a number gives its chunk and offset with one shift and one mask (adc_chunk_at finds chunk k
 * in the stream's directory; the short early chunks leave unnumbered gaps).
 *
 * The write cursor (used, cap, lane) is public so that engines' inline recording can push records with one
 * comparison and one store per stream; treat the rest as opaque. Not thread-safe.
 */
#ifndef AD_CHUNK_H
#define AD_CHUNK_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "ad.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { ADC_LANES = 2, ADC_MAX_NESTED = 2 };

typedef struct adc_chunk adc_chunk;

/* A position in a stream: a chunk and the records before the position in it. */
typedef struct adc_pos {
  adc_chunk *chunk;
  size_t off;
} adc_pos;

struct adc_chunk {
  adc_chunk *prev, *next;
  size_t cap;                     /* records it holds */
  size_t used;                    /* records written; valid for chunks behind the write cursor, or after adc_seal */
  size_t bytes;                   /* allocation size, this header included */
  uint64_t first;                 /* number of its first record */
  uint32_t seq;                   /* its place in the stream: 0, 1, ... */
  adc_pos nested[ADC_MAX_NESTED]; /* where each nested stream stood when this chunk was entered */
  void *lane[ADC_LANES];          /* lane 0 starts ADC_HEADER bytes after the chunk; lane 1 (if any) follows it */
};

/* Lane 0 of every chunk starts this many bytes after the chunk (16-byte aligned), so code that finds chunks by
 * number (adc_chunk_at) reaches a record with one load: adc_chunk_data(c) + offset. */
#define ADC_HEADER ((sizeof(adc_chunk) + 15u) & ~(size_t)15u)
AD_INLINE void *adc_chunk_data(const adc_chunk *c) { return (char *)(uintptr_t)c + ADC_HEADER; }

/* How a stream's records are laid out and its chunks grow. */
typedef struct adc_spec {
  size_t lane_size[ADC_LANES]; /* bytes per record in lane 0 and lane 1 (0: one lane) */
  size_t first_cap;            /* records in the first chunk (> 0) */
  size_t max_cap;              /* largest chunk, in records (>= first_cap) */
  unsigned addr_shift;         /* > 0: chunk k is numbered from k << addr_shift (max_cap must be 1 << addr_shift) */
  uint64_t origin;             /* number of the first record when addr_shift is 0 */
} adc_spec;

typedef struct adc_stream {
  /* The write cursor, read by inline recording code. */
  size_t used;           /* records written in the current chunk (or in the sink, after a failure) */
  size_t cap;            /* records the current chunk (or the sink) holds */
  void *lane[ADC_LANES]; /* the current chunk's lanes */
  uint64_t first;        /* number of the current chunk's first record */
  /* The rest. */
  adc_chunk *head, *cur;
  adc_chunk **dir; /* every chunk, by seq */
  uint32_t n_chunks, dir_cap;
  int sunk;        /* writes go to a sink since a failure (adc_sink), until adc_reset */
  unsigned n_nested;
  struct adc_stream *nested[ADC_MAX_NESTED];
  adc_spec spec;
} adc_stream;

/* ---- Lifetime ----------------------------------------------------------------------------------------------- */

/* Sets up s with the layout of spec and allocates its first chunk. Returns AD_OK, AD_ENOMEM (s then holds
 * nothing: adc_free on it is a no-op), or AD_EINVAL for a spec that breaks the rules above. */
ad_status adc_init(adc_stream *s, const adc_spec *spec);
/* Frees every chunk of s and of the streams nested in it; s holds nothing afterwards (a second call is a no-op).
 * NULL is ignored. */
void adc_free(adc_stream *s);
/* Forgets every record of s and of its nested streams (the nested first), keeps every chunk, ends a sink.
 * NULL is ignored. */
void adc_reset(adc_stream *s);
/* Frees every chunk but the first (of s and its nested streams), and the grown chunk directory, then resets.
 * NULL is ignored. */
void adc_shrink(adc_stream *s);
/* Makes inner a nested stream of outer: from now on, every chunk outer enters records inner's position (the
 * current chunk of outer records it now). At most ADC_MAX_NESTED; returns AD_EINVAL beyond that or for NULL. */
ad_status adc_nest(adc_stream *outer, adc_stream *inner);

/* ---- Writing ------------------------------------------------------------------------------------------------ */

/* Moves the write cursor to a chunk with room for n records (the next chunk, allocated if there is none), first
 * recording how far the current chunk is filled. For adc_reserve's slow path; call it when fewer than n records are
 * left. Returns AD_OK; AD_ENOMEM if a chunk or the directory cannot be allocated, AD_ERANGE if n exceeds first_cap
 * (the largest group every chunk can hold); the stream is then unchanged: every record written stays readable.
 * AD_ESTATE while sunk. Engines whose record
 * numbers are 32-bit check their own limit before calling it. */
ad_status adc_grow(adc_stream *s, size_t n);

/* Room for n records in the current chunk: AD_OK, or adc_grow's status. */
AD_INLINE ad_status adc_reserve(adc_stream *s, size_t n) {
  return AD_LIKELY(s->cap - s->used >= n) ? AD_OK : adc_grow(s, n);
}

/* Takes n reserved records and returns the offset of the first in the current chunk's lanes. The caller must
 * have made room (adc_reserve). */
AD_INLINE size_t adc_push(adc_stream *s, size_t n) {
  size_t o = s->used;
  s->used = o + n;
  return o;
}

/* The current chunk's lanes as typed arrays (write at the offset adc_push returned). */
#define ADC_LANE(s, T) ((T *)(s)->lane[0])
#define ADC_LANE1(s, T) ((T *)(s)->lane[1])

/* After a failure the recording code may go on writing harmlessly: points the write cursor at the caller's scratch
 * lanes (cap records each; lane 1 may be NULL for a one-lane stream) and marks s sunk. Records written before stay
 * (adc_count counts them, readers see them); what goes to the sink is never read. Until adc_reset, adc_grow
 * returns AD_ESTATE and the caller sinks again. */
void adc_sink(adc_stream *s, void *lane0, void *lane1, size_t cap);

/* Records how far the current chunk is filled (its `used`), so that readers may walk up to the write cursor.
 * A no-op while sunk (the count was recorded when the sink began). */
void adc_seal(adc_stream *s);

/* ---- Positions and counts ------------------------------------------------------------------------------------ */

/* The write cursor's position (while sunk: where the real records end). */
adc_pos adc_tell(const adc_stream *s);
/* The number of the record at position p (or of the next record, at the end of a chunk's records). */
AD_INLINE uint64_t adc_number(adc_pos p) { return p.chunk->first + p.off; }
/* The number the next record written will get (while sunk: the first number after the real records). */
uint64_t adc_next_number(const adc_stream *s);
/* Records written since the last reset (tails skipped, sink excluded). */
uint64_t adc_count(const adc_stream *s);
/* Bytes allocated by s: chunks with their headers, and the chunk directory (nested streams not included). */
uint64_t adc_bytes_held(const adc_stream *s);
/* Chunk k (seq k) of s, or NULL past the last allocated chunk. */
AD_INLINE adc_chunk *adc_chunk_at(const adc_stream *s, uint32_t k) { return k < s->n_chunks ? s->dir[k] : NULL; }
/* Moves the write cursor back to p, an earlier position of s (at most its chunk's cap): records after it are
 * forgotten, chunks are kept for reuse; the chunks before p keep their counts. Nested streams are not moved.
 * Ends a sink. */
void adc_rewind(adc_stream *s, adc_pos p);

/* ---- Reading: cursors that walk forwards or backwards ------------------------------------------------------- */

/* A read cursor: a chunk, the offset in it, and its lanes. Seal the stream (adc_seal) before walking forwards into
 * the chunk being written. */
typedef struct adc_reader {
  adc_chunk *chunk;
  size_t off;
  void *lane[ADC_LANES];
} adc_reader;

/* A cursor at position p. */
AD_INLINE adc_reader adc_reader_at(adc_pos p) {
  adc_reader r;
  r.chunk = p.chunk;
  r.off = p.off;
  r.lane[0] = p.chunk->lane[0];
  r.lane[1] = p.chunk->lane[1];
  return r;
}
/* A cursor at the first record of s, and one after its last (for walking backwards). */
AD_INLINE adc_reader adc_reader_begin(const adc_stream *s) {
  adc_pos p;
  p.chunk = s->head;
  p.off = 0;
  return adc_reader_at(p);
}
AD_INLINE adc_reader adc_reader_end(const adc_stream *s) { return adc_reader_at(adc_tell(s)); }

/* Internal: the cursor's step into the next or previous chunk. Inline, so that a sweep calling it keeps its
 * floating-point state in registers (a call would force them to memory around it). */
AD_INLINE void adc__step_fwd(adc_reader *r) {
  adc_chunk *c = r->chunk->next;
  assert(c && "read past the last record");
  r->chunk = c;
  r->off = 0;
  r->lane[0] = c->lane[0];
  r->lane[1] = c->lane[1];
}
AD_INLINE void adc__step_back(adc_reader *r) {
  adc_chunk *c = r->chunk->prev;
  assert(c && "read before the first record");
  r->chunk = c;
  r->off = c->used;
  r->lane[0] = c->lane[0];
  r->lane[1] = c->lane[1];
}

/* Read and advance: the offset (in r's lanes) of the next group of n records, which were reserved together;
 * steps into the next chunk first if the current one's records are used up. Walking past the last record is a
 * broken invariant (assert). */
AD_INLINE size_t adc_fwd(adc_reader *r, size_t n) {
  while (AD_UNLIKELY(r->off == r->chunk->used)) adc__step_fwd(r);
  size_t o = r->off;
  r->off = o + n;
  return o;
}
/* Retreat and read: the offset of the group of n records before the cursor (reserved together), stepping into
 * the previous chunk first if the cursor is at the start of one. */
AD_INLINE size_t adc_back(adc_reader *r, size_t n) {
  while (AD_UNLIKELY(r->off == 0)) adc__step_back(r);
  r->off -= n;
  return r->off;
}
/* 1 if a record lies before the cursor (a backward walk can go on). */
AD_INLINE int adc_reader_more_back(const adc_reader *r) {
  for (const adc_chunk *c = r->chunk; c; c = c->prev)
    if (c == r->chunk ? r->off > 0 : c->used > 0) return 1;
  return 0;
}
/* The number of the record at the cursor. */
AD_INLINE uint64_t adc_reader_number(const adc_reader *r) { return r->chunk->first + r->off; }

/* The reader's current lanes as typed arrays. Take the offset (adc_fwd, adc_back) in a statement of its own first:
 * the lanes change when the cursor steps into another chunk. */
#define ADC_RLANE(r, T) ((T *)(r)->lane[0])
#define ADC_RLANE1(r, T) ((T *)(r)->lane[1])

#ifdef __cplusplus
}
#endif
#endif
