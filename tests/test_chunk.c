/* test_chunk: the chunked-stream module (engines/ad_chunk.h) on its own.
 *  - growth:     chunk sizes double up to the cap; records keep their numbers; bytes_held is what was allocated;
 *  - groups:     records reserved together never straddle two chunks; forward and backward walks see every record;
 *  - reset:      keeps every chunk (recording the same again allocates nothing); shrink gives back all but the
 *                first chunk;
 *  - nested:     a statement stream nesting a two-lane argument stream (a small tape): each statement chunk
 *                records where the arguments stood; a reverse walk of both together, and one started mid-way
 *                from a recorded position, read back what was written;
 *  - numbering:  a stream numbered by chunk (addr_shift) finds record i at chunk i >> shift; rewind reuses chunks;
 *  - errors:     bad specs, oversized groups, too many nested streams, growing while sunk;
 *  - allocation failure at every point: the failing call returns AD_ENOMEM, every record written before stays
 *                readable, the sink absorbs later writes, and freeing gives back every byte.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ad.h"
#include "ad_chunk.h"

#include "testkit.h"

static int64_t bytes_now(void) { return ad_alloc_get_stats().bytes_now; }

/* The value written into record i (lane 0) and its index (lane 1). */
static double val_of(uint64_t i) { return 0.5 * (double)i + 1.0; }
static uint32_t idx_of(uint64_t i) { return (uint32_t)(i * 7u + 3u); }

static void test_growth(void) {
  int64_t base = bytes_now();
  adc_stream s;
  adc_spec sp = {{sizeof(double), sizeof(uint32_t)}, 4, 16, 0, 10};
  CHECKF(adc_init(&s, &sp) == AD_OK, "init");
  for (uint64_t i = 0; i < 100; ++i) {
    CHECKF(adc_reserve(&s, 1) == AD_OK, "reserve %llu", (unsigned long long)i);
    CHECKF(adc_next_number(&s) == 10 + i, "record %llu numbered %llu", (unsigned long long)i,
           (unsigned long long)adc_next_number(&s));
    size_t o = adc_push(&s, 1);
    ADC_LANE(&s, double)[o] = val_of(i);
    ADC_LANE1(&s, uint32_t)[o] = idx_of(i);
  }
  CHECKF(adc_count(&s) == 100, "count %llu", (unsigned long long)adc_count(&s));
  size_t want = 4;
  uint32_t k = 0;
  for (adc_chunk *c = s.head; c; c = c->next, ++k) {
    CHECKF(c->cap == want && c->seq == k && adc_chunk_at(&s, k) == c, "chunk %u: cap %zu, want %zu", k, c->cap, want);
    want = want * 2 < 16 ? want * 2 : 16;
  }
  CHECKF(k == s.n_chunks && k == 3 + (100 - 28 + 15) / 16, "%u chunks", k);
  CHECKF(adc_bytes_held(&s) == (uint64_t)(bytes_now() - base), "bytes_held %llu, allocated %lld",
         (unsigned long long)adc_bytes_held(&s), (long long)(bytes_now() - base));
  adc_seal(&s);
  adc_reader r = adc_reader_begin(&s);
  for (uint64_t i = 0; i < 100; ++i) {
    size_t o = adc_fwd(&r, 1);
    CHECKF(ADC_RLANE(&r, double)[o] == val_of(i) && ADC_RLANE1(&r, uint32_t)[o] == idx_of(i), "forward %llu",
           (unsigned long long)i);
  }
  r = adc_reader_end(&s);
  for (uint64_t i = 100; i-- > 0;) {
    CHECKF(adc_reader_more_back(&r), "more_back at %llu", (unsigned long long)i);
    size_t o = adc_back(&r, 1);
    CHECKF(adc_reader_number(&r) == 10 + i, "number %llu", (unsigned long long)adc_reader_number(&r));
    CHECKF(ADC_RLANE(&r, double)[o] == val_of(i) && ADC_RLANE1(&r, uint32_t)[o] == idx_of(i), "backward %llu",
           (unsigned long long)i);
  }
  CHECKF(!adc_reader_more_back(&r), "a record before the first");
  adc_free(&s);
  adc_free(&s); /* a second call is a no-op */
  CHECKF(bytes_now() == base, "leaked %lld bytes", (long long)(bytes_now() - base));
}

