#!/usr/bin/env bash
# Builds the test bed's binaries from the Go module proxy and caches them by
# version outside the repo: $TODO_OPS_TOOLS_DIR (default ~/.cache/todo-chatbot-ops/tools).
# A warm run finds every binary and builds nothing. Prints the bin directory.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
tools=${TODO_OPS_TOOLS_DIR:-$HOME/.cache/todo-chatbot-ops/tools}
bin="$tools/bin"
mkdir -p "$bin"
export GOFLAGS=-buildvcs=false CGO_ENABLED=0

log() { echo "build-tools: $*" >&2; }

# Go: the one installed (Go's own tarball puts it in /usr/local/go/bin, often
# not on PATH) when it is new enough; an older Go 1.21+ fetches the pinned
# toolchain from the Go module proxy itself (GOTOOLCHAIN); older or none: say
# what to install and stop before anything is built.
ver_ge() { [[ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" == "$2" ]]; }
command -v go >/dev/null 2>&1 || { [[ -x /usr/local/go/bin/go ]] && PATH=/usr/local/go/bin:$PATH; }
go_get="install Go $GO_MIN+ (https://go.dev/dl/: curl -fsSL https://go.dev/dl/$GO_TOOLCHAIN.linux-amd64.tar.gz | tar -C /usr/local -xz), or Debian 13's golang-go, which fetches it"
if ! command -v go >/dev/null 2>&1; then
  log "Go is not installed: $go_get"
  exit 2
fi
go_have=$(GOTOOLCHAIN=local go env GOVERSION | sed 's/^go//')
if ver_ge "$go_have" "$GO_MIN"; then
  export GOTOOLCHAIN=local
elif ver_ge "$go_have" 1.21; then
  export GOTOOLCHAIN=$GO_TOOLCHAIN
  log "Go $go_have is older than $GO_MIN: using $GO_TOOLCHAIN (GOTOOLCHAIN), fetched from the Go module proxy once"
else
  log "Go $go_have is older than $GO_MIN and, older than 1.21, cannot fetch $GO_TOOLCHAIN itself: $go_get"
  exit 2
fi

# The long first build says what it costs and where it is: one line per
# binary with its expected time (measured on 2 cores), and for the big ones a
# progress line every 30 s (packages compiled so far, of how many).
step=0
steps=8
# with_progress WHAT TOTAL CMD...: runs a `go build -v`/`go install -v` (which
# names each package as it compiles it) with a line every 30 s; its other
# output (errors) is shown when it fails.
pkgline='^[a-zA-Z0-9._~/-]+$'
with_progress() {
  local what=$1 total=$2 t0=$SECONDS out pid
  shift 2
  out=$(mktemp)
  "$@" > "$out" 2>&1 &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    # Returns when the build ends, or after 30 s.
    timeout 30 tail --pid="$pid" -f /dev/null || true
    kill -0 "$pid" 2>/dev/null || break
    log "  $what: $(grep -cE "$pkgline" "$out") of ${total:-?} packages compiled ($((SECONDS - t0))s)"
  done
  if ! wait "$pid"; then
    grep -vE "$pkgline" "$out" >&2 || true
    rm -f "$out"
    return 1
  fi
  rm -f "$out"
}

# go_install NAME VERSION EXPECTED PKG@VER [ldflags]: one cached binary per version.
go_install() {
  local name=$1 version=$2 expected=$3 pkg=$4 ldflags=${5:-}
  # The flags are part of the cache key: changing how a tool is stamped rebuilds it.
  local dir="$tools/$name-$version-$(echo "$ldflags" | sha1sum | cut -c1-8)"
  step=$((step + 1))
  if [[ ! -x "$dir/$name" ]]; then
    log "[$step/$steps] building $name $version (first time only: about $expected on 2 cores)"
    local t0=$SECONDS
    GOBIN="$dir" with_progress "$name" "" go install -v -trimpath -ldflags "-s -w $ldflags" "$pkg"
    log "built $name in $((SECONDS - t0))s"
  fi
  ln -sfn "$dir/$name" "$bin/$name"
}

go_install kwok "$KWOK_VERSION" "4.5 min" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
go_install kwokctl "$KWOK_VERSION" "30 s" "sigs.k8s.io/kwok/cmd/kwokctl@$KWOK_VERSION"
# kwok's default stages ship in its module; the bed's config lists stages of
# its own, which replaces the defaults, so keep copies beside the binaries.
stages="$tools/kwok-stages-$KWOK_VERSION"
if [[ ! -d "$stages" ]]; then
  src=$(go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p')
  mkdir -p "$stages.tmp" && cp -r "$src/kustomize/stage/." "$stages.tmp/" && chmod -R u+w "$stages.tmp" && mv "$stages.tmp" "$stages"
fi
go_install metrics-server "$METRICS_SERVER_VERSION" "4.5 min" "sigs.k8s.io/metrics-server/cmd/metrics-server@$METRICS_SERVER_VERSION" \
  "-X k8s.io/client-go/pkg/version.gitVersion=$METRICS_SERVER_VERSION"
# Like helm's own release build: the Kubernetes version that `helm template` and
# `helm lint` assume without a cluster follows the client-go helm is built with
# (else it is v1.20 and charts with a kubeVersion constraint fail to render).
helm_mod=$(go mod download -json "helm.sh/helm/v3@$HELM_VERSION" | sed -n 's/^\s*"GoMod": "\(.*\)",$/\1/p')
helm_kube_minor=$(sed -n 's#^\s*k8s.io/client-go v0\.\([0-9]*\)\..*#\1#p' "$helm_mod")
helm_flags="-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
for p in chartutil lint/rules; do
  helm_flags+=" -X helm.sh/helm/v3/pkg/$p.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/$p.k8sVersionMinor=$helm_kube_minor"
done
go_install helm "$HELM_VERSION" "1.5 min" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" "$helm_flags"

# CoreDNS for the real node's cluster DNS (its `kubernetes` plugin is built in).
go_install coredns "$COREDNS_VERSION" "3.5 min" "github.com/coredns/coredns@$COREDNS_VERSION"

# Control plane and node agents: k8s.io/kubernetes cannot be `go install`ed (its
# go.mod points the staging modules at local paths), so build them from a
# wrapper module whose replace list is derived from the exact .mod file the
# proxy serves. Two binaries with their own cache keys: the control plane
# (kube: apiserver, controller-manager, scheduler, kubectl; plus etcd) and the
# real node's agents (kube-node: kubelet, kube-proxy). They share the module and
# the Go build cache, so the second one compiles only what the first did not.
work="$tools/src/kube-$KUBE_VERSION"
modkey=$(cat "$here"/kube/cmd/*/main.go | sha1sum | cut -c1-8)
minor=$(echo "$KUBE_VERSION" | cut -d. -f2)
pkg=k8s.io/component-base/version
cg=k8s.io/client-go/pkg/version
vflags="-X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
vflags+=" -X $cg.gitVersion=$KUBE_VERSION -X $cg.gitMajor=1 -X $cg.gitMinor=$minor -X $cg.gitTreeState=clean"
prepare_module() {
  [[ -f "$work/.prepared-$modkey" ]] && return 0
  rm -rf "$work" && mkdir -p "$work" && cp -r "$here/kube/cmd" "$work/"
  local modfile staging_version etcd_version
  modfile=$(go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/^\s*"GoMod": "\(.*\)",$/\1/p')
  staging_version="v0${KUBE_VERSION#v1}"   # v1.33.13 -> v0.33.13
  etcd_version=$(sed -n 's#^\s*go.etcd.io/etcd/server/v3 \(v[0-9.]*\).*#\1#p' "$modfile")
  {
    echo "module todo-chatbot-ops/testbed-kube"
    echo
    echo "go $(sed -n 's/^go //p' "$modfile")"
    echo
    echo "require ("
    echo "	k8s.io/kubernetes $KUBE_VERSION"
    echo "	go.etcd.io/etcd/server/v3 $etcd_version"
    echo ")"
    echo
    echo "replace ("
    grep -E '^\s+k8s\.io/[a-z0-9-]+ v0\.0\.0$' "$modfile" | awk -v v="$staging_version" '{print "\t" $1 " => " $1 " " v}'
    echo ")"
  } > "$work/go.mod"
  log "resolving modules for kubernetes $KUBE_VERSION (etcd $etcd_version)"
  (cd "$work" && go mod tidy >&2)
  touch "$work/.prepared-$modkey"
}

# The key covers exactly the control plane's mains (adding the node's did not change it).
kdir="$tools/kube-$KUBE_VERSION-$(cat "$here"/kube/cmd/etcd/main.go "$here"/kube/cmd/kube/main.go | sha1sum | cut -c1-8)"
step=$((step + 1))
if [[ ! -x "$kdir/kube" || ! -x "$kdir/etcd" ]]; then
  t0=$SECONDS
  prepare_module
  log "[$step/$steps] building kube-apiserver, kube-controller-manager, kube-scheduler, kubectl (one binary) and etcd (first time only: about 8.5 min on 2 cores)"
  mkdir -p "$kdir"
  total=$(cd "$work" && go list -deps ./cmd/kube 2>/dev/null | wc -l)
  (cd "$work" && with_progress "control plane" "$total" go build -v -trimpath -ldflags "-s -w $vflags" -o "$kdir/kube" ./cmd/kube)
  (cd "$work" && with_progress "etcd" "" go build -v -trimpath -ldflags "-s -w" -o "$kdir/etcd" ./cmd/etcd)
  log "built the control plane in $((SECONDS - t0))s"
fi
for n in kube-apiserver kube-controller-manager kube-scheduler kubectl; do ln -sfn "$kdir/kube" "$bin/$n"; done
ln -sfn "$kdir/etcd" "$bin/etcd"

ndir="$tools/kube-node-$KUBE_VERSION-$(sha1sum < "$here"/kube/cmd/node/main.go | cut -c1-8)"
step=$((step + 1))
if [[ ! -x "$ndir/kube-node" ]]; then
  t0=$SECONDS
  prepare_module
  log "[$step/$steps] building kubelet and kube-proxy (one binary; first time only: about 1.5 min on 2 cores after the control plane)"
  mkdir -p "$ndir"
  total=$(cd "$work" && go list -deps ./cmd/node 2>/dev/null | wc -l)
  (cd "$work" && with_progress "kubelet and kube-proxy" "$total" go build -v -trimpath -ldflags "-s -w $vflags" -o "$ndir/kube-node.tmp" ./cmd/node && mv "$ndir/kube-node.tmp" "$ndir/kube-node")
  log "built kubelet and kube-proxy in $((SECONDS - t0))s"
fi
for n in kubelet kube-proxy; do ln -sfn "$ndir/kube-node" "$bin/$n"; done

# The pod sandbox ("pause") binary: no registry to pull registry.k8s.io/pause
# from, so compile Kubernetes' own pause.c (from the module) statically; the bed
# wraps it in an image for containerd.
kmod=$(go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p')
pdir="$tools/pause-$KUBE_VERSION-$(sha1sum < "$kmod/build/pause/linux/pause.c" | cut -c1-8)"
step=$((step + 1))
if [[ ! -x "$pdir/pause" ]]; then
  log "[$step/$steps] compiling pause ($KUBE_VERSION)"
  mkdir -p "$pdir"
  gcc -Os -Wall -Werror -static -DVERSION="$KUBE_VERSION-testbed" -o "$pdir/pause.tmp" "$kmod/build/pause/linux/pause.c"
  strip "$pdir/pause.tmp" && mv "$pdir/pause.tmp" "$pdir/pause"
fi
ln -sfn "$pdir/pause" "$bin/pause"
echo "$bin"
