#!/usr/bin/env node
// Citation check (part of `pnpm test`): every markdown file that a comment in packages/, apps/ or
// tooling/ cites, and every document that a README or docs/ page cites, must exist in the repository.
// A bare upper-case name of six or more letters followed by § (a spec's name without its extension)
// counts as a citation of that name plus the markdown extension; short keys such as EPG or EDM are
// paper citations. Paths resolve against the citing file's folder, then the repository root.
// Usage: node check-citations.mjs [root]; exit 1 on a miss.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const CODE = /\.(ts|tsx|js|mjs|cjs)$/;
const HASH = /\.(py|sh)$/;
const C_LIKE = /\.(c|cc|h|cpp)$/;
const SKIP_DIRS = new Set(['node_modules', 'dist', 'coverage', '.turbo', 'build', '.git']);

/** Comments of a JS/TS/C-like source, with their line numbers (strings and template literals skipped). */
export function jsComments(src) {
  const out = [];
  let i = 0;
  let line = 1;
  const n = src.length;
  while (i < n) {
    const c = src[i];
    if (c === '\n') { line++; i++; continue; }
    if (c === '/' && src[i + 1] === '/') {
      const end = src.indexOf('\n', i);
      const stop = end < 0 ? n : end;
      out.push({ line, text: src.slice(i + 2, stop) });
      i = stop;
      continue;
    }
    if (c === '/' && src[i + 1] === '*') {
      const end = src.indexOf('*/', i + 2);
      const stop = end < 0 ? n : end;
      const body = src.slice(i + 2, stop);
      body.split('\n').forEach((t, k) => out.push({ line: line + k, text: t }));
      line += body.split('\n').length - 1;
      i = stop + 2;
      continue;
    }
    if (c === '"' || c === "'" || c === '`') {
      i++;
      while (i < n && src[i] !== c) {
        if (src[i] === '\\') i++;
        else if (src[i] === '\n') line++;
        i++;
      }
      i++;
      continue;
    }
    i++;
  }
  return out;
}

export function hashComments(src) {
  return src.split('\n').flatMap((t, k) => {
    const at = t.indexOf('#');
    return at >= 0 ? [{ line: k + 1, text: t.slice(at + 1) }] : [];
  });
}

/** The documents a piece of text cites: tokens ending in the markdown extension, and bare spec names before §. */
export function citations(text) {
  const found = [];
  for (const m of text.matchAll(/(?<![\w./-])((?:\.{0,2}\/)?[\w./-]*[\w-]+\.md)\b/g)) {
    if (/^https?:|:\/\//.test(m[1])) continue;
    found.push(m[1]);
  }
  for (const m of text.matchAll(/(?<![\w./-])([A-Z][A-Z0-9_]{5,})(?:\.md)?\s*§/g)) found.push(`${m[1]}.md`);
  return [...new Set(found)];
}

function walk(dir, files) {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir)) {
    if (SKIP_DIRS.has(name) || name.startsWith('.')) continue;
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) walk(p, files);
    else files.push(p);
  }
}

/** Every citation of a missing document under root: [{ file, line, cited }]. */
export function checkCitations(root) {
  const files = [];
  for (const g of ['packages', 'apps', 'tooling', 'docs']) walk(join(root, g), files);
  if (existsSync(join(root, 'README.md'))) files.push(join(root, 'README.md'));
  const missing = [];
  for (const file of files) {
    let chunks;
    if (CODE.test(file) || C_LIKE.test(file)) chunks = jsComments(readFileSync(file, 'utf8'));
    else if (HASH.test(file)) chunks = hashComments(readFileSync(file, 'utf8'));
    else if (file.endsWith('.md')) chunks = readFileSync(file, 'utf8').split('\n').map((text, k) => ({ line: k + 1, text }));
    else continue;
    for (const { line, text } of chunks) {
      for (const cited of citations(text)) {
        const clean = cited.replace(/^\.\//, '');
        const candidates = [resolve(dirname(file), clean), resolve(root, clean)];
        if (!candidates.some((p) => existsSync(p))) missing.push({ file: relative(root, file), line, cited });
      }
    }
  }
  return missing;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..', '..'));
  const missing = checkCitations(root);
  if (missing.length > 0) {
    for (const m of missing) console.error(`${m.file}:${m.line}: cites ${m.cited}, which is not in the repository: cite a docs/*.md section or a paper equation`);
    console.error(`citation check: ${missing.length} citation(s) of missing files`);
    process.exit(1);
  }
  console.log('citation check: every cited document exists');
}
