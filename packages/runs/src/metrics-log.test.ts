import { mkdtempSync, readFileSync, writeFileSync, appendFileSync, unlinkSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/Either';
import { appendRecord, readRecords, truncateAfter } from './metrics-log';

const dir = () => mkdtempSync(join(tmpdir(), 'epg-runs-'));

describe('metrics log', () => {
  it('round-trips records; NaN is stored as null and read back as NaN', () => {
    const p = join(dir(), 'metrics.jsonl');
    appendRecord(p, { phase: 'pretrain', step: 0, values: { loss: 1.5, con: 1, rc: 0.5 } });
    appendRecord(p, { phase: 'pretrain', step: 1, values: { loss: NaN } });
    const r = readRecords(p);
    expect(E.isRight(r) && r.right.length).toBe(2);
    if (E.isRight(r)) {
      expect(r.right[0]).toEqual({ phase: 'pretrain', step: 0, values: { loss: 1.5, con: 1, rc: 0.5 } });
      expect(Number.isNaN(r.right[1].values.loss)).toBe(true);
    }
    expect(readFileSync(p, 'utf8').split('\n')[1]).toBe('{"phase":"pretrain","step":1,"loss":null}');
  });

  it('a missing log is empty; a torn last line is dropped; a bad middle line is named', () => {
    const d = dir();
    expect(readRecords(join(d, 'none.jsonl'))).toEqual(E.right([]));
    const p = join(d, 'm.jsonl');
    appendRecord(p, { phase: 'a', step: 0, values: { x: 1 } });
    appendFileSync(p, '{"phase":"a","st');
    const r = readRecords(p);
    expect(E.isRight(r) && r.right.length).toBe(1);
    writeFileSync(p, '{"phase":"a","step":0}\nnot json\n{"phase":"a","step":1}\n');
    const bad = readRecords(p);
    expect(E.isLeft(bad) && bad.left.message).toMatch(/line 2 is not JSON/);
  });

  it('reads a log archived as <path>.gz when <path> is absent (and prefers the plain file)', () => {
    const p = join(dir(), 'metrics.jsonl');
    appendRecord(p, { phase: 'consistency', step: 0, values: { loss: 2 } });
    appendRecord(p, { phase: 'consistency', step: 1, values: { loss: 3 } });
    const plain = readRecords(p);
    writeFileSync(`${p}.gz`, gzipSync(readFileSync(p)));
    unlinkSync(p);
    expect(readRecords(p)).toEqual(plain);
    expect(E.isRight(plain) && plain.right.map((r) => r.values.loss)).toEqual([2, 3]);
    writeFileSync(p, '{"phase":"x","step":0}\n');
    expect(E.isRight(readRecords(p)) && (readRecords(p) as E.Right<{ phase: string }[]>).right[0].phase).toBe('x');
    writeFileSync(`${p}.gz`, 'not gzip');
    unlinkSync(p);
    const bad = readRecords(p);
    expect(E.isLeft(bad) && bad.left.message).toMatch(/cannot read metrics log/);
  });

  it('truncateAfter drops the steps a resumed run will repeat, in that phase only', () => {
    const p = join(dir(), 'm.jsonl');
    for (let s = 0; s < 5; s++) appendRecord(p, { phase: 'pretrain', step: s, values: { loss: s } });
    appendRecord(p, { phase: 'eval', step: 4, values: { fid: 3 } });
    expect(truncateAfter(p, 'pretrain', 2)).toEqual(E.right(2));
    const r = readRecords(p);
    expect(E.isRight(r) && r.right.map((x) => `${x.phase}${x.step}`)).toEqual(['pretrain0', 'pretrain1', 'pretrain2', 'eval4']);
  });
});
