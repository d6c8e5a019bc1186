/* test_peers: one peer AD tool (bench/peers/) against adlab's engines and the hand-written gradients.
 *
 *   test_peers adolc       exit 0 if the peer agrees everywhere, 1 on any failure or an unknown peer name,
 *                          77 (CTest: skipped) when that peer is not built into this binary, but 1 instead
 *                          in CI (CI=true) or with ADLAB_REQUIRE_PEERS=1, where every peer must run
 *
 * For every workload at its two check sizes and two input seeds:
 * the peer's value against the primal engine, its Jacobian against the tape engine and the manual gradient (all
 * to PEER_TOL, since peers use their own elementary functions); a forward peer's jvp and a reverse peer's vjp
 * (twice on one recording) against the tape engine's J v and w^T J; replay, where the peer has it, at new
 * inputs, and its guard on a changed branch. Then the recording's size (nodes and bytes per node within
 * bounds), sessions refused for sizes out of range and under failing allocation, and for ADOL-C that a tape
 * beyond its default buffers stays in memory.
 */
#include <assert.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eng.h"
#include "judge.h"
#include "peers/peers.h"
#include "testkit.h"
#include "wl.h"

typedef struct ref {
  double *x, *data, *y, *J, *gm; /* inputs, data, tape engine's value and Jacobian, manual gradient */
  int n, m;
  uint64_t nodes; /* statements the per-op tape (tape_op) recorded: one per op with an active operand */
} ref;

static void ref_free(ref *r) {
  free(r->x), free(r->data), free(r->y), free(r->J), free(r->gm);
  memset(r, 0, sizeof *r);
}

/* Inputs from seed (and the constant data too, unless data is given) and adlab's tape-engine Jacobian there;
 * 0 on failure. */
static int ref_make(ref *r, const wl_info *w, int size, uint64_t seed, const double *data) {
  memset(r, 0, sizeof *r);
  r->n = w->n_in(size), r->m = w->n_out(size);
  size_t nJ = (size_t)r->n * r->m;
  r->x = calloc((size_t)r->n, sizeof(double));
  r->data = calloc((size_t)w->n_data(size) + 1, sizeof(double));
  r->y = calloc((size_t)r->m, sizeof(double));
  r->J = calloc(nJ, sizeof(double));
  r->gm = calloc(nJ, sizeof(double));
  if (!r->x || !r->data || !r->y || !r->J || !r->gm) return 0;
  w->init(size, seed, r->x, r->data);
  if (data) memcpy(r->data, data, (size_t)w->n_data(size) * sizeof(double));
  const eng_api *tape = eng_find("tape");
  eng_session *s = tape->open(w, size, r->data);
  int ok = s && tape->jacobian(s, r->x, r->y, r->J) == AD_OK;
  tape->close(s);
  /* The node count: the preaccumulating tape folds one-operand ops, so count with the per-op tape. */
  const eng_api *op = eng_find("tape_op");
  double *y = (double *)calloc((size_t)r->m, sizeof(double));
  s = ok && y ? op->open(w, size, r->data) : NULL;
  ok = s && op->value(s, r->x, y) == AD_OK;
  if (ok) r->nodes = op->stats(s).statements;
  op->close(s);
  free(y);
  return ok;
}

