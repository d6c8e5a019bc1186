"""test_report: scripts/report turns a small adbench-shaped report into Markdown (targets with met/missed, ratios
to the primal time of the same file, crossover, per-workload tables, skips) and well-formed SVG plots, removes
its own stale plots, and rejects malformed input with one clean line. A second report adds mix's Jacobian grid:
the crossover of dual and tape per m, interpolated, in a table and in one SVG of panels; a third adds vector
modes (grad/lanes:K): the best K per shape and the crossover of the best vector forward and reverse Jacobians; a
fourth adds checkpointed results (grad/ckpt:SCHEDULE): the memory-time section's ratios to store-all and its plot,
and a malformed checkpointed result is rejected.

  python3 tests/test_report.py scripts/report
"""
import math
import os
import sys
import tempfile
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_fixtures import Checker, adbench_counters, entry, mix_size, report_doc, run_script, write_json  # noqa: E402

SVG = "{http://www.w3.org/2000/svg}"

# (workload, engine, mode, size, nodes, n_in, cpu ns, bytes held, args)
ROWS = [
    # rosenbrock: at 10^6 nodes tape grad 4 ns/node (met), 22 B/node (met), dual jvp 3x primal (missed).
    ("rosenbrock", "primal", "value", 2, 8, 2, 4.0, 96, None),
    ("rosenbrock", "dual", "jvp", 2, 8, 2, 8.0, 128, None),
    ("rosenbrock", "dual", "grad", 2, 8, 2, 50.0, 128, None),
    ("rosenbrock", "tape", "grad", 2, 8, 2, 100.0, 4000, 10),
    ("rosenbrock", "tape", "reverse", 2, 8, 2, 40.0, 4000, 10),
    ("rosenbrock", "primal", "value", 13, 100, 13, 20.0, 200, None),
    ("rosenbrock", "dual", "grad", 13, 100, 13, 600.0, 300, None),
    ("rosenbrock", "tape", "grad", 13, 100, 13, 300.0, 5000, 130),
    ("rosenbrock", "tape", "reverse", 13, 100, 13, 150.0, 5000, 130),
    ("rosenbrock", "primal", "value", 125001, 1000000, 125001, 1.0e5, 1.0e6, None),
    ("rosenbrock", "dual", "jvp", 125001, 1000000, 125001, 3.0e5, 2.0e6, None),
    ("rosenbrock", "tape", "grad", 125001, 1000000, 125001, 4.0e6, 2.2e7, 1375000),
    ("rosenbrock", "tape", "reverse", 125001, 1000000, 125001, 2.0e6, 2.2e7, 1375000),
    # chain: tape grad 12 ns/node (missed) but 1.71x primal (met); dual jvp 1.14x primal (met); 30 B/node (missed).
    ("chain", "primal", "value", 1000000, 1000000, 1, 7.0e6, 88, None),
    ("chain", "dual", "jvp", 1000000, 1000000, 1, 8.0e6, 112, None),
    ("chain", "tape", "grad", 1000000, 1000001, 1, 1.2e7, 3.0e7, 1000000),  # 13.000001 bytes per argument
]
SKIP = ("rosenbrock", "dual", "grad", 125001, "skipped: n_in * nodes = 1.56e+11 exceeds the budget")


def build_doc():
    entries = []
    for w, e, m, s, nodes, n_in, t, by, args in ROWS:
        entries.append(entry(f"{w}/{e}/{m}/{s}", t, adbench_counters(nodes, n_in, by, t, args)))
    entries.append(entry("/".join(map(str, SKIP[:4])), 0, error=SKIP[4]))
    doc = report_doc(entries)
    doc["context"]["wl_rosenbrock"] = "extended Rosenbrock function of n inputs"
    return doc


# mix's grid: m -> [(n, dual ns, tape ns, graph ns, replay ns or None)]. dual / tape crosses 1 between n = 1 (0.5)
# and 2 (4) for m = 1: log-linear at 2^(1/3) = 1.26; between n = 8 (0.5) and 16 (2) for m = 16: at 8 sqrt(2) = 11.3,
# and dual / graph there between n = 4 (0.5) and 8 (2): at 4 sqrt(2) = 5.66. For m = 256 dual is cheaper throughout;
# its n = 1024 shape has 1,048,320 nodes, near the targets' 10^6.
JAC = {
    1: [(1, 50.0, 100.0, 120.0, 130.0), (2, 400.0, 100.0, 130.0, 140.0), (4, 1600.0, 200.0, 220.0, 260.0)],
    16: [(4, 1000.0, 4000.0, 2000.0, 8000.0), (8, 4000.0, 8000.0, 2000.0, 16000.0),
         (16, 32000.0, 16000.0, 4000.0, 40000.0), (32, 256000.0, 32000.0, 8000.0, 80000.0)],
    256: [(1, 100.0, 1.0e4, 1.0e3, None), (2, 400.0, 2.0e4, 2.0e3, None), (1024, 5.0e7, 1.0e8, 2.0e7, None)],
}


def jacobian_entries():
    """mix's grid results, named and counted as adbench writes them (grad mode, size = mix's size index)."""
    out = []
    for m, rows in JAC.items():
        for n, *times in rows:
            nodes, size = 4 * n * m - m, mix_size(n, m)
            for e, t in zip(("dual", "tape", "graph", "replay"), times):
                if t is None:
                    continue
                held = {"dual": 16 * (n + m), "graph": 50 * nodes}.get(e, 30 * nodes)
                out.append(entry(f"mix/{e}/grad/{size}", t, adbench_counters(
                    nodes, n, held, t, 2 * nodes if e in ("tape", "replay") else None, n_out=m, size=size)))
    return out


