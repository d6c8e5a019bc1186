/* test_replay_misuse: a variable of another tape, or one kept across replay_shrink, gives AD_EFOREIGN instead of a
 * wrong gradient or an out-of-range read, and replay_value never reads out of range. */
#include <stdio.h>

#include "replay/replay_ops.h"

#include "testkit.h"

static void test_replay_misuse(void) {
  replay_t *t1 = replay_new(), *t2 = replay_new();
  CHECKF(t1 && t2, "replay_new");
  if (!t1 || !t2) return;
  /* a variable of another tape */
  replay_var x = replay_input(t1, 2.0), w = replay_input(t2, 3.0);
  replay_var y = ad_mul_vv(t2, w, x);
  CHECKF(replay_status(t2) == AD_EFOREIGN, "op with a variable of another tape: %s",
         ad_status_str(replay_status(t2)));
  CHECKF(replay_status(t1) == AD_OK, "t1 was not misused");
  (void)y;
  /* a stale index after replay_shrink */
  replay_reset(t1);
  replay_var big[3];
  big[0] = replay_input(t1, 1.0);
  replay_var acc = big[0];
  for (int i = 0; i < 100000; ++i) acc = ad_add_vc(t1, ad_mul_vc(t1, acc, 1.0), 0.0);
  replay_shrink(t1);
  replay_var z = replay_input(t1, 4.0);
  double v = replay_value(t1, acc); /* acc.i is far beyond the shrunk value vector */
  CHECKF(v == acc.v, "replay_value of a stale variable: %g, expected its recorded value %g", v, acc.v);
  replay_var r = ad_add_vv(t1, z, acc);
  CHECKF(replay_status(t1) == AD_EFOREIGN && r.i == 0, "op with a variable from before replay_shrink: %s",
         ad_status_str(replay_status(t1)));
  replay_free(t1);
  replay_free(t2);
}

int main(void) {
  test_replay_misuse();
  return test_report("test_replay_misuse");
}
