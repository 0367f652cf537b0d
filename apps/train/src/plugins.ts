/**
 * Code variants by package name (docs/variants.md): config field `plugins` lists npm packages whose
 * main module exports `variant`, an object of the contract in @epg/contracts (variant.ts). They are
 * found with Node's module resolution from the current directory and from the config file's
 * directory, loaded as CommonJS, checked (shape, kind, one per kind, fits the config) and pinned: the
 * resolved config names each as `package@version`, so a run records exactly what it ran and a resume
 * with another installed version is refused.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import * as E from 'fp-ts/Either';
import { variantProblem, type Variant, type VariantKind, type VariantOf } from '@epg/contracts';
import { epgError, type EpgError } from '@epg/tensor';
import type { RunConfig } from './config';

/** One loaded variant package, as recorded in `<run>/plugins.json`. */
export interface PluginRecord {
  readonly package: string;
  readonly version: string;
  readonly kind: VariantKind;
  readonly name: string;
  readonly description: string;
  /** The package directory it was loaded from. */
  readonly path: string;
}

export interface LoadedPlugins {
  readonly records: readonly PluginRecord[];
  /** The variant of each kind the config selects (at most one per kind). */
  readonly byKind: { readonly [K in VariantKind]?: VariantOf<K> };
}

export const NO_PLUGINS: LoadedPlugins = { records: [], byKind: {} };

/** `@scope/name`, `name`, optionally `@version` (an exact version, as the resolved config pins it). */
const SPEC = /^((?:@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9][a-z0-9._~-]*)(?:@([0-9A-Za-z.+-]+))?$/;

export function parsePluginSpec(spec: string): E.Either<EpgError, { name: string; version: string | null }> {
  const m = SPEC.exec(spec);
  if (!m) return E.left(epgError('config', `plugin '${spec}' is not an npm package name`, "write e.g. '@me/epg-variant-foo' or 'epg-variant-foo@1.0.0'"));
  return E.right({ name: m[1], version: m[2] ?? null });
}

/** Finds the package's main module from the first directory that can resolve it. */
function resolveMain(name: string, from: readonly string[]): string | null {
  for (const dir of from) {
    try {
      return createRequire(join(resolve(dir), 'noop.js')).resolve(name);
    } catch {
      // not resolvable from here: try the next directory
    }
  }
  return null;
}

/** The package.json at or above `file` whose name is `name`. */
function packageRoot(file: string, name: string): { dir: string; version: string } | null {
  for (let dir = dirname(file); dir !== dirname(dir); dir = dirname(dir)) {
    const p = join(dir, 'package.json');
    if (!existsSync(p)) continue;
    try {
      const pkg = JSON.parse(readFileSync(p, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === name) return { dir, version: String(pkg.version ?? '0.0.0') };
    } catch {
      return null;
    }
  }
  return null;
}

/**
 * Loads one variant package. `load` is the module loader (default `require`: under jest that is the
 * test's registry, so the package shares the test's tfjs instance).
 */
export function loadPlugin(spec: string, from: readonly string[], load: (path: string) => unknown = require): E.Either<EpgError, { variant: Variant; record: PluginRecord }> {
  const parsed = parsePluginSpec(spec);
  if (E.isLeft(parsed)) return parsed;
  const { name, version: wanted } = parsed.right;
  const main = resolveMain(name, from);
  if (main === null) {
    return E.left(epgError('config', `plugin '${name}' is not installed (looked from ${[...new Set(from.map((d) => resolve(d)))].join(', ')})`, `pnpm add ${name} (or npm install ${name}) in the project that runs epg-train`));
  }
  const root = packageRoot(main, name);
  if (!root) return E.left(epgError('format', `plugin '${name}' resolves to ${main}, but no package.json named '${name}' lies above it`, 'reinstall the package'));
  if (wanted !== null && wanted !== root.version) {
    return E.left(epgError('mismatch', `plugin '${name}' is installed at version ${root.version}, the config asks for ${wanted}`, `pnpm add ${name}@${wanted}, or drop the version from the config`));
  }
  let mod: unknown;
  try {
    mod = load(main);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ERR_REQUIRE_ESM') {
      return E.left(epgError('format', `plugin '${name}' is an ES module`, 'build it as CommonJS (tsconfig "module": "commonjs"), as epg-train scaffold-variant does'));
    }
    return E.left(epgError('format', `plugin '${name}' failed to load (${String(err.message).split('\n')[0]})`, 'build it (pnpm build) and check its main field'));
  }
  const m = mod as { variant?: unknown; default?: { variant?: unknown } } | null;
  const exported = m?.variant ?? m?.default?.variant ?? m?.default;
  if (exported === undefined) {
    return E.left(epgError('format', `plugin '${name}' exports no 'variant'`, "export const variant = defineVariant({ … }) from its main module (docs/variants.md)"));
  }
  const problem = variantProblem(exported);
  if (problem !== null) return E.left(epgError('format', `plugin '${name}': ${problem}`, 'see the contract in docs/variants.md'));
  const variant = exported as Variant;
  return E.right({ variant, record: { package: name, version: root.version, kind: variant.kind, name: variant.name, description: variant.description, path: root.dir } });
}

/** Whether a kind has something to replace in this config; the reason when not. */
function misfit(kind: VariantKind, config: RunConfig): string | null {
  switch (kind) {
    case 'pretrain-loss':
      return config.pretrain === null ? 'this config has no pre-training' : null;
    case 'tau-schedule':
      if (config.pretrain === null) return 'this config has no pre-training';
      return ['moco-v3', 'contrastive-only'].includes(config.pretrain.variant) ? `pre-training variant '${config.pretrain.variant}' has no representation-consistency term` : null;
    case 'cm-distance':
      return config.consistency === null ? 'this config has no consistency fine-tuning' : null;
  }
}

/**
 * Loads every plugin of the config and pins the config to the versions found. Left: the first
 * problem, as one line (not installed, not a variant, wrong version, two of one kind, no stage to use it).
 */
export function resolvePlugins(config: RunConfig, from: readonly string[], load?: (path: string) => unknown): E.Either<EpgError, { config: RunConfig; plugins: LoadedPlugins }> {
  const records: PluginRecord[] = [];
  const byKind: Partial<Record<VariantKind, Variant>> = {};
  for (const spec of config.plugins) {
    const r = loadPlugin(spec, from, load);
    if (E.isLeft(r)) return r;
    const { variant, record } = r.right;
    const taken = records.find((x) => x.kind === variant.kind);
    if (taken) return E.left(epgError('config', `plugins '${taken.package}' and '${record.package}' are both of kind '${variant.kind}'`, 'keep one of them'));
    const why = misfit(variant.kind, config);
    if (why !== null) return E.left(epgError('config', `plugin '${record.package}' is a '${variant.kind}' variant, but ${why}`, 'drop the plugin or use a config with that stage'));
    records.push(record);
    byKind[variant.kind] = variant;
  }
  const pinned = { ...config, plugins: records.map((r) => `${r.package}@${r.version}`) };
  return E.right({ config: pinned, plugins: { records, byKind: byKind as LoadedPlugins['byKind'] } });
}

/** One line per plugin for logs: `plugin cm-distance: @me/epg-variant-l1@1.0.0 (l1: …)`. */
export function describePlugins(p: LoadedPlugins): string[] {
  return p.records.map((r) => `plugin ${r.kind}: ${r.package}@${r.version} (${r.name}: ${r.description})`);
}
