"""test_compare: scripts/compare matches benchmarks by name, prints B/A for time and bytes, judges significance
with a Mann-Whitney U test when both reports have repetitions, fails on a planted slowdown with --threshold,
writes Markdown, and rejects missing, truncated, non-JSON and foreign files with one clean line. The gate: NaN or
infinite times and a run where nothing could be compared exit 3 (never 0 or 1), negative times and out-of-range
options (--threshold nan, --alpha -1, ...) exit 2 with one line.

  python3 tests/test_compare.py scripts/compare
"""
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_fixtures import Checker, adbench_counters, entry, report_doc, run_script, write_json  # noqa: E402

# Base times (ns) of three benchmarks; B plants a 1.5x slowdown on chain/tape/grad/1000.
BASE = {"rosenbrock/tape/grad/126": 400.0, "chain/tape/grad/1000": 10000.0, "poly/dual/jvp/51": 100.0}
JITTER = [1.000, 1.004, 0.997, 1.006, 0.995, 1.002]  # +-0.6%: repetitions that overlap between A and B


def repeated(times_by_name, bytes_by_name=None):
    entries = []
    for name, t in times_by_name.items():
        for r, j in enumerate(JITTER):
            by = (bytes_by_name or {}).get(name, 1000.0)
            entries.append(entry(name, t * j, adbench_counters(100, 10, by, t * j), r, len(JITTER)))
    return report_doc(entries)


def line_of(out, name):
    return next((l for l in out.splitlines() if l.startswith(name + " ")), "")


