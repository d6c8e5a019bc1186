/* ad_chunk.c: chunked streams of fixed-size records (see ad_chunk.h). */
#include "ad_chunk.h"

#include <assert.h>
#include <string.h>

enum { ADC_FIRST_DIR = 8 };

static size_t round16(size_t n) { return (n + 15u) & ~(size_t)15u; }

/* Capacity of chunk seq k: first_cap doubled k times, up to max_cap. */
static size_t cap_for(const adc_spec *sp, uint32_t k) {
  size_t cap = sp->first_cap;
  for (uint32_t i = 0; i < k && cap < sp->max_cap; ++i) cap = cap * 2 < sp->max_cap ? cap * 2 : sp->max_cap;
  return cap;
}

static adc_chunk *chunk_new(const adc_spec *sp, size_t cap, uint32_t seq) {
  size_t lane0 = round16(cap * sp->lane_size[0]);
  size_t bytes = ADC_HEADER + lane0 + cap * sp->lane_size[1];
  adc_chunk *c = (adc_chunk *)ad_malloc(bytes);
  if (!c) return NULL;
  memset(c, 0, sizeof *c);
  c->cap = cap;
  c->bytes = bytes;
  c->seq = seq;
  c->lane[0] = adc_chunk_data(c);
  c->lane[1] = sp->lane_size[1] ? (char *)c->lane[0] + lane0 : NULL;
  return c;
}

/* Points the write cursor at chunk c, offset off. */
static void point(adc_stream *s, adc_chunk *c, size_t off) {
  s->cur = c;
  s->used = off;
  s->cap = c->cap;
  s->lane[0] = c->lane[0];
  s->lane[1] = c->lane[1];
  s->first = c->first;
  s->sunk = 0;
}

/* Starts writing chunk c from its beginning, recording where the nested streams stand. */
static void enter(adc_stream *s, adc_chunk *c) {
  point(s, c, 0);
  for (unsigned i = 0; i < s->n_nested; ++i) c->nested[i] = adc_tell(s->nested[i]);
}

ad_status adc_init(adc_stream *s, const adc_spec *spec) {
  if (!s) return AD_EINVAL;
  memset(s, 0, sizeof *s);
  if (!spec || spec->lane_size[0] == 0 || spec->first_cap == 0 || spec->max_cap < spec->first_cap ||
      (spec->addr_shift && (spec->addr_shift >= 64 || spec->max_cap != (size_t)1 << spec->addr_shift)))
    return AD_EINVAL;
  s->spec = *spec;
  s->dir = (adc_chunk **)ad_malloc(ADC_FIRST_DIR * sizeof *s->dir);
  s->head = s->dir ? chunk_new(spec, spec->first_cap, 0) : NULL;
  if (!s->head) {
    ad_free(s->dir, ADC_FIRST_DIR * sizeof *s->dir);
    memset(s, 0, sizeof *s);
    return AD_ENOMEM;
  }
  s->dir_cap = ADC_FIRST_DIR;
  s->dir[0] = s->head;
  s->n_chunks = 1;
  s->head->first = spec->addr_shift ? 0 : spec->origin;
  enter(s, s->head);
  return AD_OK;
}

static void free_chunks(adc_chunk *c) {
  while (c) {
    adc_chunk *n = c->next;
    ad_free(c, c->bytes);
    c = n;
  }
}

void adc_free(adc_stream *s) {
  if (!s) return;
  for (unsigned i = 0; i < s->n_nested; ++i) adc_free(s->nested[i]);
  free_chunks(s->head);
  ad_free(s->dir, s->dir_cap * sizeof *s->dir);
  memset(s, 0, sizeof *s);
}

void adc_reset(adc_stream *s) {
  if (!s || !s->head) return;
  for (unsigned i = 0; i < s->n_nested; ++i) adc_reset(s->nested[i]);
  enter(s, s->head);
}

void adc_shrink(adc_stream *s) {
  if (!s || !s->head) return;
  for (unsigned i = 0; i < s->n_nested; ++i) adc_shrink(s->nested[i]);
  free_chunks(s->head->next);
  s->head->next = NULL;
  s->n_chunks = 1;
  if (s->dir_cap > ADC_FIRST_DIR) { /* a smaller block: if even that fails, the larger directory is kept */
    adc_chunk **d = (adc_chunk **)ad_realloc(s->dir, s->dir_cap * sizeof *d, ADC_FIRST_DIR * sizeof *d);
    if (d) {
      s->dir = d;
      s->dir_cap = ADC_FIRST_DIR;
    }
  }
  enter(s, s->head);
}

ad_status adc_nest(adc_stream *outer, adc_stream *inner) {
  if (!outer || !inner || !outer->head || !inner->head || outer == inner || outer->n_nested >= ADC_MAX_NESTED)
    return AD_EINVAL;
  outer->nested[outer->n_nested++] = inner;
  outer->cur->nested[outer->n_nested - 1] = adc_tell(inner);
  return AD_OK;
}

ad_status adc_grow(adc_stream *s, size_t n) {
  if (s->sunk) return AD_ESTATE;
  if (n > s->spec.first_cap) return AD_ERANGE; /* every chunk holds at least first_cap records */
  adc_chunk *cur = s->cur;
  adc_chunk *c = cur->next;
  if (!c) {
    uint32_t k = cur->seq + 1;
    if (k == UINT32_MAX) return AD_ERANGE;
    if (k == s->dir_cap) { /* the directory first: a failure then leaves no chunk unlisted */
      adc_chunk **d = (adc_chunk **)ad_realloc(s->dir, s->dir_cap * sizeof *d, 2 * (size_t)s->dir_cap * sizeof *d);
      if (!d) return AD_ENOMEM;
      s->dir = d;
      s->dir_cap *= 2;
    }
    c = chunk_new(&s->spec, cap_for(&s->spec, k), k);
    if (!c) return AD_ENOMEM;
    c->prev = cur;
    cur->next = c;
    s->dir[k] = c;
    s->n_chunks = k + 1;
  }
  cur->used = s->used;
  c->first = s->spec.addr_shift ? (uint64_t)c->seq << s->spec.addr_shift : cur->first + cur->used;
  c->used = 0;
  enter(s, c);
  return AD_OK;
}

void adc_sink(adc_stream *s, void *lane0, void *lane1, size_t cap) {
  if (!s->sunk) s->cur->used = s->used;
  s->sunk = 1;
  s->used = 0;
  s->cap = cap;
  s->lane[0] = lane0;
  s->lane[1] = lane1;
}

void adc_seal(adc_stream *s) {
  if (s->head && !s->sunk) s->cur->used = s->used;
}

adc_pos adc_tell(const adc_stream *s) {
  adc_pos p;
  p.chunk = s->cur;
  p.off = s->sunk ? s->cur->used : s->used;
  return p;
}

uint64_t adc_next_number(const adc_stream *s) { return adc_number(adc_tell(s)); }

uint64_t adc_count(const adc_stream *s) {
  if (!s->head) return 0;
  uint64_t n = 0;
  for (const adc_chunk *c = s->head; c != s->cur; c = c->next) n += c->used;
  return n + adc_tell(s).off;
}

uint64_t adc_bytes_held(const adc_stream *s) {
  uint64_t n = (uint64_t)s->dir_cap * sizeof *s->dir;
  for (const adc_chunk *c = s->head; c; c = c->next) n += c->bytes;
  return n;
}

void adc_rewind(adc_stream *s, adc_pos p) {
  assert(p.chunk && p.off <= p.chunk->cap && "rewind to a position of this stream");
  point(s, p.chunk, p.off);
}
