#!/usr/bin/env node
/**
 * epg-eval: parse → open the run directory (validated config, model) → initialise the tfjs backend →
 * run the command. The evaluation itself is epg-train's (src/eval there), so `epg-train all` and
 * epg-eval give the same grids and FIDs. Every EpgError ends as one line `error: <message>` on
 * stderr and exit code 1; nothing is written before the arguments and the run are checked.
 */
import { join, resolve } from 'node:path';
import * as E from 'fp-ts/Either';
import { formatReport, initBackend } from '@epg/tensor';
import {
  appendHistory,
  startRecord,
  evaluateFid,
  exportModel,
  runAsProcess,
  withOneLineErrors,
  evaluateProbe,
  generateSamples,
  gridPath,
  openRun,
  requireCheckpoint,
  writeComparisonReport,
  writeRunReport,
  writeSampleGrid,
  type RunContext,
} from 'epg-train';
import { parseEvalArgs, USAGE, type EvalArgs } from './args';

export interface CliIo {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

/** Test hooks (not on the command line). */
export interface CliHooks {
  /** Skip the backend initialisation (tests that already chose one). */
  readonly skipBackend?: boolean;
  /** Inception resize side (tests use 75 to keep the random-weight network fast). */
  readonly inceptionInputSize?: number;
}

const STDIO: CliIo = { out: (l) => process.stdout.write(`${l}\n`), err: (l) => process.stderr.write(`${l}\n`) };

function unwrap<A>(e: E.Either<Error, A>): A {
  if (E.isLeft(e)) throw e.left;
  return e.right;
}

/**
 * Records a result-writing command (fid, probe) in the run's history.jsonl after it succeeded: its
 * command line (so a report names the exact command behind every number) and its wall and CPU time.
 */
function recordInHistory(dir: string, argv: readonly string[], stage: string, t0: number, cpu0: NodeJS.CpuUsage): void {
  const cpu = process.cpuUsage(cpu0);
  appendHistory(dir, startRecord(argv, 'epg-eval'));
  appendHistory(dir, { event: 'stage', stage, wallSeconds: Number(((performance.now() - t0) / 1000).toFixed(1)), cpuSeconds: Number(((cpu.user + cpu.system) / 1e6).toFixed(1)), date: new Date().toISOString() });
}

async function run(args: EvalArgs, argv: readonly string[], io: CliIo, hooks: CliHooks): Promise<void> {
  const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(4) : String(x));
  if (args.command === 'report' && args.runs.length > 1) {
    const out = resolve(args.out ?? 'epg-eval-report');
    const r = unwrap(writeComparisonReport(args.runs.map((d) => resolve(d)), out));
    io.out(`comparison of ${args.runs.length} runs in ${r.groups.length} group(s): ${r.html}`);
    return;
  }
  const ctx: RunContext = unwrap(openRun(resolve(args.runs[0]), io.out));
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const objective = args.objective ?? 'consistency';
  // check what the command needs before the (slow) backend start
  if (args.command === 'sample' || args.command === 'fid') requireCheckpoint(ctx, objective);
  if (args.command === 'export') requireCheckpoint(ctx, 'consistency');
  if (args.command !== 'report' && args.command !== 'export' && !hooks.skipBackend) io.out(formatReport(await initBackend({ ...(args.backend ? { force: args.backend } : {}), log: null })));
  switch (args.command) {
    case 'sample': {
      const samples = generateSamples(ctx, objective, {
        count: args.count ?? ctx.config.eval.gridSize,
        ...(args.steps !== null ? { steps: args.steps } : {}),
        ...(args.seed !== null ? { seed: args.seed } : {}),
      });
      const path = args.out ? resolve(args.out) : gridPath(ctx.dir, objective, samples.steps);
      await writeSampleGrid(path, samples);
      io.out(`${samples.sampler}: ${samples.count} samples from the ${objective} checkpoint at step ${samples.checkpointStep} (seed ${samples.seed}) -> ${path}`);
      return;
    }
    case 'fid': {
      const { result, path } = await evaluateFid(ctx, objective, {
        samples: args.samples ?? ctx.config.eval.fidSamples,
        ...(args.steps !== null ? { steps: args.steps } : {}),
        ...(args.seed !== null ? { seed: args.seed } : {}),
        ...(args.referenceCount !== null ? { referenceCount: args.referenceCount } : {}),
        ...(args.inception !== null ? { inception: { path: resolve(args.inception), ...(hooks.inceptionInputSize ? { inputSize: hooks.inceptionInputSize } : {}) } } : {}),
      });
      recordInHistory(ctx.dir, argv, `eval ${result.metric} ${objective}`, t0, cpu0);
      io.out(`${result.metric} ${objective} (${result.sampler}, ${result.samples} samples vs ${result.reference.count} test images): ${result.fid.toFixed(3)}; extractor ${result.extractor} -> ${path}`);
      return;
    }
    case 'probe': {
      const { result, path } = evaluateProbe(ctx, {
        sigmas: args.sigmas,
        ...(args.trainPerClass !== null ? { trainPerClass: args.trainPerClass } : {}),
        ...(args.testPerClass !== null ? { testPerClass: args.testPerClass } : {}),
      });
      for (const r of result.rows) {
        io.out(`probe σ ${r.requested === 0 ? 'σ₀' : r.requested} (image noise ${r.sigma.toPrecision(3)}): kNN top-1 ${fmt(r.knnTop1)}, linear top-1 ${r.linearTop1 === null ? '—' : fmt(r.linearTop1)}`);
      }
      recordInHistory(ctx.dir, argv, 'eval probe', t0, cpu0);
      io.out(`probe -> ${path}`);
      return;
    }
    case 'export': {
      const out = args.out ? resolve(args.out) : join(ctx.dir, 'export');
      const m = unwrap(exportModel({ runDir: ctx.dir, objective: 'consistency', outDir: out }));
      io.out(`export: consistency model at step ${m.step} (${m.sha256.slice(0, 16)}…) -> ${out}; serve it with apps/web (docs: apps/web/README.md)`);
      return;
    }
    case 'report': {
      const r = await writeRunReport(ctx, args.out ? resolve(args.out) : ctx.dir);
      io.out(`report: ${r.html} and ${r.markdown}`);
      return;
    }
  }
}

/** Runs epg-eval; resolves to the exit code. */
export async function main(argv: readonly string[], io: CliIo = STDIO, hooks: CliHooks = {}): Promise<number> {
  return withOneLineErrors(io.err, async () => {
    const parsed = parseEvalArgs(argv);
    if (E.isLeft(parsed)) throw parsed.left;
    if (parsed.right.help) {
      io.out(USAGE);
      return 0;
    }
    await run(parsed.right, argv, io, hooks);
    return 0;
  });
}

if (require.main === module) runAsProcess((argv) => main(argv));
