"""test_adbench_smoke: adbench runs every engine on every workload at the smallest sizes with a tiny min time and
writes a Google Benchmark JSON with adbench's counters, the memory manager's fields and the build context; skips
carry their reason; Google Benchmark's flags keep working; scripts/report turns the JSON into a report. mix runs
its forward-vs-reverse grid of shapes (n, m) with n_in and n_out counters, bounded by --jacobian-budget.
Every non-primal result carries x_primal (interleaved with the primal) and its spread; tensor-form workloads and
their scalar twins carry elements, ns_per_element and bytes_per_element (the same elements for both); the console
prints plain counters as numbers; a results file is replaced only by a complete one; skip decisions hold across
repetitions; flags take `--k v` and `--k=v`, and empty or unknown names are errors. --ckpt with several schedules
adds one checkpointed gradient per schedule on the workloads with time steps only, with its counters and an honest
context.

  python3 tests/test_adbench_smoke.py build/bench/adbench scripts/report
"""
import json
import os
import re
import resource
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_fixtures import Checker, mix_shapes, mix_size, run_script  # noqa: E402

COUNTERS = ["nodes", "n_in", "n_out", "size", "bytes", "bytes_per_node", "ns_per_node", "allocs_per_iter", "max_bytes_used"]
CONTEXT = ["date", "git_commit", "compiler", "cflags", "cpu_model", "cpu_flags", "sleef_version", "sleef_variant",
           "adbench_sweep"]
FAST = ["--benchmark_min_time=0.001", "--max-nodes=10", "--x-primal-pairs=3"]
X_PRIMAL = ["x_primal", "x_primal_min", "x_primal_max", "x_primal_pairs"]
PER_ELEMENT = ["elements", "ns_per_element", "bytes_per_element"]


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    return p.returncode, p.stdout, p.stderr


def close(a, b, rel):
    return abs(a - b) <= rel * abs(b)


def grid_shapes(ms, max_nodes, budget):
    """The crossover grid adbench documents: for each m, n = 1, 2, 4, ... up to 16 m while the shape's 4nm - m
    nodes stay within max_nodes and nodes * max(n, m) within budget."""
    out = []
    for m in ms:
        n = 1
        while n <= 16 * m and 4 * n * m - m <= max_nodes and (4 * n * m - m) * max(n, m) <= budget:
            out.append((n, m))
            n *= 2
    return out


