#!/usr/bin/env bash
# Packs a workspace package, installs the tarball into an empty npm project outside the workspace
# (with its peers from the registry), and runs the first ```js block of the package README there.
# Usage: tooling/scripts/pack-check.sh packages/tensor
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
pkg_dir="$root/$1"
work=$(mktemp -d /tmp/epg-pack-XXXX)
trap 'rm -rf "$work"' EXIT
(cd "$pkg_dir" && pnpm build >/dev/null && pnpm pack --pack-destination "$work" >/dev/null)
tarball=$(ls "$work"/*.tgz)
cd "$work" && npm init -y >/dev/null
echo "installing $(basename "$tarball") into an empty npm project..."
npm install --no-audit --no-fund --loglevel=error "$tarball" 2>&1 | tail -3
awk '/^```js/{f=1;next} /^```/{if(f){exit}} f' "$pkg_dir/README.md" > example.mjs
echo "running the README example:"
node example.mjs
