#!/usr/bin/env bash
# `npm run dev`: the local stack, then the worker and the starter in the foreground on the stack's
# queue `tnth-dev`, as the service's own Kubernetes identity; once both are ready, the demo
# (dev/compose/demo.ts) scales an instance in and prints its termination step by step. The service
# keeps running after it: `npm run demo` runs it again; `--no-demo` or TNTH_DEMO=0 leaves it out.
# Ctrl-C stops the service; `npm run stack -- down` stops the stack.
#
# A second one can run beside the first (test/deploy/dev-demo.test.ts) with its own QUEUE_URL (an
# existing queue), CLUSTER_NAME (and so task queue), DEV_WORKER_PROBES_PORT and DEV_STARTER_PROBES_PORT.
set -euo pipefail
demo=${TNTH_DEMO:-1}
for arg in "$@"; do
  case $arg in
    --no-demo) demo=0 ;;
    *) echo "dev.sh: unknown argument '$arg' (usage: npm run dev [-- --no-demo])" >&2; exit 2 ;;
  esac
done
here=$(dirname "${BASH_SOURCE[0]}")
bash "$here/stack.sh" up
source "$here/dev-env.sh"
admin_kubeconfig=$KUBECONFIG
# /readyz of each process: the demo starts once both answer.
worker_port=${DEV_WORKER_PROBES_PORT:-8080}
starter_port=${DEV_STARTER_PROBES_PORT:-8081}
# Every 5 s (the minimum), so the demo's drain of a few seconds shows lifecycle heartbeats.
export HEARTBEAT_INTERVAL=${HEARTBEAT_INTERVAL:-5}
export KUBECONFIG=$SERVICE_KUBECONFIG
echo "Temporal Web UI: $TEMPORAL_UI_URL"
echo "Interruption queue: $QUEUE_URL"

pids=()
demo_pid=
stopped=0
# Once: a second SIGTERM would end a process that is already shutting down, without its cleanup.
stop() {
  (( stopped )) && return
  stopped=1
  kill -TERM "${pids[@]}" $demo_pid 2>/dev/null || true
}
trap stop INT TERM HUP
# Each child in a process group of its own (job control on while they start), so Ctrl-C reaches this
# script alone and each child gets the one SIGTERM above: a second signal ends a worker that is shutting
# down, before its running activities finish, as the terminal's SIGINT followed by a SIGTERM did.
set -m
ENABLE_PROBES_SERVER=true PROBES_SERVER_PORT=$worker_port node --import tsx bin/tnth.ts worker &
pids+=($!)
ENABLE_PROBES_SERVER=true PROBES_SERVER_PORT=$starter_port node --import tsx bin/tnth.ts starter &
pids+=($!)
if [[ $demo != 0 ]]; then
  # As an administrator: the demo makes nodes, and writes a PodDisruptionBudget's status here.
  KUBECONFIG=$admin_kubeconfig \
    DEMO_WAIT_FOR="http://127.0.0.1:$worker_port/readyz http://127.0.0.1:$starter_port/readyz" \
    node --import tsx dev/compose/demo.ts &
  demo_pid=$!
fi
set +m

# Until the worker or the starter ends, or a signal; the demo's end is only reported.
status=0
for (( ; ; )); do
  code=0
  wait -n -p ended "${pids[@]}" $demo_pid || code=$?
  # Unset when a signal ended the wait.
  ended=${ended:-}
  if [[ -n $demo_pid && $ended == "$demo_pid" ]]; then
    demo_pid=
    if (( code == 0 )); then
      echo "demo: finished. The service keeps running: \`npm run demo\` for another termination, Ctrl-C to stop."
    else
      echo "demo: failed (exit $code); the service keeps running. Ctrl-C to stop." >&2
    fi
    continue
  fi
  # A process that ended by itself decides the exit status; after a signal, the processes do.
  [[ -n $ended ]] && status=$code
  break
done
stop
for pid in "${pids[@]}" $demo_pid; do
  [[ $pid == "$ended" ]] && continue
  code=0
  wait "$pid" || code=$?
  [[ $pid == "$demo_pid" ]] || (( code == 0 )) || status=$code
done
exit "$status"
