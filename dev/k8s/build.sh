#!/usr/bin/env bash
# Builds the Go tools of the local Kubernetes control plane into $TNTH_GOBIN, one file per version
# (etcd-v3.6.16, kube-apiserver-v1.36.3, kwok-v0.8.0), so a warm run only checks that they exist.
# Called by dev/setup.sh after it sourced dev/env.sh. `build.sh kubectl` builds kubectl-v1.36.3
# instead, which only `npm run bench:drain` needs: the setup of every test run never waits for it.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/versions.env"
: "${TNTH_GOBIN:?source dev/env.sh first}"
say() { echo "k8s: $*" >&2; }
mkdir -p "$TNTH_GOBIN"

# The first kube-apiserver build is long (minutes) and the machines are small: two parallel
# compiles at most, and no debug information or local paths in the cached binaries.
build_flags=(-p=2 -trimpath)

require_pin() {
  local gomod=$1 module=$2 version=$3
  grep -Eq "^\s*(require\s+)?$module $version\s*$" "$gomod" ||
    { say "$gomod does not require $module $version (dev/k8s/versions.env)"; exit 1; }
}

# build NAME VERSION COMMAND...: runs COMMAND with $out set to a temporary path, then moves it into place.
build() {
  local name=$1 version=$2 target="$TNTH_GOBIN/$1-$2"
  shift 2
  [[ -x $target ]] && return 0
  local started=$SECONDS
  say "building $name $version (first time only)"
  out="$target.tmp.$$"
  "$@"
  mv "$out" "$target"
  say "built $name $version in $((SECONDS - started)) s: $target"
}

build_wrapper() {
  local dir=$1 ldflags=$2
  (cd "$here/$dir" && go build "${build_flags[@]}" -ldflags "-s -w $ldflags" -o "$out" .)
}

install_kwok() {
  local gobin
  gobin=$(mktemp -d)
  GOBIN=$gobin go install "${build_flags[@]}" -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  mv "$gobin/kwok" "$out"
  rmdir "$gobin"
}

target=${1:-control-plane}
[[ $target == control-plane || $target == kubectl ]] || { say "usage: build.sh [control-plane|kubectl]"; exit 2; }
# Concurrent runs (two worktrees sharing the cache, a developer and CI) build one at a time;
# the second then finds the binaries in place. kubectl has a lock of its own, so a test run's
# setup never waits for a bench's kubectl build.
lock=.k8s-build.lock
if [[ $target == kubectl ]]; then lock=.kubectl-build.lock; fi
exec 8>"$TNTH_GOBIN/$lock"
flock 8

require_pin "$here/etcd/go.mod" go.etcd.io/etcd/server/v3 "$ETCD_VERSION"
require_pin "$here/kube-apiserver/go.mod" k8s.io/kubernetes "$KUBERNETES_VERSION"
# k8s.io/kubectl is published as v0.X.Y for Kubernetes v1.X.Y.
require_pin "$here/kubectl/go.mod" k8s.io/kubectl "v0.${KUBERNETES_VERSION#v1.}"

# Without the version stamp the server reports v0.0.0-master, which clients (kwok) read.
k8s_minor=${KUBERNETES_VERSION#v1.}
k8s_minor=${k8s_minor%%.*}
k8s_version_flags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  k8s_version_flags+=" -X $pkg.gitVersion=$KUBERNETES_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$k8s_minor"
  k8s_version_flags+=" -X $pkg.gitTreeState=clean"
done

if [[ $target == kubectl ]]; then
  build kubectl "$KUBERNETES_VERSION" build_wrapper kubectl "$k8s_version_flags"
else
  build etcd "$ETCD_VERSION" build_wrapper etcd ""
  build kwok "$KWOK_VERSION" install_kwok
  build kube-apiserver "$KUBERNETES_VERSION" build_wrapper kube-apiserver "$k8s_version_flags"
fi
