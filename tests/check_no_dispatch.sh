#!/usr/bin/env bash
# check_no_dispatch.sh OBJDUMP FILE...: fails if any compiled workload function (wl_fn_*) makes an indirect call
# or jump through a pointer (call *..., jmp *...). Direct calls (SLEEF through the PLT, the tape's out-of-line chunk growth) are allowed: they are
# not per-op dispatch.
set -euo pipefail
objdump=$1; shift
found=0; bad=0
for f in "$@"; do
  out=$("$objdump" -d --no-show-raw-insn "$f")
  # Split the disassembly into functions; keep the workload functions.
  while IFS= read -r line; do
    case "$line" in
      *"<wl_fn_"*">:") fn=${line#*<}; fn=${fn%>:}; found=$((found + 1)) ;;
      *">:") fn="" ;;
      *)
        if [ -n "${fn:-}" ] && [[ "$line" =~ (call|jmp)[a-z]*[[:space:]]+\* ]]; then
          echo "indirect branch in $fn ($f): $line"; bad=1
        fi ;;
    esac
  done <<<"$out"
done
echo "workload functions inspected: $found"
[ "$found" -gt 0 ] || { echo "no workload functions found: nothing was checked"; exit 1; }
exit $bad
