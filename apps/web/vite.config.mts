/**
 * Vite build of the demo page. Two plugins:
 *  - epg-source: `@epg/<pkg>[/<sub>]` resolves to the TypeScript source of the entry the package
 *    declares for browsers (its `exports` condition "browser", else "default"; dist/X.js → src/X.ts),
 *    so the page runs the packages' own code and no Node-only entry can be picked by accident.
 *  - no-node-builtins: the build fails when workspace code (packages/, apps/) imports a Node built-in
 *    (fs, node:path, …). Third-party modules keep their own `browser` field mappings (tfjs maps fs,
 *    util, crypto to nothing).
 */
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../..');

type ExportEntry = string | { readonly browser?: string; readonly default?: string };

function epgSource(): Plugin {
  return {
    name: 'epg-source',
    enforce: 'pre',
    resolveId(source) {
      const m = /^@epg\/([^/]+)(\/.+)?$/.exec(source);
      if (!m) return null;
      const dir = join(repo, 'packages', m[1]);
      let pkg: { exports?: Record<string, ExportEntry> };
      try {
        pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      } catch {
        this.error(`${source}: no workspace package at ${relative(repo, dir)}`);
      }
      const sub = `.${m[2] ?? ''}`;
      const entry = pkg.exports?.[sub];
      const target = typeof entry === 'string' ? entry : (entry?.browser ?? entry?.default);
      if (!target || !/^\.\/dist\/.+\.js$/.test(target)) this.error(`${source}: @epg/${m[1]} exports no browser or default entry for '${sub}'`);
      return join(dir, target.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts'));
    },
  };
}

const BUILTINS = new Set([...builtinModules, ...builtinModules.map((b) => `node:${b}`)]);

function noNodeBuiltins(): Plugin {
  return {
    name: 'no-node-builtins',
    enforce: 'pre',
    resolveId(source, importer) {
      if (!BUILTINS.has(source) && !source.startsWith('node:')) return null;
      if (importer && !importer.includes('/node_modules/')) {
        this.error(
          `Node built-in '${source}' imported by ${relative(repo, importer)}: the page's code must be browser-safe ` +
            '(import the package\'s browser entry, or move the Node-only code off this path)',
        );
      }
      return null;
    },
  };
}

export default defineConfig({
  // Relative asset URLs: the built folder works from any path of any static host.
  base: './',
  plugins: [noNodeBuiltins(), epgSource()],
  resolve: { dedupe: ['@tensorflow/tfjs-core'] },
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 4000 },
  server: { fs: { allow: [repo] } },
});
