/**
 * The end of `epg-train all`: sample grids (one-step CM, Heun DM), domain FID of generated images
 * against the test set (docs/metrics.md, "Domain FID"), loss curves and the report. The work is the
 * shared evaluation of src/eval (epg-eval runs the same functions on a finished run directory).
 */
import { evaluateFid, generateSamples, gridPath, writeSampleGrid, type Objective } from '../eval/evaluate-run';
import { writeRunReport } from '../eval/report';
import type { RunContext } from './common';

export interface EvalSummary {
  readonly fid: Partial<Record<Objective, number>>;
  readonly report: string;
}

export async function runEvaluate(ctx: RunContext): Promise<EvalSummary> {
  const { config } = ctx;
  const objectives = (['consistency', 'diffusion'] as const).filter((o) => config[o] !== null);
  const fid: Partial<Record<Objective, number>> = {};
  for (const o of objectives) {
    const t0 = performance.now();
    // one set of samples serves the grid (its first gridSize images) and the FID
    const samples = generateSamples(ctx, o, { count: Math.max(config.eval.fidSamples, config.eval.gridSize) });
    const grid = gridPath(ctx.dir, o, samples.steps);
    await writeSampleGrid(grid, samples, config.eval.gridSize);
    const { result } = await evaluateFid(ctx, o, { samples: config.eval.fidSamples, generated: samples });
    fid[o] = result.fid;
    ctx.log(
      `evaluate: ${o} domain-FID ${result.fid.toFixed(2)} (${result.samples} samples vs ${result.reference.count} test images, ${result.extractor}, ${((performance.now() - t0) / 1000).toFixed(1)}s); grid ${grid}`,
    );
  }
  const out = await writeRunReport(ctx);
  return { fid, report: out.html };
}
