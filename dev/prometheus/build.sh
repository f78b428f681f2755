#!/usr/bin/env bash
# Builds promtool (the chart's alert rule tests, `promtool test rules`) from the Go module proxy into
# $TNTH_GOBIN as promtool-<version>, so a warm run only checks that it exists. Only the tests of
# deploy/ need it; they call this script when the binary is missing.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/versions.env"
: "${TNTH_GOBIN:?source dev/env.sh first}"
say() { echo "promtool: $*" >&2; }
mkdir -p "$TNTH_GOBIN"
target="$TNTH_GOBIN/promtool-$PROMETHEUS_MODULE_VERSION"
[[ -x $target ]] && { echo "$target"; exit 0; }

# Two worktrees sharing the cache build one at a time; the second finds the binary in place.
exec 8>"$TNTH_GOBIN/.promtool-build.lock"
flock 8
[[ -x $target ]] && { echo "$target"; exit 0; }

started=$SECONDS
say "building promtool $PROMETHEUS_MODULE_VERSION (first time only, several minutes)"
gobin=$(mktemp -d)
trap 'rm -rf "$gobin"' EXIT
# Small shared machines: two parallel compiles, no debug information or local paths in the binary.
GOBIN=$gobin go install -p=2 -trimpath -ldflags "-s -w" \
  "github.com/prometheus/prometheus/cmd/promtool@$PROMETHEUS_MODULE_VERSION"
mv "$gobin/promtool" "$target"
say "built promtool in $((SECONDS - started)) s: $target"
echo "$target"
