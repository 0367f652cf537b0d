/**
 * Exports the README job's consistency model into public/model/ (served by `pnpm web`, copied into
 * the folder `pnpm web:build` writes). The run: $EPG_WEB_RUN, default runs/mnist-quick-s0 (what
 * `pnpm train all` makes), relative to the repository root.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as E from 'fp-ts/Either';
import { exportModel } from 'epg-train';

const repo = resolve(__dirname, '../../..');
const runDir = resolve(repo, process.env.EPG_WEB_RUN ?? 'runs/mnist-quick-s0');
const outDir = join(__dirname, '..', 'public', 'model');
if (!existsSync(join(runDir, 'checkpoints', 'consistency'))) {
  console.error(`epg-web: no consistency checkpoint in ${runDir}: make it with \`pnpm train all\` (the mnist-quick run, minutes on a CPU), or set EPG_WEB_RUN=<run directory>`);
  process.exit(1);
}
const r = exportModel({ runDir, objective: 'consistency', outDir });
if (E.isLeft(r)) {
  console.error(`epg-web: ${r.left.message}`);
  process.exit(1);
}
console.log(`epg-web: exported ${runDir} (consistency, step ${r.right.step}) to ${outDir}`);
