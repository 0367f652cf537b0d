/**
 * The browser entry (src/browser.ts, exports condition "browser") imports no Node module: its
 * import graph, followed through relative imports and into @epg/tensor-native's browser entry,
 * names no Node built-in, no tfjs-node and not the '@tensorflow/tfjs' umbrella. apps/web's bundler
 * check enforces the same on the page; this one runs without a bundler.
 */
import { readFileSync, existsSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import * as browser from './browser';

// That module is ESM-only (bundlers take it; jest's CommonJS cannot): in Node the '@tensorflow/tfjs'
// umbrella, loaded by ./index, has registered the chained methods already.
jest.mock('@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops', () => ({}), { virtual: true });
import * as full from './index';

const NATIVE_BROWSER = resolve(__dirname, '../../tensor-native/src/browser.ts');

function importGraph(entry: string): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const todo = [entry];
  while (todo.length) {
    const file = todo.pop()!;
    if (graph.has(file)) continue;
    const text = readFileSync(file, 'utf8');
    const specs = [...text.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+'([^']+)'|^\s*import\s+'([^']+)'/gm)]
      .filter((m) => !/^\s*(?:import|export)\s+type\s/.test(m[0]))
      .map((m) => m[1] ?? m[2]);
    graph.set(file, specs);
    for (const s of specs) {
      if (s.startsWith('.')) {
        const base = resolve(dirname(file), s);
        todo.push([`${base}.ts`, join(base, 'index.ts')].find(existsSync)!);
      } else if (s === '@epg/tensor-native') todo.push(NATIVE_BROWSER);
    }
  }
  return graph;
}

describe('browser entry', () => {
  const graph = importGraph(join(__dirname, 'browser.ts'));
  const external = [...graph.entries()].flatMap(([file, specs]) => specs.filter((s) => !s.startsWith('.')).map((s) => `${s} (from ${file.split('/src/')[1]})`));

  it('follows the graph (sanity: it reaches the fused ops and the random streams)', () => {
    const files = [...graph.keys()].map((f) => f.split('/packages/')[1]);
    expect(files).toEqual(expect.arrayContaining(['tensor-native/src/fused.ts', 'tensor-native/src/active.ts', 'tensor/src/random.ts', 'tensor/src/checkpoint/restore.ts']));
    expect(files).not.toContain('tensor-native/src/addon.ts');
  });

  it('imports no Node built-in, tfjs-node or tfjs umbrella', () => {
    const bad = new Set([...builtinModules, ...builtinModules.map((b) => `node:${b}`)]);
    const offending = external.filter((e) => {
      const spec = e.split(' (from ')[0];
      return bad.has(spec) || spec.startsWith('node:') || spec.startsWith('@tensorflow/tfjs-node') || spec === '@tensorflow/tfjs';
    });
    expect(offending).toEqual([]);
  });

  it('offers the same functions as the Node entry, minus the Node-only ones', () => {
    const nodeOnly = Object.keys(full).filter((k) => !(k in browser));
    expect(nodeOnly.sort()).toEqual(
      [
        'initBackend', 'backendReport', 'formatReport', 'BackendError', 'BACKEND_ORDER',
        'registerNativeKernels', 'unregisterNativeKernels', 'nativeConvAlgorithm', 'rowProductsF64', 'syrkUpperAccumulateF64', 'hostBlasNative',
        'pivotedCholeskyF64', 'symmetricEigenvaluesF64', 'hostLapackNative',
        'encodeSafetensors', 'saveCheckpoint', 'readCheckpoint', 'checkpointPaths', 'generationPaths', 'listCheckpointGenerations',
        'nodeCheckpointFs', 'writeFileAtomic', 'collectTensors', 'CHECKPOINT_PAUSE_PHASES',
        'decodeTorchCheckpoint', 'readTorchCheckpoint', 'selectPath', 'listCheckpoint', 'torchStateDict', 'isStateDict', 'tensorBytes',
        'toHostTensor', 'TorchTensor', 'TorchStorage', 'PyObject', 'readStateDict', 'decodeStateDict', 'sniffWeightsFormat',
        'zipEntries', 'readZipEntry', 'bufferSource', 'fileSource',
      ].sort(),
    );
    for (const k of Object.keys(browser)) expect((full as Record<string, unknown>)[k]).toBe((browser as Record<string, unknown>)[k]);
  });
});
