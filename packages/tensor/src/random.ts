/**
 * Seeded random streams. Every random number in the project comes from a `RandomStream` derived
 * from (run seed, step, stream name), so a run resumed at step k draws exactly what an
 * uninterrupted run drew at step k, and two streams (noise, augmentation, dropout) never share draws.
 * Generator: xoshiro128** (Blackman & Vigna), seeded through splitmix32-style mixing.
 */

/** murmur3's 32-bit finaliser: a bijective avalanche mix. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** FNV-1a over UTF-16 code units, then mixed: a stable 32-bit id for a stream name. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return fmix32(h);
}

/** Splits a non-negative integer below 2^53 into two 32-bit words. */
function words(n: number): [number, number] {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`seed/step must be a non-negative safe integer, got ${n}`);
  return [n >>> 0, Math.floor(n / 2 ** 32) >>> 0];
}

/** Combines 32-bit words into one 32-bit seed (order-sensitive). */
export function mixSeeds(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const p of parts) h = fmix32((h ^ fmix32(p >>> 0)) + 0x9e3779b9);
  return h;
}

export type RandomState = readonly [number, number, number, number, number | null];

export class RandomStream {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  /** Second Box–Muller value kept for the next call. */
  private spareNormal: number | null = null;

  private constructor(state: readonly [number, number, number, number]) {
    [this.s0, this.s1, this.s2, this.s3] = state.map((x) => x >>> 0) as [number, number, number, number];
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1; // the all-zero state is absorbing
  }

  /** A stream from one integer seed. */
  static fromSeed(seed: number): RandomStream {
    const [lo, hi] = words(seed);
    let x = mixSeeds(lo, hi);
    const st: number[] = [];
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      st.push(fmix32(x));
    }
    return new RandomStream(st as [number, number, number, number]);
  }

  /** The stream for (run seed, step, name): the same triple always gives the same numbers. */
  static derive(runSeed: number, step: number, stream: string | number): RandomStream {
    const [a, b] = words(runSeed);
    const [c, d] = words(step);
    const s = typeof stream === 'string' ? hashString(stream) : stream >>> 0;
    return RandomStream.fromSeed(mixSeeds(a, b, c, d, s));
  }

  /** A child stream, independent of this one's future draws. */
  child(name: string | number): RandomStream {
    const s = typeof name === 'string' ? hashString(name) : name >>> 0;
    return RandomStream.fromSeed(mixSeeds(this.s0, this.s1, this.s2, this.s3, s));
  }

  /** Next 32 random bits as an unsigned integer (xoshiro128**). */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform in [lo, hi). */
  uniformIn(lo: number, hi: number): number {
    return lo + (hi - lo) * this.uniform();
  }

  /** Standard normal (Box–Muller, both values used). */
  normal(): number {
    if (this.spareNormal !== null) {
      const v = this.spareNormal;
      this.spareNormal = null;
      return v;
    }
    const u1 = 1 - this.uniform(); // (0, 1]: log is finite
    const u2 = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u1));
    this.spareNormal = r * Math.sin(2 * Math.PI * u2);
    return r * Math.cos(2 * Math.PI * u2);
  }

  /** Uniform integer in [0, n), without modulo bias. */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > 2 ** 32) throw new RangeError(`int(n) needs 1 <= n <= 2^32, got ${n}`);
    const limit = 2 ** 32 - (2 ** 32 % n);
    let x: number;
    do x = this.nextUint32();
    while (x >= limit);
    return x % n;
  }

  bernoulli(p: number): boolean {
    return this.uniform() < p;
  }

  /** A uniformly random permutation of 0..n-1 (Fisher–Yates). */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p;
  }

  fillUniform<T extends Float32Array | Float64Array>(out: T, lo = 0, hi = 1): T {
    for (let i = 0; i < out.length; i++) out[i] = lo + (hi - lo) * this.uniform();
    return out;
  }

  fillNormal<T extends Float32Array | Float64Array>(out: T, mean = 0, std = 1): T {
    for (let i = 0; i < out.length; i++) out[i] = mean + std * this.normal();
    return out;
  }

  /** Serialisable state (for checkpoints of streams that are not re-derived per step). */
  getState(): RandomState {
    return [this.s0, this.s1, this.s2, this.s3, this.spareNormal];
  }

  static fromState(state: RandomState): RandomStream {
    if (!Array.isArray(state) || state.length !== 5) throw new Error('random state must be [s0, s1, s2, s3, spare]');
    const r = new RandomStream([state[0], state[1], state[2], state[3]]);
    r.spareNormal = state[4];
    return r;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