def check_mix_grid(c, adbench, d, derivative_engines):
    """mix's Jacobian grid in the quick sweep: shapes, counters, modes; --jacobian-budget and --dual-budget."""
    out = os.path.join(d, "mix.json")
    # adlab's own engines only: peers (when built) have their own tests, and 0-dim libtorch needs seconds here.
    derivative_engines = [e for e in derivative_engines if e in ("dual", "tape", "graph", "replay")]
    rc, _, err = run([adbench, "--workload=mix", "--quick", "--benchmark_min_time=0.001", f"--benchmark_out={out}",
                      "--engine=" + ",".join(derivative_engines)])
    c.check("mix grid run exits 0", rc == 0, err[-500:])
    doc = json.load(open(out, encoding="utf-8")) if rc == 0 and os.path.exists(out) else {"benchmarks": []}
    grid = doc.get("context", {}).get("adbench_jacobian_grid", "")
    c.check("context describes the grid", grid.startswith("mix: m = 1, 16, 256; n = 1, 2, 4, ..."), grid)
    expect = grid_shapes([1, 16, 256], 1e4, 1e7)  # the quick sweep: --max-nodes 10^4
    c.check("quick grid reaches past the crossovers of m = 1 and 16",
            (16, 1) in expect and (128, 16) in expect and (8, 256) in expect and (16, 256) not in expect)
    shapes = mix_shapes()
    seen, lanes_seen = {}, set()
    for b in doc["benchmarks"]:
        parts = b["name"].split("/")
        key = None
        if len(parts) == 5 and re.fullmatch(r"lanes:(1|2|4|8|16)", parts[3]):  # a vector mode: its own line
            key = f"{parts[1]}/{parts[3]}"
            del parts[3]
        c.check(f"{b['name']}: mix, grad mode only", len(parts) == 4 and parts[0] == "mix" and parts[2] == "grad")
        if len(parts) != 4 or not parts[3].isdigit():
            continue
        c.check(f"{b['name']}: ran (not skipped)", not b.get("error_occurred"), b.get("error_message"))
        if b.get("error_occurred"):
            continue
        n, m = shapes[int(parts[3]) - 1]
        c.check(f"{b['name']}: counters n_in = {n}, n_out = {m} (mix's size {parts[3]})",
                b.get("n_in") == n and b.get("n_out") == m and b.get("size") == int(parts[3]),
                f"{b.get('n_in')} {b.get('n_out')} {b.get('size')}")
        if parts[1] == "dual":  # the workload's own count: mul, add and sin per term, then the sums
            c.check(f"{b['name']}: nodes = 4nm - m", b.get("nodes") == 4 * n * m - m, str(b.get("nodes")))
        seen.setdefault(key or parts[1], []).append((n, m))
    for e in derivative_engines:
        c.check(f"mix grid on {e}: every shape, in order of m then n", seen.get(e) == expect,
                f"{seen.get(e)} vs {expect}")
    for k in (1, 2, 4, 8, 16):  # the dual engine's vector modes run the same grid
        c.check(f"mix grid on dual with lanes:{k}: every shape", seen.get(f"dual/lanes:{k}") == expect,
                f"{seen.get(f'dual/lanes:{k}')} vs {expect}")
    c.check("mix grid: no primal (it has no Jacobian)", "primal" not in seen, str(seen.keys()))

    # --jacobian-budget bounds the grid (and replaces --dual-budget there); the names carry mix's size index.
    rc, listed, err = run([adbench, "--workload=mix", "--engine=dual", "--jacobian-budget=1000", "--dual-budget=1",
                           "--benchmark_list_tests"])
    want = [f"mix/dual/grad{lanes}/{mix_size(n, m)}" for lanes in ["", "/lanes:1", "/lanes:2", "/lanes:4",
                                                                     "/lanes:8", "/lanes:16"]
            for n, m in grid_shapes([1, 16, 256], 1e6, 1000)]
    c.check("--jacobian-budget=1000: (1..8, 1) and (1, 16), plain and with 1..16 lanes",
            rc == 0 and listed.split() == want and len(want) == 30, f"{listed.split()} vs {want}: {err}")
    rc, listed, err = run([adbench, "--workload=mix,chain", "--engine=dual,tape,graph", "--jacobian-budget=1000",
                           "--lanes=4,16", "--mode=grad", "--benchmark_list_tests"])
    names = listed.split()
    c.check("--lanes=4,16: grad/lanes:4 and :16 on mix and chain, for the engines with vector modes (not graph)",
            rc == 0 and any(n.startswith("chain/dual/grad/lanes:16/") for n in names) and
            any(n.startswith("mix/dual/grad/lanes:4/") for n in names) and
            any(n.startswith("chain/tape/grad/lanes:4/") for n in names) and
            any(n.startswith("mix/graph/grad/") for n in names) and
            not any("lanes:8" in n or n.startswith("chain/graph/grad/lanes") or n.startswith("mix/graph/grad/lanes")
                    for n in names), f"{names}: {err}")
    for bad in ("3", "4,4", "", "32"):
        rc, _, err = run([adbench, f"--lanes={bad}", "--benchmark_list_tests"])
        c.check(f"--lanes={bad!r} refused (exit 2)", rc == 2, err[-300:])
    out2 = os.path.join(d, "mix-budget.json")
    rc, _, err = run([adbench, "--workload=mix", "--engine=dual", "--jacobian-budget=1000", "--dual-budget=1",
                      "--benchmark_min_time=0.001", f"--benchmark_out={out2}"])
    runs = json.load(open(out2, encoding="utf-8"))["benchmarks"] if rc == 0 and os.path.exists(out2) else []
    c.check("--dual-budget does not skip the grid's dual Jacobians", len(runs) == 30 and
            not any(b.get("error_occurred") for b in runs), str([b.get("error_message") for b in runs]))

    # Too slow on the grid: extrapolated by nodes times passes.
    out3 = os.path.join(d, "mix-slow.json")
    rc, _, err = run([adbench, "--workload=mix", "--engine=tape", "--quick", "--max-eval-time=0.000001",
                      f"--benchmark_out={out3}"])
    msgs = [b.get("error_message", "") for b in json.load(open(out3, encoding="utf-8"))["benchmarks"]] \
        if rc == 0 and os.path.exists(out3) else []
    c.check("grid: a larger shape skipped by extrapolation in node passes",
            any("node passes, so at least" in msg for msg in msgs), str(msgs[-3:]))


