"""test_results: scripts/adlab_results.py, the one loader of results files that scripts/report, scripts/compare and
scripts/main share: its one-line reasons for unusable files, its handling of repetitions and their aggregates
(mean, median, stddev, cv), of NaN, -NaN, infinite and negative times, and its `check` command; and that report
and compare carry no loader of their own and give the same message for the same bad file.

  python3 tests/test_results.py scripts
"""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_fixtures import Checker, adbench_counters, entry, report_doc, run_script, write_json  # noqa: E402


def aggregate(name, kind, t, reps):
    e = entry(name, t, adbench_counters(100, 10, 1000.0, t), 0, reps)
    e.update({"run_type": "aggregate", "aggregate_name": kind, "name": f"{name}_{kind}"})
    e.pop("repetition_index")
    return e


def main(scripts):
    c = Checker("test_results")
    sys.path.insert(0, scripts)
    import adlab_results as ar
    d = tempfile.mkdtemp(prefix="adlab-results-")
    p = lambda n: os.path.join(d, n)  # noqa: E731

    def reason(text):
        try:
            ar.parse_report(text, "f.json")
        except ar.InputError as e:
            return str(e)
        return None

    good = json.dumps(report_doc([entry("a/e/m/1", 10.0)]), indent=2)
    c.check("a report loads", reason(good) is None, reason(good))
    c.check("empty file", reason("  \n") == "f.json: empty file", reason(""))
    c.check("truncated", "truncated JSON" in (reason(good[: len(good) // 2]) or ""), reason(good[: len(good) // 2]))
    c.check("truncated just before the last brace", "truncated JSON" in (reason(good.rstrip()[:-1]) or ""))
    c.check("not JSON", "not valid JSON" in (reason("hello") or ""), reason("hello"))
    c.check("foreign JSON", "not a Google Benchmark" in (reason('{"results": [1]}') or ""))
    c.check("an entry without a name", "has no name" in (reason('{"context": {}, "benchmarks": [{"x": 1}]}') or ""))
    c.check("a JSON list", "not a Google Benchmark" in (reason("[1, 2]") or ""))

    # Repetitions with their aggregates: the iterations count, the aggregates do not.
    name = "w/tape/grad/5"
    reps = [entry(name, t, adbench_counters(100, 10, 1000.0, t), r, 3) for r, t in enumerate([10.0, 30.0, 20.0])]
    aggs = [aggregate(name, k, v, 3) for k, v in (("mean", 20.0), ("median", 20.0), ("stddev", 10.0), ("cv", 0.5))]
    res = ar.collect(report_doc(reps + aggs), "f.json")
    c.check("one result per run_name", list(res) == [name], str(list(res)))
    c.check("times of the repetitions only", sorted(res[name].times_ns) == [10.0, 20.0, 30.0],
            str(res[name].times_ns))
    c.check("median time", res[name].time_ns() == 20.0)
    c.check("counter median over repetitions", res[name].counter("ns_per_node") == 0.2,
            str(res[name].counter("ns_per_node")))
    # A non-finite counter in one run is left out of the median; one that is never finite is absent.
    bad = [dict(r) for r in reps] + [entry(name, 25.0, dict(adbench_counters(100, 10, 1000.0, 25.0),
                                                            ns_per_node=float("nan"), x_primal=float("nan")), 3, 5),
                                     entry(name, 26.0, dict(adbench_counters(100, 10, 1000.0, 26.0),
                                                            ns_per_node=float("inf"), x_primal=float("inf")), 4, 5)]
    res_bad = ar.collect(report_doc(bad), "f.json")
    c.check("NaN and Inf counters left out of the median", res_bad[name].counter("ns_per_node") == 0.2,
            str(res_bad[name].counter("ns_per_node")))
    c.check("a counter never finite is absent", res_bad[name].counter("x_primal") is None,
            str(res_bad[name].counter("x_primal")))
    # Only aggregates (--benchmark_report_aggregates_only): the median stands in, never the stddev or cv.
    res = ar.collect(report_doc(aggs), "f.json")
    c.check("aggregates only: the median", res[name].times_ns == [20.0], str(res[name].times_ns))
    res = ar.collect(report_doc([a for a in aggs if a["aggregate_name"] != "median"]), "f.json")
    c.check("aggregates only, no median: the mean", res[name].times_ns == [20.0], str(res[name].times_ns))
    res = ar.collect(report_doc([a for a in aggs if a["aggregate_name"] in ("stddev", "cv")]), "f.json")
    c.check("stddev and cv alone are no time", name not in res or not res[name].times_ns, str(res))
    # Units.
    e = entry("u/e/m/1", 2.0)
    e["time_unit"] = "ms"
    res = ar.collect(report_doc([e]), "f.json")
    c.check("ms scaled to ns", res["u/e/m/1"].times_ns == [2.0e6], str(res["u/e/m/1"].times_ns))
    e["time_unit"] = "fortnights"
    try:
        ar.collect(report_doc([e]), "f.json")
        c.check("unknown unit rejected", False)
    except ar.InputError as err:
        c.check("unknown unit rejected", "unknown time unit" in str(err), str(err))
    # Errors, skips, NaN, infinity, negative times.
    res = ar.collect(report_doc([entry("s/e/m/1", 0, error="skipped: big"), entry("x/e/m/1", 0, error="oom")]), "f")
    c.check("a skip", res["s/e/m/1"].skipped and not res["s/e/m/1"].times_ns)
    c.check("an error is not a skip", res["x/e/m/1"].error == "oom" and not res["x/e/m/1"].skipped)
    for bad in (float("nan"), float("inf")):
        res = ar.collect(report_doc([entry("n/e/m/1", bad), entry("n/e/m/1", 5.0, None, 1, 2)]), "f.json")
        c.check(f"{bad}: invalid, no times", res["n/e/m/1"].invalid and not res["n/e/m/1"].times_ns,
                str(vars(res["n/e/m/1"])))
    text = good.replace('"cpu_time": 10.0', '"cpu_time": -NaN')
    res = ar.collect(ar.parse_report(text, "f.json"), "f.json")
    c.check("-NaN read as NaN: invalid", res["a/e/m/1"].invalid == "cpu_time is nan", str(res["a/e/m/1"].invalid))
    try:
        ar.collect(report_doc([entry("g/e/m/1", -1.0)]), "f.json")
        c.check("negative time rejected", False)
    except ar.InputError as err:
        c.check("negative time rejected", "negative cpu_time" in str(err), str(err))

    # The check command scripts/main runs on a new results file.
    tool = os.path.join(scripts, "adlab_results.py")
    write_json(p("good.json"), report_doc([entry("a/e/m/1", 10.0), entry("b/e/m/1", 0, error="skipped: x")]))
    write_json(p("skipped.json"), report_doc([entry("b/e/m/1", 0, error="skipped: x")]))
    write_json(p("none.json"), report_doc([]))
    write_json(p("nan.json"), report_doc([entry("a/e/m/1", float("nan"))]))
    with open(p("empty.json"), "w", encoding="utf-8") as f:
        pass
    rc, _, err = run_script(tool, ["check", p("good.json")])
    c.check("check: a good file passes", rc == 0, err)
    for f, needle in (("empty.json", "empty file"), ("none.json", "no benchmark results"),
                      ("skipped.json", "none of its 1 benchmarks"), ("nan.json", "none of its 1 benchmarks"),
                      ("missing.json", "cannot read")):
        rc, _, err = run_script(tool, ["check", p(f)])
        c.one_line_error(f"check: {f}", rc, err, needle)

    # report and compare use this module and no loader of their own; the same bad file, the same reason.
    for s in ("report", "compare"):
        with open(os.path.join(scripts, s), encoding="utf-8") as f:
            src = f.read()
        c.check(f"{s} imports adlab_results", "from adlab_results import" in src)
        c.check(f"{s} has no loader or unit table of its own", "def load_report" not in src and
                "UNIT_NS = " not in src and "json.loads" not in src)
    with open(p("trunc.json"), "w", encoding="utf-8") as f:
        f.write(good[: len(good) // 2])
    _, _, e1 = run_script(os.path.join(scripts, "report"), [p("trunc.json"), "--out-dir", d])
    _, _, e2 = run_script(os.path.join(scripts, "compare"), [p("trunc.json"), p("good.json")])
    c.check("report and compare: the same truncation message", e1.split(": ", 1)[1:] == e2.split(": ", 1)[1:] and
            "truncated" in e1, f"{e1!r} {e2!r}")
    return c.done()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