# Vector modes (grad/lanes:K) on mix at m = 16: (n) -> {engine: {K: ns}}. Best: dual K = 4 at n = 4 (3.3x over
# K = 1), K = 8 at 8 (4x), K = 16 at 16 (8x); tape K = 16 throughout. Best forward / best reverse: 0.3, 1, 2, so
# the vector crossover is at n = 8 (0.5 m).
LANES16 = {4: {"dual": {1: 1000.0, 4: 300.0, 16: 500.0}, "tape": {1: 4000.0, 16: 1000.0}},
           8: {"dual": {1: 4000.0, 8: 1000.0}, "tape": {1: 8000.0, 16: 1000.0}},
           16: {"dual": {1: 32000.0, 16: 4000.0}, "tape": {1: 16000.0, 16: 2000.0}}}


def lanes_entries():
    """mix's vector-mode results at m = 16, named as adbench writes them (grad/lanes:K/size)."""
    out = []
    for n, by in LANES16.items():
        m, nodes, size = 16, 4 * n * 16 - 16, mix_size(n, 16)
        for e, ks in by.items():
            for k, t in ks.items():
                out.append(entry(f"mix/{e}/grad/lanes:{k}/{size}", t, adbench_counters(
                    nodes, n, 100, t, 2 * nodes if e == "tape" else None, n_out=m, size=size)))
    return out


def check_lanes(c, d, report):
    """The vector modes' part of the Jacobian section: best K per shape with its speed-up, best forward over best
    reverse, their crossover, the plot; the scalar crossover table unchanged by the lanes results."""
    src = os.path.join(d, "vec.json")
    doc = build_doc()
    doc["benchmarks"] += jacobian_entries() + lanes_entries()
    write_json(src, doc)
    rc, _, err = run_script(report, [src])
    c.check("lanes report exits 0", rc == 0, err)
    md_path = os.path.join(d, "vec.md")
    md = open(md_path, encoding="utf-8").read() if os.path.exists(md_path) else ""
    c.check("vector modes section", "### Vector modes (mix)" in md, md[-3000:])
    head = "| m | n | dual: best K, time, x K = 1 | tape: best K, time, x K = 1 | faster"
    row = [r for r in md.splitlines() if r.startswith("| 16 | 4 |")]
    c.check("m = 16, n = 4: dual K = 4 (3.3x), tape K = 16 (4x), forward / reverse 0.3",
            row == ["| 16 | 4 | K = 4, 300 ns, 3.3x | K = 16, 1 us, 4x | 0.3 (dual K = 4 / tape K = 16) |"] and
            head in md, str(row))
    row = [r for r in md.splitlines() if r.startswith("| 16 | 16 |")]
    c.check("m = 16, n = 16: dual K = 16 (8x), forward / reverse 2",
            row == ["| 16 | 16 | K = 16, 4 us, 8x | K = 16, 2 us, 8x | 2 (dual K = 16 / tape K = 16) |"], str(row))
    row = table_row(md, "16", "| m | crossover n (best vector forward = best vector reverse)")
    c.check("vector crossover at n = 8 (0.5 m)", row == ["16", "**8**", "0.5"], str(row))
    row = table_row(md, "16", "| m | n (dual and tape measured) | crossover n (dual = tape) |")
    c.check("the scalar crossover table ignores the lanes results", row[:2] == ["16", "4 .. 32"] and
            row[2] == f"**{8 * math.sqrt(2):.3g}**", str(row))
    c.check("md links the lanes plot", "(vec-jacobian-lanes.svg)" in md)
    root = svg_root(c, os.path.join(d, "vec-jacobian-lanes.svg"))
    c.check("lanes plot is an SVG", root is not None and root.tag == SVG + "svg")


def table_row(md, first_cell, after):
    """The cells of the first table row starting with first_cell after the line starting with after; [] if none."""
    lines = md.splitlines()
    start = next((i for i, l in enumerate(lines) if l.startswith(after)), None)
    if start is None:
        return []
    row = next((l for l in lines[start:] if l.startswith(f"| {first_cell} |")), None)
    return [c.strip() for c in row.strip().strip("|").split("|")] if row else []


def svg_root(c, path):
    try:
        return ET.parse(path).getroot()
    except (OSError, ET.ParseError) as e:
        c.check(f"{os.path.basename(path)} parses as XML", False, str(e))
        return None


