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
if (( $# > 0 )); then exec mocha "$@"; fi

# The real-time tests spend minutes waiting on real clocks (lifecycle hooks of 60 and 120 s, a
# five-minute Temporal outage, outages of 6.5 minutes during long terminations, a worker's shutdown
# grace period, a pod past the default skip-wait timeout, a drain a budget blocks while /metrics is
# scraped) and little CPU: each runs in a mocha of its own beside the rest, so
# the suite takes as long as its longest part instead of their sum. Each uses its own groups, queues
# and task queues, so they share the stack safely. Their output follows the rest's.
slow=(test/integration/hook-held-matrix.test.ts test/starter/intake-outage.test.ts test/integration/long-haul-outages.test.ts
  test/integration/worker-on-drained-node.test.ts test/kubernetes/drain-cases.test.ts test/integration/drain-budget.test.ts
  test/workflows/drain-budget.test.ts test/integration/metrics-blocked-drain.test.ts)
logs=$(mktemp -d)
# One workflow bundle for the whole suite (test/helpers/processes.ts), as the Docker image builds one:
# otherwise each mocha and each worker process would run webpack at its start.
export TNTH_TEST_WORKFLOW_BUNDLE="$logs/workflow-bundle.js"
node --import tsx bin/bundle-workflows.ts "$TNTH_TEST_WORKFLOW_BUNDLE" >"$logs/bundle.log" 2>&1 || {
  cat "$logs/bundle.log"
  exit 1
}
export TNTH_FAILURES_FILE="$logs/failures"
: >"$TNTH_FAILURES_FILE"
pids=()
names=()
for file in "${slow[@]}"; do
  # Named by the whole path: two files of one name (test/integration/x, test/workflows/x) keep apart.
  mocha "$file" >"$logs/${file//\//_}.log" 2>&1 &
  pids+=($!)
  names+=("$file")
done
ignore=()
for file in "${slow[@]}"; do ignore+=(--ignore "$file"); done
# The workflow tests (the dev server and stubbed activities, mostly waiting on timers) run in one more
# mocha beside the rest, which holds the whole-stack tests.
mocha "${ignore[@]}" 'test/workflows/**/*.test.ts' >"$logs/test_workflows.log" 2>&1 &
pids+=($!)
names+=("test/workflows")
status=0
code=0
mocha "${ignore[@]}" --ignore 'test/workflows/**' 'test/**/*.test.ts' || code=$?
if ((code != 0)); then
  status=1
  echo "the rest (test/**, this output's first part): its mocha exited with $code" >>"$TNTH_FAILURES_FILE"
fi
for i in "${!names[@]}"; do
  code=0
  wait "${pids[$i]}" || code=$?
  if ((code != 0)); then
    status=1
    echo "${names[$i]}: its mocha exited with $code" >>"$TNTH_FAILURES_FILE"
  fi
  echo "==== ${names[$i]} (run beside the rest)"
  cat "$logs/${names[$i]//\//_}.log"
done
# Named again last, so the end of the output says what failed whichever part it was in.
if [[ -s "$TNTH_FAILURES_FILE" ]]; then
  echo "==== failed"
  cat "$TNTH_FAILURES_FILE"
fi
rm -rf "$logs"
exit "$status"
