"""bench_fixtures: small Google Benchmark reports shaped like adbench's, for the tests of scripts/report and
scripts/compare, and helpers to run those scripts.

  doc = report_doc({("rosenbrock", "primal", "value", 125001): 1.0e5}, nodes={...})
  rc, out, err = run_script(script_path, [json_path, "--threshold", "10"])
"""
import json
import subprocess
import sys

CONTEXT = {
    "date": "2026-01-01T00:00:00+00:00", "host_name": "test", "executable": "adbench", "num_cpus": 2,
    "mhz_per_cpu": 2600, "cpu_scaling_enabled": False, "caches": [], "load_avg": [0, 0, 0],
    "library_build_type": "release", "git_commit": "0123abcd", "compiler": "GNU 12.2.0", "cflags": "-O3",
    "cpu_model": "Test CPU", "cpu_flags": "sse2 avx2 fma", "sleef_version": "3.5.1", "sleef_variant": "purecfma",
    "adbench_sweep": "test", "adbench_node_targets": "10..1000000, 1 per decade",
}


def entry(name, cpu_ns, counters=None, rep=0, reps=1, error=None):
    """One iteration run of a Google Benchmark report."""
    e = {"name": name, "family_index": 0, "per_family_instance_index": 0, "run_name": name,
         "run_type": "iteration", "repetitions": reps, "repetition_index": rep, "threads": 1}
    if error:
        e.update({"error_occurred": True, "error_message": error})
        return e
    e.update({"iterations": 1000, "real_time": cpu_ns * 1.01, "cpu_time": cpu_ns, "time_unit": "ns"})
    e.update(counters or {})
    return e


def adbench_counters(nodes, n_in, bytes_held, cpu_ns, args=None, n_out=None, size=None):
    """adbench's counters for one result; n_out is left out unless given (as in reports from before it existed)."""
    c = {"nodes": float(nodes), "n_in": float(n_in), "size": float(n_in if size is None else size),
         "bytes": float(bytes_held), "bytes_per_node": bytes_held / nodes, "ns_per_node": cpu_ns / nodes,
         "allocs_per_iter": 0.5, "max_bytes_used": int(bytes_held)}
    if n_out is not None:
        c["n_out"] = float(n_out)
    if args:
        c.update({"args": float(args), "bytes_used": float(nodes + 12 * args), "bytes_per_arg": (nodes + 12 * args) / args})
    return c


def mix_shapes(k=12):
    """The shapes (n, m) of the mix workload's sizes 1, 2, ... (bench/workloads/mix.c): n = 2^p and m = 2^q for p,
    q in 0 .. k, in order of p + q, then of decreasing q."""
    return [(2 ** (s - q), 2 ** q) for s in range(2 * k + 1) for q in range(min(s, k), -1, -1) if s - q <= k]


def mix_size(n, m):
    """The mix size index whose shape is (n, m)."""
    return mix_shapes().index((n, m)) + 1


def report_doc(entries):
    return {"context": dict(CONTEXT), "benchmarks": entries}


def write_json(path, doc):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=2)


def run_script(script, args):
    """(exit status, stdout, stderr) of running a Python script with this interpreter."""
    p = subprocess.run([sys.executable, script] + list(args), capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout, p.stderr


class Checker:
    """Counts checks; fail() reports and remembers; done() returns the exit status."""

    def __init__(self, name):
        self.name, self.checks, self.fails = name, 0, 0

    def check(self, descr, cond, detail=""):
        self.checks += 1
        if not cond:
            self.fails += 1
            print(f"FAIL {descr}" + (f": {detail}" if detail else ""), file=sys.stderr)

    def one_line_error(self, descr, rc, err, needle):
        """A clean rejection: exit 2, one line on stderr containing needle, no traceback."""
        lines = [l for l in err.splitlines() if l.strip()]
        self.check(f"{descr}: exit status 2", rc == 2, f"got {rc}")
        self.check(f"{descr}: one line on stderr", len(lines) == 1, repr(err))
        self.check(f"{descr}: no traceback", "Traceback" not in err, err)
        self.check(f"{descr}: says {needle!r}", needle in err, repr(err))

    def done(self):
        print(f"{self.name}: {self.checks} checks, {self.fails} failed")
        return 1 if self.fails else 0
