/* test_seed: the seed's exact gradients on every engine of eng_all. y = (x + w) (w + 1) at x = 2, w = 1:
 * y = 6, dy/dx = 2, dy/dw = 5, all exact in floating point, so every engine must produce them exactly through
 * every entry of eng_api it has: value, jacobian, jvp (forward engines, along each unit vector and along
 * (1, 1)), vjp (reverse engines, with w = 1 and w = 3, repeated on one recording) and replay (static-graph
 * engines, at the recorded point and at x = 3, w = -2 where y = 1 (-1) = -1, dy/dx = -1, dy/dw = 0). The
 * primal engine computes values only: its jacobian refuses with AD_ESTATE. The workload's hand-written gradient
 * gives the same numbers.
 */
#include <stdio.h>
#include <string.h>

#include "eng.h"
#include "wl.h"

#include "testkit.h"

int main(void) {
  const wl_info *w = wl_find("seed");
  if (!w) {
    fprintf(stderr, "test_seed: no seed workload\n");
    return 1;
  }
  double x[2], data[1] = {0};
  w->init(1, 42, x, data);
  CHECKF(x[0] == 2.0 && x[1] == 1.0, "seed inputs (%g, %g), expected (2, 1)", x[0], x[1]);
  double fm = 0, gm[2] = {0, 0};
  w->manual(1, data, x, &fm, gm);
  CHECKF(fm == 6.0 && gm[0] == 2.0 && gm[1] == 5.0, "manual: y = %g, gradient (%g, %g)", fm, gm[0], gm[1]);

  int derivative_engines = 0;
  for (int k = 0; k < eng_own_count; ++k) {
    const eng_api *e = eng_all[k];
    eng_session *s = e->open(w, 1, data);
    CHECKF(s != NULL, "%s: open", e->name);
    if (!s) continue;
    double y = 0, J[2] = {0, 0};
    ad_status st = e->value(s, x, &y);
    CHECKF(st == AD_OK && y == 6.0, "%s: value %s, y = %.17g", e->name, ad_status_str(st), y);
    st = e->jacobian(s, x, &y, J);
    if (e->kind == ENG_PRIMAL) {
      CHECKF(st == AD_ESTATE, "%s: jacobian gave %s, expected refusal (AD_ESTATE)", e->name, ad_status_str(st));
      e->close(s);
      continue;
    }
    derivative_engines++;
    CHECKF(st == AD_OK && y == 6.0 && J[0] == 2.0 && J[1] == 5.0,
           "%s: jacobian %s, y = %.17g, dy/dx = %.17g (2), dy/dw = %.17g (5)", e->name, ad_status_str(st), y, J[0],
           J[1]);
    if (e->jvp) {
      static const double dirs[3][2] = {{1, 0}, {0, 1}, {1, 1}};
      static const double want[3] = {2, 5, 7};
      for (int d = 0; d < 3; ++d) {
        double jv = 0;
        y = 0;
        st = e->jvp(s, x, dirs[d], &y, &jv);
        CHECKF(st == AD_OK && y == 6.0 && jv == want[d], "%s: jvp along (%g, %g): %s, y = %g, Jv = %.17g (%g)",
               e->name, dirs[d][0], dirs[d][1], ad_status_str(st), y, jv, want[d]);
      }
    }
    if (e->vjp) {
      st = e->value(s, x, &y);
      for (int rep = 0; rep < 2; ++rep) { /* repeated on the same recording */
        double one = 1.0, three = 3.0, wJ[2] = {0, 0};
        st = e->vjp(s, &one, wJ);
        CHECKF(st == AD_OK && wJ[0] == 2.0 && wJ[1] == 5.0, "%s: vjp (w = 1) %s: (%.17g, %.17g)", e->name,
               ad_status_str(st), wJ[0], wJ[1]);
        st = e->vjp(s, &three, wJ);
        CHECKF(st == AD_OK && wJ[0] == 6.0 && wJ[1] == 15.0, "%s: vjp (w = 3) %s: (%.17g, %.17g)", e->name,
               ad_status_str(st), wJ[0], wJ[1]);
      }
    }
    if (e->replay) {
      double x2[2] = {3.0, -2.0};
      st = e->jacobian(s, x, &y, J); /* record at (2, 1) */
      st = e->replay(s, x, &y, J);
      CHECKF(st == AD_OK && y == 6.0 && J[0] == 2.0 && J[1] == 5.0, "%s: replay at (2, 1): %s, %g (%g, %g)",
             e->name, ad_status_str(st), y, J[0], J[1]);
      st = e->replay(s, x2, &y, J);
      CHECKF(st == AD_OK && y == -1.0 && J[0] == -1.0 && J[1] == 0.0, "%s: replay at (3, -2): %s, %g (%g, %g)",
             e->name, ad_status_str(st), y, J[0], J[1]);
    }
    e->close(s);
  }
  CHECKF(derivative_engines >= 2, "only %d derivative engines", derivative_engines);
  if (!tk_fails)
    printf("test_seed: y = 6, dy/dx = 2, dy/dw = 5 exactly on %d engines (%d computing derivatives)\n",
           eng_own_count, derivative_engines);
  return test_report("test_seed");
}
