#!/usr/bin/env bash
# The whole test suite: lint, the local stack (started if not running, left running for the next
# run), the emulator extension's Python tests, then mocha over test/.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$TNTH_ROOT"
bash dev/lint.sh
bash dev/stack.sh up
if [[ -d dev/aws/tests ]]; then
  (cd dev/aws && python -m pytest -q tests)
fi
if (( $# == 0 )); then set -- 'test/**/*.test.ts'; fi
exec mocha "$@"
