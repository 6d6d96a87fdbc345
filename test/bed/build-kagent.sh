#!/usr/bin/env bash
# Builds the real kagent for the test bed from the vendored source trees: its
# controller and CLI (kagent-<version>-<key>/{kagent-controller,kagent}) and its
# built-in MCP tool server (kagent-tools-<version>-<key>/kagent-tool-server),
# cached by version outside the repo beside the bed's other tools under
# $TODO_OPS_TOOLS_DIR and linked from $TODO_OPS_TOOLS_DIR/bin. A warm run builds
# nothing. Prints the three binary paths, one a line.
# The vendor tree is read-only in CI, so each build runs on a private copy.
# The agent runtime image is built by scripts/lib/local-cluster/kagent-image.ts
# (FROM the Python stand-in, cached by the hash of its inputs): `--image` builds
# it too, after the binaries; `--image-only` builds only it (for CI, once the
# stand-ins exist, overlapping the Go builds).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
tools=${TODO_OPS_TOOLS_DIR:-$HOME/.cache/todo-chatbot-ops/tools}
version=${KAGENT_VERSION:-v0.9.12}
tools_version=${KAGENT_TOOLS_VERSION:-v0.2.1}
log() { echo "build-kagent: $*" >&2; }

# ../shared/vendor beside the checkout; a git worktree elsewhere finds it beside
# the main checkout (the common git dir's parent).
find_src() {
  local name=$1 probe=$2 cand
  for cand in "${TODO_OPS_VENDOR_DIR:-}" "$repo/../shared/vendor" \
              "$(git -C "$repo" rev-parse --path-format=absolute --git-common-dir 2>/dev/null)/../../shared/vendor"; do
    [[ -n "$cand" && -f "$cand/$name/$probe" ]] && { echo "$(cd "$cand/$name" && pwd)"; return; }
  done
  return 1
}
src=$(find_src "kagent-$version" go/go.mod) || { log "no kagent-$version source under ../shared/vendor (set TODO_OPS_VENDOR_DIR)"; exit 1; }
tsrc=$(find_src "kagent-tools-$tools_version" go.mod) || { log "no kagent-tools-$tools_version source under ../shared/vendor"; exit 1; }

build_image() {
  (cd "$repo" && node --import "$repo/scripts/lib/ts-loader/register.mjs" --input-type=module -e "import('./scripts/lib/local-cluster/kagent-image.ts').then(async (m) => {
    const r = await m.ensureKagentImage((s) => console.error('build-kagent: ' + s));
    console.error('build-kagent: image ' + r.ref + (r.seconds ? ' built in ' + r.seconds.toFixed(0) + 's' : ' cached'));
  })")
}
if [[ "${1:-}" == "--image-only" ]]; then build_image; exit; fi

# One build at a time: a second caller (a test, while .ci/run's background build
# is still going) waits for the first, then finds the binaries.
mkdir -p "$tools"
exec 9>"$tools/.build-kagent.lock"
flock 9

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
gobuild() { GOWORK=off GOFLAGS=-buildvcs=false GOTOOLCHAIN=local CGO_ENABLED=0 go build -trimpath "$@"; }

# The keys cover each tree's module files, so a re-vendored tree rebuilds.
key=$(cat "$src/go/go.mod" "$src/go/go.sum" | sha1sum | cut -c1-8)
dir="$tools/kagent-$version-$key"
if [[ ! -x "$dir/kagent-controller" || ! -x "$dir/kagent" ]]; then
  log "building kagent $version (controller, CLI)"
  t0=$SECONDS
  mkdir -p "$work/kagent" "$dir"
  cp -r "$src/go/." "$work/kagent/" && chmod -R u+w "$work/kagent"
  # The controller reports this version on /version (doctor reads it there).
  ld="-s -w -X github.com/kagent-dev/kagent/go/core/internal/version.Version=${version#v}"
  (cd "$work/kagent" && gobuild -ldflags "$ld" -o "$dir/kagent-controller.tmp" ./core/cmd/controller \
    && gobuild -ldflags "$ld" -o "$dir/kagent.tmp" ./core/cli/cmd/kagent)
  mv "$dir/kagent-controller.tmp" "$dir/kagent-controller"
  mv "$dir/kagent.tmp" "$dir/kagent"
  log "built kagent in $((SECONDS - t0))s"
fi

tkey=$(cat "$tsrc/go.mod" "$tsrc/go.sum" | sha1sum | cut -c1-8)
tdir="$tools/kagent-tools-$tools_version-$tkey"
if [[ ! -x "$tdir/kagent-tool-server" ]]; then
  log "building kagent-tools $tools_version"
  t0=$SECONDS
  mkdir -p "$work/tools" "$tdir"
  cp -r "$tsrc/." "$work/tools/" && chmod -R u+w "$work/tools"
  (cd "$work/tools" && gobuild -ldflags "-s -w -X github.com/kagent-dev/tools/internal/version.Version=${tools_version#v}" \
    -o "$tdir/kagent-tool-server.tmp" ./cmd)
  mv "$tdir/kagent-tool-server.tmp" "$tdir/kagent-tool-server"
  log "built kagent-tools in $((SECONDS - t0))s"
fi

mkdir -p "$tools/bin"
ln -sfn "$dir/kagent-controller" "$tools/bin/kagent-controller"
ln -sfn "$dir/kagent" "$tools/bin/kagent"
ln -sfn "$tdir/kagent-tool-server" "$tools/bin/kagent-tool-server"
if [[ "${1:-}" == "--image" ]]; then build_image; fi
printf '%s\n' "$dir/kagent-controller" "$dir/kagent" "$tdir/kagent-tool-server"
