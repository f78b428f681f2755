# Sourced by dev.sh and demo.sh: the local stack's variables, and the queue and cluster of the service
# `npm run dev` runs (QUEUE_URL and CLUSTER_NAME are kept when set), all exported.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$TNTH_ROOT"
if [[ ! -f .stack/env ]]; then
  echo "the local stack is not up: \`npm run dev\` (or \`npm run stack -- up\`) starts it" >&2
  exit 1
fi
set -a
source .stack/env
set +a
QUEUE_URL=${QUEUE_URL:-$(node --import tsx dev/dev-queue.ts)}
# The local stack's instances carry no cluster tag; CLUSTER_NAME names the cluster all the same.
CLUSTER_NAME=${CLUSTER_NAME:-local}
export QUEUE_URL CLUSTER_NAME
