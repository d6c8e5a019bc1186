#!/usr/bin/env bash
# check_no_dispatch.sh OBJDUMP FILE...: fails if any compiled workload function (wl_fn_*), scalar or tensor form
# (wl_fn_*_t), or any array op the tensor forms call out of line (the tape's recording functions tape__arr_* and
# tape__ew_*) makes an indirect call or jump through a pointer (call *..., jmp *...): a per-op table or a switch
# compiled to a jump table. Direct calls are allowed: SLEEF and the array kernels through the PLT (the kernels are
# GNU indirect functions, bound once at load time), the tape's out-of-line chunk growth and array recording.
# It also fails if it found no workload function, no tensor workload function or no array op function to inspect.
#
# check_no_dispatch.sh --self-test CC OBJDUMP: the check itself, fed a tensor workload that dispatches through a
# per-op table and an array op compiled to a jump table (each must fail it), and a clean one (must pass).
set -euo pipefail

if [ "${1:-}" = "--self-test" ]; then
  cc=$2 objdump=$3 self=$0
  dir=$(mktemp -d)
  trap 'rm -rf "$dir"' EXIT
  cat >"$dir/clean.c" <<'EOF'
double tape__arr_fake(double x) { return x * 2.0; }
double wl_fn_fake_t(double x) { return tape__arr_fake(x) + 1.0; }
double wl_fn_fake(double x) { return x + 1.0; }
EOF
  cat >"$dir/table.c" <<'EOF'
typedef double (*op_fn)(double);
static double op_a(double x) { return x + 1.0; }
static double op_b(double x) { return x * 3.0; }
op_fn const ops[2] = {op_a, op_b};
double tape__arr_fake(double x) { return x * 2.0; }
double wl_fn_fake(double x) { return x + 1.0; }
double wl_fn_fake_t(const int *code, int n, double x) {
  for (int i = 0; i < n; ++i) x = ops[code[i]](x); /* per-op dispatch through a table */
  return x;
}
EOF
  cat >"$dir/switch.c" <<'EOF'
double wl_fn_fake(double x) { return x + 1.0; }
double wl_fn_fake_t(double x) { return x; }
double tape__arr_fake(int op, double x) {
  switch (op) { /* enough cases for a jump table */
  case 0: return x + 1; case 1: return x * 3; case 2: return x - 7; case 3: return x / 5;
  case 4: return -x; case 5: return x * x; case 6: return x + 11; case 7: return x * 13;
  }
  return 0;
}
EOF
  fail=0
  for f in clean table switch; do
    "$cc" -O2 -fno-inline -c "$dir/$f.c" -o "$dir/$f.o"
    if "$self" "$objdump" "$dir/$f.o" >"$dir/$f.log" 2>&1; then got=pass; else got=fail; fi
    want=fail; [ "$f" = clean ] && want=pass
    echo "self-test $f: $got (want $want)"
    if [ "$got" != "$want" ]; then cat "$dir/$f.log"; fail=1; fi
  done
  exit $fail
fi

objdump=$1; shift
found=0; tensor=0; arrays=0; bad=0
for f in "$@"; do
  out=$("$objdump" -d --no-show-raw-insn "$f")
  # Split the disassembly into functions; keep the workload functions and the array ops.
  while IFS= read -r line; do
    case "$line" in
      *"<wl_fn_"*">:")
        fn=${line#*<}; fn=${fn%>:}; found=$((found + 1))
        case "$fn" in *_t) tensor=$((tensor + 1)) ;; esac ;;
      *"<tape__arr_"*">:" | *"<tape__ew_"*">:") fn=${line#*<}; fn=${fn%>:}; arrays=$((arrays + 1)) ;;
      *">:") fn="" ;;
      *)
        if [ -n "${fn:-}" ] && [[ "$line" =~ (call|jmp)[a-z]*[[:space:]]+\* ]]; then
          echo "indirect branch in $fn ($f): $line"; bad=1
        fi ;;
    esac
  done <<<"$out"
done
echo "workload functions inspected: $found (tensor forms: $tensor); array op functions: $arrays"
[ "$found" -gt 0 ] || { echo "no workload functions found: nothing was checked"; exit 1; }
[ "$tensor" -gt 0 ] || { echo "no tensor workload functions (wl_fn_*_t) found"; exit 1; }
[ "$arrays" -gt 0 ] || { echo "no array op functions (tape__arr_*, tape__ew_*) found"; exit 1; }
exit $bad