/* Value, Jacobian, jvp or vjp, and replay of peer e on w at size, for inputs from seed. */
static void check_case(const eng_api *e, const wl_info *w, int size, uint64_t seed) {
  char what[256];
  ref r;
  if (!ref_make(&r, w, size, seed, NULL)) {
    CHECKF(0, "reference Jacobian from the tape engine");
    ref_free(&r);
    return;
  }
  int n = r.n, m = r.m;
  size_t nJ = (size_t)n * m;
  double *y = calloc((size_t)m, sizeof(double)), *J = calloc(nJ, sizeof(double));
  double *v = calloc((size_t)(n > m ? n : m), sizeof(double)), *out = calloc((size_t)(n > m ? n : m), sizeof(double));
  double *ref_out = calloc((size_t)(n > m ? n : m), sizeof(double)), *yp = calloc((size_t)m, sizeof(double));
  eng_session *s = e->open(w, size, r.data);
  snprintf(what, sizeof what, "%s: open %s at size %d", e->name, w->name, size);
  CHECKF(s && y && J && v && out && ref_out && yp, "%s", what);
  if (!s || !y || !J || !v || !out || !ref_out || !yp) goto done;

  /* value and Jacobian */
  ad_status st = e->jacobian(s, r.x, y, J);
  snprintf(what, sizeof what, "%s: jacobian on %s/%d returns AD_OK (got %s)", e->name, w->name, size,
           ad_status_str(st));
  CHECKF(st == AD_OK, "%s", what);
  double ey = jd_rel_err(y, r.y, (size_t)m), eJ = jd_rel_err(J, r.J, nJ);
  snprintf(what, sizeof what, "%s: value on %s/%d seed %llu within PEER_TOL of adlab's (err %.1e)", e->name,
           w->name, size, (unsigned long long)seed, ey);
  CHECKF(ey <= PEER_TOL, "%s", what);
  snprintf(what, sizeof what, "%s: Jacobian on %s/%d seed %llu within PEER_TOL of the tape engine's (err %.1e)",
           e->name, w->name, size, (unsigned long long)seed, eJ);
  CHECKF(eJ <= PEER_TOL, "%s", what);
  if (w->manual && m == 1) {
    double fm;
    w->manual(size, r.data, r.x, &fm, r.gm);
    double eg = jd_rel_err(J, r.gm, nJ);
    snprintf(what, sizeof what, "%s: gradient on %s/%d within PEER_TOL of the manual gradient (err %.1e)",
             e->name, w->name, size, eg);
    CHECKF(eg <= PEER_TOL, "%s", what);
  }

  /* a random direction for jvp, random weights for vjp */
  wl_rng rng = {seed ^ 0x5eedull};
  for (int j = 0; j < (n > m ? n : m); ++j) v[j] = wl_rng_uniform(&rng, -1.0, 1.0);
  if (e->jvp) {
    for (int i = 0; i < m; ++i) {
      double acc = 0;
      for (int j = 0; j < n; ++j) acc += r.J[(size_t)i * n + j] * v[j];
      ref_out[i] = acc;
    }
    st = e->jvp(s, r.x, v, yp, out);
    double err = jd_rel_err(out, ref_out, (size_t)m);
    snprintf(what, sizeof what, "%s: jvp on %s/%d agrees with J v (err %.1e)", e->name, w->name, size, err);
    CHECKF(st == AD_OK && err <= PEER_TOL, "%s", what);
  }
  if (e->vjp) {
    for (int j = 0; j < n; ++j) {
      double acc = 0;
      for (int i = 0; i < m; ++i) acc += v[i] * r.J[(size_t)i * n + j];
      ref_out[j] = acc;
    }
    st = e->value(s, r.x, yp);
    CHECKF(st == AD_OK, "value() before vjp returns AD_OK");
    for (int rep = 0; rep < 2; ++rep) { /* a vjp can be repeated on one recording */
      memset(out, 0, (size_t)n * sizeof(double));
      st = e->vjp(s, v, out);
      double err = jd_rel_err(out, ref_out, (size_t)n);
      snprintf(what, sizeof what, "%s: vjp #%d on %s/%d agrees with w^T J (err %.1e, %s)", e->name, rep + 1,
               w->name, size, err, ad_status_str(st));
      CHECKF(st == AD_OK && err <= PEER_TOL, "%s", what);
    }
  }
  if (e->replay) {
    /* at new inputs (same data): agreement where the control flow is unchanged, AD_EGUARD where it changed */
    ref r2;
    if (ref_make(&r2, w, size, seed + 1000, r.data)) {
      st = e->jacobian(s, r.x, y, J);
      st = st == AD_OK ? e->replay(s, r2.x, y, J) : st;
      double err = jd_rel_err(J, r2.J, nJ);
      snprintf(what, sizeof what, "%s: replay on %s/%d at new inputs: %s, err %.1e", e->name, w->name, size,
               ad_status_str(st), err);
      if (w->id == WL_branchy && size >= 100) CHECKF(st == AD_EGUARD, "%s", what); /* branches differ surely */
      else CHECKF((st == AD_OK && err <= PEER_TOL) || st == AD_EGUARD, "%s", what);
    } else {
      CHECKF(0, "reference at new inputs");
    }
    ref_free(&r2);
  }

  /* the recording's size: at least the per-op tape's statements, bytes per node within the tool's bounds */
  if (e->kind == ENG_REVERSE) {
    st = e->jacobian(s, r.x, yp, J);
    eng_stats es = e->stats(s); /* after a reverse sweep, as adcheck and the benchmarks call it */
    CHECKF(st == AD_OK && es.nodes > 0, "stats after a gradient");
    st = e->value(s, r.x, yp);
    es = e->stats(s);
    double per = es.nodes ? (double)es.bytes_used / (double)es.nodes : 0;
    int vectorised = !strcmp(e->name, "torch_vec"); /* a few tensor ops, each over a whole vector */
    if (vectorised && wl_is_tensor(w)) /* the per-op tape records array ops too: compare with the scalar count */
      r.nodes = (uint64_t)(w->nodes(size) + 0.5);
    if (vectorised) per = (double)es.bytes_used / (double)r.nodes; /* per scalar node of the workload */
    snprintf(what, sizeof what, "%s: %s/%d records %llu nodes, %s the per-op tape's %llu", e->name, w->name, size,
             (unsigned long long)es.nodes, vectorised ? "fewer than" : "at least", (unsigned long long)r.nodes);
    CHECKF(st == AD_OK && es.nodes > 0 && (vectorised ? es.nodes < r.nodes : es.nodes >= r.nodes), "%s", what);
    /* upper bound: 4096 bytes per node plus 64 KB of fixed first blocks (Sacado's two 8000-byte blocks, ...) */
    double cap = 4096.0 + 65536.0 / (double)(vectorised ? r.nodes : (es.nodes ? es.nodes : 1));
    snprintf(what, sizeof what, "%s: %s/%d uses %.0f bytes per node (bounds: %d to %.0f)", e->name, w->name, size,
             per, vectorised ? 0 : 8, cap);
#if defined(__SANITIZE_ADDRESS__)
    /* heap use comes from glibc's mallinfo2, which the sanitizer's allocator does not fill in */
    CHECKF(per <= cap, "%s", what);
#else
    CHECKF(per >= (vectorised ? 0 : 8) && per <= cap, "%s", what);
#endif
  }
done:
  e->close(s);
  free(y), free(J), free(v), free(out), free(ref_out), free(yp);
  ref_free(&r);
}

