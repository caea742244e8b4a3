#!/usr/bin/env bash
# Builds everything: BPF objects (clang, against this kernel's BTF), TypeScript packages, the web app.
# Each step is skipped when its output is newer than its inputs.
set -euo pipefail
cd "$(dirname "$0")/.."
quiet=0; [ "${1:-}" = --quiet ] && quiet=1
say() { [ "$quiet" = 1 ] || echo "build: $*"; }

say "BPF programs"
bash packages/bpf/build-bpf.sh

say "TypeScript packages"
npx tsc -b

# newest source file under the given paths (ignoring build output), as epoch seconds
newest() { find "$@" \( -name node_modules -o -name .next -o -name dist -o -name test \) -prune -o -type f -printf '%T@\n' 2>/dev/null | sort -n | tail -1 | cut -d. -f1; }
if [ -f apps/web/package.json ] && [ -d apps/web/app ]; then
  stamp=apps/web/.next/BUILD_ID
  src=$(newest apps/web packages/viz/src)
  if [ ! -f "$stamp" ] || [ "$(stat -c %Y "$stamp")" -lt "${src:-0}" ]; then
    say "web console (next build)"
    (cd apps/web && NEXT_TELEMETRY_DISABLED=1 npx next build >/tmp/bpfscope-next-build.log 2>&1) || {
      cat /tmp/bpfscope-next-build.log >&2; echo "build: next build failed (log above)" >&2; exit 1; }
  else
    say "web console is up to date"
  fi
fi
