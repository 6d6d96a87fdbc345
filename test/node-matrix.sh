#!/usr/bin/env bash
# Runs the unit tests (every script started as a real process) under each Node
# major users have besides the machine's own. Node comes from the npm registry's
# `node` package, cached by version outside the repo.
set -euo pipefail
cd "$(dirname "$0")/.."
versions=${TODO_OPS_NODE_VERSIONS:-"22.23.3 24.21.0"}
cache=${TODO_OPS_CACHE_DIR:-$HOME/.cache/todo-chatbot-ops}/node
for v in $versions; do
  dir="$cache/$v"
  if [[ ! -x "$dir/node_modules/.bin/node" ]]; then
    mkdir -p "$dir"
    # Outside the repo and without its node-options (the suite's .ts loader, which
    # npm exports to its children as NODE_OPTIONS and npm_config_node_options): the
    # package's install script runs plain node, where that loader is not installed.
    (cd "$dir" && env -u NODE_OPTIONS -u npm_config_node_options npm install --prefix "$dir" --no-save --no-audit --no-fund --loglevel=error "node@$v" >/dev/null)
  fi
  echo "== unit tests on Node $("$dir/node_modules/.bin/node" --version)"
  PATH="$dir/node_modules/.bin:$PATH" TODO_OPS_LOCK_ROUNDS=1 npx vitest run --project unit
done