/* Each case evaluates about ten times; a medium size whose evaluation is estimated above this is left to
 * adcheck, to keep the test to seconds. */
#define TEST_BUDGET_MS 40.0

/* Rough cost of one evaluation (a recording, or a full forward Jacobian of n_in passes) on the reference
 * machine, from each tool's measured cost per node. */
static double est_ms(const eng_api *e, const wl_info *w, int size) {
  double ns = !strcmp(e->name, "torch")       ? 15000
              : !strcmp(e->name, "torch_vec") ? 5
              : e->kind == ENG_FORWARD        ? 25
                                              : 80;
  double work = w->nodes(size) * (e->kind == ENG_FORWARD ? w->n_in(size) : 1);
  return ns * work * 1e-6;
}

/* Sessions out of range and under failing allocation are refused, and the engine works afterwards. */
static void check_errors(const eng_api *e) {
  const wl_info *w = wl_find("rosenbrock");
  double data[1] = {0};
  CHECKF(e->open(w, w->max_size + 1, data) == NULL, "open refuses a size above the workload's maximum");
  CHECKF(e->open(w, 0, data) == NULL, "open refuses size 0");
  CHECKF(e->open(NULL, 4, data) == NULL, "open refuses a NULL workload");
  long first_ok = -1; /* allocation k fails: open must return NULL, until it needs fewer than k */
  for (long k = 0; k < 64 && first_ok < 0; ++k) {
    ad_alloc_fail_after(k);
    eng_session *s = e->open(w, 4, data);
    ad_alloc_fail_after(-1);
    if (s) first_ok = k;
    e->close(s);
  }
  CHECKF(first_ok > 0, "open returns NULL when adlab's first allocation fails, and succeeds once none fails");
  const char *why = eng_skip_reason(e, wl_find("chain"), wl_find("chain")->max_size);
  printf("%s at chain's largest size (%d nodes): %s\n", e->name, wl_find("chain")->max_size,
         why ? why : "runs");
  /* still usable after the refusals */
  ref r;
  int ok = ref_make(&r, w, 4, 1, NULL);
  eng_session *s = ok ? e->open(w, 4, r.data) : NULL;
  double y, g[4];
  CHECKF(s != NULL, "a session opens after refused ones");
  if (s) CHECKF(e->jacobian(s, r.x, &y, g) == AD_OK && jd_rel_err(g, r.J, 4) <= PEER_TOL, "and computes a gradient");
  e->close(s);
  ref_free(&r);
}

