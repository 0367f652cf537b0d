#!/usr/bin/env node
// Paired differences of a training term between study arms at the same seed (docs/consistency.md,
// "Longer runs"): for each (dataset, seed), arm − scratch of the term's mean over blocks of steps
// [0, N/4), [N/4, N/2), [N/2, 3N/4), [3N/4, 0.9N), [0.9N, N), read from the records' metrics.jsonl.gz.
// Within a seed every arm fine-tunes on the same batches, (t, r) pairs, noise and dropout masks,
// so the difference removes most of the seed-to-seed spread.
//
//   node tooling/scripts/paired-blocks.mjs --records docs/results/study-steps8000/records \
//     [--phase consistency] [--term consistency] [--baseline scratch]
// Prints a markdown table; exit 1 with one line when the records are missing or hold no such term.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';

function fail(line) {
  process.stderr.write(`error: ${line}\n`);
  process.exit(1);
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      records: { type: 'string', default: 'docs/results/study/records' },
      phase: { type: 'string', default: 'consistency' },
      term: { type: 'string', default: 'consistency' },
      baseline: { type: 'string', default: 'scratch' },
    },
  }));
} catch (e) {
  fail(`${e.message}: see the usage at the top of tooling/scripts/paired-blocks.mjs`);
}
const { records, phase, term, baseline } = values;
if (!existsSync(records)) fail(`no records at ${records}: run the study (tooling/scripts/study.mjs) first`);

/** The term's value at each step of the phase, from one record. */
function series(dir) {
  const gz = join(dir, 'metrics.jsonl.gz');
  const plain = join(dir, 'metrics.jsonl');
  const text = existsSync(gz) ? gunzipSync(readFileSync(gz)).toString('utf8') : existsSync(plain) ? readFileSync(plain, 'utf8') : null;
  if (text === null) return null;
  const out = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const r = JSON.parse(line);
    if (r.phase === phase && typeof r[term] === 'number') out[r.step] = r[term];
  }
  return out.length ? out : null;
}

const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const cells = new Map(); // `${dataset} s${seed}` → arm → series
for (const name of readdirSync(records).sort()) {
  const m = /^(fashion-mnist|mnist)-(.+)-s(\d+)$/.exec(name);
  if (!m) continue;
  const s = series(join(records, name));
  if (!s) continue;
  const key = `${m[1]}, seed ${m[3]}`;
  if (!cells.has(key)) cells.set(key, new Map());
  cells.get(key).set(m[2], s);
}
const arms = [...new Set([...cells.values()].flatMap((c) => [...c.keys()]))].filter((a) => a !== baseline).sort();
if (!cells.size || !arms.length) fail(`no '${term}' of phase '${phase}' for ${baseline} and another arm under ${records}`);

const lines = [`| dataset, seed | steps | ${baseline} (mean per block) | ${arms.map((a) => `${a} − ${baseline}`).join(' | ')} |`, `|---|---|---|${arms.map(() => '---|').join('')}`];
for (const [key, bySeries] of cells) {
  const base = bySeries.get(baseline);
  if (!base) continue;
  const n = base.length;
  const edges = [0, n / 4, n / 2, (3 * n) / 4, 0.9 * n, n].map(Math.round);
  const blocks = edges.slice(0, -1).map((lo, i) => [lo, edges[i + 1]]);
  const blockMean = (s, [lo, hi]) => mean(s.slice(lo, hi));
  const f = (v) => (v >= 0 ? '+' : '−') + Math.abs(v).toFixed(3);
  const cols = arms.map((a) => {
    const s = bySeries.get(a);
    if (!s || s.length !== n) return '–';
    return blocks.map((b) => f(blockMean(s, b) - blockMean(base, b))).join(' ');
  });
  lines.push(`| ${key} | ${blocks.map(([lo, hi]) => `${lo}–${hi - 1}`).join(', ')} | ${blocks.map((b) => blockMean(base, b).toFixed(3)).join(' ')} | ${cols.join(' | ')} |`);
}
process.stdout.write(`${lines.join('\n')}\n`);
