// The test-only EPG_TEST_CHECKPOINT_PAUSE hook of saveCheckpoint: a misspelt phase is a Left (never a
// hang or a throw), and a save of another step is not paused. The pauses themselves (the process
// blocks until it is killed) are exercised by apps/train/src/kill.test.ts, one SIGKILL per phase.
import * as tf from '@tensorflow/tfjs-core';
import * as E from 'fp-ts/Either';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ParameterStore } from '../params';
import { CHECKPOINT_PAUSE_PHASES, readCheckpoint, saveCheckpoint } from './checkpoint';

let dir: string;
let store: ParameterStore;
beforeAll(() => {
  store = ParameterStore.create();
  store.add('w', tf.fill([3], 0.5));
});
afterAll(() => store.dispose());
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'epg-pause-'));
});
afterEach(() => {
  delete process.env.EPG_TEST_CHECKPOINT_PAUSE;
  rmSync(dir, { recursive: true, force: true });
});

describe('EPG_TEST_CHECKPOINT_PAUSE', () => {
  it('names each moment of a save in the order a save reaches them', () => {
    expect(CHECKPOINT_PAUSE_PHASES).toEqual(['tensors-partial', 'tensors-written', 'sidecar-partial', 'sidecar-written', 'latest-partial', 'switched']);
  });

  it('an unknown phase is refused as a Left naming the phases, before any file is written', () => {
    process.env.EPG_TEST_CHECKPOINT_PAUSE = 'halfway@3';
    const r = saveCheckpoint(join(dir, 'c'), { step: 3, config: {}, stores: { model: store } });
    expect(E.isLeft(r) && r.left.kind).toBe('config');
    expect(E.isLeft(r) && r.left.message).toBe('EPG_TEST_CHECKPOINT_PAUSE=halfway@3: phase must be one of tensors-partial, tensors-written, sidecar-partial, sidecar-written, latest-partial, switched');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a step that is not a whole number is refused the same way', () => {
    process.env.EPG_TEST_CHECKPOINT_PAUSE = 'switched@x3';
    const r = saveCheckpoint(join(dir, 'c'), { step: 3, config: {}, stores: { model: store } });
    expect(E.isLeft(r) && r.left.message).toBe("EPG_TEST_CHECKPOINT_PAUSE=switched@x3: the step after '@' must be an integer >= 0");
    expect(readdirSync(dir)).toEqual([]);
  });

  it.each(CHECKPOINT_PAUSE_PHASES.map((p) => [p]))('a pause at %s for another step leaves this save alone', (phase) => {
    process.env.EPG_TEST_CHECKPOINT_PAUSE = `${phase}@7`;
    const base = join(dir, 'c');
    expect(E.isRight(saveCheckpoint(base, { step: 3, config: {}, stores: { model: store } }))).toBe(true);
    const back = readCheckpoint(base);
    expect(E.isRight(back) && back.right.sidecar.step).toBe(3);
  });
});
