#!/usr/bin/env bash
# Packs workspace packages, installs the tarballs into an empty npm project outside the workspace
# (their other dependencies and peers come from the registry), and runs the first ```js block of the
# first package's README there. Workspace dependencies that are not published yet must be listed too.
# Usage: tooling/scripts/pack-check.sh packages/tensor packages/tensor-native
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/epg-pack-XXXX)
trap 'rm -rf "$work"' EXIT
for dir in "$@"; do
  (cd "$root/$dir" && pnpm build >/dev/null && pnpm pack --pack-destination "$work" >/dev/null)
done
cd "$work" && npm init -y >/dev/null
echo "installing $(cd "$work" && ls *.tgz | tr '\n' ' ')into an empty npm project..."
npm install --no-audit --no-fund --loglevel=error ./*.tgz 2>&1 | tail -3
awk '/^```js/{f=1;next} /^```/{if(f){exit}} f' "$root/$1/README.md" > example.mjs
echo "running the README example of $1:"
node example.mjs
