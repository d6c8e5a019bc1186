/* eng.c: the engine registry. */
#include "eng.h"
#include "peers/peers.h" /* PEER_LIST: the peer AD tools built in (none by default) */

#include <math.h>
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

double eng_rel_err(const double *a, const double *b, size_t n) {
  double num = 0, den = 0;
  for (size_t i = 0; i < n; ++i) {
    double d = fabs(a[i] - b[i]);
    if (!(d <= num)) num = d; /* NaN wins */
    if (fabs(b[i]) > den) den = fabs(b[i]);
  }
  return den > 0 ? num / den : num;
}
