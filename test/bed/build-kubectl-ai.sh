#!/usr/bin/env bash
# Builds kubectl-ai (the real CLI behind the scripts' --ai path) from the vendored
# source tree and caches the binary by version outside the repo, beside the bed's
# other tools: $TODO_OPS_TOOLS_DIR/kubectl-ai-<version>-<key>/kubectl-ai, linked
# from $TODO_OPS_TOOLS_DIR/bin. A warm run builds nothing. Prints the binary path.
# The vendor tree is read-only in CI, so the build runs on a private copy.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
tools=${TODO_OPS_TOOLS_DIR:-$HOME/.cache/todo-chatbot-ops/tools}
version=${KUBECTL_AI_VERSION:-v0.0.28}
log() { echo "build-kubectl-ai: $*" >&2; }

# ../shared/vendor beside the checkout; a git worktree elsewhere finds it beside
# the main checkout (the common git dir's parent).
find_src() {
  local cand
  for cand in "${TODO_OPS_VENDOR_DIR:-}" "$repo/../shared/vendor" \
              "$(git -C "$repo" rev-parse --path-format=absolute --git-common-dir 2>/dev/null)/../../shared/vendor"; do
    [[ -n "$cand" && -f "$cand/kubectl-ai-$version/go.mod" ]] && { echo "$(cd "$cand/kubectl-ai-$version" && pwd)"; return; }
  done
  return 1
}
src=$(find_src) || { log "no kubectl-ai-$version source under ../shared/vendor (set TODO_OPS_VENDOR_DIR)"; exit 1; }

# One build at a time: a second caller (a test, while .ci/run's background build
# is still going) waits for the first, then finds the binary.
mkdir -p "$tools"
exec 9>"$tools/.build-kubectl-ai.lock"
flock 9

# The key covers the source tree's module files, so a re-vendored tree rebuilds.
key=$(cat "$src/go.mod" "$src/go.sum" | sha1sum | cut -c1-8)
dir="$tools/kubectl-ai-$version-$key"
if [[ ! -x "$dir/kubectl-ai" ]]; then
  log "building kubectl-ai $version"
  t0=$SECONDS
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  cp -r "$src/." "$work/" && chmod -R u+w "$work"
  mkdir -p "$dir"
  (cd "$work" && GOWORK=off GOFLAGS=-buildvcs=false GOTOOLCHAIN=local CGO_ENABLED=0 \
    go build -trimpath -ldflags "-s -w -X main.version=$version" -o "$dir/kubectl-ai.tmp" ./cmd)
  mv "$dir/kubectl-ai.tmp" "$dir/kubectl-ai"
  log "built kubectl-ai in $((SECONDS - t0))s"
fi
mkdir -p "$tools/bin"
ln -sfn "$dir/kubectl-ai" "$tools/bin/kubectl-ai"
echo "$dir/kubectl-ai"
