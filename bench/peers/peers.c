/* peers.c: the registry of peer AD tools built into this binary (empty when none was found). */
#include "peers.h"

#include <stddef.h>

#define PEER__X(name) extern const peer_info peer_info_##name;
PEER_LIST(PEER__X)
#undef PEER__X

const peer_info *const peer_all[] = {
#define PEER__X(name) &peer_info_##name,
    PEER_LIST(PEER__X)
#undef PEER__X
    NULL};
const int peer_count = (int)(sizeof peer_all / sizeof peer_all[0]) - 1;

const peer_info *peer_find(const eng_api *e) {
  for (int i = 0; e && i < peer_count; ++i)
    if (peer_all[i]->eng == e) return peer_all[i];
  return NULL;
}

const char *peer_skip_reason(const eng_api *e, const wl_info *w, int size) {
  const peer_info *p = peer_find(e);
  if (!p || !w) return NULL;
  return p->skip ? p->skip(w, size) : NULL;
}
