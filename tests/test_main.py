"""test_main: scripts/main never replaces a good results file with an empty, truncated or invalid one, nor with the
output of a failed adbench (it keeps the old file, sets the bad one aside, exits 1), replaces it with a valid one
and writes the report, and removes its temporaries when interrupted (SIGTERM, SIGINT). adbench is a stub
(ADLAB_ADBENCH) and the results go to a temporary directory (ADLAB_RESULTS_DIR), so nothing is built or measured.

  python3 tests/test_main.py scripts/main
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_fixtures import Checker, adbench_counters, entry, report_doc, write_json  # noqa: E402

# The stub: writes what FAKE_MODE asks to the --benchmark_out path, as adbench would.
FAKE = r'''#!/usr/bin/env bash
out=
for a in "$@"; do case "$a" in --benchmark_out=*) out=${a#--benchmark_out=} ;; esac; done
[ -n "$out" ] || exit 9
[ -z "${FAKE_ARGS:-}" ] || printf '%s\n' "$@" >"$FAKE_ARGS"
case "$FAKE_MODE" in
  empty) : >"$out" ;;
  truncated) head -c 300 "$FAKE_SRC" >"$out" ;;
  nomatch) printf '{"context": {"date": "x"}, "benchmarks": []}\n' >"$out" ;;
  allskipped) cp "$FAKE_SKIPPED" "$out" ;;
  negative) sed 's/"cpu_time": /"cpu_time": -/' "$FAKE_SRC" >"$out" ;;
  failed) cp "$FAKE_SRC" "$out"; exit 1 ;;
  none) ;;
  good) cp "$FAKE_SRC" "$out" ;;
  hang) echo $$ >"$FAKE_PIDFILE"; head -c 300 "$FAKE_SRC" >"$out.$$.tmp"; head -c 100 "$FAKE_SRC" >"$out"
        exec sleep 60 ;;
esac
'''


def results_doc(t):
    return report_doc([entry(f"chain/{e}/{m}/1000", t * k, adbench_counters(1000, 1, 8000, t * k, 1000 if e == "tape"
                                                                            else None))
                       for e, m, k in (("primal", "value", 1), ("dual", "jvp", 1.2), ("tape", "grad", 2))])


def main(script):
    c = Checker("test_main")
    with open(script, encoding="utf-8") as f:
        if "ADLAB_ADBENCH" not in f.read():
            c.check("scripts/main takes a stub adbench from ADLAB_ADBENCH", False)
            return c.done()
    d = tempfile.mkdtemp(prefix="adlab-main-")
    res = os.path.join(d, "results")
    os.makedirs(res)
    fake = os.path.join(d, "adbench")
    with open(fake, "w", encoding="utf-8") as f:
        f.write(FAKE)
    os.chmod(fake, 0o755)
    src, skipped = os.path.join(d, "new.json"), os.path.join(d, "skipped.json")
    write_json(src, results_doc(200.0))
    write_json(skipped, report_doc([entry("chain/tape/grad/1000", 0, error="skipped: budget")]))
    good = os.path.join(res, "run.json")
    env = dict(os.environ, ADLAB_ADBENCH=fake, ADLAB_RESULTS_DIR=res, FAKE_SRC=src, FAKE_SKIPPED=skipped,
               FAKE_PIDFILE=os.path.join(d, "pid"))

    def run(mode):
        write_json(good, results_doc(100.0))
        for f in os.listdir(res):
            if f.endswith(".bad"):
                os.remove(os.path.join(res, f))
        p = subprocess.run(["bash", script, "--quick", "--out", "run"], env=dict(env, FAKE_MODE=mode),
                           capture_output=True, text=True, timeout=120)
        return p.returncode, p.stdout, p.stderr

    def unchanged():
        try:
            with open(good, encoding="utf-8") as f:
                return json.load(f) == json.loads(json.dumps(results_doc(100.0)))
        except (OSError, ValueError):
            return False

    def temporaries():
        return [f for f in os.listdir(res) if f.endswith(".tmp")]

    for mode, aside in (("empty", False), ("truncated", True), ("nomatch", True), ("allskipped", True),
                        ("negative", True), ("failed", True), ("none", False)):
        rc, out, err = run(mode)
        c.check(f"{mode}: exit 1", rc == 1, f"rc {rc}: {err[-400:]}")
        c.check(f"{mode}: the good results file kept", unchanged())
        c.check(f"{mode}: says so", "left as it was" in err, err[-400:])
        c.check(f"{mode}: no temporary left", not temporaries(), str(temporaries()))
        c.check(f"{mode}: the bad file " + ("kept aside" if aside else "not kept (empty or none)"),
                os.path.exists(good + ".bad") == aside, str(os.listdir(res)))
        c.check(f"{mode}: no report of it", not os.path.exists(os.path.join(res, "run.md")))

    env["FAKE_ARGS"] = os.path.join(d, "args")
    rc, out, err = run("good")
    del env["FAKE_ARGS"]
    c.check("valid new results: exit 0", rc == 0, err[-600:])
    args = open(os.path.join(d, "args"), encoding="utf-8").read().split("\n") if os.path.exists(
        os.path.join(d, "args")) else []
    c.check("the quick sweep measures checkpointing: six schedules at 10^4 nodes",
            "--ckpt=store_all,every:32,binomial:4,binomial:16,online:16,budget:256k" in args and
            "--ckpt-nodes=1e4" in args and "--sweep=quick" in args, str(args))
    try:
        with open(good, encoding="utf-8") as f:
            new = json.load(f)["benchmarks"][0]["cpu_time"]
    except (OSError, ValueError, LookupError):
        new = None
    c.check("valid new results replace the old", new == 200.0, str(new))
    c.check("valid new results: the report written", os.path.exists(os.path.join(res, "run.md")))
    c.check("valid new results: no temporary left", not temporaries(), str(temporaries()))
    os.remove(os.path.join(res, "run.md"))

    for sig, want in ((signal.SIGTERM, 143), (signal.SIGINT, 130)):
        write_json(good, results_doc(100.0))
        pidfile = os.path.join(d, "pid")
        if os.path.exists(pidfile):
            os.remove(pidfile)
        p = subprocess.Popen(["bash", script, "--quick", "--out", "run"], env=dict(env, FAKE_MODE="hang"),
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
        deadline = time.time() + 30
        while time.time() < deadline and len(temporaries()) < 2:
            time.sleep(0.05)
        c.check(f"{sig.name}: the stub started and wrote its temporaries", len(temporaries()) == 2,
                str(temporaries()))
        p.send_signal(sig)
        try:
            rc = p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            rc = p.wait()
        c.check(f"{sig.name}: exit {want}", rc == want, f"rc {rc}: {p.stderr.read()[-300:]}")
        c.check(f"{sig.name}: temporaries removed", not temporaries(), str(temporaries()))
        c.check(f"{sig.name}: the good results file kept", unchanged())
        stub = int(open(pidfile).read()) if os.path.exists(pidfile) else 0
        alive = False
        if stub:
            time.sleep(0.2)
            try:
                os.kill(stub, 0)
                alive = True
                os.kill(stub, signal.SIGKILL)
            except ProcessLookupError:
                pass
        c.check(f"{sig.name}: the running adbench stopped", stub and not alive)
    return c.done()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
