#!/usr/bin/env bash
# npm run typecheck: every TypeScript file of the repository, type-checked.
#   tsc -b                                  packages/viz, packages/bpf, apps/collector (builds dist/)
#   tsc -p tsconfig.check.json              their tests, e2e, bench, tests/ (against the built declarations)
#   tsc -p apps/web/tsconfig.typecheck.json the web app and its tests
# All three run even when one fails, so one run lists every error.
set -uo pipefail
cd "$(dirname "$0")/.."
rc=0
npx tsc -b || rc=1
npx tsc -p tsconfig.check.json || rc=1
npx tsc -p apps/web/tsconfig.typecheck.json || rc=1
[ "$rc" = 0 ] || echo "typecheck: FAILED (errors above)" >&2
exit "$rc"
