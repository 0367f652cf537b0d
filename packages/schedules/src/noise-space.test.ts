import { karrasSigmas } from './karras';
import { guidanceActive, noiseSpace, shiftedGrid, toShifted, toUnshifted } from './noise-space';

describe('noiseSpace', () => {
  it('EPG at 256 px: shift 4, σ range 0.008–320 (hand-computed)', () => {
    const s = noiseSpace(256);
    expect(s.shift).toBe(4);
    expect(s.sigmaMin).toBeCloseTo(0.008, 15);
    expect(s.sigmaMax).toBe(320);
    expect(s.timeEncoding).toBe('cm');
    expect(toShifted(s, 1.5)).toBe(6);
    expect(toUnshifted(s, 6)).toBe(1.5);
  });
  it("shift 'none' is rRCM's space; 28 px EPG shift is 28/64", () => {
    expect(noiseSpace(224, { shift: 'none' }).shift).toBe(1);
    expect(noiseSpace(28).shift).toBeCloseTo(0.4375, 15);
  });
  it('shiftedGrid is the Karras grid times the shift', () => {
    const g = shiftedGrid(noiseSpace(128), 32);
    const k = karrasSigmas(32);
    for (let i = 0; i < 32; i++) expect(g[i]).toBe(k[i] * 2);
  });
  it('guidance interval (0.19, 1.61] in unshifted σ: 32-step grid at 256 px guides indices 17…22', () => {
    const s = noiseSpace(256);
    const g = shiftedGrid(s, 32);
    const on = [...g.keys()].filter((i) => guidanceActive(s, g[i]));
    expect(on).toEqual([17, 18, 19, 20, 21, 22]);
    expect(guidanceActive(noiseSpace(256, { guidanceInterval: null }), 300)).toBe(true);
  });
  it('bad values name the argument', () => {
    expect(() => noiseSpace(0)).toThrow(/resolution passed to noiseSpace/);
    expect(() => noiseSpace(64, { shift: -1 })).toThrow(/shift passed to noiseSpace/);
    expect(() => noiseSpace(64, { karras: { sigmaMin: 1, sigmaMax: 0.5 } })).toThrow(/sigmaMax/);
  });
});