static void test_groups_reset_shrink(void) {
  int64_t base = bytes_now();
  adc_stream s;
  adc_spec sp = {{sizeof(uint32_t), 0}, 4, 64, 0, 0};
  CHECKF(adc_init(&s, &sp) == AD_OK, "init");
  int64_t first_bytes = bytes_now() - base;
  for (int round = 0; round < 2; ++round) {
    uint64_t allocs = ad_alloc_get_stats().allocs;
    uint32_t v = 0;
    for (int g = 0; g < 50; ++g) { /* groups of 3: the first chunk (4) takes one group and leaves a tail of 1 */
      CHECKF(adc_reserve(&s, 3) == AD_OK, "reserve");
      uint32_t *p = ADC_LANE(&s, uint32_t) + adc_push(&s, 3);
      for (int j = 0; j < 3; ++j) p[j] = v++;
    }
    CHECKF(s.head->used == 3, "first chunk used %zu", s.head->used);
    CHECKF(adc_count(&s) == 150, "count %llu (tails must not count)", (unsigned long long)adc_count(&s));
    if (round == 1) CHECKF(ad_alloc_get_stats().allocs == allocs, "recording again after reset allocated");
    adc_seal(&s);
    adc_reader r = adc_reader_begin(&s);
    for (uint32_t g = 0; g < 50; ++g) {
      const size_t o = adc_fwd(&r, 3); /* first: the lanes change when the cursor steps into another chunk */
      const uint32_t *p = ADC_RLANE(&r, uint32_t) + o;
      CHECKF(p[0] == 3 * g && p[2] == 3 * g + 2, "group %u forward", g);
    }
    r = adc_reader_end(&s);
    for (uint32_t g = 50; g-- > 0;) {
      const size_t o = adc_back(&r, 3);
      const uint32_t *p = ADC_RLANE(&r, uint32_t) + o;
      CHECKF(p[0] == 3 * g && p[2] == 3 * g + 2, "group %u backward", g);
    }
    int64_t held = bytes_now() - base;
    adc_reset(&s);
    CHECKF(adc_count(&s) == 0 && adc_next_number(&s) == 0, "reset: count %llu", (unsigned long long)adc_count(&s));
    CHECKF(bytes_now() - base == held && s.n_chunks > 1, "reset freed chunks");
  }
  adc_shrink(&s);
  CHECKF(bytes_now() - base == first_bytes && s.n_chunks == 1 && adc_count(&s) == 0, "shrink kept %lld of %lld",
         (long long)(bytes_now() - base), (long long)first_bytes);
  CHECKF(adc_bytes_held(&s) == (uint64_t)first_bytes, "bytes_held after shrink");
  adc_free(&s);
  CHECKF(bytes_now() == base, "leaked %lld bytes", (long long)(bytes_now() - base));
}

/* A small tape: statement i has i % 3 arguments (values val_of(j), indices idx_of(j) for a running j). */
typedef struct mini {
  adc_stream st, args;
} mini;

static ad_status mini_init(mini *m, size_t st_first, size_t arg_first) {
  adc_spec ss = {{1, 0}, st_first, 32, 0, 1};
  adc_spec as = {{sizeof(double), sizeof(uint32_t)}, arg_first, 64, 0, 0};
  memset(m, 0, sizeof *m);
  ad_status s = adc_init(&m->args, &as);
  if (s == AD_OK) s = adc_init(&m->st, &ss);
  if (s == AD_OK) s = adc_nest(&m->st, &m->args);
  if (s != AD_OK) {
    adc_free(&m->args);
    adc_free(&m->st);
  }
  return s;
}

