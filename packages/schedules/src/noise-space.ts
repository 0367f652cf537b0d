/**
 * The noise space of one image resolution: everything that depends on the EPG noise shift in one
 * value, so that no API takes a separate `shift` that defaults to 1 (docs/method.md, "Noise space").
 *
 * Conventions (paper §3.3 of docs/method.md):
 *  - "shifted" σ is what touches images: x_σ = x₀ + σ·ε, c_in/c_skip/c_out and the time value.
 *  - "unshifted" σ is what the schedules are written in: the Karras grid, the temperature
 *    interpolation, the DM loss weights and the guidance-interval thresholds.
 *  - shifted = unshifted · shift, with shift = H/64 in EPG and 1 in rRCM.
 */
import { checkInteger, checkPositive } from './check';
import { EPG_GUIDANCE_INTERVAL } from './guidance';
import { KARRAS_DEFAULTS, karrasSigmas, type KarrasOptions } from './karras';
import { SIGMA_DATA, type TimeEncoding } from './scalings';

export interface NoiseSpace {
  /** Image side H in pixels. */
  readonly resolution: number;
  /** σ multiplier H/64 (EPG) or 1 (rRCM, or EPG's shift turned off). */
  readonly shift: number;
  /** The unshifted Karras range and curvature (σ_min 0.002, σ_max 80, ρ 7 by default). */
  readonly karras: Required<KarrasOptions>;
  /** σ_d of the scalings (0.5). */
  readonly sigmaData: number;
  /** Time value fed to the network: 'cm' = 250·ln σ (EPG, rRCM), 'edm' = ¼·ln σ. */
  readonly timeEncoding: TimeEncoding;
  /** Shifted σ_min' = σ_min·shift: the boundary of the consistency parameterisation and σ₀ of pre-training. */
  readonly sigmaMin: number;
  /** Shifted σ_max·shift: x_T = ε·sigmaMax. */
  readonly sigmaMax: number;
  /** Unshifted guidance interval (low exclusive, high inclusive); null = guidance at every σ. */
  readonly guidanceInterval: { readonly low: number; readonly high: number } | null;
}

export interface NoiseSpaceOptions {
  /** 'epg' = H/64 (default), 'none' = 1, or an explicit positive factor. */
  readonly shift?: 'epg' | 'none' | number;
  readonly karras?: KarrasOptions;
  readonly sigmaData?: number;
  /** Default 'cm' (250·ln σ), as EPG and rRCM. */
  readonly timeEncoding?: TimeEncoding;
  /** Default EPG's (0.19, 1.61]; null turns the interval off (plain CFG). */
  readonly guidanceInterval?: { readonly low: number; readonly high: number } | null;
}

/** The noise space at resolution H. Defaults: EPG shift H/64, Karras 0.002–80 ρ 7, σ_d 0.5, time 'cm'. */
export function noiseSpace(resolution: number, opts: NoiseSpaceOptions = {}): NoiseSpace {
  checkInteger(resolution, 1, 'resolution', 'noiseSpace');
  const shiftOpt = opts.shift ?? 'epg';
  const shift = shiftOpt === 'epg' ? resolution / 64 : shiftOpt === 'none' ? 1 : shiftOpt;
  checkPositive(shift, 'shift', 'noiseSpace');
  const karras = {
    sigmaMin: opts.karras?.sigmaMin ?? KARRAS_DEFAULTS.sigmaMin,
    sigmaMax: opts.karras?.sigmaMax ?? KARRAS_DEFAULTS.sigmaMax,
    rho: opts.karras?.rho ?? KARRAS_DEFAULTS.rho,
  };
  checkPositive(karras.sigmaMin, 'karras.sigmaMin', 'noiseSpace');
  checkPositive(karras.rho, 'karras.rho', 'noiseSpace');
  if (!(karras.sigmaMax > karras.sigmaMin) || !Number.isFinite(karras.sigmaMax)) {
    throw new RangeError(`karras.sigmaMax passed to noiseSpace must be finite and > sigmaMin (${karras.sigmaMin}), got ${karras.sigmaMax}`);
  }
  const sigmaData = opts.sigmaData ?? SIGMA_DATA;
  checkPositive(sigmaData, 'sigmaData', 'noiseSpace');
  const guidanceInterval = opts.guidanceInterval === undefined ? { ...EPG_GUIDANCE_INTERVAL } : opts.guidanceInterval;
  if (guidanceInterval && !(guidanceInterval.high > guidanceInterval.low && guidanceInterval.low >= 0)) {
    throw new RangeError(`guidanceInterval passed to noiseSpace must have 0 <= low < high, got (${guidanceInterval.low}, ${guidanceInterval.high}]`);
  }
  return Object.freeze({
    resolution,
    shift,
    karras: Object.freeze(karras),
    sigmaData,
    timeEncoding: opts.timeEncoding ?? 'cm',
    sigmaMin: karras.sigmaMin * shift,
    sigmaMax: karras.sigmaMax * shift,
    guidanceInterval: guidanceInterval ? Object.freeze({ ...guidanceInterval }) : null,
  });
}

/** Unshifted → shifted (what images see). */
export function toShifted(space: NoiseSpace, sigma: number): number {
  return sigma * space.shift;
}

/** Shifted → unshifted (what the temperature schedule, loss weights and guidance thresholds see). */
export function toUnshifted(space: NoiseSpace, sigma: number): number {
  return sigma / space.shift;
}

/** The shifted n-point Karras grid, descending, no σ = 0 (the sampling grid of docs/method.md §6). */
export function shiftedGrid(space: NoiseSpace, n: number): Float64Array {
  const grid = karrasSigmas(n, space.karras);
  for (let i = 0; i < grid.length; i++) grid[i] *= space.shift;
  return grid;
}

/**
 * True when guidance applies at this shifted σ: σ ∈ (low·shift, high·shift] (the thresholds are scaled,
 * as inGuidanceInterval does, rather than σ unscaled); always true without an interval.
 */
export function guidanceActive(space: NoiseSpace, sigma: number): boolean {
  const iv = space.guidanceInterval;
  if (!iv) return true;
  return sigma > iv.low * space.shift && sigma <= iv.high * space.shift;
}
