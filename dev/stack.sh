#!/usr/bin/env bash
# The stack command, one at a time per checkout: two concurrent `up`s would race for the same ports.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$TNTH_ROOT"
mkdir -p .stack
exec 8>.stack/.lock
flock 8
node --import tsx dev/stack/cli.ts "$@"