def check_jacobians(c, d, report):
    """mix's grid: the section, the interpolated crossovers in the table, the SVG; stale and old-style input."""
    src = os.path.join(d, "jac.json")
    doc = build_doc()
    doc["benchmarks"] += jacobian_entries()
    doc["context"]["adbench_jacobian_grid"] = "mix: m = 1, 16, 256; n = 1, 2, 4, ..."
    write_json(src, doc)
    rc, _, err = run_script(report, [src])
    c.check("jacobian report exits 0", rc == 0, err)
    md_path = os.path.join(d, "jac.md")
    md = open(md_path, encoding="utf-8").read() if os.path.exists(md_path) else ""
    sec = "## Jacobians: forward vs reverse (mix)"
    c.check("Jacobian section", sec in md, md[:3000])
    c.check("the grid's shapes quoted from the context", "mix: m = 1, 16, 256; n = 1, 2, 4, ..." in md)
    head = "| m | n (dual and tape measured) | crossover n (dual = tape) |"
    c.check("table columns: m, n range, crossover, crossover / m, ratios, other reverse engines",
            any(l.startswith(head) and l.endswith("| dual = graph at n | dual = replay at n |")
                for l in md.splitlines()), md[md.find(sec):md.find(sec) + 2500])
    # Expected crossovers, from the fixture's ratios: log(dual / tape) = 0 interpolated in log n.
    x1, x16, g16 = 2 ** (1 / 3), 8 * math.sqrt(2), 4 * math.sqrt(2)
    row = table_row(md, "1", head)
    c.check("m = 1: crossover 2^(1/3) = 1.26, n 1 .. 4, dual / tape 0.5 then 8",
            row[:6] == ["1", "1 .. 4", f"**{x1:.3g}**", f"{x1:.2g}", "0.5", "8"], str(row))
    row = table_row(md, "16", head)
    c.check("m = 16: crossover 8 sqrt(2) = 11.3, 0.71 m, dual / tape 0.25 then 8",
            row[:6] == ["16", "4 .. 32", f"**{x16:.3g}**", f"{x16 / 16:.2g}", "0.25", "8"], str(row))
    c.check("m = 16: dual = graph at 4 sqrt(2) = 5.66", row[6:7] == [f"{g16:.3g}"], str(row))
    rep16 = 16 * 2 ** (math.log(1 / 0.8) / math.log(3.2 / 0.8))  # dual / replay: 0.8 at n = 16, 3.2 at 32
    c.check("m = 16: dual = replay at 17.9", row[7:8] == [f"{rep16:.3g}"], str(row))
    row = table_row(md, "256", head)
    c.check("m = 256: no crossover, dual cheaper throughout, 0.01 then 0.5",
            row[:6] == ["256", "1 .. 1,024", "none: dual cheaper throughout", "-", "0.01", "0.5"], str(row))
    c.check("m = 256: no replay results, no replay crossover", row[7:8] == ["-"], str(row))
    grad_sec = md[md.find("## Forward vs reverse"):md.find(sec)]
    c.check("gradient section leaves mix to the Jacobian section", "`mix`" not in grad_sec and
            "cheaper up to n_in = 5.1 " in grad_sec and "are in the next section" in grad_sec, grad_sec)
    c.check("md links the Jacobian plot", "(jac-jacobian.svg)" in md)

    root = svg_root(c, os.path.join(d, "jac-jacobian.svg"))
    if root is not None:
        texts = ["".join(t.itertext()) for t in root.iter(SVG + "text")]
        c.check("one panel per m", all(f"m = {m}" in texts for m in ("1", "16", "256")), str(texts[:40]))
        n = len(root.findall(f"{SVG}polyline"))
        c.check("one line per engine and m: 4 + 4 + 3", n == 11, str(n))
        marks = sorted(t for t in texts if t.startswith("n = "))
        c.check("crossovers marked in the panels of m = 1 and 16 only", marks == [f"n = {x1:.3g}", f"n = {x16:.3g}"],
                str(marks))
        c.check("axes: n and time per Jacobian", "n (inputs)" in texts and "ns per Jacobian (CPU)" in texts)
        c.check("legend names every engine", all(any(t.startswith(e) for t in texts)
                                                 for e in ("dual (n forward passes)", "tape", "graph", "replay")))

    # The targets: a Jacobian's time per node is not a gradient's, so no verdict; its bytes keep theirs.
    c.check("targets: mix's tape time per node near 10^6 nodes is n/a", target_cell(md, "mix", 0) == "n/a",
            target_cell(md, "mix", 0))
    c.check("targets: mix's graph time per node is n/a, not missed", target_cell(md, "mix", 8) == "n/a",
            target_cell(md, "mix", 8))
    c.check("targets: mix's tape bytes per argument keep a verdict", target_cell(md, "mix", 4) == "12.5 ✓",
            target_cell(md, "mix", 4))
    c.check("targets: n/a explained", "n/a: the result nearest to 10^6 nodes is a full Jacobian" in md)

    # Per workload: mix's table gains n_out, its plots a line per engine and m; other tables stay as they were.
    mix_sec = md[md.find("## mix"):md.find("## Context")]
    c.check("mix table has n_out", "| engine | mode | size | n_in | n_out | nodes |" in mix_sec, mix_sec[:600])
    c.check("mix table row: tape at (32, 16)", f"| tape | grad | {mix_size(32, 16)} | 32 | 16 | 2,032 |" in mix_sec)
    c.check("rosenbrock table without n_out", "| engine | mode | size | n_in | nodes |" in md)
    root = svg_root(c, os.path.join(d, "jac-mix-time.svg"))
    if root is not None:
        texts = "|".join("".join(t.itertext()) for t in root.iter(SVG + "text"))
        c.check("mix time plot: one line per engine and m", len(root.findall(f"{SVG}polyline")) == 11 and
                "|m = 16|" in texts and "|tape|" in texts, texts)

    # A later report under the same name without mix removes the Jacobian plot; old reports without n_out work.
    rc, _, err = run_script(report, [os.path.join(d, "run.json"), "--name", "jac"])
    c.check("report without mix under the same name", rc == 0, err)
    c.check("stale Jacobian plot removed", not os.path.exists(os.path.join(d, "jac-jacobian.svg")))
    old = build_doc()
    for b in jacobian_entries():
        b.pop("n_out")
        old["benchmarks"].append(b)
    write_json(os.path.join(d, "old.json"), old)
    rc, _, err = run_script(report, [os.path.join(d, "old.json")])
    md = open(os.path.join(d, "old.md"), encoding="utf-8").read() if rc == 0 else ""
    c.check("mix without n_out counters: report exits 0", rc == 0, err)
    c.check("mix without n_out: no grid to show", "do not span several output counts m" in md, md[:200])
    c.check("mix without n_out: no Jacobian plot", not os.path.exists(os.path.join(d, "old-jacobian.svg")))


def target_cell(md, workload, column):
    """The cell of the targets matrix for workload in column (0: the first target, in TARGETS' order: tape ns/node,
    tape x primal, tape_op x primal, tape statements/op, bytes/arg, recorded bytes/node, bytes held/node, dual jvp x
    primal, graph ns/node, graph bytes/node), stripped; "" if absent."""
    head = next((l for l in md.splitlines() if l.startswith("| workload | tape grad: ns/node")), None)
    row = next((l for l in md.splitlines() if l.startswith(f"| {workload} | ")), None)
    if not head or not row:
        return ""
    cells = [c.strip() for c in row.strip().strip("|").split("|")]
    return cells[column + 1] if column + 1 < len(cells) else ""


def table_header(md, section):
    """The cells of the first table header after the line `## section`."""
    lines = md.splitlines()
    start = lines.index(f"## {section}") if f"## {section}" in lines else None
    if start is None:
        return []
    row = next((l for l in lines[start:] if l.startswith("| engine |")), "")
    return [c.strip() for c in row.strip().strip("|").split("|")]


