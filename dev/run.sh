#!/usr/bin/env bash
# Entry point of the npm scripts: installs what is missing, then runs the command with the
# project's Node, venv and Go tools on PATH.
set -euo pipefail
here=$(dirname "${BASH_SOURCE[0]}")
bash "$here/setup.sh"
source "$here/env.sh"
cd "$TNTH_ROOT"
cmd=${1:?usage: dev/run.sh stack|dev|demo|test|tnth|build|lint [args]}
shift
case $cmd in
  stack) exec bash dev/stack.sh "$@" ;;
  tnth) exec node --import tsx bin/tnth.ts "$@" ;;
  dev) exec bash dev/dev.sh "$@" ;;
  demo) exec bash dev/demo.sh ;;
  test) exec bash dev/test.sh "$@" ;;
  lint) exec bash dev/lint.sh "$@" ;;
  build) exec tsc -p tsconfig.build.json ;;
  record-histories) exec node --import tsx test/histories/record.ts "$@" ;;
  bench) exec node --import tsx "bench/$1.ts" ;;
  *) echo "dev/run.sh: unknown command '$cmd'" >&2; exit 2 ;;
esac
