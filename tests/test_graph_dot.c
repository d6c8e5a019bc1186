/* test_graph_dot: the seed example prints PyTorch's three lines for y = (x + w) * (w + 1) and writes a DOT file
 * that Graphviz's `dot -Tsvg` accepts; graph_write_dot's output for a larger graph is accepted too.
 *   test_graph_dot EXAMPLE_BINARY OUTPUT_DIR
 * Exit status 77 (skipped) when `dot` is not installed, after the checks that do not need it. */
#include <stdlib.h>
#include <unistd.h>

#include "graph/graph_ops.h"
#include "testkit.h"

enum { SKIPPED = 77 };

/* Runs cmd with /bin/sh; returns its exit status, or -1. */
static int run(const char *cmd) {
  int st = system(cmd);
  return st == -1 ? -1 : (st & 0x7f) ? -1 : (st >> 8) & 0xff;
}

static int have_dot(void) { return run("command -v dot >/dev/null 2>&1") == 0; }

/* The whole file, NUL-terminated (caller frees), or NULL. */
static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 4096, len = 0;
  char *buf = (char *)malloc(cap);
  size_t got;
  while (buf && (got = fread(buf + len, 1, cap - len - 1, f)) > 0) {
    len += got;
    if (cap - len - 1 == 0) {
      char *nb = (char *)realloc(buf, cap * 2);
      if (!nb) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = nb;
      cap *= 2;
    }
  }
  fclose(f);
  if (buf) buf[len] = '\0';
  return buf;
}

static int count(const char *hay, const char *needle) {
  int n = 0;
  for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle)) n++;
  return n;
}

/* Lines of a DOT file written by graph_write_dot: node statements ("  n12 [label=...") and edge statements
 * ("  n12 -> n7"). */
static void count_statements(const char *dot, int *nodes, int *edges) {
  *nodes = *edges = 0;
  for (const char *p = dot; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
    if (strncmp(p, "  n", 3) != 0 || p[3] < '0' || p[3] > '9') continue;
    const char *eol = strchr(p, '\n');
    const char *arrow = strstr(p, " -> ");
    if (arrow && (!eol || arrow < eol)) ++*edges;
    else ++*nodes;
  }
}