def check_flags(c, adbench, d):
    """getopt_long syntax, empty and unknown names, the console's plain counters."""
    rc, listed, err = run([adbench, "--workload", "rosenbrock", "--engine", "tape", "--mode", "grad",
                           "--max-nodes", "100", "--benchmark_list_tests"])
    c.check("--k v form", rc == 0 and listed.split() == ["rosenbrock/tape/grad/3", "rosenbrock/tape/grad/14"],
            listed + err)
    for bad in (["--workload="], ["--workload", ""], ["--workload=nope"], ["--workload=poly,"], ["--engine="],
                ["--mode=fast"], ["--steps=0"], ["--seed=-1"], ["--x-primal-pairs=x"], ["stray"]):
        rc, _, err = run([adbench] + bad + ["--benchmark_list_tests"])
        c.check(f"{bad}: exit 2 with a message", rc == 2 and "adbench:" in err, f"{rc} {err}")
    # Console: ns_per_node is a number (ns), not seconds ("7.75567s"); x_primal likewise.
    rc, out, err = run([adbench, "--workload=rosenbrock", "--engine=tape", "--mode=grad", "--max-nodes=100",
                        "--benchmark_min_time=0.001", "--x-primal-pairs=3"])
    vals = re.findall(r"\b(ns_per_node|x_primal)=(\S+)", out)
    c.check("console shows ns_per_node and x_primal", rc == 0 and len(vals) == 4, out[-500:] + err[-300:])
    c.check("console prints plain counters as numbers", vals and all(re.fullmatch(r"[0-9.]+[kMG]?", v)
                                                                     for _, v in vals), str(vals))
    # x_primal is the median of the pairs: with two pairs, exactly the mean of the two (not the min or the max).
    rc, out, err = run([adbench, "--workload=rosenbrock", "--engine=tape,primal", "--mode=grad,value",
                        "--max-nodes=100", "--benchmark_min_time=0.001", "--x-primal-pairs=2",
                        "--benchmark_format=json"])
    got = [b for b in json.loads(out)["benchmarks"] if "x_primal" in b] if rc == 0 else []
    c.check("two pairs: x_primal on every tape result", rc == 0 and len(got) == 2, err[-300:])
    for b in got:
        c.check(f"{b['name']}: x_primal is the median of two pairs, (min + max) / 2",
                b["x_primal_pairs"] == 2 and close(b["x_primal"], (b["x_primal_min"] + b["x_primal_max"]) / 2, 1e-9),
                str({k: b.get(k) for k in X_PRIMAL}))


