#!/usr/bin/env bash
# `npm run dev`: the local stack, then the service in the foreground (Ctrl-C stops the service;
# `npm run stack -- down` stops the stack).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$TNTH_ROOT"
bash dev/stack.sh up
set -a
source .stack/env
set +a
echo "Temporal Web UI: $TEMPORAL_UI_URL"
pids=()
trap 'kill -TERM "${pids[@]}" 2>/dev/null; wait' INT TERM
node --import tsx bin/tnth.ts worker &
pids+=($!)
if [[ -f starter/main.ts && -n ${QUEUE_URL:-} ]]; then
  node --import tsx bin/tnth.ts starter &
  pids+=($!)
fi
wait -n "${pids[@]}"
status=$?
kill -TERM "${pids[@]}" 2>/dev/null || true
wait
exit "$status"
