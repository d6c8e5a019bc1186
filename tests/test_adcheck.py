#!/usr/bin/env python3
"""test_adcheck: adcheck's command line, exit statuses and JSON.

    test_adcheck.py PATH_TO_ADCHECK [sanitized]

Exit statuses (adcheck --help): 0 all agree, 1 a disagreement, 2 bad usage, 3 out of memory. Checks that a
tolerance tightened below rounding makes adcheck exit 1 (so an adcheck that always exits 0 fails here), that
misuse is an error naming the limit, that out of memory is reported as such (skipped under the sanitizers, whose
shadow memory does not fit an address-space limit), and that --json is valid JSON with the right fields.
"""
import json
import math
import os
import resource
import subprocess
import sys
import tempfile

ADCHECK = sys.argv[1]
SANITIZED = len(sys.argv) > 2 and sys.argv[2] in ("1", "ON", "sanitized")
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)


def run(*args, limit=None):
    def pre():
        if limit:
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    p = subprocess.run([ADCHECK, *args], capture_output=True, text=True, preexec_fn=pre if limit else None,
                       timeout=300)
    return p.returncode, p.stdout + p.stderr


def reject(c):
    raise ValueError("not JSON: " + c)


# Exit statuses.
st, out = run("--workload", "seed")
check(st == 0 and "all agree" in out, f"seed: exit {st}\n{out}")
st, out = run("--workload", "seed", "--tol", "fd=1e-30")
check(st == 1 and "DISAGREEMENT" in out and "FAIL engine" in out, f"--tol fd=1e-30: exit {st}, want 1\n{out}")
st, out = run("--workload=seed", "--tol=engines=1e-30", "--engine=dual,tape")
check(st == 0, f"engines agree bit for bit on seed, any tolerance passes: exit {st}\n{out}")
st, out = run("--help")
check(st == 0 and "exit status" in out and "3 out of memory" in out and "--max-seconds" in out, f"--help: {out}")

# Misuse: an error naming the limit, never a silent clamp; empty lists; unknown names and options.
st, out = run("--workload", "seed", "--size", "1000000000")
check(st == 2 and "largest size, 1" in out and "all agree" not in out, f"--size over max: exit {st}\n{out}")
st, out = run("--workload", "det", "--size", "1000")
check(st == 2 and "det's largest size, 11" in out, f"det --size 1000: exit {st}\n{out}")
for bad in (["--workload="], ["--workload", ""], ["--engine="], ["--workload", "nosuch"], ["--size", "0"],
            ["--size", "-1"], ["--size", "5x"], ["--seed", "-1"], ["--tol", "fd"], ["--tol", "nosuch=1"],
            ["--tol", "fd=nan"], ["--tol", "fd=0"], ["--max-seconds", "-1"], ["--json="], ["--bogus"], ["extra"],
            ["--workload"]):
    st, out = run(*bad)
    check(st == 2 and "try 'adcheck --help'" in out, f"{bad}: exit {st}, want 2\n{out}")

# Every workload at a size only some support: the others say so and are counted, not clamped.
st, out = run("--size", "5", "--engine", "primal,tape", "--fd-max", "2")
seed_rows = [l for l in out.splitlines() if l.startswith("seed ")]
check(st == 0 and len(seed_rows) == 1 and "skipped: larger than its largest size, 1" in seed_rows[0],
      f"--size 5 on every workload: exit {st}\n{out}")

# Out of memory: its own message and exit status, not a disagreement.
if not SANITIZED:
    # The limit is what adcheck needs to start (its shared libraries: libtorch's are large when the peers are
    # built), found by bisection to 8 MB, plus 64 MB: ode at size 10 records about 2 10^7 ops, far more than that.
    lo, hi = 8 << 20, 16 << 30
    while hi - lo > 8 << 20:
        mid = (lo + hi) // 2
        if run("--help", limit=mid)[0] == 0:
            hi = mid
        else:
            lo = mid
    st, out = run("--workload", "ode", "--size", "10", "--engine", "primal,tape", "--max-seconds", "0",
                  limit=hi + (64 << 20))
    check(st == 3 and "tape     out of memory" in out and "OUT OF MEMORY" in out and "DISAGREEMENT" not in out,
          f"out of memory: exit {st}, want 3\n{out}")

# The time budget: a costly engine is skipped with a message and counted.
st, out = run("--workload", "det", "--size", "9", "--engine", "primal,dual", "--max-seconds", "0.001")
check(st == 0 and "over the time budget" in out and "skipped (time budget" in out, f"budget: exit {st}\n{out}")

# JSON: valid (no NaN or Infinity tokens), the fields, mix's manual value at n_out = 1.
with tempfile.TemporaryDirectory() as d:
    path = os.path.join(d, "check.json")
    st, out = run("--workload", "mix,rosenbrock,ba", "--size", "3", "--json", path)
    check(st == 0, f"--json run: exit {st}\n{out}")
    with open(path) as f:
        doc = json.loads(f.read(), parse_constant=reject)
    check(set(doc["tolerances"]) == {"engines", "manual", "fd", "replay", "lanes"}, f"tolerances {doc['tolerances']}")
    check(doc["summary"]["cases"] == 3 and doc["summary"]["exit_status"] == 0, f"summary {doc['summary']}")
    cases = {c["workload"]: c for c in doc["checks"]}
    mix = cases["mix"]
    check(mix["n_out"] == 1 and abs(mix["manual"]["value"][0] - (-0.3709)) < 1e-4,
          f"mix manual value {mix['manual']['value']}, want -0.3709")
    check(mix["manual"]["value"] == mix["primal_value"] or
          abs(mix["manual"]["value"][0] - mix["primal_value"][0]) < 1e-12, "mix manual value vs primal")
    for name, c in cases.items():
        nJ = c["n_in"] * c["n_out"]
        check(len(c["inputs"]) == c["n_in"], f"{name}: inputs")
        for e, r in c["engines"].items():
            if "skipped" in r:  # a peer beyond its own limits (built with -DADLAB_PEERS=ON) says why
                check("tool" in r and isinstance(r["skipped"], str) and r["skipped"], f"{name} {e}: skip {r}")
                continue
            check(r["status"] == "ok" and r["result"] == "ok", f"{name} {e}: {r.get('status')} {r.get('result')}")
            tol = 1e-10 if "tool" in r else 1e-12  # peers use their own elementary functions (PEER_TOL)
            if e != "primal":
                key = "gradient" if c["n_out"] == 1 else "jacobian"
                check(len(r[key]) == nJ, f"{name} {e}: {key} has {len(r[key])} entries, want {nJ}")
                errs = r["errors"]
                check(errs["manual"] <= tol and errs["engines"] <= tol, f"{name} {e}: {errs}")
                finite = all(isinstance(v, (int, float)) and math.isfinite(v) for v in r[key])
                check(finite, f"{name} {e}: {key} values")
        check("replay" in c["engines"]["replay"], f"{name}: replay counts")
    # To standard output: the JSON alone there, the table on stderr.
    p = subprocess.run([ADCHECK, "--workload", "seed", "--json", "-"], capture_output=True, text=True, timeout=60)
    doc = json.loads(p.stdout, parse_constant=reject)
    check(p.returncode == 0 and doc["checks"][0]["workload"] == "seed" and "all agree" in p.stderr,
          f"--json -: exit {p.returncode}")

if failures:
    print(f"test_adcheck: {len(failures)} failure(s)")
    sys.exit(1)
print("test_adcheck: ok")
