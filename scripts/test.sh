#!/usr/bin/env bash
# npm test: every test of the project. Installs what is missing and builds first (scripts/setup.sh),
# then runs the unit and real-kernel tests of every workspace (node:test), then the browser
# end-to-end suite against the real stack (Playwright with Debian chromium).
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh --test || { echo "test: setup failed" >&2; exit 1; }

if [ "$(id -u)" != 0 ]; then
  echo "test: note: not root, so the tests that load BPF programs will skip (they need root, or CAP_BPF + CAP_PERFMON)." >&2
fi

mapfile -t files < <(find packages apps tests -path '*/node_modules' -prune -o -path '*/test/*' -name '*.test.ts' -print -o -path 'tests/*' -name '*.test.ts' -print 2>/dev/null | sort -u)
echo "== unit and kernel tests: ${#files[@]} files"
node --conditions=source --import tsx --test --test-concurrency=1 --test-timeout=300000 "${files[@]}"
unit=$?

e2e=0
if [ -f e2e/playwright.config.ts ]; then
  echo "== end-to-end tests (Playwright, Debian chromium)"
  (cd e2e && npx playwright test)
  e2e=$?
fi

if [ "$unit" != 0 ] || [ "$e2e" != 0 ]; then
  echo "test: FAILED (unit/kernel exit $unit, e2e exit $e2e)" >&2
  exit 1
fi
echo "test: all suites passed"
