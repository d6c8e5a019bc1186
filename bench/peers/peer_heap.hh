/* peer_heap.hh: heap bytes in use, for peers whose tools allocate with operator new / malloc and do not say how
 * much they hold (Sacado's Rad, libtorch).
 *
 *   size_t before = peer_heap_bytes();
 *   record();                                    // the tool allocates its graph
 *   size_t graph = peer_heap_bytes() - before;   // bytes the recording took
 *
 * glibc's mallinfo2: bytes in allocated chunks (uordblks) plus mmap'ed chunks (hblkhd), over all arenas. Under
 * AddressSanitizer, whose allocator does not fill it in, it reads 0.
 */
#ifndef PEER_HEAP_HH
#define PEER_HEAP_HH

#include <malloc.h>
#include <stddef.h>

static inline size_t peer_heap_bytes(void) {
  struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}

/* after - before, or 0 if the heap shrank meanwhile. */
static inline size_t peer_heap_delta(size_t before, size_t after) { return after > before ? after - before : 0; }

#endif
