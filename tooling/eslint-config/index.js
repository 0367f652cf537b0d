// Shared lint rules. The import boundaries enforce the dependency direction of docs/architecture.md:
// a package may import only the @epg packages listed for it here, and only some may touch files.
const tseslint = require('typescript-eslint');

/** Which @epg packages each package may import (arrows of the architecture diagram). */
const allowedEpgDeps = {
  schedules: [],
  tensor: ['tensor-native'],
  'tensor-native': [],
  contracts: ['tensor', 'schedules'],
  vit: ['tensor', 'schedules', 'contracts'],
  data: ['tensor', 'schedules'],
  diffusion: ['tensor', 'schedules', 'contracts'],
  ssl: ['tensor', 'schedules', 'contracts'],
  consistency: ['tensor', 'schedules', 'contracts', 'diffusion', 'ssl'],
  metrics: ['tensor', 'schedules', 'data'],
  runs: ['tensor'],
};
/**
 * Extra packages a package's bench/ may import: a benchmark measures a real workload, so it may compose
 * a concrete network with the package under test. Package code (src/) never does.
 */
const benchExtraDeps = {
  diffusion: ['vit'],
};
/** Packages allowed to read files or the environment. */
const ioPackages = new Set(['tensor', 'tensor-native', 'data', 'metrics', 'runs']);
const allPackages = Object.keys(allowedEpgDeps);

function boundaryRules(kind, name, extra = []) {
  const patterns = [];
  const paths = [];
  if (kind === 'package') {
    const forbidden = allPackages.filter((p) => p !== name && !allowedEpgDeps[name].includes(p) && !extra.includes(p));
    for (const p of forbidden) {
      patterns.push({
        group: [`@epg/${p}`, `@epg/${p}/*`],
        message: `@epg/${name} may not import @epg/${p}: see the dependency direction in docs/architecture.md.`,
      });
    }
    patterns.push({ group: ['epg-*'], message: 'Packages never import an app.' });
    if (name === 'schedules') {
      patterns.push({ group: ['@tensorflow/*'], message: '@epg/schedules is pure numbers: no tfjs.' });
    }
    if (!ioPackages.has(name)) {
      for (const m of ['fs', 'node:fs', 'fs/promises', 'node:fs/promises']) {
        paths.push({ name: m, message: `@epg/${name} does not read files: take data through its callers.` });
      }
    }
  }
  return { 'no-restricted-imports': ['error', { patterns, paths }] };
}

/**
 * @param {{ kind: 'package' | 'app' | 'tooling', name: string }} opts
 */
function epgConfig({ kind, name }) {
  const noEnv =
    kind === 'package' && !ioPackages.has(name)
      ? [{ object: 'process', property: 'env', message: `@epg/${name} does not read the environment.` }]
      : [];
  return tseslint.config(
    { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '*.cjs', '*.js'] },
    ...tseslint.configs.recommended,
    {
      files: ['**/*.ts'],
      rules: {
        '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
        '@typescript-eslint/no-explicit-any': 'error',
        'no-restricted-properties': [
          'error',
          { object: 'Math', property: 'random', message: 'Use the seeded streams of @epg/tensor (RandomStream).' },
          ...noEnv,
        ],
        ...boundaryRules(kind, name),
      },
    },
    {
      // Tests may read fixtures and the environment; boundaries between packages still hold.
      files: ['**/*.test.ts', 'src/testing/**', 'bench/**', 'scripts/**'],
      rules: {
        'no-restricted-properties': [
          'error',
          { object: 'Math', property: 'random', message: 'Use the seeded streams of @epg/tensor (RandomStream).' },
        ],
        'no-restricted-imports': [
          'error',
          { patterns: boundaryRules(kind, name)['no-restricted-imports'][1].patterns },
        ],
      },
    },
    {
      // Benchmarks may also compose the concrete packages of benchExtraDeps.
      files: ['bench/**'],
      rules: {
        'no-restricted-imports': [
          'error',
          { patterns: boundaryRules(kind, name, benchExtraDeps[name] ?? [])['no-restricted-imports'][1].patterns },
        ],
      },
    },
  );
}

module.exports = { epgConfig, allowedEpgDeps, benchExtraDeps };
