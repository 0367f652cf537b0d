/**
 * `epg-train scaffold-variant <package> --kind K [--dir DIR]` (docs/variants.md): writes a code-variant
 * package that builds, tests and runs as it is, implementing the method's default for its kind, and a
 * changeset when the directory lies inside the epg-ts workspace. Refuses a non-empty directory.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import * as E from 'fp-ts/Either';
import type { VariantKind } from '@epg/contracts';
import { epgError, type EpgError } from '@epg/tensor';
import { parsePluginSpec } from './plugins';

export interface ScaffoldRequest {
  readonly name: string;
  readonly kind: VariantKind;
  readonly dir: string | null;
  readonly cwd: string;
}

/** Toolchain versions of the workspace (root package.json), so the package builds like the rest. */
const DEV_TOOLS = {
  '@tensorflow/tfjs-backend-cpu': '4.22.0',
  '@types/jest': '30.0.0',
  '@types/node': '20.19.43',
  jest: '30.5.2',
  'ts-jest': '29.4.15',
  typescript: '5.9.3',
};
const TFJS = '4.22.0';

/**
 * The epg-ts workspace root above `dir` (it has pnpm-workspace.yaml and an @epg package), or null.
 * A directory inside node_modules is installed code, not part of the workspace.
 */
export function workspaceRoot(dir: string): string | null {
  if (resolve(dir).split(/[\\/]/).includes('node_modules')) return null;
  for (let d = resolve(dir); d !== dirname(d); d = dirname(d)) {
    if (existsSync(join(d, 'pnpm-workspace.yaml')) && existsSync(join(d, 'packages', 'contracts', 'package.json'))) return d;
  }
  return null;
}

/** Version of an @epg package as this epg-train sees it (for ranges outside the workspace). */
function epgVersion(pkg: string): string {
  try {
    const main = require.resolve(pkg);
    for (let d = dirname(main); d !== dirname(d); d = dirname(d)) {
      const p = join(d, 'package.json');
      if (existsSync(p)) {
        const j = JSON.parse(readFileSync(p, 'utf8')) as { name?: string; version?: string };
        if (j.name === pkg && j.version) return j.version;
      }
    }
  } catch {
    // fall through: the version epg-train was built with
  }
  return '0.1.0';
}

const KIND_DEPS: Readonly<Record<VariantKind, readonly string[]>> = {
  'pretrain-loss': ['@epg/contracts'],
  'tau-schedule': ['@epg/contracts'],
  'cm-distance': ['@epg/contracts', '@epg/tensor'],
};

const DESCRIPTION: Readonly<Record<VariantKind, string>> = {
  'pretrain-loss': 'NT-Xent, the default pre-training pair loss: edit loss() to change it',
  'tau-schedule': "the paper's interpolated τ(σ, k), the default for 'epg': edit tau() to change it",
  'cm-distance': "EPG's CM distance D/sg(√(D + c²)), the default: edit distance() to change it",
};

function indexSource(kind: VariantKind, short: string): string {
  const head = (imports: string) => `/**
 * A code variant of epg-ts (kind '${kind}'): ${DESCRIPTION[kind]}.
 * Select it with \`"plugins": ["<this package>"]\` in an epg-train config (docs/variants.md).
 */
${imports}import { VARIANT_API_VERSION, defineVariant } from '@epg/contracts';
`;
  switch (kind) {
    case 'pretrain-loss':
      return `${head("import * as tf from '@tensorflow/tfjs-core';\n")}
/** x / max(‖x‖₂, 1e-12) per row. */
function normalizeRows(x: tf.Tensor2D): tf.Tensor2D {
  return tf.div(x, tf.maximum(tf.norm(x, 2, 1, true), 1e-12)) as tf.Tensor2D;
}

export const variant = defineVariant({
  apiVersion: VARIANT_API_VERSION,
  kind: 'pretrain-loss',
  name: '${short}',
  description: '${DESCRIPTION[kind]}',
  /** ℓ_i = −log softmax_j(q̂_i·k̂_j / τ)[i]: queries [B, C], keys [Bk ≥ B, C] (row i is the positive) → [B]. */
  loss: (queries, keys, tau) =>
    tf.tidy(() => {
      const b = queries.shape[0];
      const logits = tf.div(tf.matMul(normalizeRows(queries), normalizeRows(keys), false, true), tau); // [B, Bk]
      const positive = tf.sum(tf.mul(tf.slice(logits, [0, 0], [b, b]), tf.eye(b)), 1); // [B]
      return tf.sub(tf.logSumExp(logits, 1), positive) as tf.Tensor1D;
    }),
});
`;
    case 'tau-schedule':
      return `${head('')}
const SIGMA_MIN = 0.002;
const SIGMA_MAX = 80;

/**
 * τ(σ, k) = τ₁(σ_max − σ)/(σ_max − σ_min) + τ₂(k)(σ − σ_min)/(σ_max − σ_min), τ₁ = 0.1,
 * τ₂(k) = 0.2 + 0.1·cos(π/2·(1 + 1.5k/S)) for k ≤ 2S/3, else 0.1 (S = the run's steps); σ unshifted.
 */
export const variant = defineVariant({
  apiVersion: VARIANT_API_VERSION,
  kind: 'tau-schedule',
  name: '${short}',
  description: "${DESCRIPTION[kind]}",
  tau: (sigma, step, run) => {
    const S = run.totalSteps;
    const tau2 = 3 * step > 2 * S ? 0.1 : 0.2 + 0.1 * Math.cos((Math.PI / 2) * (1 + (1.5 * step) / S));
    return (0.1 * (SIGMA_MAX - sigma) + tau2 * (sigma - SIGMA_MIN)) / (SIGMA_MAX - SIGMA_MIN);
  },
});
`;
    case 'cm-distance':
      return `${head("import * as tf from '@tensorflow/tfjs-core';\nimport { stopGradient } from '@epg/tensor';\n")}
export const variant = defineVariant({
  apiVersion: VARIANT_API_VERSION,
  kind: 'cm-distance',
  name: '${short}',
  description: "${DESCRIPTION[kind]}",
  /** D/sg(√(D + c²)) per sample, D = ‖a − b‖² over pixels and channels: [B, H, W, C] × 2 → [B]. */
  distance: (a, b, { c }) =>
    tf.tidy(() => {
      const sq = tf.sum(tf.square(tf.sub(a, b)), [1, 2, 3]) as tf.Tensor1D; // [B]
      return tf.div(sq, stopGradient(tf.sqrt(tf.add(sq, c * c)))) as tf.Tensor1D;
    }),
});
`;
  }
}