/* Records statements [0, n); stops at the first failure and returns it, with *done the statements written. */
static ad_status mini_record(mini *m, uint64_t n, uint64_t *done) {
  uint64_t j = 0;
  *done = 0;
  for (uint64_t i = 0; i < n; ++i) {
    unsigned k = (unsigned)(i % 3);
    ad_status s = adc_reserve(&m->st, 1);
    if (s == AD_OK) s = adc_reserve(&m->args, k);
    if (s != AD_OK) return s;
    ADC_LANE(&m->st, uint8_t)[adc_push(&m->st, 1)] = (uint8_t)k;
    size_t o = adc_push(&m->args, k);
    for (unsigned a = 0; a < k; ++a, ++j) {
      ADC_LANE(&m->args, double)[o + a] = val_of(j);
      ADC_LANE1(&m->args, uint32_t)[o + a] = idx_of(j);
    }
    *done = i + 1;
  }
  return AD_OK;
}

/* Arguments of statements [0, n). */
static uint64_t mini_args(uint64_t n) { return n / 3 * 3 + (n % 3 == 2 ? 1 : 0); }

/* Walks statements top - 1, ..., 0 and their arguments backwards together from readers sr and ar; returns the
 * number of mismatches. */
static int mini_walk_back(adc_reader sr, adc_reader ar, uint64_t top) {
  int bad = 0;
  uint64_t j = mini_args(top);
  for (uint64_t i = top; i-- > 0;) {
    const size_t so = adc_back(&sr, 1);
    const uint8_t k = ADC_RLANE(&sr, uint8_t)[so];
    bad += adc_reader_number(&sr) != i + 1 || k != i % 3;
    if (!k) continue;
    size_t o = adc_back(&ar, k);
    for (unsigned a = k; a-- > 0;) {
      --j;
      bad += ADC_RLANE(&ar, double)[o + a] != val_of(j) || ADC_RLANE1(&ar, uint32_t)[o + a] != idx_of(j);
    }
  }
  return bad + (j != 0);
}

static void test_nested(void) {
  int64_t base = bytes_now();
  mini m;
  CHECKF(mini_init(&m, 4, 4) == AD_OK, "init");
  uint64_t done;
  CHECKF(mini_record(&m, 500, &done) == AD_OK && done == 500, "record");
  CHECKF(adc_count(&m.st) == 500 && adc_count(&m.args) == mini_args(500), "counts %llu %llu",
         (unsigned long long)adc_count(&m.st), (unsigned long long)adc_count(&m.args));
  CHECKF(mini_walk_back(adc_reader_end(&m.st), adc_reader_end(&m.args), 500) == 0, "reverse walk of both streams");
  /* Each statement chunk recorded where the arguments stood: the arguments before it equal the argument count of
   * the statements before it (tails excepted), and a reverse walk can start at the end of any statement chunk. */
  for (adc_chunk *c = m.st.head; c; c = c->next) {
    uint64_t before = c->first - 1; /* statements before the chunk */
    uint64_t args_before = 0;
    for (adc_chunk *a = m.args.head; a != c->nested[0].chunk; a = a->next) args_before += a->used;
    args_before += c->nested[0].off;
    CHECKF(args_before == mini_args(before), "chunk %u: %llu arguments before, want %llu", c->seq,
           (unsigned long long)args_before, (unsigned long long)mini_args(before));
    if (c == m.st.cur) continue;
    adc_pos sp = {c->next, 0}, ap = c->next->nested[0];
    uint64_t top = c->first - 1 + c->used;
    CHECKF(mini_walk_back(adc_reader_at(sp), adc_reader_at(ap), top) == 0, "reverse walk from statement %llu",
           (unsigned long long)top);
  }
  /* Reset resets the nested stream and records its new position. */
  adc_reset(&m.st);
  CHECKF(adc_count(&m.args) == 0 && m.st.head->nested[0].chunk == m.args.head && m.st.head->nested[0].off == 0,
         "reset of the outer stream resets the nested one");
  CHECKF(mini_record(&m, 77, &done) == AD_OK, "record again");
  CHECKF(mini_walk_back(adc_reader_end(&m.st), adc_reader_end(&m.args), 77) == 0, "reverse walk after reset");
  adc_shrink(&m.st);
  CHECKF(m.st.n_chunks == 1 && m.args.n_chunks == 1, "shrink of the outer stream shrinks the nested one");
  adc_free(&m.st); /* frees the nested stream too */
  CHECKF(bytes_now() == base, "leaked %lld bytes", (long long)(bytes_now() - base));
}

