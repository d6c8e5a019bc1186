/* example_seed.c: the smallest graph with fan-out, y = (x + w) * (w + 1) at w = 1, x = 2, built and
 * differentiated as PyTorch users know it:
 *
 *   w = torch.tensor([1.], requires_grad=True)
 *   x = torch.tensor([2.], requires_grad=True)
 *   a = torch.add(x, w); a.retain_grad()
 *   b = torch.add(w, 1)
 *   y = torch.mul(a, b)
 *   y.backward()
 *   print("is_leaf:", w.is_leaf, x.is_leaf, a.is_leaf, b.is_leaf, y.is_leaf)
 *   print("grad:", w.grad, x.grad, a.grad, b.grad, y.grad)
 *   print("grad_fn:", w.grad_fn, x.grad_fn, a.grad_fn, b.grad_fn, y.grad_fn)
 *
 * Usage: graph_seed_example [FILE.dot]
 * Prints the same three lines (numbers as %g, None for a missing grad or grad_fn), then each grad_fn's
 * next_functions, and writes the graph as Graphviz DOT to FILE.dot (default seed.dot): `dot -Tsvg seed.dot`.
 * Exit status 0 on success, 1 on any error.
 */
#include <stdio.h>

#include "graph_ops.h"

static const char *py_bool(int b) { return b ? "True" : "False"; }

int main(int argc, char **argv) {
  const char *dot_path = argc > 1 ? argv[1] : "seed.dot";
  graph_ctx *g = graph_new();
  if (!g) {
    fprintf(stderr, "graph_seed_example: out of memory\n");
    return 1;
  }
  graph_node *w = graph_leaf(g, 1.0, 1);
  graph_node *x = graph_leaf(g, 2.0, 1);
  graph_node *a = ad_add_vv(g, x, w);
  graph_node *b = ad_add_vc(g, w, 1.0);
  graph_node *y = ad_mul_vv(g, a, b);
  graph_node *nodes[5] = {w, x, a, b, y};
  const char *names[5] = {"w", "x", "a", "b", "y"};
  ad_status st = graph_status(g);
  for (int i = 0; i < 5 && st == AD_OK; ++i) st = graph_set_name(g, nodes[i], names[i]);
  if (st == AD_OK) st = graph_retain_grad(g, a);
  if (st == AD_OK) st = graph_backward(g, y, 1.0, 0);
  if (st != AD_OK) {
    fprintf(stderr, "graph_seed_example: %s: %s\n", ad_status_str(st), graph_last_error(g));
    graph_free(g);
    return 1;
  }

  printf("is_leaf:");
  for (int i = 0; i < 5; ++i) printf(" %s", py_bool(graph_is_leaf(nodes[i])));
  printf("\ngrad:");
  for (int i = 0; i < 5; ++i) {
    double d;
    if (graph_grad(g, nodes[i], &d)) printf(" %g", d);
    else printf(" None");
  }
  printf("\ngrad_fn:");
  for (int i = 0; i < 5; ++i) {
    const char *fn = graph_grad_fn_name(nodes[i]);
    if (fn) printf(" <%s>", fn);
    else printf(" None");
  }
  printf("\nnext_functions:\n");
  for (int i = 4; i >= 0; --i) {
    graph_edge e[2];
    int n = 0;
    if (graph_is_leaf(nodes[i]) || graph_next_functions(g, nodes[i], e, &n) != AD_OK) continue;
    printf("  %s.grad_fn = <%s>:", names[i], graph_grad_fn_name(nodes[i]));
    for (int k = 0; k < n; ++k) {
      if (!e[k].name) printf(" (None, 0)");
      else printf(" (<%s> of %s, 0)", e[k].name, graph_name(g, e[k].node));
    }
    printf("\n");
  }

  FILE *f = fopen(dot_path, "w");
  if (!f) {
    perror(dot_path);
    graph_free(g);
    return 1;
  }
  st = graph_write_dot(g, y, f);
  if (fclose(f) != 0 && st == AD_OK) st = AD_ESTATE;
  if (st != AD_OK) {
    fprintf(stderr, "graph_seed_example: cannot write %s\n", dot_path);
    graph_free(g);
    return 1;
  }
  printf("graph written to %s (render: dot -Tsvg %s -o seed.svg)\n", dot_path, dot_path);
  graph_free(g);
  return 0;
}