function testSource(kind: VariantKind): string {
  const head = `import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { variantProblem } from '@epg/contracts';
import { variant } from './index';

beforeAll(() => tf.setBackend('cpu'));

it('is a well-formed epg-ts variant', () => {
  expect(variantProblem(variant)).toBeNull();
  expect(variant.kind).toBe('${kind}');
});
`;
  switch (kind) {
    case 'pretrain-loss':
      return `${head}
it('is NT-Xent: orthonormal q = k, τ = 0.5 gives log(e² + 1) − 2 per sample (hand-computed)', () => {
  const q = tf.tensor2d([[1, 0], [0, 1]]);
  const l = variant.loss(q, q, 0.5);
  const want = Math.log(Math.exp(2) + 1) - 2;
  Array.from(l.dataSync()).forEach((v) => expect(v).toBeCloseTo(want, 5));
  tf.dispose([q, l]);
});
`;
    case 'tau-schedule':
      return `${head}
it("is the paper's τ: 0.1 at σ_min, 0.2 at σ_max at the start, 0.1 everywhere after 2S/3 (closed form)", () => {
  const run = { totalSteps: 300 };
  expect(variant.tau(0.002, 0, run)).toBeCloseTo(0.1, 12);
  expect(variant.tau(80, 0, run)).toBeCloseTo(0.2, 12);
  expect(variant.tau(40.001, 0, run)).toBeCloseTo(0.15, 12);
  expect(variant.tau(80, 250, run)).toBeCloseTo(0.1, 12);
});
`;
    case 'cm-distance':
      return `${head}
it("is EPG's D/√(D + c²): a − b = (0.2, −0.3, 0.3, 0.4), D = 0.38, c = 0.06 (hand-computed)", () => {
  const a = tf.tensor4d([0.3, -0.2, 0.5, 0.1], [1, 2, 2, 1]);
  const b = tf.tensor4d([0.1, 0.1, 0.2, -0.3], [1, 2, 2, 1]);
  const d = variant.distance(a, b, { c: 0.06 });
  expect(d.shape).toEqual([1]);
  expect(d.dataSync()[0]).toBeCloseTo(0.38 / Math.sqrt(0.38 + 0.0036), 5);
  tf.dispose([a, b, d]);
});
`;
  }
}

function readme(name: string, kind: VariantKind): string {
  return `# ${name}

A code variant for epg-ts (the EPG method in TypeScript) of kind \`${kind}\`: ${DESCRIPTION[kind]}.

\`\`\`sh
pnpm add ${name}            # next to epg-train (or npm install ${name})
npx epg-train all --config cfg.json   # with "plugins": ["${name}"] in cfg.json
npx epg-train all --plugin ${name}    # or on the command line
\`\`\`

The run's \`config.json\` pins it as \`${name}@<version>\` and \`plugins.json\` records what was loaded.
Develop: \`pnpm build\`, \`pnpm test\`. The contract and the release steps: docs/variants.md of epg-ts.
`;
}