static void test_numbering(void) {
  int64_t base = bytes_now();
  adc_stream s;
  adc_spec sp = {{sizeof(uint64_t), 0}, 4, 16, 4, 0};
  CHECKF(adc_init(&s, &sp) == AD_OK, "init");
  uint64_t nums[60];
  for (int i = 0; i < 60; ++i) {
    CHECKF(adc_reserve(&s, 1) == AD_OK, "reserve");
    nums[i] = adc_next_number(&s);
    ADC_LANE(&s, uint64_t)[adc_push(&s, 1)] = (uint64_t)i;
  }
  for (int i = 0; i < 60; ++i) {
    uint64_t n = nums[i];
    adc_chunk *c = adc_chunk_at(&s, (uint32_t)(n >> 4));
    CHECKF(c && c->first == (n >> 4 << 4), "record %d: number %llu", i, (unsigned long long)n);
    CHECKF(c && ((uint64_t *)adc_chunk_data(c))[n & 15] == (uint64_t)i, "record %d found by number", i);
  }
  CHECKF(nums[3] == 3 && nums[4] == 16 && nums[12] == 32 && nums[28] == 48 && nums[44] == 64, "chunk numbering");
  /* Rewind to record 20 (in chunk 2): later chunks are kept, records before keep their numbers. */
  uint64_t allocs = ad_alloc_get_stats().allocs;
  adc_pos p = {adc_chunk_at(&s, 2), (size_t)(nums[20] - 32)};
  adc_rewind(&s, p);
  CHECKF(adc_next_number(&s) == nums[20], "after rewind the next number is %llu",
         (unsigned long long)adc_next_number(&s));
  for (int i = 20; i < 60; ++i) {
    CHECKF(adc_reserve(&s, 1) == AD_OK && adc_next_number(&s) == nums[i], "number after rewind");
    ADC_LANE(&s, uint64_t)[adc_push(&s, 1)] = (uint64_t)(1000 + i);
  }
  CHECKF(ad_alloc_get_stats().allocs == allocs, "rewind and record again allocated");
  CHECKF(((uint64_t *)adc_chunk_data(adc_chunk_at(&s, 0)))[2] == 2, "a record before the rewind changed");
  adc_free(&s);
  CHECKF(bytes_now() == base, "leaked %lld bytes", (long long)(bytes_now() - base));
}

