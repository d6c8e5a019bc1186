/* test_replay_alloc: allocation failure and NULL handling of the replayable tape and its engine adapter.
 * Every allocation the tape makes is made to fail in turn (ad_alloc_fail_after): creation returns NULL without
 * leaking, a recording reports AD_ENOMEM, keeps computing correct values, and refuses replays and sweeps; after a
 * reset the same tape records and replays correctly. Every public function accepts NULL. Byte counts return to
 * their starting point after every free. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "replay/replay_ops.h"
#include "eng.h"

#include "testkit.h"

static int64_t bytes_now(void) { return ad_alloc_get_stats().bytes_now; }

/* s <- 0.5 sin(s) + 0.25 u, n steps, a guard each step and an abs every 7th. */
static ad_t record(replay_t *t, int n, double x0, double x1, ad_t *in0, ad_t *in1) {
  ad_t s = *in0 = replay_input(t, x0);
  ad_t u = *in1 = replay_input(t, x1);
  for (int i = 0; i < n; ++i) {
    if (ad_lt_vc(t, s, 10.0)) s = ad_add_vv(t, ad_mul_vc(t, ad_sin(t, s), 0.5), ad_mul_vc(t, u, 0.25));
    if (i % 7 == 0) s = ad_sub_vc(t, ad_abs(t, ad_add_vc(t, s, 2.0)), 2.0);
  }
  return s;
}

static double manual_value(int n, double x0, double x1) {
  double s = x0;
  for (int i = 0; i < n; ++i) {
    s = ad_m_sincos(s).x * 0.5 + x1 * 0.25;
    if (i % 7 == 0) s = fabs(s + 2.0) - 2.0;
  }
  return s;
}

static void test_new(void) {
  int64_t base = bytes_now();
  int k = 0;
  replay_t *t = NULL;
  for (; k < 100 && !t; ++k) {
    ad_alloc_fail_after(k);
    t = replay_new();
    ad_alloc_fail_after(-1);
    if (!t) CHECKF(bytes_now() == base, "replay_new failing after %d allocations leaked %lld bytes", k,
                   (long long)(bytes_now() - base));
  }
  CHECKF(t != NULL && k > 1, "replay_new never succeeded or never failed (%d)", k);
  replay_free(t);
  CHECKF(bytes_now() == base, "replay_free left %lld bytes", (long long)(bytes_now() - base));
}

static void test_failed_recordings(void) {
  const int n = 30000;
  const double want = manual_value(n, 0.3, -0.7);
  int64_t base = bytes_now();
  int failed_runs = 0, k;
  for (k = 0; k < 200; ++k) {
    replay_t *t = replay_new();
    if (!t) {
      CHECKF(0, "replay_new");
      return;
    }
    ad_t i0, i1;
    ad_alloc_fail_after(k);
    ad_t y = record(t, n, 0.3, -0.7, &i0, &i1);
    ad_alloc_fail_after(-1);
    ad_status st = replay_status(t);
    /* The ops compute values whether or not the tape keeps up. */
    CHECKF(y.v == want, "fail after %d: value %.17g, want %.17g", k, y.v, want);
    if (st == AD_OK) {
      replay_free(t);
      break;
    }
    failed_runs++;
    CHECKF(st == AD_ENOMEM, "fail after %d: status %s", k, ad_status_str(st));
    double x[2] = {0.1, 0.2};
    CHECKF(replay_forward(t, x, 2) == AD_ESTATE, "replay of a failed recording");
    uint64_t fired = 0;
    CHECKF(replay_forward_unguarded(t, x, 2, &fired) == AD_ESTATE, "unguarded replay of a failed recording");
    double *adj = replay_adjoints(t);
    CHECKF(replay_reverse(t) == AD_ESTATE, "reverse of a failed recording");
    (void)adj;
    CHECKF(replay_value(t, y) == y.v, "value after a failed recording");
    CHECKF(replay_status(t) == AD_ENOMEM, "the status is sticky");
    /* The same tape, reset, records and replays. */
    replay_reset(t);
    y = record(t, n, 0.3, -0.7, &i0, &i1);
    CHECKF(replay_status(t) == AD_OK, "recording after reset: %s", ad_status_str(replay_status(t)));
    CHECKF(replay_forward(t, x, 2) == AD_OK, "replay after reset");
    CHECKF(replay_value(t, y) == manual_value(n, 0.1, 0.2), "replayed value after reset");
    adj = replay_adjoints(t);
    CHECKF(adj != NULL, "adjoints after reset");
    if (adj) {
      adj[y.i] = 1.0;
      CHECKF(replay_reverse(t) == AD_OK, "reverse after reset");
      CHECKF(isfinite(adj[i0.i]) && isfinite(adj[i1.i]) && adj[i1.i] != 0.0, "gradient after reset");
    }
    replay_free(t);
    CHECKF(bytes_now() == base, "fail after %d: %lld bytes leaked", k, (long long)(bytes_now() - base));
  }
  CHECKF(failed_runs >= 10 && k < 200, "failure injection reached %d allocation points, %d failed", k, failed_runs);
  printf("recording: a failure injected at each of its %d allocations, then none\n", failed_runs);

  /* The adjoint vector's allocation fails: NULL, AD_ENOMEM, and no sweep. */
  replay_t *t = replay_new();
  if (!t) return;
  ad_t i0, i1;
  record(t, 1000, 0.3, -0.7, &i0, &i1);
  ad_alloc_fail_after(0);
  double *adj = replay_adjoints(t);
  ad_alloc_fail_after(-1);
  CHECKF(adj == NULL && replay_status(t) == AD_ENOMEM, "adjoint allocation failure");
  CHECKF(replay_reverse(t) == AD_ESTATE, "reverse without adjoints");
  replay_free(t);
  CHECKF(bytes_now() == base, "%lld bytes leaked", (long long)(bytes_now() - base));
}