def check_columns(c, md):
    """The per-workload tables keep every column users rely on, with the right numbers in them."""
    want = ["engine", "mode", "size", "n_in", "nodes", "time", "ns/node", "x primal", "x primal spread", "bytes/node"]
    for w in ("rosenbrock", "chain"):
        head = table_header(md, w)
        c.check(f"{w} table columns", head == want, str(head))
    head = table_header(md, "rosenbrock")
    lines = [l for l in md[md.find("## rosenbrock"):].splitlines() if l.startswith("| tape | grad | 125,001 |")]
    cells = [x.strip() for x in lines[0].strip().strip("|").split("|")] if lines else []
    got = dict(zip(head, cells))
    c.check("rosenbrock tape grad row: nodes, time, ns/node, x primal, bytes/node",
            got.get("nodes") == "1,000,000" and got.get("time") == "4 ms" and got.get("ns/node") == "4" and
            got.get("x primal") == "40" and got.get("bytes/node") == "22", str(got))
    lines = [l for l in md[md.find("## chain"):].splitlines() if l.startswith("| primal | value |")]
    cells = [x.strip() for x in lines[0].strip().strip("|").split("|")] if lines else []
    got = dict(zip(table_header(md, "chain"), cells))
    c.check("chain primal row: bytes/node 88 / 10^6 and n_in 1", got.get("bytes/node") == "8.80e-05" and
            got.get("n_in") == "1", str(got))


def svg_texts_inside(c, path):
    """Every text of an SVG (its estimated extent: 0.6 em per character) lies inside the document."""
    root = svg_root(c, path)
    if root is None:
        return
    W, H = float(root.get("width")), float(root.get("height"))
    bad = []
    for t in root.iter(SVG + "text"):
        if t.get("x") is None:  # rotated axis titles
            continue
        text = "".join(t.itertext())
        x, y = float(t.get("x")), float(t.get("y"))
        w = 0.6 * float(t.get("font-size", 12)) * len(text)
        x0 = {"end": x - w, "middle": x - w / 2}.get(t.get("text-anchor"), x)
        if x0 < 0 or x0 + w > W or y < 0 or y > H:
            bad.append(f"{text!r} at ({x:.0f}, {y:.0f})")
    c.check(f"{os.path.basename(path)}: every text inside {W:.0f} x {H:.0f}", not bad, "; ".join(bad[:5]))


def check_plots(c, d, report):
    """Legends fit; a peer's own node count does not move its points; the headline chart."""
    doc = build_doc()
    doc["context"]["peers"] = "torch_vec"
    for s_, nodes, t in ((2, 8, 900.0), (13, 100, 1000.0), (125001, 1000000, 2.0e6)):  # 9 tensor nodes at every size
        doc["benchmarks"].append(entry(f"rosenbrock/torch_vec/grad/{s_}", t, adbench_counters(9, s_, 5000, t)))
    # Many engines: the legend wraps inside the figure instead of running off its right edge.
    for i in range(14):
        doc["benchmarks"].append(entry(f"rosenbrock/engine_with_a_long_name_{i}/grad/13", 500.0 + i,
                                       adbench_counters(100, 13, 4000, 500.0 + i)))
    write_json(os.path.join(d, "plots.json"), doc)
    rc, _, err = run_script(report, [os.path.join(d, "plots.json")])
    c.check("report with a peer and many engines exits 0", rc == 0, err)
    for f in sorted(os.listdir(d)):
        if f.startswith("plots-") and f.endswith(".svg"):
            svg_texts_inside(c, os.path.join(d, f))
    root = svg_root(c, os.path.join(d, "plots-rosenbrock-time.svg"))
    if root is not None:
        tv = [pl for pl in root.iter(SVG + "polyline") if pl.get("stroke") == peer_color(root, "torch_vec (peer)")]
        xs = [float(p.split(",")[0]) for pl in tv for p in pl.get("points").split()]
        c.check("peer plotted at adlab's node counts (3 distinct x, not one cluster)", len(xs) == 3 and
                len(set(round(x) for x in xs)) == 3, str(xs))
    md = open(os.path.join(d, "plots.md"), encoding="utf-8").read() if rc == 0 else ""
    row = next((l for l in md.splitlines() if l.startswith("| torch_vec (peer) | grad | 125,001 |")), "")
    c.check("peer row: adlab's node count, ns/node 2e6 / 10^6 = 2", "| 1,000,000 | 2 ms | 2 |" in row, row)
    # Headline: gradient / primal per workload and engine at the largest common size.
    c.check("headline section", "## Gradient / primal" in md and "(plots-headline.svg)" in md, md[:3000])
    root = svg_root(c, os.path.join(d, "plots-headline.svg"))
    if root is not None:
        texts = ["".join(t.itertext()) for t in root.iter(SVG + "text")]
        c.check("headline: one group per workload with its size", "rosenbrock" in texts and "chain" in texts and
                "1,000,000 nodes" in texts, str(texts))
        c.check("headline: tape on rosenbrock 40x, on chain 1.71x", "40" in texts and "1.71" in texts, str(texts))
        c.check("headline: peers left out", "torch_vec" not in texts and "torch_vec (peer)" not in texts)


def peer_color(root, label):
    """The stroke colour of the legend line beside the legend text label."""
    els = list(root)
    for i, el in enumerate(els):
        if el.tag == SVG + "text" and "".join(el.itertext()) == label:
            return next((e.get("stroke") for e in reversed(els[:i]) if e.tag == SVG + "line"), None)
    return None