def check_results_safety(c, adbench, d):
    """A results file is never replaced by an empty or truncated one; temporaries are removed."""
    out = os.path.join(d, "keep.json")
    good = '{"benchmarks": [], "previous": true}\n'

    def reset():
        with open(out, "w", encoding="utf-8") as f:
            f.write(good)

    def intact(what):
        left = [f for f in os.listdir(d) if f.startswith("keep.json.") and f.endswith(".tmp")]
        c.check(f"{what}: results file left as it was", open(out, encoding="utf-8").read() == good)
        c.check(f"{what}: no temporary file left", not left, str(left))

    reset()
    rc, _, err = run([adbench, "--benchmark_filter=nomatch", f"--benchmark_out={out}"])
    c.check("filter matching nothing: exit non-zero", rc not in (0, 2) and "no benchmark matched" in err, f"{rc} {err}")
    intact("filter matching nothing")

    # A write failure: the file size limit makes writes fail with EFBIG (SIGXFSZ ignored), as a full disk would.
    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (1500, 1500))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    p = subprocess.run([adbench, "--workload=rosenbrock", "--engine=tape", "--max-nodes=100",
                        "--benchmark_min_time=0.001", "--x-primal-pairs=0", f"--benchmark_out={out}"],
                       capture_output=True, text=True, timeout=300, preexec_fn=limit)
    c.check("failed write: exit non-zero", p.returncode not in (0, 2) and "writing the results failed" in p.stderr,
            f"{p.returncode} {p.stderr[-300:]}")
    intact("failed write")

    # Interrupted: SIGTERM and SIGINT remove the temporary file.
    for sig in (signal.SIGTERM, signal.SIGINT):
        reset()
        p = subprocess.Popen([adbench, "--workload=rosenbrock,chain,poly", "--benchmark_min_time=0.2",
                              f"--benchmark_out={out}"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             text=True)
        line = p.stderr.readline()  # the run has started: Google Benchmark prints its header on stderr
        while line and not line.startswith("Run on"):
            line = p.stderr.readline()
        p.send_signal(sig)
        p.communicate(timeout=60)
        c.check(f"{sig.name}: the run ends by the signal", p.returncode == -sig, str(p.returncode))
        intact(sig.name)


def check_repetitions(c, adbench):
    """A size skipped by --max-eval-time is skipped in every repetition (Google Benchmark aborts otherwise):
    thresholds around poly's evaluation times make noisy decisions likely."""
    for limit in ("0.0005", "0.001", "0.002", "0.003", "0.005"):
        rc, out, err = run([adbench, "--workload=poly", "--engine=tape", "--mode=grad", "--min-nodes=1e5",
                            "--max-nodes=1e6", "--steps=10", f"--max-eval-time={limit}", "--benchmark_repetitions=5",
                            "--benchmark_min_time=0.001", "--no-memory-manager", "--x-primal-pairs=0",
                            "--benchmark_format=json"])
        c.check(f"--max-eval-time={limit} with 5 repetitions: exit 0", rc == 0, err[-300:])
        if rc != 0:
            continue
        runs = [b for b in json.loads(out)["benchmarks"] if b.get("run_type") == "iteration"]
        verdicts = {}
        for b in runs:
            verdicts.setdefault(b["run_name"], set()).add(bool(b.get("error_occurred")))
        c.check(f"--max-eval-time={limit}: each size runs or skips in every repetition",
                runs and all(len(v) == 1 for v in verdicts.values()), str(verdicts))


def check_ckpt(c, adbench, d):
    """--ckpt LIST: per schedule, grad/ckpt:SCHEDULE of the checkpointing engines on the workloads with steps (found
    by adbench: rosenbrock has none), at --ckpt-nodes; counters peak_bytes, ckpt_steps, recomputed; the context
    lists the schedules and the cases; a bad list is exit 2; no checkpointing engine selected is a note."""
    out_json = os.path.join(d, "ckpt.json")
    rc, out, err = run([adbench, "--workload=ode,ode_adapt,rosenbrock", "--engine=tape,primal", "--mode=grad,value",
                        "--ckpt=store_all,binomial:2,online:2", "--ckpt-nodes=2000", f"--benchmark_out={out_json}"]
                       + FAST)
    c.check("--ckpt run exits 0", rc == 0, err[-1000:])
    try:
        doc = json.load(open(out_json, encoding="utf-8"))
    except (OSError, ValueError) as e:
        c.check("--ckpt JSON readable", False, str(e))
        return
    ck = {b["name"]: b for b in doc["benchmarks"] if "/ckpt:" in b["name"]}
    names = sorted(re.sub(r"/[0-9]+$", "", n) for n in ck)
    c.check("one case per schedule and workload with steps",
            names == sorted(f"{w}/tape/grad/ckpt:{s}" for w in ("ode", "ode_adapt")
                            for s in ("store_all", "binomial:2", "online:2")), str(names))
    for n, b in ck.items():
        c.check(f"{n}: counters", b.get("peak_bytes", 0) > 0 and b.get("ckpt_steps", 0) > 0 and "recomputed" in b,
                str(b)[:300])
    by = {re.sub(r"/[0-9]+$", "", n): b for n, b in ck.items()}
    a, o = by.get("ode_adapt/tape/grad/ckpt:store_all", {}), by.get("ode_adapt/tape/grad/ckpt:online:2", {})
    c.check("ode_adapt online:2: recomputes, holds less", a.get("recomputed") == 0 and o.get("recomputed", 0) > 0
            and o.get("peak_bytes", 1e30) < a.get("peak_bytes", 0), f"{a.get('peak_bytes')} {o.get('peak_bytes')}")
    c.check("the plain cases keep their names", "ode/tape/grad/1" in {b["name"] for b in doc["benchmarks"]})
    ctx = doc.get("context", {})
    c.check("context: schedules and cases", ctx.get("ckpt") == "store_all,binomial:2,online:2" and
            ctx.get("ckpt_cases", "").startswith("tape on ode,ode_adapt; grad at 2000 nodes"), str(ctx.get("ckpt_cases")))
    for bad in (["--ckpt=binomial:0"], ["--ckpt=store_all,store_all"], ["--ckpt=none,every:2"], ["--ckpt="],
                ["--ckpt-nodes=0"]):
        rc, _, err = run([adbench] + bad + ["--benchmark_list_tests"])
        c.check(f"{bad}: exit 2 with a message", rc == 2 and "adbench:" in err, f"{rc} {err}")
    rc, listed, err = run([adbench, "--engine=dual", "--workload=ode", "--ckpt=store_all", "--max-nodes=100",
                           "--benchmark_list_tests"])
    c.check("no checkpointing engine: a note, no checkpointed case", rc == 0 and "no selected engine checkpoints" in err
            and "ckpt:" not in listed, f"{rc} {err}")


def main(adbench, report):
    c = Checker("test_adbench_smoke")
    d = tempfile.mkdtemp(prefix="adlab-smoke-")

    # What this binary holds, from its own help.
    rc, out, _ = run([adbench, "--help"])
    lines = {l.split(":")[0]: l.split(":", 1)[1].split() for l in out.splitlines() if l.startswith(("engines:",
                                                                                                      "workloads:"))}
    engines = lines.get("engines", [])
    workloads = lines.get("workloads", [])
    c.check("--help lists engines and workloads", rc == 0 and "primal" in engines and "tape" in engines, out[-500:])

    # The smallest sizes of everything.
    out_json = os.path.join(d, "smoke.json")
    rc, out, err = run([adbench] + FAST + [f"--benchmark_out={out_json}", "--context=test_key=test value",
                                           "--progress"])
    c.check("adbench exits 0", rc == 0, err[-2000:])
    c.check("progress on stderr", "adbench: [1/" in err, err[:300])
    check_ckpt(c, adbench, d)
    c.check("no temporary file left", not [f for f in os.listdir(d) if f.endswith(".tmp")], str(os.listdir(d)))
    try:
        doc = json.load(open(out_json, encoding="utf-8"))
    except (OSError, ValueError) as e:
        c.check("JSON report readable", False, str(e))
        return c.done()
    ctx = doc.get("context", {})
    for k in CONTEXT:
        c.check(f"context has {k}", bool(ctx.get(k)), str(ctx.get(k)))
    c.check("--context entry", ctx.get("test_key") == "test value")
    c.check("context names the grid workloads", ctx.get("adbench_grid_workloads") == "mix",
            str(ctx.get("adbench_grid_workloads")))

    seen_engines, seen_workloads, modes, elements = set(), set(), {}, {}
    for b in doc.get("benchmarks", []):
        parts = b["name"].split("/")
        if len(parts) == 5 and re.fullmatch(r"lanes:(1|2|4|8|16)", parts[3]):  # a vector mode of grad
            c.check(f"{b['name']}: lanes on grad only", parts[2] == "grad")
            del parts[3]
        c.check(f"{b['name']}: named workload/engine/mode/size", len(parts) == 4 and parts[3].isdigit())
        if len(parts) != 4:
            continue
        w, e, m, _ = parts
        if b.get("error_occurred"):
            c.check(f"{b['name']}: only skips, no errors", b.get("error_message", "").startswith("skipped:"),
                    b.get("error_message"))
            continue
        seen_engines.add(e)
        seen_workloads.add(w)
        modes.setdefault(e, set()).add(m)
        for k in COUNTERS:
            c.check(f"{b['name']}: counter {k}", isinstance(b.get(k), (int, float)), str(b.get(k)))
        if not all(isinstance(b.get(k), (int, float)) for k in COUNTERS):
            continue
        c.check(f"{b['name']}: nodes > 0", b["nodes"] >= 1)
        if e != "primal":
            ok = all(isinstance(b.get(k), (int, float)) for k in X_PRIMAL)
            c.check(f"{b['name']}: x_primal counters", ok, str({k: b.get(k) for k in X_PRIMAL}))
            if ok:
                # 3 pairs as asked; 1 where one evaluation already takes longer than the pairs' budget (slow peers)
                c.check(f"{b['name']}: x_primal_min <= x_primal <= x_primal_max, 3 pairs (1 for a slow one)",
                        0 < b["x_primal_min"] <= b["x_primal"] <= b["x_primal_max"] and b["x_primal_pairs"] in (1, 3),
                        str({k: b.get(k) for k in X_PRIMAL}))
        else:
            c.check(f"{b['name']}: no x_primal on the primal", "x_primal" not in b)
        c.check(f"{b['name']}: engine holds bytes", b["bytes"] > 0 and b["max_bytes_used"] > 0)
        c.check(f"{b['name']}: bytes_per_node = bytes / nodes", close(b["bytes_per_node"], b["bytes"] / b["nodes"],
                                                                      1e-9))
        c.check(f"{b['name']}: ns_per_node = cpu_time / nodes",
                b.get("time_unit") == "ns" and close(b["ns_per_node"], b["cpu_time"] / b["nodes"], 1e-6),
                f"{b['ns_per_node']} vs {b['cpu_time']} / {b['nodes']}")
        # Per element: tensor forms and their scalar twins (the same elements at the same size), nothing else.
        family = w.endswith("_t") or f"{w}_t" in workloads
        has = all(isinstance(b.get(k), (int, float)) for k in PER_ELEMENT)
        c.check(f"{b['name']}: per-element counters exactly on tensor forms and their twins",
                has == family and (has or not any(k in b for k in PER_ELEMENT)), str({k: b.get(k) for k in PER_ELEMENT}))
        if has:
            elements.setdefault((w[:-2] if w.endswith("_t") else w, b["name"].split("/")[-1]), set()).add(b["elements"])
            c.check(f"{b['name']}: bytes_per_element = bytes / elements, ns_per_element = cpu_time / elements",
                    b["elements"] >= 1 and close(b["bytes_per_element"], b["bytes"] / b["elements"], 1e-9) and
                    close(b["ns_per_element"], b["cpu_time"] / b["elements"], 1e-6), str({k: b.get(k) for k in PER_ELEMENT}))
        if e in ("tape", "tape_op"):
            ok = all(isinstance(b.get(k), (int, float))
                     for k in ("statements", "statements_per_node", "args", "bytes_used", "bytes_per_op"))
            c.check(f"{b['name']}: tape counters statements, statements_per_node, args, bytes_per_op", ok)
            c.check(f"{b['name']}: statements_per_node = statements / nodes",
                    ok and close(b["statements_per_node"], b["statements"] / b["nodes"], 1e-9))
            c.check(f"{b['name']}: bytes_per_arg exactly where there are arguments",
                    ok and (b["args"] > 0) == ("bytes_per_arg" in b))
            if ok and b["args"] > 0:
                c.check(f"{b['name']}: bytes_per_arg = bytes_used / args",
                        close(b["bytes_per_arg"], b["bytes_used"] / b["args"], 1e-9))
    c.check("per-element counters seen", bool(elements))
    for (w, size), ns in sorted(elements.items()):
        c.check(f"{w} and {w}_t at size {size}: the same elements", len(ns) == 1, str(ns))
    for e in engines:
        c.check(f"engine {e} measured", e in seen_engines)
    for w in workloads:
        c.check(f"workload {w} measured", w in seen_workloads)
    c.check("primal: value only", modes.get("primal") == {"value"}, str(modes.get("primal")))
    c.check("dual: jvp and grad", modes.get("dual") == {"jvp", "grad"}, str(modes.get("dual")))
    c.check("tape: grad and reverse", modes.get("tape") == {"grad", "reverse"}, str(modes.get("tape")))

    # An unaffordable forward gradient is skipped with its reason; an affordable one runs.
    out2 = os.path.join(d, "skip.json")
    rc, _, err = run([adbench, "--benchmark_min_time=0.001", "--workload=rosenbrock", "--engine=dual",
                      "--mode=grad", "--max-nodes=100", "--dual-budget=50", f"--benchmark_out={out2}"])
    runs = json.load(open(out2, encoding="utf-8"))["benchmarks"] if rc == 0 and os.path.exists(out2) else []
    c.check("skip run exits 0", rc == 0, err[-500:])
    names = [b["name"] for b in runs]
    c.check("only the selected workload, engine and mode",
            names and all(n.startswith("rosenbrock/dual/grad/") for n in names), str(names))
    skipped = [b for b in runs if b.get("error_occurred")]
    ran = [b for b in runs if not b.get("error_occurred")]
    c.check("small size runs (n_in * nodes <= 50)", len(ran) == 1, str(names))
    c.check("larger size skipped with the budget as reason", len(skipped) == 1 and
            skipped[0]["error_message"].startswith("skipped:") and "--dual-budget" in skipped[0]["error_message"],
            str(skipped))

    # Too slow: a size whose evaluation exceeds --max-eval-time is skipped, and a larger one without running it.
    out3 = os.path.join(d, "slow.json")
    rc, _, err = run([adbench, "--workload=poly", "--engine=tape", "--mode=grad", "--min-nodes=1e5",
                      "--max-nodes=1e6", "--max-eval-time=0.000001", f"--benchmark_out={out3}"])
    runs = json.load(open(out3, encoding="utf-8"))["benchmarks"] if rc == 0 and os.path.exists(out3) else []
    msgs = [b.get("error_message", "") for b in runs]
    c.check("slow run exits 0", rc == 0, err[-500:])
    c.check("slow size skipped after one evaluation", len(msgs) == 2 and msgs[0].startswith("skipped: one evaluation "
                                                                                             "took"), str(msgs))
    c.check("larger size skipped by extrapolation", len(msgs) == 2 and "so at least" in msgs[1], str(msgs))

    check_mix_grid(c, adbench, d, [e for e in engines if e != "primal"])

    # Google Benchmark's flags.
    rc, out, _ = run([adbench, "--benchmark_list_tests", "--benchmark_filter=^seed/primal/"])
    c.check("--benchmark_filter and --benchmark_list_tests", rc == 0 and out.split() == ["seed/primal/value/1"], out)
    rc, out, _ = run([adbench] + FAST + ["--benchmark_filter=^seed/tape/grad", "--benchmark_repetitions=3",
                                         "--benchmark_format=json"])
    reps = [b for b in json.loads(out)["benchmarks"] if b.get("run_type") == "iteration"] if rc == 0 else []
    c.check("--benchmark_repetitions and --benchmark_format", len(reps) == 3, out[-300:])
    rc, _, err = run([adbench, "--no-such-flag"])
    c.check("unknown flag: exit 2", rc == 2, err)
    rc, _, err = run([adbench, "--sweep=huge"])
    c.check("bad sweep: exit 2 with a message", rc == 2 and "--sweep" in err, err)
    rc, _, err = run([adbench, "--engine=nope"])
    c.check("unknown engine: exit 2", rc == 2 and "unknown engine" in err, err)

    check_flags(c, adbench, d)
    check_results_safety(c, adbench, d)
    check_repetitions(c, adbench)

    # The report of the smoke run.
    rc, _, err = run_script(report, [out_json, "--out-dir", d, "--name", "smoke"])
    c.check("report of the smoke run", rc == 0 and os.path.exists(os.path.join(d, "smoke.md")), err)
    svgs = [f for f in os.listdir(d) if f.startswith("smoke-") and f.endswith(".svg")]
    c.check("plots for every workload", len(svgs) >= 2 * len(workloads), str(svgs))
    return c.done()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
