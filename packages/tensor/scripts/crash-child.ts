// Child of scripts/crash-test.ts: resumes from the latest checkpoint at <base> (if any) and saves in a
// loop, every tensor of step s filled with a value derived from s, printing `saved <step> <tmp files>`
// after each save. With KILL_AT=<k> it SIGKILLs itself just before the k-th file operation of its
// first save (so the parent can kill between every pair of operations with a real SIGKILL).
import * as tf from '@tensorflow/tfjs-core';
import { readdirSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import * as E from 'fp-ts/Either';
import { AdamW, ParameterStore, initBackend, nodeCheckpointFs, readCheckpoint, saveCheckpoint, type CheckpointFs } from '../src/index';
import { fillFor, floatsPerTensor } from './crash-values';

const [base, mbArg] = process.argv.slice(2);
const n = floatsPerTensor(Number(mbArg));

async function main(): Promise<void> {
  await initBackend({ force: 'cpu', log: null });
  const model = ParameterStore.create();
  model.add('w', tf.zeros([n]), { weightDecay: false });
  const ema = model.clone();
  const opt = new AdamW(model, { lr: 1e-3 });

  let start = 0;
  const latest = readCheckpoint(base);
  if (E.isRight(latest)) start = latest.right.sidecar.step + 1;

  let fs: CheckpointFs = nodeCheckpointFs;
  const killAt = process.env.KILL_AT === undefined ? -1 : Number(process.env.KILL_AT);
  if (killAt >= 0) {
    let op = 0;
    const before = () => {
      if (op++ === killAt) process.kill(process.pid, 'SIGKILL');
    };
    fs = Object.fromEntries(
      Object.entries(nodeCheckpointFs).map(([k, f]) => [k, (...a: unknown[]) => (before(), (f as (...x: unknown[]) => unknown)(...a))]),
    ) as unknown as CheckpointFs;
  }
  const temps = () => readdirSync(dirname(base)).filter((f) => f.startsWith(basename(base)) && f.endsWith('.tmp')).length;
  process.stdout.write(`ready ${start}\n`);

  for (let step = start; ; step++) {
    model.get('w').assign(tf.fill([n], fillFor('model', step)));
    ema.get('w').assign(tf.fill([n], fillFor('ema', step)));
    opt.setState({
      step,
      tensors: {
        'm.w': { dtype: 'float32', shape: [n], data: new Float32Array(n).fill(fillFor('m', step)) },
        'v.w': { dtype: 'float32', shape: [n], data: new Float32Array(n).fill(fillFor('v', step)) },
      },
    });
    const r = saveCheckpoint(base, { step, config: { crashTest: true }, stores: { model, ema }, optimizer: opt }, { fs });
    if (E.isLeft(r)) {
      process.stderr.write(`save failed: ${r.left.message}\n`);
      process.exit(2);
    }
    process.stdout.write(`saved ${step} ${temps()}\n`);
    if (killAt >= 0) process.exit(0); // the kill point lay beyond this save's last operation
  }
}

void main();