/* ADOL-C: a tape larger than its default buffers (524288 entries) is kept in memory, no file written. */
static int count_adolc_files(void) {
  int count = 0;
  DIR *d = opendir(".");
  struct dirent *de;
  while (d && (de = readdir(d)) != NULL)
    if (strncmp(de->d_name, "ADOLC-", 6) == 0) count++;
  if (d) closedir(d);
  return count;
}

static void check_adolc_in_memory(const eng_api *e) {
  const wl_info *w = wl_find("chain");
  int size = 700000;
  double x = 0.9, y, g, data[1] = {0}, fm, gm;
  int before = count_adolc_files();
  eng_session *s = e->open(w, size, data);
  CHECKF(s != NULL, "adolc: open chain at 7e5 nodes");
  if (!s) return;
  ad_status st = e->jacobian(s, &x, &y, &g);
  eng_stats es = e->stats(s);
  w->manual(size, data, &x, &fm, &gm);
  CHECKF(st == AD_OK && fabs(g - gm) <= PEER_TOL * fabs(gm), "adolc: gradient of a 7e5-node chain");
  CHECKF(es.nodes > 524288, "adolc: the tape exceeds ADOL-C's default buffer of 524288 operations");
  CHECKF(es.bytes_used <= es.bytes_held, "adolc: the recording fits the buffers it was given");
  CHECKF(count_adolc_files() == before, "adolc: no tape file written");
  printf("adolc: chain %d: %llu ops, %.1f bytes per op (tape in memory)\n", size, (unsigned long long)es.nodes,
         (double)es.bytes_used / (double)es.nodes);
  e->close(s);
}

/* ADOL-C: a small recording after a large one (whose location numbers it reuses, so its Taylor stack is as deep as
 * the large one's) still fits its buffers after a retry and gives the reference gradient: the reference sweep ran
 * every small size after a large one and lost them all to 'out of memory'. */
static void check_adolc_small_after_large(const eng_api *e) {
  const wl_info *w = wl_find("rosenbrock");
  int big = 125001;
  double *x = (double *)calloc((size_t)big, sizeof *x), *g = (double *)calloc((size_t)big, sizeof *g), y;
  double data[1] = {0};
  eng_session *s = x && g ? e->open(w, big, data) : NULL;
  CHECKF(s != NULL, "adolc: open rosenbrock at 125001");
  if (s) {
    for (int i = 0; i < big; ++i) x[i] = 0.5 + 0.25 * (i % 3);
    CHECKF(e->jacobian(s, x, &y, g) == AD_OK, "adolc: gradient of rosenbrock at 125001");
    e->close(s);
  }
  free(x);
  free(g);
  /* its bytes held per node are the large recording's (ADOL-C keeps its location numbers), so check_case's memory
   * bounds do not apply here: the gradient against the hand-written one */
  const wl_info *ws[2] = {w, wl_find("poly")};
  const int sizes[2] = {3, 6};
  for (int k = 0; k < 2; ++k) {
    int n = ws[k]->n_in(sizes[k]);
    double xs[16], gs[16], gm[16], dat[16] = {0}, ys, fm;
    assert(n <= 16 && ws[k]->n_data(sizes[k]) <= 16);
    ws[k]->init(sizes[k], 42, xs, dat);
    ws[k]->manual(sizes[k], dat, xs, &fm, gm);
    s = e->open(ws[k], sizes[k], dat);
    ad_status st = s ? e->jacobian(s, xs, &ys, gs) : AD_ENOMEM;
    double err = 0.0;
    for (int j = 0; j < n && st == AD_OK; ++j) err = fmax(err, fabs(gs[j] - gm[j]) / fmax(1.0, fabs(gm[j])));
    CHECKF(st == AD_OK && err <= PEER_TOL, "adolc: %s/%d after a large recording: %s, error %.1e", ws[k]->name,
           sizes[k], ad_status_str(st), err);
    if (s) e->close(s);
  }
}