def check_x_primal(c, d, report):
    """adbench's x_primal counters (median of interleaved per-pair ratios) drive x primal, with their spread."""
    doc = build_doc()
    spread = {"chain/tape/grad/1000000": (1.9, 1.8, 2.3), "chain/dual/jvp/1000000": (1.6, 1.4, 1.7),
              "rosenbrock/tape/grad/125001": (33.0, 26.7, 47.1)}
    for b in doc["benchmarks"]:
        if b["name"] in spread:
            med, lo, hi = spread[b["name"]]
            b.update({"x_primal": med, "x_primal_min": lo, "x_primal_max": hi, "x_primal_pairs": 15.0})
    write_json(os.path.join(d, "xp.json"), doc)
    rc, _, err = run_script(report, [os.path.join(d, "xp.json")])
    md = open(os.path.join(d, "xp.md"), encoding="utf-8").read() if rc == 0 else ""
    c.check("x_primal report exits 0", rc == 0, err)
    c.check("target uses x_primal with its spread: chain tape 1.9 met", target_cell(md, "chain", 1) ==
            "1.9 ✓ (1.8 .. 2.3 (15 pairs))", target_cell(md, "chain", 1))
    c.check("target uses x_primal: chain dual jvp 1.6 missed", target_cell(md, "chain", 7) ==
            "**1.6 ✗** (1.4 .. 1.7 (15 pairs))", target_cell(md, "chain", 7))
    c.check("without x_primal the row falls back to the ratio of times: rosenbrock dual jvp 3",
            target_cell(md, "rosenbrock", 7) == "**3 ✗**", target_cell(md, "rosenbrock", 7))
    lines = [l for l in md[md.find("## rosenbrock"):].splitlines() if l.startswith("| tape | grad | 125,001 |")]
    got = dict(zip(table_header(md, "rosenbrock"), [x.strip() for x in lines[0].strip().strip("|").split("|")]
                   if lines else []))
    c.check("table: x primal 33 with spread 26.7 .. 47.1", got.get("x primal") == "33" and
            got.get("x primal spread") == "26.7 .. 47.1 (15 pairs)", str(got))
    c.check("text says which rows are interleaved and which fall back", "adbench's `x_primal` where the file has it"
            in md and "ratio of separately measured times" in md)
    old = open(os.path.join(d, "run.md"), encoding="utf-8").read()
    c.check("without x_primal: the fallback is stated", "this file has no `x_primal` counters" in old)
    head = svg_root(c, os.path.join(d, "xp-headline.svg"))
    if head is not None:
        c.check("headline draws the spread as whiskers", len(head.findall(f"{SVG}path")) == 2,
                str(len(head.findall(f"{SVG}path"))))


def check_bad_times(c, d, report):
    """NaN, infinite and negative times; a report that cannot be written leaves no temporary behind."""
    for bad, needle in ((float("nan"), "nan"), (float("inf"), "inf")):
        doc = build_doc()
        for b in doc["benchmarks"]:
            if b["name"] == "rosenbrock/tape/grad/125001":
                b["cpu_time"] = bad
        write_json(os.path.join(d, "nan.json"), doc)
        rc, _, err = run_script(report, [os.path.join(d, "nan.json")])
        md = open(os.path.join(d, "nan.md"), encoding="utf-8").read() if rc == 0 else ""
        c.check(f"{needle} time: exit 0, no traceback", rc == 0 and "Traceback" not in err, err)
        c.check(f"{needle} time: said at the top", "shown as invalid" in md and
                "`rosenbrock/tape/grad/125001` (cpu_time is " + needle in md, md[:1500])
        c.check(f"{needle} time: its target cells say invalid, no verdict",
                target_cell(md, "rosenbrock", 0).startswith("**invalid"), target_cell(md, "rosenbrock", 0))
        c.check(f"{needle} time: counted", "invalid (NaN or infinite time): 4" in md, md[:4000])
        c.check(f"{needle} time: listed under its workload", "tape grad at size 125,001: **invalid" in md)
        c.check(f"{needle} time: not in the table", "| tape | grad | 125,001 |" not in md)
    doc = build_doc()
    for b in doc["benchmarks"]:
        if "cpu_time" in b:
            b["cpu_time"] = float("nan")
    write_json(os.path.join(d, "allnan.json"), doc)
    rc, _, err = run_script(report, [os.path.join(d, "allnan.json")])
    c.one_line_error("every time NaN", rc, err, "no adbench result has a finite time")
    for what, pick in (("every time negative", lambda b: True),
                       ("one time negative", lambda b: b["name"] == "chain/dual/jvp/1000000")):
        doc = build_doc()
        for b in doc["benchmarks"]:
            if "cpu_time" in b and pick(b):
                b["cpu_time"] = -b["cpu_time"]
        write_json(os.path.join(d, "neg.json"), doc)
        rc, _, err = run_script(report, [os.path.join(d, "neg.json")])
        c.one_line_error(what, rc, err, "negative cpu_time")
        c.check(f"{what}: nothing written", not os.path.exists(os.path.join(d, "neg.md")))
    # Results are written through a temporary renamed over the target; when that fails the temporary goes.
    out = os.path.join(d, "ro")
    os.makedirs(os.path.join(out, "run.md"))  # a directory where the Markdown should go: the rename fails
    rc, _, err = run_script(report, [os.path.join(d, "run.json"), "--out-dir", out])
    c.one_line_error("Markdown path is a directory", rc, err, "cannot write")
    left = [f for f in os.listdir(out) if ".tmp" in f]
    c.check("no temporary left behind", not left, str(left))