static void test_errors(void) {
  adc_stream s, t, u, v;
  adc_spec bad0 = {{0, 0}, 4, 16, 0, 0}, bad1 = {{8, 0}, 0, 16, 0, 0}, bad2 = {{8, 0}, 32, 16, 0, 0},
           bad3 = {{8, 0}, 4, 16, 5, 0};
  CHECKF(adc_init(&s, &bad0) == AD_EINVAL, "record size 0");
  CHECKF(adc_init(&s, &bad1) == AD_EINVAL, "first chunk of 0 records");
  CHECKF(adc_init(&s, &bad2) == AD_EINVAL, "first chunk above the cap");
  CHECKF(adc_init(&s, &bad3) == AD_EINVAL, "addr_shift that does not match the cap");
  CHECKF(adc_init(&s, NULL) == AD_EINVAL && adc_init(NULL, &bad0) == AD_EINVAL, "NULL");
  adc_free(&s); /* nothing held: a no-op */
  adc_spec ok = {{8, 0}, 4, 16, 0, 0};
  CHECKF(adc_init(&s, &ok) == AD_OK && adc_init(&t, &ok) == AD_OK && adc_init(&u, &ok) == AD_OK &&
             adc_init(&v, &ok) == AD_OK,
         "init");
  CHECKF(adc_grow(&s, 5) == AD_ERANGE && adc_count(&s) == 0 && s.n_chunks == 1, "a group above first_cap");
  CHECKF(adc_push(&s, 1) == 0 && adc_reserve(&s, 4) == AD_OK && s.cap == 8 && s.head->used == 1,
         "a group that does not fit moves to the next chunk");
  CHECKF(adc_nest(&s, &s) == AD_EINVAL, "a stream nested in itself");
  CHECKF(adc_nest(&s, &t) == AD_OK && adc_nest(&s, &u) == AD_OK && adc_nest(&s, &v) == AD_EINVAL,
         "more than ADC_MAX_NESTED nested streams");
  static double scratch[4];
  adc_sink(&s, scratch, NULL, 4);
  CHECKF(adc_grow(&s, 1) == AD_ESTATE, "growing while sunk");
  adc_reset(&s);
  CHECKF(adc_reserve(&s, 1) == AD_OK && !s.sunk, "reset ends the sink");
  adc_free(&s); /* and t, u */
  adc_free(&v);
}

/* Records with the allocator failing after n allocations; returns 1 once nothing failed. */
static int fail_after(long n) {
  int64_t base = bytes_now();
  ad_alloc_fail_after(n);
  mini m;
  ad_status s = mini_init(&m, 2, 2);
  if (s != AD_OK) {
    ad_alloc_fail_after(-1);
    CHECKF(s == AD_ENOMEM, "init at %ld: %s", n, ad_status_str(s));
    CHECKF(bytes_now() == base, "init failing at %ld leaked %lld bytes", n, (long long)(bytes_now() - base));
    return 0;
  }
  uint64_t done;
  s = mini_record(&m, 300, &done);
  ad_alloc_fail_after(-1);
  int complete = s == AD_OK;
  CHECKF(s == AD_OK || s == AD_ENOMEM, "record at %ld: %s", n, ad_status_str(s));
  /* Every statement written before the failure stays readable; the sink absorbs what follows. */
  CHECKF(adc_count(&m.st) == done && adc_count(&m.args) == mini_args(done), "fail at %ld: %llu statements kept of %llu",
         n, (unsigned long long)adc_count(&m.st), (unsigned long long)done);
  if (!complete) {
    static uint8_t sink_st[8];
    static double sink_p[8];
    static uint32_t sink_i[8];
    adc_sink(&m.st, sink_st, NULL, 8);
    adc_sink(&m.args, sink_p, sink_i, 8);
    for (int i = 0; i < 5; ++i) {
      ADC_LANE(&m.st, uint8_t)[adc_push(&m.st, 1)] = 2;
      size_t o = adc_push(&m.args, 1);
      ADC_LANE(&m.args, double)[o] = -1.0;
      ADC_LANE1(&m.args, uint32_t)[o] = 0;
    }
    CHECKF(adc_count(&m.st) == done && adc_next_number(&m.st) == done + 1, "the sink changed the counts");
  }
  CHECKF(mini_walk_back(adc_reader_end(&m.st), adc_reader_end(&m.args), done) == 0,
         "fail at %ld: the records written before differ", n);
  adc_free(&m.st);
  CHECKF(bytes_now() == base, "fail at %ld: leaked %lld bytes", n, (long long)(bytes_now() - base));
  return complete;
}

static void test_alloc_failure(void) {
  long n = 0;
  while (!fail_after(n) && n < 1000) ++n;
  CHECKF(n > 4 && n < 1000, "allocation points: %ld", n);
}

int main(void) {
  test_growth();
  test_groups_reset_shrink();
  test_nested();
  test_numbering();
  test_errors();
  test_alloc_failure();
  return test_report("test_chunk");
}
