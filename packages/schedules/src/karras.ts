/**
 * The Karras noise grid and EPG's resolution noise shift (docs/method.md §3.1, §3.3, §6).
 * Index 0 is σ_max (noisiest), index n−1 is σ_min, as in the EPG/rRCM code.
 */
import { checkInteger, checkPositive } from './check';

export interface KarrasOptions {
  /** Smallest σ (default 0.002). */
  readonly sigmaMin?: number;
  /** Largest σ (default 80). */
  readonly sigmaMax?: number;
  /** Grid curvature ρ (default 7). */
  readonly rho?: number;
}

/** EDM's defaults, used by every EPG and rRCM config. */
export const KARRAS_DEFAULTS = { sigmaMin: 0.002, sigmaMax: 80, rho: 7 } as const;

/**
 * σ_i = (σ_max^{1/ρ} + i/(n−1)·(σ_min^{1/ρ} − σ_max^{1/ρ}))^ρ for real i [EDM eq. 5; rRCM/EPG `get_sigmas_karras`].
 * Also defined for i outside 0…n−1: i = n gives the extrapolated σ_n used by the DM loss weights.
 * Defaults: σ_min 0.002, σ_max 80, ρ 7.
 */
export function karrasSigma(i: number, n: number, opts: KarrasOptions = {}): number {
  const { sigmaMin, sigmaMax, rho } = resolveKarras(opts, 'karrasSigma');
  checkInteger(n, 2, 'n', 'karrasSigma');
  const lo = sigmaMin ** (1 / rho);
  const hi = sigmaMax ** (1 / rho);
  return (hi + (i / (n - 1)) * (lo - hi)) ** rho;
}

/**
 * The n-point Karras grid, descending, index 0 = σ_max, index n−1 = σ_min, no σ = 0 appended
 * [EDM eq. 5; rRCM/EPG]. n = 1 gives [σ_max] (EPG's one-step CM grid, §6). Defaults: 0.002, 80, ρ 7.
 */
export function karrasSigmas(n: number, opts: KarrasOptions = {}): Float64Array {
  const o = resolveKarras(opts, 'karrasSigmas');
  checkInteger(n, 1, 'n', 'karrasSigmas');
  if (n === 1) return Float64Array.of(o.sigmaMax);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = karrasSigma(i, n, o);
  // Pin the ends exactly: the power round trip is off by an ulp or two.
  out[0] = o.sigmaMax;
  out[n - 1] = o.sigmaMin;
  return out;
}

/**
 * EPG's noise shift: every σ that touches an image is multiplied by H/64 [EPG:denoiser-train; SiD].
 * `enabled = false` is rRCM's setting (shift 1). Default: enabled.
 */
export function noiseShift(resolution: number, enabled = true): number {
  checkPositive(resolution, 'resolution', 'noiseShift');
  return enabled ? resolution / 64 : 1;
}

export interface SamplingSigmasOptions extends KarrasOptions {
  /**
   * Multiply the grid by this shift: required (EPG: noiseShift(H); rRCM: 1), so that a forgotten shift
   * cannot silently sample a different noise space. shiftedGrid(noiseSpace(H), n) is the usual route.
   */
  readonly shift: number;
  /** Append σ = 0 as k-diffusion/EDM do (default false: EPG's samplers end at σ_min, §6). */
  readonly appendZero?: boolean;
}

/**
 * The sampling grid of §6: karrasSigmas(steps)·shift, optionally followed by 0. EPG at 256 px:
 * samplingSigmas(32, { shift: 4 }) runs 320 → 0.008. Default: appendZero false.
 */
export function samplingSigmas(steps: number, opts: SamplingSigmasOptions): Float64Array {
  const shift = opts?.shift;
  checkPositive(shift, 'shift', 'samplingSigmas');
  const grid = karrasSigmas(steps, opts);
  const out = new Float64Array(grid.length + (opts.appendZero ? 1 : 0));
  for (let i = 0; i < grid.length; i++) out[i] = grid[i] * shift;
  return out;
}

function resolveKarras(opts: KarrasOptions, fn: string): Required<KarrasOptions> {
  const sigmaMin = opts.sigmaMin ?? KARRAS_DEFAULTS.sigmaMin;
  const sigmaMax = opts.sigmaMax ?? KARRAS_DEFAULTS.sigmaMax;
  const rho = opts.rho ?? KARRAS_DEFAULTS.rho;
  checkPositive(sigmaMin, 'sigmaMin', fn);
  checkPositive(rho, 'rho', fn);
  if (!(sigmaMax > sigmaMin)) throw new RangeError(`sigmaMax passed to ${fn} must exceed sigmaMin, got ${sigmaMax} <= ${sigmaMin}`);
  return { sigmaMin, sigmaMax, rho };
}
