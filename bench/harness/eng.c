/* eng.c: the engine registry. */
#include "eng.h"
#include "../peers/peers.h" /* PEER_LIST: the peer AD tools built in (none by default) */

#include <string.h>

const eng_api *const eng_all[] = {
#define ENG__X(name) &eng_##name,
    ENG_LIST(ENG__X)
    PEER_LIST(ENG__X)
#undef ENG__X
};
const int eng_count = (int)(sizeof eng_all / sizeof eng_all[0]);
const int eng_own_count = 0
#define ENG__X(name) +1
    ENG_LIST(ENG__X)
#undef ENG__X
    ;

const eng_api *eng_find(const char *name) {
  for (int i = 0; i < eng_count; ++i)
    if (name && strcmp(eng_all[i]->name, name) == 0) return eng_all[i];
  return NULL;
}

int eng_is_peer(const eng_api *e) { return e && e->tool; }

const char *eng_skip_reason(const eng_api *e, const wl_info *w, int size) {
  if (!e || !w || !e->tool) return NULL;
  if (wl_is_tensor(w) && !e->tensors) return "no tensor form in this peer's adapter";
  if (!e->skip) return NULL;
  return e->skip(w, size);
}