/** Writes the package; Right: the lines to print (files written and next steps). */
export function scaffoldVariant(req: ScaffoldRequest): E.Either<EpgError, string[]> {
  const spec = parsePluginSpec(req.name);
  if (E.isLeft(spec)) return spec;
  if (spec.right.version !== null) return E.left(epgError('config', `scaffold-variant takes a package name without a version, got '${req.name}'`, `use '${spec.right.name}'`));
  const name = spec.right.name;
  const short = name.replace(/^@[^/]+\//, '');
  const ws = workspaceRoot(req.cwd);
  const dir = resolve(req.cwd, req.dir ?? (ws !== null && resolve(req.cwd) === ws ? join('packages', short) : short));
  if (existsSync(dir) && readdirSync(dir).length > 0) {
    return E.left(epgError('io', `scaffold-variant: ${dir} exists and is not empty`, 'choose another --dir or remove it'));
  }
  const inWorkspace = workspaceRoot(dir);
  const epgRange = (pkg: string) => (inWorkspace !== null ? 'workspace:*' : `^${epgVersion(pkg)}`);
  const epgDeps = Object.fromEntries(KIND_DEPS[req.kind].map((p) => [p, epgRange(p)]));
  const pkg = {
    name,
    version: '0.1.0',
    description: `epg-ts code variant (${req.kind}): ${DESCRIPTION[req.kind]}`,
    license: 'MIT',
    keywords: ['epg-ts', 'epg-variant', `epg-variant-${req.kind}`],
    main: 'dist/index.js',
    types: 'dist/index.d.ts',
    // With `exports`, the package resolves itself by name: a config kept in its own directory finds it.
    exports: { '.': { types: './dist/index.d.ts', default: './dist/index.js' }, './package.json': './package.json' },
    files: ['dist', '!dist/**/*.test.*', 'README.md'],
    scripts: { build: 'tsc -p tsconfig.build.json', typecheck: 'tsc -p tsconfig.json --noEmit', test: 'jest' },
    // Peers: the variant must share epg-train's copies (one tfjs engine, one contract).
    peerDependencies: { ...epgDeps, '@tensorflow/tfjs-core': TFJS },
    devDependencies: { ...epgDeps, '@tensorflow/tfjs-core': TFJS, ...DEV_TOOLS },
  };
  const tsconfig = {
    compilerOptions: {
      target: 'ES2022',
      module: 'commonjs',
      moduleResolution: 'node',
      strict: true,
      declaration: true,
      esModuleInterop: true,
      skipLibCheck: true,
      outDir: 'dist',
      rootDir: 'src',
      types: ['node', 'jest'],
    },
    include: ['src'],
  };
  const files: Record<string, string> = {
    'package.json': `${JSON.stringify(pkg, null, 2)}\n`,
    'tsconfig.json': `${JSON.stringify(tsconfig, null, 2)}\n`,
    'tsconfig.build.json': `${JSON.stringify({ extends: './tsconfig.json', exclude: ['src/**/*.test.ts'] }, null, 2)}\n`,
    'jest.config.cjs': "module.exports = { testEnvironment: 'node', roots: ['<rootDir>/src'], transform: { '^.+\\\\.ts$': ['ts-jest', {}] } };\n",
    '.gitignore': 'dist\nnode_modules\n',
    'src/index.ts': indexSource(req.kind, short),
    'src/index.test.ts': testSource(req.kind),
    'README.md': readme(name, req.kind),
  };
  const written: string[] = [];
  try {
    mkdirSync(join(dir, 'src'), { recursive: true });
    for (const [f, text] of Object.entries(files)) {
      writeFileSync(join(dir, f), text);
      written.push(join(dir, f));
    }
    if (inWorkspace !== null && existsSync(join(inWorkspace, '.changeset'))) {
      const cs = join(inWorkspace, '.changeset', `${short}.md`);
      if (!existsSync(cs)) {
        writeFileSync(cs, `---\n"${name}": minor\n---\n\nNew code variant ${name} (kind ${req.kind}).\n`);
        written.push(cs);
      }
    }
  } catch (e) {
    return E.left(epgError('io', `scaffold-variant: cannot write ${dir} (${(e as Error).message})`, 'check the directory is writable'));
  }
  const rel = relative(req.cwd, dir) || '.';
  const setup = inWorkspace !== null ? 'pnpm install && pnpm build && pnpm test' : 'npm install && npm run build && npm test';
  return E.right([
    `scaffolded ${name} (kind ${req.kind}) in ${dir}:`,
    ...written.map((f) => `  ${relative(req.cwd, f)}`),
    'next:',
    `  cd ${rel} && ${setup}`,
    `  select it: "plugins": ["${name}"] in a config, or epg-train all --plugin ${name}`,
    ...(inWorkspace !== null && !/^(packages|apps|tooling)\//.test(relative(inWorkspace, dir)) ? [`  add ${relative(inWorkspace, dir)} to pnpm-workspace.yaml to build it with the workspace`] : []),
  ]);
}