/* 1 if name is one of the peers adlab has adapters for (ADLAB_PEER_NAMES, from tests/peers.cmake), built or not. */
static int known_peer(const char *name) {
  const char *list = ADLAB_PEER_NAMES;
  size_t len = strlen(name);
  while (len && *list) {
    size_t w = strcspn(list, " ");
    if (w == len && !strncmp(list, name, len)) return 1;
    list += w + (list[w] == ' ');
  }
  return 0;
}

/* 1 if a peer that is not built must fail rather than skip: in CI (CI=true) or when the test command asks for
 * the peers (ADLAB_REQUIRE_PEERS=1, after installing their packages). */
static int peers_required(void) {
  const char *ci = getenv("CI"), *req = getenv("ADLAB_REQUIRE_PEERS");
  return (ci && !strcmp(ci, "true")) || (req && !strcmp(req, "1"));
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: test_peers PEER\n");
    return 2;
  }
  if (!known_peer(argv[1])) {
    fprintf(stderr, "test_peers: unknown peer '%s' (known: %s)\n", argv[1], ADLAB_PEER_NAMES);
    return 1;
  }
  const eng_api *e = eng_find(argv[1]);
  if (!eng_is_peer(e)) {
    int required = peers_required();
    printf("peer %s not built: configure with -DADLAB_PEERS=ON with its Debian packages installed "
           "(scripts/main --peers); %d peer(s) built%s\n", argv[1], eng_count - eng_own_count,
           required ? "; a failure here, since CI=true or ADLAB_REQUIRE_PEERS=1" : "");
    return required ? 1 : 77;
  }
  printf("%s: %s %s, %s\n", e->name, e->tool, e->version, e->about);
  CHECKF(e->tool[0] && e->version && e->version[0] && e->about && e->about[0] && e->tol > 0,
         "peer has a tool name, version, mode and tolerance");
  int ran = 0;
  for (int i = 0; i < WL_COUNT; ++i) {
    const wl_info *w = wl_all[i];
    for (int k = 0; k < 2; ++k) {
      int size = w->check_sizes[k];
      if (k == 1 && size == w->check_sizes[0]) continue;
      const char *why = eng_skip_reason(e, w, size);
      if (why) {
        printf("%s skips %s at %d: %s\n", e->name, w->name, size, why);
        continue;
      }
      double ms = est_ms(e, w, size);
      if (k == 1 && ms > TEST_BUDGET_MS) { /* the small size always runs; adcheck runs both */
        printf("%s: %s at %d left to adcheck (about %.0f ms per evaluation here)\n", e->name, w->name, size, ms);
        continue;
      }
      check_case(e, w, size, 42);
      if (k == 0) check_case(e, w, size, 7);
      ran++;
    }
  }
  CHECKF(ran > 0, "the peer runs at least one workload");
  check_errors(e);
  if (!strcmp(e->name, "adolc")) {
    check_adolc_in_memory(e);
    check_adolc_small_after_large(e);
  }
  printf("%s: %d workload/size cases\n", e->name, ran);
  return test_report(e->name);
}
