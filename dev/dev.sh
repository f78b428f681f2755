#!/usr/bin/env bash
# `npm run dev`: the local stack, then the worker and the starter in the foreground on the stack's
# queue `tnth-dev`, as the service's own Kubernetes identity. Ctrl-C stops the service;
# `npm run stack -- down` stops the stack.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$TNTH_ROOT"
bash dev/stack.sh up
set -a
source .stack/env
set +a
QUEUE_URL=${QUEUE_URL:-$(node --import tsx dev/dev-queue.ts)}
# The local stack's instances carry no cluster tag; CLUSTER_NAME names the cluster all the same.
CLUSTER_NAME=${CLUSTER_NAME:-local}
export QUEUE_URL CLUSTER_NAME KUBECONFIG=$SERVICE_KUBECONFIG
echo "Temporal Web UI: $TEMPORAL_UI_URL"
echo "Interruption queue: $QUEUE_URL"
pids=()
trap 'kill -TERM "${pids[@]}" 2>/dev/null; wait' INT TERM
node --import tsx bin/tnth.ts worker &
pids+=($!)
node --import tsx bin/tnth.ts starter &
pids+=($!)
status=0
wait -n "${pids[@]}" || status=$?
kill -TERM "${pids[@]}" 2>/dev/null || true
wait || true
exit "$status"