def check_tensors(c, d, report):
    """The "Tensors vs scalars" section: a workload and its tensor form at two sizes, ratios from the same file."""
    times = {  # (workload, engine, mode, size): ns
        ("rosenbrock", "primal", "value", 10): 100.0, ("rosenbrock", "tape", "grad", 10): 2000.0,
        ("rosenbrock_t", "primal", "value", 10): 200.0, ("rosenbrock_t", "tape", "grad", 10): 500.0,
        ("rosenbrock_t", "dual", "jvp", 10): 300.0, ("rosenbrock_t", "torch_vec", "grad", 10): 50000.0,
        ("rosenbrock", "primal", "value", 100000): 1.0e5, ("rosenbrock", "tape", "grad", 100000): 3.0e6,
        ("rosenbrock_t", "primal", "value", 100000): 1.0e5, ("rosenbrock_t", "tape", "grad", 100000): 1.0e6,
        ("rosenbrock_t", "dual", "jvp", 100000): 1.5e5, ("rosenbrock_t", "torch_vec", "grad", 100000): 2.0e6,
    }
    entries = []
    for (w, e, m, size), ns in times.items():
        nodes = 8.0 * (size - 1)
        entries.append(entry(f"{w}/{e}/{m}/{size}", ns, adbench_counters(nodes, size, 40.0 * size, ns)))
    doc = report_doc(entries)
    doc["context"]["peers"] = "torch_vec"
    write_json(os.path.join(d, "tens.json"), doc)
    rc, _, err = run_script(report, [os.path.join(d, "tens.json")])
    md = open(os.path.join(d, "tens.md"), encoding="utf-8").read() if rc == 0 else ""
    c.check("tensor report exits 0", rc == 0, err)
    c.check("tensor section present", "## Tensors vs scalars" in md, md[:3000])
    def row_of(prefix):
        return next((l for l in md.splitlines() if l.startswith(prefix)), "")
    row = row_of("| rosenbrock | 10 |")
    # 10 elements: scalar tape 200 ns/element, tensor tape 50, libtorch 5000; libtorch / tensor tape 100,
    # scalar tape / tensor tape 4, tensor tape x scalar primal 5, dual jvp x tensor primal 1.5, bytes 40
    c.check("tensor row at 10 elements", "| 100 | 4 | 5 | 1.5 | 40 |" in row, row)
    row = row_of("| rosenbrock | 100,000 |")
    c.check("tensor row at 10^5 elements: libtorch / tensor tape 2, scalar / tensor 3, x primal 10",
            "| 2 | 3 | 10 | 1.5 | 40 |" in row, row)
    c.check("tensor plot written and linked", os.path.exists(os.path.join(d, "tens-tensors.svg")) and
            "(tens-tensors.svg)" in md)
    # adbench's per-element counters (elements, ns_per_element, bytes_per_element; llsq: 128 elements per point):
    # the section uses them where present, not the size and the time over it.
    el_entries = []
    for (w, e, m, size), ns in (((("llsq", "tape", "grad", 10), 6400.0), (("llsq_t", "tape", "grad", 10), 1280.0),
                                 (("llsq", "primal", "value", 10), 640.0), (("llsq_t", "primal", "value", 10), 640.0),
                                 (("llsq_t", "dual", "jvp", 10), 960.0))):
        cnt = adbench_counters(2600.0, 128, 128.0 * 1280, ns, size=size)
        cnt.update({"elements": 1280.0, "ns_per_element": ns / 1280.0 * 1.25, "bytes_per_element": 96.0})
        el_entries.append(entry(f"{w}/{e}/{m}/{size}", ns, cnt))
    write_json(os.path.join(d, "elems.json"), report_doc(el_entries))
    rc, _, err = run_script(report, [os.path.join(d, "elems.json")])
    md = open(os.path.join(d, "elems.md"), encoding="utf-8").read() if rc == 0 else ""
    row = next((l for l in md.splitlines() if l.startswith("| llsq | 1,280 |")), "")
    # scalar tape 6400 / 1280 * 1.25 = 6.25 ns/element (the counter, not 5 from the time), tensor tape 1.25;
    # ratios from the times: scalar / tensor 5, tensor tape x scalar primal 2, dual jvp x tensor primal 1.5; bytes 96
    c.check("per-element counters: elements, ns/element and bytes/element from adbench's counters",
            rc == 0 and row.startswith("| llsq | 1,280 | 6.25 ns | 1.25 ns | n/m | n/m | 5 | 2 | 1.5 | 96 |"),
            row or err or md[:2000])
    write_json(os.path.join(d, "notens.json"), report_doc([e for e in entries if "_t/" not in e["name"]]))
    rc, _, err = run_script(report, [os.path.join(d, "notens.json")])
    md = open(os.path.join(d, "notens.md"), encoding="utf-8").read() if rc == 0 else ""
    c.check("no tensor form: no section", rc == 0 and "## Tensors vs scalars" not in md, err)


# Checkpointed gradients (adbench --ckpt) on ode at size 5 and ode_adapt at size 43: schedule -> (cpu ns, peak bytes,
# recomputed, steps). ode: binomial:4 takes 1.5x the time in a quarter of the memory; ode_adapt: online:16 1.25x in
# a fiftieth; budget:64k failed on ode (too small).
CKPT = {
    ("ode", 5): {"store_all": (1.0e6, 4.0e6, 0, 10), "binomial:4": (1.5e6, 1.0e6, 14, 10),
                 "every:32": (1.0e6, 4.2e6, 0, 10)},
    ("ode_adapt", 43): {"store_all": (4.0e5, 5.0e6, 0, 55), "online:16": (5.0e5, 1.0e5, 96, 55)},
}


def ckpt_entries():
    out = []
    for (w, size), by in CKPT.items():
        for sched, (t, peak, rec, steps) in by.items():
            counters = adbench_counters(180000, 2000, peak, t, 2000, size=size)
            counters.update({"peak_bytes": peak, "recomputed": float(rec), "ckpt_steps": float(steps),
                             "x_primal": t / 2.0e4})
            out.append(entry(f"{w}/tape/grad/ckpt:{sched}/{size}", t, counters))
    out.append(entry("ode/tape/grad/ckpt:budget:65536/5", 0,
                     error="error: memory budget too small: not even one checkpoint and one step's tape fit"))
    return out


