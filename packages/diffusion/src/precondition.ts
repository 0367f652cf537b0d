/**
 * The three denoisers of the method, each one `precondition` of @epg/contracts with the scalings and
 * time encoding of a NoiseSpace (docs/method.md, "Preconditioning"). σ is the host Float64Array of
 * shifted σ; nothing here reads it back from a tensor.
 */
import {
  boundaryPreconditioning,
  edmPreconditioning,
  precondition,
  x0Scalings,
  type Denoiser,
  type NetworkFn,
} from '@epg/contracts';
import type { NoiseSpace } from '@epg/schedules';

/**
 * EPG's DM parameterisation: D(x, σ) = F(c_in(σ)·x, τ(σ), y), the raw output is x̂₀ (no c_skip)
 * [EPG:denoiser-train `DenoiseTuneStep`, prediction_target="x0"]. τ from space.timeEncoding (EPG: 'cm').
 */
export function x0Denoiser(network: NetworkFn, space: NoiseSpace): Denoiser {
  return precondition(network, x0Scalings(space), space.timeEncoding, 'x0Denoiser');
}

/**
 * EDM standard preconditioning: D = c_skip·x + c_out·F(c_in·x, τ, y) [EDM Table 1, `EDMPrecond`]. EDM
 * itself feeds c_noise = ¼·ln σ: build the space with timeEncoding 'edm' for that.
 */
export function edmDenoiser(network: NetworkFn, space: NoiseSpace): Denoiser {
  return precondition(network, edmPreconditioning(space), space.timeEncoding, 'edmDenoiser');
}

/**
 * Consistency boundary parameterisation: D = c_skip·x + c_out·F(c_in·x, τ, y) with c_skip(σ_min′) = 1,
 * c_out(σ_min′) = 0, σ_min′ = space.sigmaMin (0.002·H/64 in EPG) [Song et al. 2023; EPG prediction_target="edm"].
 */
export function boundaryDenoiser(network: NetworkFn, space: NoiseSpace): Denoiser {
  return precondition(network, boundaryPreconditioning(space), space.timeEncoding, 'boundaryDenoiser');
}
