/**
 * Command-line arguments of epg-eval, parsed into a request without touching any file.
 *
 *   epg-eval sample --run DIR [--objective consistency|diffusion] [--steps N] [--count N] [--seed S] [--out FILE.png]
 *   epg-eval fid    --run DIR [--objective O] [--samples N] [--steps N] [--reference-count N] [--inception PATH]
 *   epg-eval probe  --run DIR [--sigmas 0,0.5,1,2] [--train-per-class N] [--test-per-class N]
 *   epg-eval report --run DIR [--run DIR2 ...] [--out DIR]
 *   epg-eval export --run DIR [--out DIR]
 */
import * as E from 'fp-ts/Either';
import { epgError, type EpgError } from '@epg/tensor';
import { parseCommandLine, parseSigmas, type Objective } from 'epg-train';

export type Command = 'sample' | 'fid' | 'probe' | 'report' | 'export';

export interface EvalArgs {
  readonly command: Command;
  readonly runs: readonly string[];
  readonly objective: Objective | null;
  readonly steps: number | null;
  readonly count: number | null;
  readonly samples: number | null;
  readonly referenceCount: number | null;
  readonly seed: number | null;
  readonly out: string | null;
  readonly inception: string | null;
  readonly sigmas: readonly number[];
  readonly trainPerClass: number | null;
  readonly testPerClass: number | null;
  readonly backend: string | null;
  readonly help: boolean;
}

export const USAGE = `usage: epg-eval <command> --run DIR [options]

commands:
  sample    a grid of samples from the run's latest fine-tuning checkpoint
              [--objective consistency|diffusion] [--steps N] [--count N] [--seed S] [--out FILE.png]
  fid       FID of generated images against the test split (MNIST / Fashion-MNIST runs); writes
            <run>/eval/fid-<objective>.json
              [--objective O] [--samples N] [--steps N] [--seed S] [--reference-count N]
              [--inception PATH]  Inception-v3 FID with your FID Inception weights (.pth/.pt/.bin as
                                  torch.save wrote them, or .safetensors); default the domain classifier
  probe     kNN and linear-probe top-1 of the pre-trained encoder (random-init one without pre-training)
            at σ₀ and the given σ (unshifted; 0 = σ₀); writes <run>/eval/probe.json
              [--sigmas 0,0.5,1,2] [--train-per-class N] [--test-per-class N]
  report    one --run: regenerate its report.html / report.md; several --run: a comparison report
            (mean and spread over seeds, grouped by config minus seed) in --out
              [--run DIR2 ...] [--out DIR]
  export    the consistency model for the browser demo (apps/web): model.safetensors + model.json
            in --out (default <run>/export)
              [--out DIR]

options:
  --objective O             consistency (default) or diffusion
  --steps N                 sampler steps: CM steps (default 1), DM Heun steps (default the config's)
  --seed S                  latent seed (default the run's seed)
  --backend NAME            force a tfjs backend (cpu, wasm, node, node-gpu)
`;

const positiveInt = (name: string, v: string | undefined, min = 1): E.Either<EpgError, number | null> => {
  if (v === undefined) return E.right(null);
  const n = Number(v);
  return Number.isInteger(n) && n >= min ? E.right(n) : E.left(epgError('config', `--${name} '${v}' must be an integer >= ${min}`, 'see epg-eval --help'));
};

export function parseEvalArgs(argv: readonly string[]): E.Either<EpgError, EvalArgs> {
  const line = parseCommandLine(argv, 'epg-eval', {
    run: { type: 'string', multiple: true },
    objective: { type: 'string' },
    steps: { type: 'string' },
    count: { type: 'string' },
    samples: { type: 'string' },
    'reference-count': { type: 'string' },
    seed: { type: 'string' },
    out: { type: 'string' },
    inception: { type: 'string' },
    sigmas: { type: 'string' },
    'train-per-class': { type: 'string' },
    'test-per-class': { type: 'string' },
    backend: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (E.isLeft(line)) return line;
  const parsed = line.right;
  const v = parsed.values;
  const [command, ...extra] = parsed.positionals;
  const empty: EvalArgs = {
    command: 'report', runs: [], objective: null, steps: null, count: null, samples: null, referenceCount: null, seed: null, out: null, inception: null,
    sigmas: [0, 0.5, 1, 2], trainPerClass: null, testPerClass: null, backend: null, help: true,
  };
  if (v.help) return E.right(empty);
  if (!command || !['sample', 'fid', 'probe', 'report', 'export'].includes(command)) {
    return E.left(epgError('config', command ? `unknown command '${command}'` : 'no command given', 'use epg-eval sample | fid | probe | report | export'));
  }
  if (extra.length > 0) return E.left(epgError('config', `unexpected argument '${extra[0]}'`, 'options start with --; see epg-eval --help'));
  const runs = v.run ?? [];
  if (runs.length === 0) return E.left(epgError('config', `${command} needs --run DIR`, 'pass the directory of an epg-train run'));
  if (runs.length > 1 && command !== 'report') return E.left(epgError('config', `${command} takes one --run, got ${runs.length}`, 'only report compares several runs'));
  if (v.objective !== undefined && v.objective !== 'consistency' && v.objective !== 'diffusion') {
    return E.left(epgError('config', `--objective '${v.objective}' is not consistency or diffusion`, 'use --objective consistency or --objective diffusion'));
  }
  const allowed: Record<Command, readonly string[]> = {
    sample: ['objective', 'steps', 'count', 'seed', 'out'],
    fid: ['objective', 'steps', 'samples', 'seed', 'reference-count', 'inception'],
    probe: ['sigmas', 'train-per-class', 'test-per-class'],
    report: ['out'],
    export: ['out'],
  };
  const given = Object.keys(v).filter((k) => !['run', 'backend', 'help'].includes(k));
  const stray = given.find((k) => !allowed[command as Command].includes(k));
  if (stray) return E.left(epgError('config', `--${stray} is not an option of epg-eval ${command}`, `its options: ${allowed[command as Command].map((o) => `--${o}`).join(', ')}`));
  let sigmas: readonly number[] = empty.sigmas;
  if (v.sigmas !== undefined) {
    const s = parseSigmas(v.sigmas);
    if (E.isLeft(s)) return E.left(s.left as EpgError);
    sigmas = s.right;
  }
  const ints = {
    steps: positiveInt('steps', v.steps),
    count: positiveInt('count', v.count),
    samples: positiveInt('samples', v.samples, 2),
    referenceCount: positiveInt('reference-count', v['reference-count'], 2),
    seed: positiveInt('seed', v.seed, 0),
    trainPerClass: positiveInt('train-per-class', v['train-per-class']),
    testPerClass: positiveInt('test-per-class', v['test-per-class']),
  };
  for (const r of Object.values(ints)) if (E.isLeft(r)) return r;
  const get = (r: E.Either<EpgError, number | null>) => (E.isRight(r) ? r.right : null);
  return E.right({
    command: command as Command,
    runs,
    objective: (v.objective as Objective | undefined) ?? null,
    steps: get(ints.steps),
    count: get(ints.count),
    samples: get(ints.samples),
    referenceCount: get(ints.referenceCount),
    seed: get(ints.seed),
    out: v.out ?? null,
    inception: v.inception ?? null,
    sigmas,
    trainPerClass: get(ints.trainPerClass),
    testPerClass: get(ints.testPerClass),
    backend: v.backend ?? null,
    help: false,
  });
}