def check_ckpt(c, d, report):
    """The memory-time section: per workload a row per schedule with its ratios to store-all, errors listed, one
    point per schedule in the plot; without checkpointed results the section says so; malformed ones are refused."""
    src = os.path.join(d, "ck.json")
    doc = build_doc()
    doc["benchmarks"] += ckpt_entries()
    doc["context"]["ckpt"] = "store_all,binomial:4,every:32,online:16,budget:65536"
    write_json(src, doc)
    rc, _, err = run_script(report, [src])
    c.check("ckpt report exits 0", rc == 0, err)
    md_path = os.path.join(d, "ck.md")
    md = open(md_path, encoding="utf-8").read() if os.path.exists(md_path) else ""
    c.check("memory-time section", "## Memory and time: checkpointing" in md and "### ode (tape grad, size 5" in md
            and "### ode_adapt (tape grad, size 43" in md, md[-4000:])
    rows = {r.split("|")[1].strip(): [x.strip() for x in r.split("|")[2:-1]] for r in md.splitlines()
            if r.startswith("| `") or r.startswith("| **store_all**")}
    c.check("binomial:4 on ode: 977 KiB, 1.5 ms, time 1.5x, peak 0.25, 14 recomputed of 10 steps, x primal 75",
            rows.get("`binomial:4`") == ["977 KiB", "1.5 ms", "1.5", "0.25", "14", "10", "75"], str(rows))
    c.check("online:16 on ode_adapt: time 1.25x, peak 0.02, 96 recomputed of 55",
            rows.get("`online:16`", [""] * 5)[2:6] == ["1.25", "0.02", "96", "55"], str(rows))
    c.check("store-all's own ratios are 1", any(r.startswith("| **store_all** | 3.81 MiB | 1 ms | 1 | 1 | 0 | 10 |")
                                                for r in md.splitlines()), md[-3000:])
    c.check("a failed schedule is listed", "- `budget:65536`: error: memory budget too small" in md)
    c.check("checkpointed results stay out of the tape's own tables",
            "| tape | grad | 5 |" not in md and "ckpt:" not in md.split("## Memory and time")[0])
    root = svg_root(c, os.path.join(d, "ck-ckpt.svg"))
    if root is not None:
        texts = "".join("".join(t.itertext()) for t in root.iter(SVG + "text"))
        c.check("plot: a panel per workload, schedules in the legend", "ode (tape)" in texts and
                "ode_adapt (tape)" in texts and "binomial:4" in texts and "store_all" in texts, texts[:300])
        c.check("plot: points only, no lines", not root.findall(f"{SVG}polyline"))
    c.check("md links the plot", "(ck-ckpt.svg)" in md)
    # Malformed: an unknown schedule; a measured result without its peak_bytes; a negative recomputed count.
    bad = os.path.join(d, "ckbad.json")
    for what, name, drop, neg, needle in (("unknown schedule", "ode/tape/grad/ckpt:binomial:x/5", None, None,
                                           "malformed checkpointed result"),
                                          ("no size", "ode/tape/grad/ckpt:store_all", None, None,
                                           "malformed checkpointed result"),
                                          ("no peak_bytes", "ode/tape/grad/ckpt:store_all/5", "peak_bytes", None,
                                           "without its peak_bytes counter"),
                                          ("negative recomputed", "ode/tape/grad/ckpt:store_all/5", None,
                                           "recomputed", "negative recomputed")):
        doc = build_doc()
        e = ckpt_entries()[0]
        e["name"] = e["run_name"] = name
        if drop:
            del e[drop]
        if neg:
            e[neg] = -1.0
        doc["benchmarks"].append(e)
        write_json(bad, doc)
        rc, _, err = run_script(report, [bad])
        c.one_line_error(f"checkpointed result: {what}", rc, err, needle)
    c.check("nothing written for a malformed checkpointed result", not os.path.exists(os.path.join(d, "ckbad.md")))


