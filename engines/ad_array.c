/* ad_array.c: the arena and the array op tables (see ad_array.h). */
#include "ad_array.h"

#include <string.h>

struct ad_arena_chunk {
  ad_arena_chunk *next;
  size_t cap, used;
  size_t pad; /* header of 32 bytes: the data that follows is 32-byte aligned if the chunk is */
};

enum { AD_ARENA_FIRST = 1 << 16, AD_ARENA_ALIGN = 32 };

void ad_arena_init(ad_arena *a) { memset(a, 0, sizeof *a); }

void ad_arena_fail(ad_arena *a, ad_status s) {
  if (a && a->status == AD_OK) a->status = s;
}

static unsigned char *chunk_data(ad_arena_chunk *k) {
  uintptr_t p = (uintptr_t)(k + 1);
  return (unsigned char *)((p + AD_ARENA_ALIGN - 1) & ~(uintptr_t)(AD_ARENA_ALIGN - 1));
}

void *ad_arena_alloc(ad_arena *a, size_t n) {
  if (n > AD_ARENA_MAX) {
    ad_arena_fail(a, AD_ERANGE);
    return NULL;
  }
  n = (n + AD_ARENA_ALIGN - 1) & ~(size_t)(AD_ARENA_ALIGN - 1);
  for (ad_arena_chunk *k = a->cur; k; k = k->next) { /* the current chunk, then later ones kept by a reset */
    if (k->cap - k->used >= n) {
      void *p = chunk_data(k) + k->used;
      k->used += n;
      a->cur = k;
      a->used += n;
      return p;
    }
  }
  size_t last = 0;
  ad_arena_chunk *tail = a->head;
  while (tail && tail->next) tail = tail->next;
  if (tail) last = tail->cap;
  size_t cap = last ? 2 * last : AD_ARENA_FIRST;
  if (cap > ((size_t)1 << 30)) cap = (size_t)1 << 30;
  if (cap < n) cap = n;
  ad_arena_chunk *k = (ad_arena_chunk *)ad_malloc(sizeof *k + AD_ARENA_ALIGN + cap);
  if (!k) {
    ad_arena_fail(a, AD_ENOMEM);
    return NULL;
  }
  k->next = NULL;
  k->cap = cap;
  k->used = n;
  if (tail) tail->next = k;
  else a->head = k;
  a->cur = k;
  a->held += cap;
  a->used += n;
  return chunk_data(k);
}

void ad_arena_reset(ad_arena *a) {
  if (!a) return;
  for (ad_arena_chunk *k = a->head; k; k = k->next) k->used = 0;
  a->cur = a->head;
  a->used = 0;
  a->status = AD_OK;
}

void ad_arena_free(ad_arena *a) {
  if (!a) return;
  for (ad_arena_chunk *k = a->head, *nx; k; k = nx) {
    nx = k->next;
    ad_free(k, sizeof *k + AD_ARENA_ALIGN + k->cap);
  }
  memset(a, 0, sizeof *a);
}

static __thread ad_arena ad__own_arena; /* the thread's arena when no driver chose one */
static __thread ad_arena *ad__cur_arena;
ad_arena *ad_arena_default(void) { return ad__cur_arena ? ad__cur_arena : &ad__own_arena; }
ad_arena *ad_arena_use(ad_arena *a) {
  ad_arena *prev = ad__cur_arena;
  ad__cur_arena = a;
  return prev;
}

const char *const ad_aop_name[AD_AOP_COUNT] = {
#define AD_AOP(name, in, out, torch, doc) #name,
#include "ad_array_ops.def"
#undef AD_AOP
};
const char *const ad_aop_torch[AD_AOP_COUNT] = {
#define AD_AOP(name, in, out, torch, doc) torch,
#include "ad_array_ops.def"
#undef AD_AOP
};
const int ad_aop_arity[AD_AOP_COUNT] = {
#define AD_AOP(name, in, out, torch, doc) in,
#include "ad_array_ops.def"
#undef AD_AOP
};
const int ad_aop_array_out[AD_AOP_COUNT] = {
#define AD_AOP(name, in, out, torch, doc) out,
#include "ad_array_ops.def"
#undef AD_AOP
};
