/**
 * The run config of epg-train and epg-eval: JSON data, validated at the boundary by io-ts codecs whose
 * errors name the field, the bad value and what is allowed (docs/apps.md, "Configs"). Presets are
 * named configs (presets.ts); variants are small diffs applied on top; `--set key=value` edits one
 * field. Nothing here runs a model.
 */
import * as E from 'fp-ts/Either';
import { pipe } from 'fp-ts/function';
import * as t from 'io-ts';
import { epgError, type EpgError } from '@epg/tensor';

// ---------------------------------------------------------------------------------------------
// Refined scalars with descriptions a person can read ("expected ...").

interface Described<A> extends t.Type<A, A, unknown> {
  readonly expected: string;
}

function refine<A>(base: t.Type<A, A, unknown>, ok: (a: A) => boolean, expected: string): Described<A> {
  const c = new t.Type<A, A, unknown>(
    expected,
    (u): u is A => base.is(u) && ok(u as A),
    (u, ctx) => pipe(base.validate(u, ctx), E.chain((a) => (ok(a) ? t.success(a) : t.failure(u, ctx, expected)))),
    t.identity,
  );
  return Object.assign(c, { expected });
}

const finite = (n: number) => Number.isFinite(n);
export const PositiveInt = refine(t.number, (n) => Number.isSafeInteger(n) && n >= 1, 'an integer >= 1');
export const NonNegativeInt = refine(t.number, (n) => Number.isSafeInteger(n) && n >= 0, 'an integer >= 0');
export const PositiveNumber = refine(t.number, (n) => finite(n) && n > 0, 'a finite number > 0');
export const NonNegativeNumber = refine(t.number, (n) => finite(n) && n >= 0, 'a finite number >= 0');
export const UnitInterval = refine(t.number, (n) => finite(n) && n >= 0 && n < 1, 'a number in [0, 1)');
export const Probability = refine(t.number, (n) => finite(n) && n >= 0 && n <= 1, 'a number in [0, 1]');
const PluginSpec = refine(
  t.string,
  (s) => /^(?:@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9][a-z0-9._~-]*(?:@[0-9A-Za-z.+-]+)?$/.test(s),
  "an npm package name, optionally @version (e.g. '@me/epg-variant-foo')",
);
const Name = refine(t.string, (s) => /^[a-z0-9][a-z0-9._-]*$/i.test(s), 'a name of letters, digits, ".", "_" or "-"');

function oneOf<const K extends string>(...keys: K[]): Described<K> {
  const c = t.keyof(Object.fromEntries(keys.map((k) => [k, null])) as { [P in K]: null });
  return Object.assign(c, { expected: `one of ${keys.map((k) => `'${k}'`).join(', ')}` }) as unknown as Described<K>;
}

const nullable = <A>(c: t.Type<A, A, unknown> & { expected?: string }) =>
  Object.assign(t.union([c, t.null]), { expected: `${c.expected ?? c.name} or null` });

// ---------------------------------------------------------------------------------------------
// The config.

export const DatasetName = oneOf('mnist', 'fashion-mnist', 'image-folder');
export const SslVariantName = oneOf('epg', 'epg-code', 'rrcm', 'moco-v3', 'contrastive-only', 'consistency-only');
export const ObjectiveName = oneOf('diffusion', 'consistency');
export const CmDistanceName = oneOf('epg', 'pseudo-huber', 'l2');
export const DmLossName = oneOf('epg', 'edm');

const DataC = t.type({
  dataset: DatasetName,
  /** Folder of class sub-folders for 'image-folder'; null for the npm datasets. */
  path: nullable(t.string),
  /** Use only the first N training images (null: all). */
  limit: nullable(PositiveInt),
});

const ModelC = t.type({
  /** A @epg/vit preset name (e.g. 'cpu-tiny-mnist', 'epg-xl16'). */
  preset: Name,
  /** Decoder attention-output dropout during fine-tuning (EPG's CM script: 0.5). */
  decoderDropout: UnitInterval,
});

const PretrainC = t.type({
  variant: SslVariantName,
  steps: PositiveInt,
  batch: PositiveInt,
  /** Peak LR; null = the variant's own. */
  lr: nullable(PositiveNumber),
});

const DiffusionC = t.type({
  steps: PositiveInt,
  batch: PositiveInt,
  lr: PositiveNumber,
  /** Global-norm clip after warm-up (EPG DM: 0.5); null = off. */
  clipNorm: nullable(PositiveNumber),
  /** Label dropout for classifier-free guidance (EPG DM: 0.1). */
  labelDropout: Probability,
  /**
   * Training σ and loss weight: 'epg' = lognormal(−1.2, 1.6) snapped to the 1280-point grid with
   * w = 1/Δσ (EPG_DM_CONFIG); 'edm' = lognormal(−1.2, 1.2) with EDM's λ(σ) (EDM_CONFIG).
   */
  loss: DmLossName,
  /** Decay of the evaluation EMA that sampling uses (EPG: 0.9999); null = sample the trained weights. */
  ema: nullable(UnitInterval),
});

