#!/usr/bin/env bash
# The code-variant path outside the workspace (docs/variants.md, "Check it as a user would"):
#  1. build epg-train and every @epg package it needs, and pack them (pnpm pack: workspace:* becomes
#     the version);
#  2. install the tarballs into an empty npm project under /tmp (everything else from the registry),
#     with the variant package's dev tools (typescript, jest, ts-jest);
#  3. `npx epg-train scaffold-variant` a 'cm-distance' variant there, turn it into an L1 distance,
#     build it, run its own jest test, `npm pack` it and install the tarball;
#  4. run `npx epg-train all --config cfg.json` with the variant selected by name in `plugins` and tiny
#     stages, and check the run pinned and recorded it.
# Evaluation uses the MNIST domain classifier whose weights ship inside @epg/metrics (nothing is trained).
# Usage: tooling/scripts/variant-pack-check.sh [STEPS]   (KEEP=1 keeps the project directory)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
steps=${1:-8}
work=$(mktemp -d /tmp/epg-variant-pack-XXXX)
if [ "${KEEP:-0}" = 1 ]; then echo "keeping $work"; else trap 'rm -rf "$work"' EXIT; fi
t0=$(date +%s)

# epg-train and its workspace dependencies, transitively.
dirs=$(cd "$root" && node -e '
  const fs = require("fs"), path = require("path");
  const byName = {};
  for (const top of ["packages", "apps"]) for (const d of fs.readdirSync(top)) {
    const p = path.join(top, d, "package.json");
    if (fs.existsSync(p)) byName[JSON.parse(fs.readFileSync(p, "utf8")).name] = path.join(top, d);
  }
  const seen = new Set(), todo = ["epg-train"];
  while (todo.length) {
    const n = todo.pop(); if (seen.has(n)) continue; seen.add(n);
    const deps = JSON.parse(fs.readFileSync(path.join(byName[n], "package.json"), "utf8")).dependencies || {};
    for (const [d, v] of Object.entries(deps)) if (String(v).startsWith("workspace:")) todo.push(d);
  }
  console.log([...seen].map((n) => byName[n]).join(" "));')
echo "building and packing: $dirs"
(cd "$root" && pnpm turbo run build --filter=epg-train... --output-logs=errors-only >/dev/null)
mkdir -p "$work/tarballs" "$work/project"
for dir in $dirs; do (cd "$root/$dir" && pnpm pack --pack-destination "$work/tarballs" >/dev/null); done

cd "$work/project" && npm init -y >/dev/null
echo "installing $(ls "$work/tarballs" | wc -l) tarballs and the variant's dev tools into $work/project ..."
t1=$(date +%s)
npm install --no-audit --no-fund --loglevel=error "$work"/tarballs/*.tgz \
  typescript@5.9.3 jest@30.5.2 ts-jest@29.4.15 @types/jest@30.0.0 @types/node@20.19.43 @tensorflow/tfjs-backend-cpu@4.22.0 2>&1 | tail -3
echo "npm install: $(( $(date +%s) - t1 ))s"

echo "scaffolding @demo/epg-variant-l1 (cm-distance) ..."
npx --no-install epg-train scaffold-variant @demo/epg-variant-l1 --kind cm-distance --dir variant
# Turn the default (EPG's distance) into an L1 distance, and its test into the L1 closed form.
node -e '
  const fs = require("fs");
  let s = fs.readFileSync("variant/src/index.ts", "utf8");
  s = s.replace(/\/\*\* D\/sg[\s\S]*?\}\),\n\}\);/, "/** Σ|a − b| per sample over pixels and channels: [B, H, W, C] × 2 → [B]. */\n  distance: (a, b) => tf.tidy(() => tf.sum(tf.abs(tf.sub(a, b)), [1, 2, 3]) as tf.Tensor1D),\n});");
  s = s.replace(/import \{ stopGradient \} from .@epg\/tensor.;\n/, "").replace(/description: "[^"]*"/, "description: \"L1 distance sum |a - b| instead of EPG'"'"'s D/sg(sqrt(D + c^2))\"");
  fs.writeFileSync("variant/src/index.ts", s);
  let t = fs.readFileSync("variant/src/index.test.ts", "utf8");
  t = t.replace(/toBeCloseTo\(0\.38 \/ Math\.sqrt\(0\.38 \+ 0\.0036\), 5\)/, "toBeCloseTo(1.2, 5)").replace(/is EPG.s D\/√\(D \+ c²\)/, "is the L1 distance |0.2| + |0.3| + |0.3| + |0.4| = 1.2");
  fs.writeFileSync("variant/src/index.test.ts", t);'