def main(report):
    c = Checker("test_report")
    d = tempfile.mkdtemp(prefix="adlab-report-")
    src = os.path.join(d, "run.json")
    write_json(src, build_doc())
    stale = os.path.join(d, "run-oldworkload-time.svg")
    other = os.path.join(d, "notes-time.svg")
    for f in (stale, other):
        with open(f, "w", encoding="utf-8") as fh:
            fh.write("<svg xmlns='http://www.w3.org/2000/svg'/>")

    rc, out, err = run_script(report, [src])
    c.check("report exits 0", rc == 0, err)
    md_path = os.path.join(d, "run.md")
    md = open(md_path, encoding="utf-8").read() if os.path.exists(md_path) else ""
    c.check("markdown written beside the JSON", md.startswith("# adlab benchmark report: run"), md[:200])
    c.check("context in the header", "Test CPU" in md and "0123abcd" in md and "purecfma" in md)

    # Targets: measured values and verdicts. Columns: tape ns/node, tape x primal, tape bytes/arg,
    # tape recorded bytes/node, tape bytes held/node, dual jvp x primal, graph ns/node, graph bytes/node.
    c.check("target columns say their limits", "tape grad: ns/node (at most 5 on rosenbrock, poly, chain)" in md and
            "dual jvp: x primal (at most 1.5 on chain, 2.5 on rosenbrock)" in md, md[:3000])
    c.check("tape ns/node on rosenbrock: 4, met", target_cell(md, "rosenbrock", 0) == "4 ✓",
            target_cell(md, "rosenbrock", 0))
    c.check("tape ns/node on chain: 12, missed", target_cell(md, "chain", 0) == "**12 ✗**", target_cell(md, "chain", 0))
    c.check("tape on chain: 1.71x primal, met", target_cell(md, "chain", 1) == "1.71 ✓", target_cell(md, "chain", 1))
    c.check("tape x primal on rosenbrock: 40, missed (at most 12)", target_cell(md, "rosenbrock", 1) == "**40 ✗**",
            target_cell(md, "rosenbrock", 1))
    c.check("dual jvp on rosenbrock: 3x primal, missed", target_cell(md, "rosenbrock", 7) == "**3 ✗**",
            target_cell(md, "rosenbrock", 7))
    c.check("dual jvp on chain: 1.14x, met", target_cell(md, "chain", 7) == "1.14 ✓", target_cell(md, "chain", 7))
    c.check("recorded bytes per node on chain: (10^6 + 12 * 10^6) / 10^6 = 13, met",
            target_cell(md, "chain", 5) == "13 ✓", target_cell(md, "chain", 5))
    c.check("bytes held per node on chain: 30, shown without a verdict", target_cell(md, "chain", 6) == "30",
            target_cell(md, "chain", 6))
    c.check("bytes per argument on rosenbrock: (10^6 + 12 args) / args = 12.7",
            target_cell(md, "rosenbrock", 4) == "12.7 ✓", target_cell(md, "rosenbrock", 4))
    c.check("bytes per argument on chain: 13.000001 shown as 13 is met", target_cell(md, "chain", 4) == "13 ✓",
            target_cell(md, "chain", 4))
    c.check("poly, named by a target but not in the run: not measured", target_cell(md, "poly", 0) == "n/m")
    c.check("no graph engine: not measured", target_cell(md, "rosenbrock", 8) == "n/m")
    # not measured: 6, and the x-primal limits on poly, mlp, lse, llsq and ode (none in the run)
    c.check("verdicts counted", "Targets met: 6, missed: 4, not measured: 11." in md, md[:4000])

    # Ratios to primal from the same file, and the crossover.
    row = next((l for l in md.splitlines() if l.startswith("| tape | grad | 125,001 |")), "")
    c.check("ratio to primal: 4e6 / 1e5 = 40", "| 40 |" in row, row)
    c.check("primal ratio is 1", any(l.startswith("| primal | value | 125,001 |") and "| 1 |" in l
                                     for l in md.splitlines()))
    c.check("crossover at sqrt(2 * 13) = 5.1", "cheaper up to n_in = 5.1 " in md, md)
    c.check("skip reason listed", f"dual grad at size 125,001: {SKIP[4]}" in md)
    c.check("workload description", "extended Rosenbrock function of n inputs." in md)

    # Plots: well-formed SVG, one line per engine and mode, axes labelled.
    # Time: one panel per mode, each with the primal's value time as a reference line: rosenbrock jvp (primal,
    # dual), grad (primal, dual, tape), reverse (primal, tape); chain jvp (primal, dual), grad (primal, tape).
    for name, lines in (("run-rosenbrock-time.svg", 7), ("run-rosenbrock-bytes.svg", 3), ("run-chain-time.svg", 4),
                        ("run-crossover.svg", 2)):
        path = os.path.join(d, name)
        try:
            root = ET.parse(path).getroot()
        except (OSError, ET.ParseError) as e:
            c.check(f"{name} parses as XML", False, str(e))
            continue
        c.check(f"{name} is an SVG with a size", root.tag == SVG + "svg" and root.get("width") and root.get("viewBox"))
        n = len(root.findall(f"{SVG}polyline"))
        c.check(f"{name} has {lines} lines", n == lines, f"{n}")
        texts = "".join("".join(t.itertext()) for t in root.iter(SVG + "text"))
        c.check(f"{name} has axis labels", ("nodes" in texts or "n_in" in texts) and "10" in texts, texts[:200])
        if name == "run-rosenbrock-time.svg":
            c.check("legend names engines and the primal reference", "tape" in texts and "dual" in texts and
                    "primal value (reference)" in texts, texts)
            c.check("one panel per mode", all(f"{m}: " in texts for m in ("jvp", "grad", "reverse")) and
                    "value: " not in texts, texts)
        if name == "run-crossover.svg":
            c.check("crossover marked", "5.1" in texts, texts)
    c.check("md links the plots", "(run-rosenbrock-time.svg)" in md and "(run-crossover.svg)" in md)
    c.check("stale plot of the same report removed", not os.path.exists(stale))
    c.check("other files left alone", os.path.exists(other))
    c.check("without mix: the Jacobian section says so", "## Jacobians: forward vs reverse (mix)\n\n- `mix` is not in "
            "this run." in md, md[md.find("## Jacobians"):md.find("## Jacobians") + 200])
    c.check("without mix: no Jacobian plot", not os.path.exists(os.path.join(d, "run-jacobian.svg")))
    check_jacobians(c, d, report)
    check_lanes(c, d, report)
    c.check("without vector modes: no lanes plot", not os.path.exists(os.path.join(d, "jac-jacobian-lanes.svg")))
    check_columns(c, md)
    check_plots(c, d, report)
    check_x_primal(c, d, report)
    check_bad_times(c, d, report)
    check_tensors(c, d, report)
    check_ckpt(c, d, report)
    c.check("without checkpointed results: the section says so", "## Memory and time: checkpointing\n\n- no "
            "checkpointed results in this run" in md)

    # --out-dir and --name.
    out_dir = os.path.join(d, "elsewhere")
    rc, _, err = run_script(report, [src, "--out-dir", out_dir, "--name", "ref"])
    c.check("--out-dir/--name", rc == 0 and os.path.exists(os.path.join(out_dir, "ref.md")) and
            os.path.exists(os.path.join(out_dir, "ref-chain-time.svg")), err)

    # Malformed input.
    text = open(src, encoding="utf-8").read()
    bad = os.path.join(d, "bad.json")
    with open(bad, "w", encoding="utf-8") as f:
        f.write(text[: len(text) * 2 // 3])
    rc, _, err = run_script(report, [bad])
    c.one_line_error("truncated JSON", rc, err, "truncated")
    write_json(bad, report_doc([entry("BM_foo", 1.0)]))
    rc, _, err = run_script(report, [bad])
    c.one_line_error("not adbench's", rc, err, "no adbench results")
    write_json(bad, {"benchmarks": "nope"})
    rc, _, err = run_script(report, [bad])
    c.one_line_error("foreign JSON", rc, err, "not a Google Benchmark")
    rc, _, err = run_script(report, [os.path.join(d, "missing.json")])
    c.one_line_error("missing file", rc, err, "cannot read")
    c.check("nothing written for bad input", not os.path.exists(os.path.join(d, "bad.md")))
    return c.done()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