def main(compare):
    c = Checker("test_compare")
    d = tempfile.mkdtemp(prefix="adlab-compare-")
    p = lambda n: os.path.join(d, n)  # noqa: E731

    slow = dict(BASE)
    slow["chain/tape/grad/1000"] *= 1.5
    write_json(p("a.json"), repeated(BASE))
    write_json(p("b.json"), repeated(slow, {"poly/dual/jvp/51": 1300.0}))

    rc, out, err = run_script(compare, [p("a.json"), p("b.json")])
    c.check("plain comparison exits 0", rc == 0, err)
    for name in BASE:
        c.check(f"{name} in the table", line_of(out, name) != "", out)
    chain = line_of(out, "chain/tape/grad/1000")
    c.check("planted slowdown shows B/A 1.500", " 1.500 " in chain, chain)
    c.check("planted slowdown is significant", chain.rstrip().endswith("slower"), chain)
    rosen = line_of(out, "rosenbrock/tape/grad/126")
    c.check("identical distributions: B/A 1.000", " 1.000 " in rosen, rosen)
    c.check("identical distributions: not significant", "not significant" in rosen, rosen)
    c.check("bytes ratio 1.300", " 1.300 " in line_of(out, "poly/dual/jvp/51"), line_of(out, "poly/dual/jvp/51"))

    rc, out, err = run_script(compare, [p("a.json"), p("b.json"), "--threshold", "10"])
    c.check("threshold 10% fails on a 50% slowdown", rc == 1, f"rc {rc} {err}")
    summary = [l for l in out.splitlines() if l.startswith("threshold")]
    c.check("summary names the slow benchmark", summary and "chain/tape/grad/1000" in summary[0], out)
    c.check("summary names only it", summary and "rosenbrock" not in summary[0] and "poly" not in summary[0], out)
    rc, _, err = run_script(compare, [p("a.json"), p("b.json"), "--threshold", "60"])
    c.check("threshold 60% passes a 50% slowdown", rc == 0, err)
    rc, _, err = run_script(compare, [p("a.json"), p("a.json"), "--threshold", "1"])
    c.check("a report against itself passes", rc == 0, err)
    rc, _, _ = run_script(compare, [p("a.json"), p("b.json"), "--threshold", "60", "--bytes-threshold", "20"])
    c.check("bytes threshold 20% fails on 30% more bytes", rc == 1)

    # Without repetitions there is no test: the ratio alone decides.
    one_a = report_doc([entry(n, t, adbench_counters(100, 10, 1000.0, t)) for n, t in BASE.items()])
    one_b = report_doc([entry(n, t * (1.5 if n.startswith("chain") else 1.05), adbench_counters(100, 10, 1e3, t))
                        for n, t in BASE.items()])
    write_json(p("a1.json"), one_a)
    write_json(p("b1.json"), one_b)
    rc, out, _ = run_script(compare, [p("a1.json"), p("b1.json"), "--threshold", "10"])
    c.check("single runs: 50% slowdown fails the threshold", rc == 1, out)
    c.check("single runs: no p-value", line_of(out, "chain/tape/grad/1000").split()[-1] == "-",
            line_of(out, "chain/tape/grad/1000"))
    rc, _, _ = run_script(compare, [p("a1.json"), p("b1.json"), "--threshold", "60"])
    c.check("single runs: 5% and 50% pass a 60% threshold", rc == 0)

    # A slowdown beyond the threshold that the test does not find significant is not counted.
    wide_a = report_doc([entry("x/e/grad/1", t, None, r, 6) for r, t in enumerate([100, 101, 102, 103, 104, 300])])
    wide_b = report_doc([entry("x/e/grad/1", t, None, r, 6) for r, t in enumerate([100, 101, 102, 300, 301, 302])])
    write_json(p("wa.json"), wide_a)
    write_json(p("wb.json"), wide_b)
    rc, out, _ = run_script(compare, [p("wa.json"), p("wb.json"), "--threshold", "10"])
    c.check("large but not significant difference passes", rc == 0, out)

    # The U test against hand-computed p-values (normal approximation, continuity and tie corrections):
    #   A = 1 2 3 4, B = 5 6 7 8: U = 0, mu = 8, var = 16/12 * 9 = 12, z = 7.5 / sqrt(12) = 2.1651, p = 0.0304
    #   A = 1 1 2 2, B = 2 2 3 3: ranks 1.5 1.5 4.5 4.5 | 4.5 4.5 7.5 7.5, U = 12 - 10 = 2, ties 6 + 60 + 6 = 72,
    #   var = 16/12 * (9 - 72/56) = 10.2857, z = 5.5 / 3.2071 = 1.7150, p = 0.0863
    for a_t, b_t, want in (([1, 2, 3, 4], [5, 6, 7, 8], "0.030"), ([1, 1, 2, 2], [2, 2, 3, 3], "0.086")):
        write_json(p("ua.json"), report_doc([entry("u/e/m/1", t, None, r, 4) for r, t in enumerate(a_t)]))
        write_json(p("ub.json"), report_doc([entry("u/e/m/1", t, None, r, 4) for r, t in enumerate(b_t)]))
        rc, out, err = run_script(compare, [p("ua.json"), p("ub.json")])
        c.check(f"U test p = {want}", f" {want} " in line_of(out, "u/e/m/1"), line_of(out, "u/e/m/1") + err)

    # Markdown.
    rc, _, err = run_script(compare, [p("a.json"), p("b.json"), "--markdown", p("cmp.md")])
    md = open(p("cmp.md"), encoding="utf-8").read() if os.path.exists(p("cmp.md")) else ""
    c.check("markdown written", rc == 0 and md.startswith("# Benchmark comparison"), err)
    c.check("markdown has the table row", "| `chain/tape/grad/1000` |" in md and "| 1.500 |" in md, md[:500])
    c.check("markdown has both contexts", "**A**" in md and "**B**" in md and "0123abcd" in md, md[:500])

    # Skipped runs are shown, not compared.
    skipped = report_doc([entry("s/dual/grad/9", 0, error="skipped: too large"), entry("s/tape/grad/9", 50.0)])
    write_json(p("s.json"), skipped)
    rc, out, _ = run_script(compare, [p("s.json"), p("s.json"), "--threshold", "1"])
    c.check("skipped run not compared", "not compared" in line_of(out, "s/dual/grad/9") and rc == 0, out)

    # Bad inputs: one clean line and exit status 2.
    text = open(p("a.json"), encoding="utf-8").read()
    with open(p("trunc.json"), "w", encoding="utf-8") as f:
        f.write(text[: len(text) // 2])
    with open(p("text.json"), "w", encoding="utf-8") as f:
        f.write("this is not json\n")
    write_json(p("foreign.json"), {"results": [1, 2, 3]})
    write_json(p("other.json"), report_doc([entry("BM_other", 5.0)]))
    rc, _, err = run_script(compare, [p("a.json"), p("trunc.json")])
    c.one_line_error("truncated file", rc, err, "truncated")
    rc, _, err = run_script(compare, [p("missing.json"), p("a.json")])
    c.one_line_error("missing file", rc, err, "cannot read")
    rc, _, err = run_script(compare, [p("text.json"), p("a.json")])
    c.one_line_error("not JSON", rc, err, "not valid JSON")
    rc, _, err = run_script(compare, [p("a.json"), p("foreign.json")])
    c.one_line_error("foreign JSON", rc, err, "not a Google Benchmark")
    rc, _, err = run_script(compare, [p("a.json"), p("other.json")])
    c.one_line_error("nothing in common", rc, err, "no benchmark name")
    check_gate(c, p, compare)
    return c.done()


def check_gate(c, p, compare):
    """What must never pass the regression gate, and option values that must be refused."""
    base = report_doc([entry(n, t, adbench_counters(100, 10, 1000.0, t)) for n, t in BASE.items()])
    write_json(p("g_a.json"), base)
    # A NaN or infinite time in B: listed as invalid, exit 3 (cannot judge), never 0 or 1.
    for bad in (float("nan"), float("inf")):
        doc = report_doc([entry(n, bad if n.startswith("chain") else t, adbench_counters(100, 10, 1000.0, 1.0))
                          for n, t in BASE.items()])
        write_json(p("g_b.json"), doc)
        rc, out, err = run_script(compare, [p("g_a.json"), p("g_b.json"), "--threshold", "5"])
        c.check(f"{bad} time in B fails the gate with exit 3", rc == 3, f"rc {rc} {out} {err}")
        c.check(f"{bad} time in B: the row says INVALID", "INVALID" in line_of(out, "chain/tape/grad/1000"), out)
        c.check(f"{bad} time in B: no traceback", "Traceback" not in err, err)
        c.check(f"{bad} time in B: summary names it", "not a finite number: chain/tape/grad/1000" in out, out)
        rc, out, err = run_script(compare, [p("g_b.json"), p("g_a.json"), "--threshold", "5"])
        c.check(f"{bad} time in A fails the gate with exit 3", rc == 3, f"rc {rc} {out} {err}")
    # Google Benchmark writes a negative NaN as -NaN: read, and judged invalid too.
    with open(p("g_b.json"), "w", encoding="utf-8") as f:
        f.write(open(p("g_a.json"), encoding="utf-8").read().replace('"cpu_time": 10000.0', '"cpu_time": -NaN', 1))
    rc, out, err = run_script(compare, [p("g_a.json"), p("g_b.json"), "--threshold", "5"])
    c.check("-NaN time in B: exit 3, listed as invalid", rc == 3 and "INVALID" in out, f"rc {rc} {out} {err}")
    # Every benchmark in B errored or was skipped: nothing compared, so the gate cannot pass.
    doc = report_doc([entry(n, 0, error="skipped: over budget" if i else "out of memory")
                      for i, n in enumerate(BASE)])
    write_json(p("g_err.json"), doc)
    rc, out, err = run_script(compare, [p("g_a.json"), p("g_err.json"), "--threshold", "5"])
    c.check("all errored in B fails --threshold with exit 3", rc == 3, f"rc {rc} {out} {err}")
    c.check("all errored in B: says nothing was compared", "no benchmark could be compared" in out, out)
    rc, out, err = run_script(compare, [p("g_a.json"), p("g_err.json"), "--bytes-threshold", "5"])
    c.check("all errored in B fails --bytes-threshold with exit 3", rc == 3, f"rc {rc} {err}")
    rc, out, err = run_script(compare, [p("g_a.json"), p("g_err.json")])
    c.check("all errored in B without a threshold: the table, exit 0", rc == 0 and "not compared" in out,
            f"rc {rc} {err}")
    # Negative times: a one-line error, exit 2 (exit 1 means only "regression found").
    doc = report_doc([entry(n, -t, adbench_counters(100, 10, 1000.0, 1.0)) for n, t in BASE.items()])
    write_json(p("g_neg.json"), doc)
    rc, _, err = run_script(compare, [p("g_a.json"), p("g_neg.json"), "--threshold", "5"])
    c.one_line_error("negative times in B", rc, err, "negative")
    rc, _, err = run_script(compare, [p("g_neg.json"), p("g_a.json")])
    c.one_line_error("negative times in A", rc, err, "negative")
    # Option values out of range: a usage error, exit 2.
    for args, needle in ((["--threshold", "nan"], "--threshold"), (["--threshold", "inf"], "--threshold"),
                         (["--threshold", "-1"], "--threshold"), (["--bytes-threshold", "nan"], "--bytes-threshold"),
                         (["--alpha", "-1"], "--alpha"), (["--alpha", "nan"], "--alpha"), (["--alpha", "0"], "--alpha"),
                         (["--alpha", "1"], "--alpha"), (["--alpha", "1.5"], "--alpha"), (["--alpha", "inf"], "--alpha")):
        rc, _, err = run_script(compare, [p("g_a.json"), p("g_a.json")] + args)
        c.one_line_error(" ".join(args), rc, err, needle)
    rc, out, _ = run_script(compare, ["--help"])
    c.check("--help documents exit statuses 1, 2 and 3", rc == 0 and "Exit status" in out and "  3  " in out, out)
    # The Markdown file is written whole or not at all: no temporary left behind when it cannot be written.
    os.makedirs(p("md_dir.md"), exist_ok=True)
    rc, _, err = run_script(compare, [p("g_a.json"), p("g_a.json"), "--markdown", p("md_dir.md")])
    c.one_line_error("markdown over a directory", rc, err, "cannot write")
    left = [f for f in os.listdir(os.path.dirname(p("x"))) if f.endswith(".tmp")]
    c.check("no temporary left after a failed write", not left, str(left))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