static void test_null(void) {
  replay_free(NULL);
  replay_reset(NULL);
  replay_shrink(NULL);
  replay_set_kink_guards(NULL, 0);
  replay_clear_adjoints(NULL);
  CHECKF(replay_status(NULL) == AD_EINVAL, "status");
  replay_stats s = replay_get_stats(NULL);
  CHECKF(s.statements == 0 && s.bytes_held == 0, "stats");
  double x = 1.0;
  uint64_t fired = 7;
  CHECKF(replay_forward(NULL, &x, 1) == AD_EINVAL, "forward");
  CHECKF(replay_forward_unguarded(NULL, &x, 1, &fired) == AD_EINVAL && fired == 0, "unguarded forward");
  CHECKF(replay_reverse(NULL) == AD_EINVAL, "reverse");
  CHECKF(replay_adjoints(NULL) == NULL, "adjoints");
  replay_guard g = replay_last_guard(NULL);
  CHECKF(g.op == 0 && g.code == 0, "last guard");
  char buf[8] = "x";
  CHECKF(replay_guard_message(NULL, buf, sizeof buf) == 0 && buf[0] == '\0', "message");
  CHECKF(strcmp(replay_guard_name(255), "?") == 0 && strcmp(replay_guard_name(0), "?") == 0, "name of a non-guard");
  replay_t *t = replay_new();
  if (t) {
    CHECKF(replay_forward_unguarded(t, NULL, 0, NULL) == AD_OK, "NULL fired count");
    CHECKF(replay_guard_message(t, NULL, 0) == (int)strlen("no guard fired"), "message length with no buffer");
    replay_free(t);
  }
}

/* The engine adapter: open fails cleanly, a failed recording is reported and cannot be replayed. */
static void test_adapter(void) {
  const wl_info *w = wl_find("rosenbrock");
  if (!w) {
    CHECKF(0, "no rosenbrock");
    return;
  }
  const int size = 5000;
  double x[5000], y, g[5000];
  w->init(size, 3, x, NULL);
  int64_t base = bytes_now();
  int opened_after = -1;
  for (int k = 0; k < 50; ++k) {
    ad_alloc_fail_after(k);
    eng_session *s = eng_replay.open(w, size, NULL);
    ad_alloc_fail_after(-1);
    if (s) {
      opened_after = k;
      eng_replay.close(s);
      break;
    }
    CHECKF(bytes_now() == base, "open failing after %d allocations leaked", k);
  }
  CHECKF(opened_after > 0, "open never failed or never succeeded");
  eng_session *s = eng_replay.open(w, size, NULL);
  if (!s) {
    CHECKF(0, "open");
    return;
  }
  ad_alloc_fail_after(2);
  ad_status st = eng_replay.value(s, x, &y);
  ad_alloc_fail_after(-1);
  CHECKF(st == AD_ENOMEM, "recording under failing allocation: %s", ad_status_str(st));
  CHECKF(eng_replay.replay(s, x, &y, g) == AD_ESTATE, "replay after a failed recording");
  CHECKF(eng_replay.jacobian(s, x, &y, g) == AD_OK, "recording again");
  CHECKF(eng_replay.replay(s, x, &y, g) == AD_OK, "replay");
  eng_replay.close(s);
  eng_replay.close(NULL);
  CHECKF(bytes_now() == base, "adapter leaked %lld bytes", (long long)(bytes_now() - base));
}

int main(void) {
  test_new();
  test_failed_recordings();
  test_null();
  test_adapter();
  return test_report("test_replay_alloc");
}
