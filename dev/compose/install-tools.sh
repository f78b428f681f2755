#!/usr/bin/env bash
# Installs what test/deploy needs to check docker-compose.yml and the Helm chart on a machine with no
# Docker engine and no cluster: Docker Compose v2 (`docker compose config`) and Helm (`helm template`).
# Both are built from the Go module proxy into $TNTH_GOBIN, one file per pinned version
# (docker-compose-v2.40.3, helm-v3.22.0), so a warm run only checks that they exist; the first build
# takes about four minutes each on two cores. Prints `docker-compose=PATH` and `helm=PATH` on stdout.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/../env.sh"
source "$here/versions.env"
say() { echo "deploy tools: $*" >&2; }
mkdir -p "$TNTH_GOBIN"
build_flags=(-p=2 -trimpath)

# build NAME VERSION COMMAND...: runs COMMAND with $out set to a temporary path, then moves it into place.
build() {
  local name=$1 version=$2 target="$TNTH_GOBIN/$1-$2"
  shift 2
  if [[ ! -x $target ]]; then
    local started=$SECONDS
    say "building $name $version (first time only)"
    out="$target.tmp.$$"
    "$@"
    mv "$out" "$target"
    say "built $name $version in $((SECONDS - started)) s"
  fi
  echo "$name=$target"
}

# Compose's module has exclude directives, so `go install .../cmd@version` is refused: build the wrapper
# module beside this file, which states them as the main module.
build_compose() {
  grep -Eq "^\s*(require\s+)?github.com/docker/compose/v2 $COMPOSE_VERSION\s*$" "$here/docker-compose/go.mod" ||
    { say "docker-compose/go.mod does not require compose $COMPOSE_VERSION (versions.env)"; exit 1; }
  (cd "$here/docker-compose" && go build "${build_flags[@]}" -o "$out" -ldflags "-s -w \
    -X main.version=$COMPOSE_VERSION -X github.com/docker/compose/v2/internal.Version=$COMPOSE_VERSION" .)
}

# Helm's Makefile stamps its version and the Kubernetes version of its client libraries, which
# `helm template` reports as .Capabilities.KubeVersion; without them it claims v1.20.
install_helm() {
  local gomod client_go minor gobin
  gomod=$(go mod download -json "helm.sh/helm/v3@$HELM_VERSION" | sed -n 's/^\s*"GoMod": "\(.*\)",$/\1/p')
  client_go=$(sed -n 's/^\s*k8s.io\/client-go v0\.\([0-9]*\)\..*/\1/p' "$gomod")
  [[ -n $client_go ]] || { say "cannot read helm $HELM_VERSION's client-go version from $gomod"; exit 1; }
  local stamp="-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
  for pkg in helm.sh/helm/v3/pkg/chartutil helm.sh/helm/v3/pkg/lint/rules; do
    stamp+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$client_go"
  done
  gobin=$(mktemp -d)
  GOBIN=$gobin go install "${build_flags[@]}" -ldflags "-s -w $stamp" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
  mv "$gobin/helm" "$out"
  rmdir "$gobin"
}

# Concurrent runs (two worktrees sharing the cache, a developer and CI) build one at a time.
exec 8>"$TNTH_GOBIN/.deploy-tools.lock"
flock 8
build docker-compose "$COMPOSE_VERSION" build_compose
build helm "$HELM_VERSION" install_helm
