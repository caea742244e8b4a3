#!/usr/bin/env bash
# npm run bench: every benchmark, each against its peer measured in the same run on this machine.
# Results: bench/results/*.json (one per suite) — the README's Performance section quotes them.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --bench || exit 1
mkdir -p bench/results bench/out
only=${1:-}
failed=()
for suite in symbolize viz-node viz-browser bpf anyfunc collector unwind python fleet; do
  [ -n "$only" ] && [ "$only" != "$suite" ] && continue
  [ -f "bench/$suite/run.ts" ] || continue
  echo "== bench/$suite"
  node --conditions=source --import tsx "bench/$suite/run.ts" || failed+=("$suite")
  # symbolization with inline frames (DWARF) against llvm-symbolizer with inlines
  if [ -f "bench/$suite/inline.ts" ]; then
    node --conditions=source --import tsx "bench/$suite/inline.ts" || failed+=("$suite/inline")
  fi
done
if [ "${#failed[@]}" -gt 0 ]; then echo "bench: failed: ${failed[*]}" >&2; exit 1; fi
