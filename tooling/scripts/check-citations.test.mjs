// node --test: the citation check fails on a planted citation of a missing file and passes otherwise.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkCitations, citations, jsComments } from './check-citations.mjs';

const script = join(dirname(fileURLToPath(import.meta.url)), 'check-citations.mjs');

function fakeRepo(files) {
  const root = mkdtempSync(join(tmpdir(), 'epg-citations-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

test('finds markdown paths and bare spec names in comments, not in strings', () => {
  assert.deepEqual(citations('see docs/method.md §3 and METHOD_SPEC §2; EPG §6, EDM Table 1'), ['docs/method.md', 'METHOD_SPEC.md']);
  const c = jsComments("const s = 'docs/x.md'; // docs/y.md\n/* a\n * ../z.md */");
  assert.deepEqual(c.flatMap((x) => citations(x.text)), ['docs/y.md', '../z.md']);
  assert.equal(c.find((x) => x.text.includes('z.md')).line, 3);
});

test('a planted bad citation fails the check (file and line named); the good ones pass', () => {
  const root = fakeRepo({
    'docs/method.md': '# method\n',
    'packages/a/src/ok.ts': "// docs/method.md §5.1\nexport const s = 'docs/missing-in-a-string.md';\n",
    'packages/a/README.md': 'See [the method](../../docs/method.md).\n',
    'packages/a/src/bad.ts': '/**\n * Formula from docs/nowhere.md §2 and TOOLCHAIN §12.\n */\nexport const x = 1;\n',
    'packages/a/scripts/fx.py': '# METRICS.md §2\nprint(1)\n',
  });
  try {
    const missing = checkCitations(root);
    assert.deepEqual(
      missing.map((m) => `${m.file}:${m.line} ${m.cited}`).sort(),
      ['packages/a/scripts/fx.py:1 METRICS.md', 'packages/a/src/bad.ts:2 TOOLCHAIN.md', 'packages/a/src/bad.ts:2 docs/nowhere.md'],
    );
    const run = spawnSync(process.execPath, [script, root], { encoding: 'utf8' });
    assert.equal(run.status, 1);
    assert.match(run.stderr, /packages\/a\/src\/bad\.ts:2: cites docs\/nowhere\.md, which is not in the repository/);
    rmSync(join(root, 'packages/a/src/bad.ts'));
    rmSync(join(root, 'packages/a/scripts/fx.py'));
    assert.equal(spawnSync(process.execPath, [script, root]).status, 0);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