(cd variant && ../node_modules/.bin/tsc -p tsconfig.json --noEmit && ../node_modules/.bin/tsc -p tsconfig.build.json \
  && ../node_modules/.bin/jest 2>&1 | grep -E "Tests:|✓|✕" && npm pack --pack-destination "$work/tarballs" >/dev/null 2>&1)
npm install --no-audit --no-fund --loglevel=error "$work"/tarballs/demo-epg-variant-l1-0.1.0.tgz 2>&1 | tail -3

# The domain-FID of the evaluate stage uses the classifier weights shipped inside @epg/metrics.
npx --no-install epg-train all --dry-run \
  --set pretrain.steps=$steps --set pretrain.batch=16 --set consistency.steps=$steps --set consistency.batch=16 \
  --set diffusion.steps=$steps --set diffusion.batch=16 --set data.limit=256 --set eval.fidSamples=64 \
  --set eval.heunSteps=4 --set eval.gridSize=16 --set checkpoint.every=$steps > base.json
node -e 'const fs = require("fs"); const c = JSON.parse(fs.readFileSync("base.json", "utf8")); c.plugins = ["@demo/epg-variant-l1"]; fs.writeFileSync("cfg.json", JSON.stringify(c, null, 2));'
echo "running npx epg-train all --config cfg.json (plugins: @demo/epg-variant-l1, $steps steps per stage) ..."
t2=$(date +%s)
if ! npx --no-install epg-train all --config cfg.json --run run > train.log 2>&1; then cat train.log; echo "epg-train all failed"; exit 1; fi
cat train.log
echo "epg-train all: $(( $(date +%s) - t2 ))s"
node -e '
  const fs = require("fs");
  const cfg = JSON.parse(fs.readFileSync("run/config.json", "utf8"));
  const rec = JSON.parse(fs.readFileSync("run/plugins.json", "utf8"));
  if (cfg.plugins[0] !== "@demo/epg-variant-l1@0.1.0") throw new Error("config.json does not pin the plugin: " + cfg.plugins);
  if (rec[0].kind !== "cm-distance") throw new Error("plugins.json: " + JSON.stringify(rec));
  if (!fs.existsSync("run/report.html")) throw new Error("no report");
  if (!fs.readFileSync("run/report.md", "utf8").includes("plugin (cm-distance) | @demo/epg-variant-l1@0.1.0")) throw new Error("report.md does not name the plugin");
  const cm = fs.readFileSync("run/metrics.jsonl", "utf8").trim().split("\n").map(JSON.parse).filter((r) => r.phase === "consistency");
  if (cm.length === 0 || !cm.every((r) => Number.isFinite(r.loss))) throw new Error("consistency metrics missing or not finite");
  console.log("ok: run/config.json pins " + cfg.plugins[0] + "; plugins.json records " + rec[0].kind + "; report.md names it; " + cm.length + " consistency steps, last loss " + cm[cm.length - 1].loss.toFixed(4) + "; report.html written");'
# The variant changes the run: step 0 of a 2-step CM fine-tuning from scratch, with and without it.
node -e 'const fs = require("fs"); const c = JSON.parse(fs.readFileSync("cfg.json", "utf8"));
  Object.assign(c, { pretrain: null, diffusion: null }); c.consistency.steps = 2; c.checkpoint.every = 2;
  fs.writeFileSync("cm-l1.json", JSON.stringify(c)); fs.writeFileSync("cm-epg.json", JSON.stringify({ ...c, plugins: [] }));'
for v in l1 epg; do npx --no-install epg-train finetune --objective consistency --config cm-$v.json --run cm-$v > cm-$v.log 2>&1 || { cat cm-$v.log; exit 1; }; done
node -e '
  const fs = require("fs");
  const first = (d) => JSON.parse(fs.readFileSync(d + "/metrics.jsonl", "utf8").split("\n")[0]);
  const [l1, epg] = [first("cm-l1"), first("cm-epg")];
  if (!(Math.abs(l1.consistency - epg.consistency) > 1e-3 * Math.abs(epg.consistency))) throw new Error("the variant did not change the consistency term");
  console.log("ok: step-0 consistency term " + l1.consistency.toFixed(3) + " with the L1 variant, " + epg.consistency.toFixed(3) + " with EPG'"'"'s distance (same seed, same batch)");'
echo "variant pack check: $(( $(date +%s) - t0 ))s in all"
