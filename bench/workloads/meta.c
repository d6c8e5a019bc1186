/* meta.c: the engine-independent half of every workload (sizes, inputs, manual gradients) and the registry. */
#include <string.h>

#include "../../engines/ad.h"
#include "../harness/wl.h"

#define WL_META
#include "all.inc"

const wl_info *const wl_all[WL_COUNT] = {
#define WL__X(name) &wl_info_##name,
    WL_LIST(WL__X)
#undef WL__X
};

const wl_info *wl_find(const char *name) {
  for (int i = 0; i < WL_COUNT; ++i)
    if (name && strcmp(wl_all[i]->name, name) == 0) return wl_all[i];
  return NULL;
}

int wl_is_tensor(const wl_info *w) {
  size_t n = w && w->name ? strlen(w->name) : 0;
  return n > 2 && strcmp(w->name + n - 2, "_t") == 0;
}

double wl_elements(const wl_info *w, int size) {
  char base[64], twin[66];
  size_t n = w && w->name ? strlen(w->name) : 0;
  if (!n || n >= sizeof base) return 0;
  memcpy(base, w->name, n + 1);
  if (wl_is_tensor(w)) base[n - 2] = 0;
  memcpy(twin, base, strlen(base)), memcpy(twin + strlen(base), "_t", 3);
  if (!wl_find(twin)) return 0; /* neither a tensor form nor the twin of one */
  if (strcmp(base, "llsq") == 0) return (double)llsq_n(size) * LLSQ_M;
  if (strcmp(base, "mlp") == 0) return (double)mlp_h(size) * MLP_D;
  return w->n_in(size);
}

int wl_size_for_nodes(const wl_info *w, double nodes) {
  int lo = 1, hi = w->max_size;
  if (w->nodes(hi) < nodes) return hi;
  while (lo < hi) { /* nodes(size) is non-decreasing */
    int mid = lo + (hi - lo) / 2;
    if (w->nodes(mid) >= nodes) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