/* dot -Tsvg dot_path -o svg_path succeeds and writes an SVG. */
static void check_dot_accepts(const char *dot_path, const char *svg_path) {
  char cmd[4096];
  snprintf(cmd, sizeof cmd, "dot -Tsvg '%s' -o '%s'", dot_path, svg_path);
  CHECK(run(cmd) == 0);
  char *svg = slurp(svg_path);
  CHECK(svg && strstr(svg, "<svg") != NULL);
  free(svg);
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: test_graph_dot EXAMPLE_BINARY OUTPUT_DIR\n");
    return 2;
  }
  char dot_path[2048], svg_path[2048], out_path[2048], cmd[8192], big_dot[2048], big_svg[2048];
  snprintf(dot_path, sizeof dot_path, "%s/graph_seed.dot", argv[2]);
  snprintf(svg_path, sizeof svg_path, "%s/graph_seed.svg", argv[2]);
  snprintf(out_path, sizeof out_path, "%s/graph_seed.out", argv[2]);
  snprintf(big_dot, sizeof big_dot, "%s/graph_rosenbrock.dot", argv[2]);
  snprintf(big_svg, sizeof big_svg, "%s/graph_rosenbrock.svg", argv[2]);
  remove(dot_path);

  /* The example's output: PyTorch's three lines, the next_functions, and the DOT file. */
  snprintf(cmd, sizeof cmd, "'%s' '%s' > '%s'", argv[1], dot_path, out_path);
  CHECK(run(cmd) == 0);
  char *out = slurp(out_path);
  CHECK(out != NULL);
  if (out) {
    CHECK(strncmp(out,
                  "is_leaf: True True False False False\n"
                  "grad: 5 2 2 None None\n"
                  "grad_fn: None None <AddBackward0> <AddBackward0> <MulBackward0>\n",
                  strlen("is_leaf: True True False False False\n"
                         "grad: 5 2 2 None None\n"
                         "grad_fn: None None <AddBackward0> <AddBackward0> <MulBackward0>\n")) == 0);
    CHECK(strstr(out, "y.grad_fn = <MulBackward0>: (<AddBackward0> of a, 0) (<AddBackward0> of b, 0)") != NULL);
    CHECK(strstr(out, "a.grad_fn = <AddBackward0>: (<AccumulateGrad> of x, 0) (<AccumulateGrad> of w, 0)") != NULL);
    CHECK(strstr(out, "b.grad_fn = <AddBackward0>: (<AccumulateGrad> of w, 0) (None, 0)") != NULL);
  }
  free(out);
  char *dot = slurp(dot_path);
  CHECK(dot != NULL);
  if (dot) { /* five nodes (two leaves), five edges (three into leaves) */
    int nodes, edges;
    count_statements(dot, &nodes, &edges);
    CHECK(strncmp(dot, "digraph ", 8) == 0);
    CHECK(nodes == 5 && edges == 5);
    CHECK(count(dot, "shape=box") == 2);
    CHECK(count(dot, "[label=\"AccumulateGrad\"]") == 3);
    CHECK(strstr(dot, "w\\nleaf\\nvalue 1\\ngrad 5") != NULL);
    CHECK(strstr(dot, "a\\nAddBackward0\\nvalue 3\\ngrad 2") != NULL);
    CHECK(strstr(dot, "y\\nMulBackward0\\nvalue 6\"") != NULL);
  }
  free(dot);

  /* A larger graph with names that need escaping, written by graph_write_dot directly. */
  graph_ctx *g = graph_new();
  graph_node *x[4];
  for (int i = 0; i < 4; ++i) x[i] = graph_leaf(g, 0.5 * i, 1);
  CHECK(graph_set_name(g, x[0], "x\"0\\") == AD_OK);
  graph_node *f = NULL;
  for (int i = 0; i + 1 < 4; ++i) {
    graph_node *t = ad_sub_cv(g, 1.0, x[i]);
    graph_node *u = ad_sub_vv(g, x[i + 1], ad_sqr(g, x[i]));
    graph_node *term = ad_add_vv(g, ad_sqr(g, t), ad_mul_vc(g, ad_sqr(g, u), 100.0));
    f = f ? ad_add_vv(g, f, term) : term;
  }
  graph_node *unrelated = ad_exp(g, x[3]); /* not part of f's graph */
  (void)unrelated;
  CHECK(graph_backward(g, f, 1.0, 1) == AD_OK);
  FILE *bf = fopen(big_dot, "w");
  CHECK(bf != NULL);
  if (bf) {
    CHECK(graph_write_dot(g, f, bf) == AD_OK);
    fclose(bf);
  }
  char *big = slurp(big_dot);
  CHECK(big != NULL);
  if (big) {
    graph_stats st = graph_get_stats(g);
    int nodes, edges;
    count_statements(big, &nodes, &edges);
    CHECK(nodes == (int)st.nodes - 1); /* every node but the unrelated one */
    CHECK(edges == (int)st.edges - 1);
    CHECK(strstr(big, "x\\\"0\\\\") != NULL);
  }
  free(big);
  /* The DOT sweep leaves no mark behind: backward still works. */
  CHECK(graph_backward(g, f, 1.0, 0) == AD_OK);
  graph_free(g);

  if (!have_dot()) {
    printf("SKIP: Graphviz `dot` not found; the DOT files were not rendered (apt-get install graphviz)\n");
    return test_report("test_graph_dot") ? 1 : SKIPPED;
  }
  check_dot_accepts(dot_path, svg_path);
  check_dot_accepts(big_dot, big_svg);
  return test_report("test_graph_dot");
}
