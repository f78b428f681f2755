#!/usr/bin/env bash
# Type check, lint and format check; run by the test command.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$TNTH_ROOT"
echo "lint: tsc" && tsc --noEmit -p tsconfig.json
echo "lint: eslint" && eslint --max-warnings 0 .
echo "lint: prettier" && prettier --check --log-level warn .
if [[ -d dev/aws ]]; then
  echo "lint: mypy" && mypy --strict --no-error-summary dev/aws
fi
