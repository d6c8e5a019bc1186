/* graph_array.h: arrays for the graph engine, for now the fallback over its scalar ops (ad_array_generic.h): one
 * graph variable per element, correct and bit-identical with the native engines, at the scalar engine's cost.
 * Native graph arrays are the next step (design: ad_array.h).
 *
 *   #include "graph/graph_array.h"
 *   ad_arr X = ad_arr_stack(c, x, n);
 *   ad_t f = ad_arr_sum(c, ad_arr_sqr(c, X));
 *   if (ad_arr_status(c) != AD_OK) ...       // the thread's current arena holds the elements (ad_array.h)
 */
#ifndef GRAPH_ARRAY_H
#define GRAPH_ARRAY_H

#include "graph_ops.h"
#include "../ad_array_generic.h"

#endif
