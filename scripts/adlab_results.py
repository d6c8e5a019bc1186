"""adlab_results: loading and validating Google Benchmark JSON reports (adbench's or any other), shared by
scripts/report, scripts/compare and scripts/main.

  import adlab_results as ar
  doc = ar.load_report("results/latest.json")          # InputError with a one-line reason if unusable
  for name, res in ar.collect(doc, "results/latest.json").items():
      print(name, res.times_ns, res.error, res.counter("bytes"))

  python3 scripts/adlab_results.py check FILE           exit 0 if FILE holds usable results, else 2 and one line

What counts as unusable (InputError): a missing or unreadable file, an empty one, JSON cut off before its end
(truncated), text that is not JSON, JSON that is not a Google Benchmark report (no "context" object and
"benchmarks" list, an entry without a name), a time with an unknown unit, and a negative time (no clock measures
one). A time that is NaN or infinite is not an input error: the result keeps it in `invalid` and has no times, so
that callers can show it as invalid and refuse to judge it.
Google Benchmark writes NaN as NaN (or -NaN) and infinities as Infinity: both are read.
"""
import json
import math
import os
import re
import statistics
import sys

UNIT_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}


class InputError(Exception):
    """A problem with the input that gets a one-line message and exit status 2."""


def num(v):
    """v as a float if it is a JSON number (NaN and infinities included), else None."""
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def finite(v):
    """v as a float if it is a finite number, else None."""
    v = num(v)
    return v if v is not None and math.isfinite(v) else None


def load_report(path):
    """The parsed JSON of a Google Benchmark report at path; InputError with a one-line reason otherwise."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise InputError(f"{path}: cannot read: {e.strerror or e}")
    except UnicodeDecodeError:
        raise InputError(f"{path}: not a text file")
    return parse_report(text, path)


def parse_report(text, path):
    """The parsed JSON of a Google Benchmark report given as text (path only names it in messages)."""
    if not text.strip():
        raise InputError(f"{path}: empty file")
    # Google Benchmark writes a negative NaN as -NaN, which Python's json does not read.
    text = re.sub(r"(?<=[\[:,\s])-NaN\b", "NaN", text)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        tail = text.rstrip()
        if e.pos >= len(tail) - 1 or (tail.lstrip().startswith("{") and not tail.endswith("}")):
            raise InputError(f"{path}: truncated JSON (cut off after line {tail.count(chr(10)) + 1})")
        raise InputError(f"{path}: not valid JSON: {e.msg} at line {e.lineno}, column {e.colno}")
    except RecursionError:
        raise InputError(f"{path}: not valid JSON: nested too deeply")
    if not isinstance(doc, dict) or not isinstance(doc.get("benchmarks"), list) or \
            not isinstance(doc.get("context"), dict):
        raise InputError(f"{path}: not a Google Benchmark JSON report (no \"context\" and \"benchmarks\")")
    for b in doc["benchmarks"]:
        if not isinstance(b, dict) or not isinstance(b.get("name"), str):
            raise InputError(f"{path}: a benchmark entry has no name (not a Google Benchmark JSON report)")
    return doc


class Result:
    """One benchmark (one run_name) of a report: its repetitions, or the aggregate standing in for them.

    times_ns: the times per iteration in ns, one per repetition (empty if the benchmark errored, was skipped, or
    its time is not finite); error: the error message (a skip's starts with "skipped:"), else None; invalid: why
    the times are unusable (a NaN or infinite time), else None; runs: the entries whose counters describe the
    result (the iteration runs, or the median aggregate when the file holds only aggregates)."""

    def __init__(self, name):
        self.name, self.times_ns, self.error, self.invalid, self.runs = name, [], None, None, []

    @property
    def skipped(self):
        return self.error is not None and self.error.startswith("skipped:")

    def time_ns(self):
        """The median time in ns, or None if there is none."""
        return statistics.median(self.times_ns) if self.times_ns else None

    def counter(self, field):
        """The median of a counter over the runs (finite values only), or None if no run has it."""
        vals = [v for v in (finite(r.get(field)) for r in self.runs) if v is not None]
        return statistics.median(vals) if vals else None


def entry_time_ns(b, field, path):
    """The time field of an entry in ns: a float (possibly NaN or infinite), or None if it has none;
    InputError for an unknown unit or a negative time."""
    t = num(b.get(field))
    if t is None:
        return None
    unit = b.get("time_unit", "ns")
    if unit not in UNIT_NS:
        raise InputError(f"{path}: {b['name']}: unknown time unit {unit!r}")
    if t < 0:
        raise InputError(f"{path}: {b['name']}: negative {field} ({t:g} {unit}): not a measured time")
    return t * UNIT_NS[unit]


def collect(doc, path, field="cpu_time", name_filter=None):
    """{run_name: Result} of a report, in file order. field: "cpu_time" or "real_time"; name_filter: a compiled
    regular expression a name must match (search), or None. Aggregates (mean, median, stddev, cv, ... written
    by --benchmark_repetitions) are ignored where the iteration runs are present; a benchmark with aggregates
    only (--benchmark_report_aggregates_only) takes its median (else mean) aggregate as its one time."""
    out, aggs = {}, {}
    for b in doc["benchmarks"]:
        name = b.get("run_name") if isinstance(b.get("run_name"), str) else b["name"]
        if name_filter and not name_filter.search(name):
            continue
        if b.get("run_type") == "aggregate":
            aggs.setdefault(name, {})[b.get("aggregate_name")] = b
            continue
        res = out.setdefault(name, Result(name))
        if b.get("error_occurred"):
            res.error = res.error or str(b.get("error_message", "error"))
            continue
        t = entry_time_ns(b, field, path)
        if t is None:
            raise InputError(f"{path}: {b['name']}: no {field}")
        res.runs.append(b)
        if not math.isfinite(t):
            res.invalid = res.invalid or f"{field} is {t}"
        else:
            res.times_ns.append(t)
    for name, a in aggs.items():
        res = out.get(name)
        if res is not None and (res.runs or res.error):
            continue
        b = a.get("median") or a.get("mean")
        if b is None:
            continue
        res = out.setdefault(name, Result(name))
        t = entry_time_ns(b, field, path)
        if t is None:
            raise InputError(f"{path}: {b['name']}: no {field}")
        res.runs = [b]
        if math.isfinite(t):
            res.times_ns = [t]
        else:
            res.invalid = f"{field} is {t}"
    for res in out.values():
        if res.invalid or res.error:
            res.times_ns = []
    return out


def write_atomic(path, text):
    """Writes text to path through a temporary file in the same directory renamed over it, so that path holds
    either its old content or all of text; the temporary is removed on any failure (OSError raised)."""
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.remove(tmp)
        except OSError:
            pass
        raise


def check_file(path, field="cpu_time"):
    """None if path holds a Google Benchmark report with at least one benchmark with a finite time; InputError
    with a one-line reason otherwise (empty, truncated, not JSON, foreign, negative times, no usable result)."""
    doc = load_report(path)
    results = collect(doc, path, field)
    if not results:
        raise InputError(f"{path}: no benchmark results")
    if not any(r.times_ns for r in results.values()):
        raise InputError(f"{path}: none of its {len(results)} benchmarks has a finite time (all errored, skipped "
                         "or NaN)")


def main(argv):
    if len(argv) != 2 or argv[0] != "check":
        print("usage: adlab_results.py check FILE", file=sys.stderr)
        return 2
    try:
        check_file(argv[1])
    except InputError as e:
        print(f"adlab_results: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
