import { createProgress, formatDuration, formatValue } from './progress';

describe('progress', () => {
  it('formats durations and values', () => {
    expect(formatDuration(42)).toBe('42s');
    expect(formatDuration(185)).toBe('3m05s');
    expect(formatDuration(3720)).toBe('1h02m');
    expect(formatDuration(NaN)).toBe('?');
    expect(formatValue(0.123456)).toBe('0.1235');
    expect(formatValue(2.5e-5)).toBe('2.500e-5');
  });

  it('plain lines: first, every interval, last; rate and ETA from the clock', () => {
    let t = 0;
    const out: string[] = [];
    const p = createProgress({ total: 10, label: 'pretrain', imagesPerStep: 64, tty: false, intervalMs: 2000, now: () => t, write: (s) => out.push(s) });
    for (let step = 0; step < 10; step++) {
      t += 1000; // one step per second
      p.update(step, { loss: 1 / (step + 1) });
    }
    p.done();
    // steps 1 (first), 3, 5, 7, 9 are 2 s apart; step 10 is the last.
    expect(out.map((l) => l.split('  ')[0])).toEqual(['pretrain 1/10', 'pretrain 3/10', 'pretrain 5/10', 'pretrain 7/10', 'pretrain 9/10', 'pretrain 10/10']);
    // 5 steps in 5 s with 64 images each: 64 img/s, 5 steps left: eta 5 s.
    expect(out[2]).toContain('64 img/s');
    expect(out[2]).toContain('eta 5s');
    expect(out[5]).toContain('loss 0.1');
    expect(out.every((l) => l.endsWith('\n'))).toBe(true);
  });

  it('a resumed run counts only its own steps for the rate', () => {
    let t = 0;
    const out: string[] = [];
    const p = createProgress({ total: 100, label: 'x', tty: false, now: () => t, write: (s) => out.push(s), startStep: 90 });
    t = 2000;
    p.update(90);
    expect(out[0]).toMatch(/^x 91\/100 .*eta 18s/);
  });

  it('plain done() prints the last state when a run stops between lines', () => {
    let t = 0;
    const out: string[] = [];
    const p = createProgress({ total: 100, label: 'x', tty: false, intervalMs: 1e9, now: () => t, write: (s) => out.push(s) });
    p.update(0);
    t = 10;
    p.update(1);
    p.done();
    expect(out.map((l) => l.split('  ')[0])).toEqual(['x 1/100', 'x 2/100']);
  });

  it('TTY mode redraws one line and ends it on done()', () => {
    let t = 0;
    const out: string[] = [];
    const p = createProgress({ total: 3, label: 'x', tty: true, now: () => t, write: (s) => out.push(s) });
    p.update(0);
    t = 1000;
    p.update(1);
    t = 2000;
    p.update(2);
    p.done();
    expect(out.slice(0, 3).every((l) => l.startsWith('\r\x1b[2K') && !l.endsWith('\n'))).toBe(true);
    expect(out[3].endsWith('\n')).toBe(true);
  });

  it('rejects a bad total', () => {
    expect(() => createProgress({ total: 0, label: 'x' })).toThrow(/total must be an integer >= 1, got 0/);
  });
});