const ConsistencyC = t.type({
  steps: PositiveInt,
  batch: PositiveInt,
  lr: PositiveNumber,
  distance: CmDistanceName,
  /** c of D/√(D + c²) (EPG: 0.06). */
  huberC: PositiveNumber,
  /** Weight of the auxiliary NT-Xent through the frozen pre-trained encoder; 0 turns it off. */
  auxWeight: NonNegativeNumber,
  /** Gradient clip (EPG CM: none). */
  clipNorm: nullable(PositiveNumber),
  /** Decay of the evaluation EMA that sampling uses (EPG: 0.9999); null = sample the trained weights. */
  ema: nullable(UnitInterval),
});

const EvalC = t.type({
  /** Images generated for FID. */
  fidSamples: PositiveInt,
  /** Heun steps of the DM sampler (EPG: 32). */
  heunSteps: PositiveInt,
  /** CFG scale (1 = none). */
  guidance: PositiveNumber,
  /** Images in each sample grid. */
  gridSize: PositiveInt,
  /** During fine-tuning, write a grid of the current weights every N steps (samples/progress/); null = only at the end. */
  gridEvery: nullable(PositiveInt),
});

const CheckpointC = t.type({
  /** Save every N steps (and at the end). */
  every: PositiveInt,
  /** Complete checkpoints kept besides periodic ones. */
  keepLatest: PositiveInt,
  /** Also keep every N-th step's checkpoint for good (null: none). */
  keepEvery: nullable(PositiveInt),
});

const NoiseC = t.type({
  /** σ range of the fine-tuning noise space before EPG's resolution shift H/64 (defaults: Karras's 0.002 and 80). */
  sigmaMin: PositiveNumber,
  sigmaMax: PositiveNumber,
  /** σ_data of the preconditioning; null = EPG's 0.5. */
  sigmaData: nullable(PositiveNumber),
});

export const RunConfigC = t.type({
  /** The preset this config came from, and the variants applied (informational). */
  preset: Name,
  variants: t.array(Name),
  seed: NonNegativeInt,
  data: DataC,
  model: ModelC,
  /** The fine-tuning noise space's σ range (stages/finetune.ts, finetuneSpace); null = EPG's defaults. */
  noise: nullable(NoiseC),
  /** null = no pre-training: fine-tuning starts from a random encoder (the 'scratch' ablation). */
  pretrain: nullable(PretrainC),
  diffusion: nullable(DiffusionC),
  consistency: nullable(ConsistencyC),
  eval: EvalC,
  checkpoint: CheckpointC,
  /**
   * Code variants: npm packages exporting a `variant` of @epg/contracts (docs/variants.md). The
   * resolved config pins each to `package@version`. Missing in a file = none.
   */
  plugins: t.array(PluginSpec),
});

export type RunConfig = t.TypeOf<typeof RunConfigC>;

// ---------------------------------------------------------------------------------------------
// Validation with messages a person understands.

/** The field path of an io-ts context, e.g. "pretrain.lr" (union member indexes are skipped, array indexes kept). */
function pathOf(ctx: t.Context): string {
  const keys: string[] = [];
  for (let i = 1; i < ctx.length; i++) {
    const numeric = /^\d+$/.test(ctx[i].key);
    if (!numeric || ctx[i - 1].type instanceof t.ArrayType) keys.push(ctx[i].key);
  }
  return keys.join('.');
}

const show = (v: unknown) => (v === undefined ? 'nothing' : JSON.stringify(v));

/** One message per failing field: its path, its value and everything the schema would accept there. */
function describeErrors(errors: t.Errors): string[] {
  const byPath = new Map<string, { value: unknown; expected: string[] }>();
  for (const e of errors) {
    const path = pathOf(e.context) || '(config)';
    const last = e.context[e.context.length - 1];
    const expected = (last.type as { expected?: string }).expected ?? last.type.name;
    const entry = byPath.get(path) ?? { value: e.value, expected: [] };
    if (!entry.expected.includes(expected)) entry.expected.push(expected);
    byPath.set(path, entry);
  }
  // A nullable section that fails inside also fails its `null` branch: report only the inner field.
  const paths = [...byPath.keys()];
  const inner = (p: string) => paths.some((q) => q !== p && (p === '(config)' || q.startsWith(`${p}.`)));
  return [...byPath].filter(([path]) => !inner(path)).map(([path, { value, expected }]) => {
    const exp = expected.length > 1 ? expected.filter((x) => x !== 'null').join(' or ') + ' or null' : expected[0];
    return value === undefined ? `config field ${path} is missing: set it to ${exp}` : `config field ${path} is ${show(value)}: expected ${exp}`;
  });
}

/** Unknown fields at every level, named with the allowed ones (io-ts `type` alone ignores them). */
function unknownFields(codec: t.Mixed, value: unknown, path: string[] = []): string[] {
  const props = propsOf(codec);
  if (!props || typeof value !== 'object' || value === null || Array.isArray(value)) return [];
  const out: string[] = [];
  for (const [k, v] of Object.entries(value)) {
    const sub = props[k];
    const here = [...path, k].join('.');
    if (!sub) {
      out.push(`config field ${here} is not a known field: allowed here are ${Object.keys(props).join(', ')}`);
    } else {
      out.push(...unknownFields(sub, v, [...path, k]));
    }
  }
  return out;
}

function propsOf(codec: t.Mixed): t.Props | undefined {
  if (codec instanceof t.InterfaceType) return codec.props as t.Props;
  if (codec instanceof t.UnionType) {
    for (const m of codec.types as t.Mixed[]) {
      const p = propsOf(m);
      if (p) return p;
    }
  }
  return undefined;
}

/** Constraints between fields of a config whose fields are each valid. */
function crossFieldProblems(c: RunConfig): string[] {
  const n = c.noise;
  return n && !(n.sigmaMax > n.sigmaMin) ? [`config field noise.sigmaMax is ${n.sigmaMax}: expected a number > noise.sigmaMin (${n.sigmaMin})`] : [];
}

/** Validates a parsed JSON value as a RunConfig. Left: one line per problem (joined by "; "). */
export function decodeRunConfig(value: unknown): E.Either<EpgError, RunConfig> {
  // Configs written before code variants existed have no `plugins`: none.
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && !('plugins' in value)) value = { ...value, plugins: [] };
  const unknown = unknownFields(RunConfigC, value);
  const decoded = RunConfigC.decode(value);
  const problems = [...unknown, ...(E.isLeft(decoded) ? describeErrors(decoded.left) : crossFieldProblems(decoded.right))];
  if (problems.length > 0 || E.isLeft(decoded)) return E.left(epgError('config', problems.join('; ')));
  return E.right(decoded.right);
}

// ---------------------------------------------------------------------------------------------
// Edits: --set key=value and variant diffs.

/** A deep partial of a config, as variants and `--set` produce. */
export type ConfigPatch = { readonly [k: string]: unknown };

/** Parses `key=value`; the value is JSON when it parses (numbers, null, true, arrays), else a string. */
export function parseSet(arg: string): E.Either<EpgError, { path: string[]; value: unknown }> {
  const eq = arg.indexOf('=');
  if (eq <= 0) return E.left(epgError('config', `--set ${arg} is not key=value`, 'write e.g. --set pretrain.steps=200'));
  const key = arg.slice(0, eq).trim();
  const raw = arg.slice(eq + 1);
  let value: unknown = raw;
  try {
    value = JSON.parse(raw);
  } catch {
    // a bare word: keep it as a string
  }
  return E.right({ path: key.split('.'), value });
}

/** Sets one field (by path) on a copy; the path must name a field of the schema. */
export function setField(config: unknown, path: readonly string[], value: unknown): E.Either<EpgError, unknown> {
  let codec: t.Mixed | undefined = RunConfigC;
  for (const k of path) {
    const props: t.Props | undefined = codec ? propsOf(codec) : undefined;
    if (!props || !props[k]) {
      const at = path.slice(0, path.indexOf(k)).join('.') || 'the top level';
      return E.left(epgError('config', `--set ${path.join('.')}: '${k}' is not a field of ${at}`, props ? `allowed: ${Object.keys(props).join(', ')}` : 'that field has no sub-fields'));
    }
    codec = props[k];
  }
  const root = structuredClone(config) as Record<string, unknown>;
  let obj = root;
  for (let i = 0; i < path.length - 1; i++) {
    const next = obj[path[i]];
    if (next === null || typeof next !== 'object') {
      return E.left(epgError('config', `--set ${path.join('.')}: ${path.slice(0, i + 1).join('.')} is ${show(next)}`, `set the whole section first, e.g. use a preset or variant that enables it`));
    }
    obj = next as Record<string, unknown>;
  }
  obj[path[path.length - 1]] = value;
  return E.right(root);
}

/** Applies a deep patch: objects merge, everything else (null, arrays, numbers) replaces. */
export function applyPatch<T>(base: T, patch: ConfigPatch): T {
  const out = structuredClone(base) as Record<string, unknown>;
  for (const [k, v] of Object.entries(patch)) {
    const cur = out[k];
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && cur !== null && typeof cur === 'object' && !Array.isArray(cur)) {
      out[k] = applyPatch(cur, v as ConfigPatch);
    } else {
      out[k] = structuredClone(v);
    }
  }
  return out as T;
}
