/**
 * A static file server for the browser test and the screenshot script: URL prefixes mapped to
 * folders (the built page at '/', an export at '/fixture/'), with the MIME types the page needs
 * (application/wasm lets the browser compile the wasm backend while it streams).
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.safetensors': 'application/octet-stream',
};

export interface StaticServer {
  readonly url: string;
  close(): Promise<void>;
}

/** Serves `routes` (URL prefix ending in '/' → folder) on 127.0.0.1 at a free port. */
export async function serveStatic(routes: Readonly<Record<string, string>>): Promise<StaticServer> {
  const prefixes = Object.keys(routes).sort((a, b) => b.length - a.length);
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const prefix = prefixes.find((p) => path.startsWith(p));
    let file = prefix === undefined ? undefined : normalize(join(routes[prefix], path.slice(prefix.length)));
    if (file && prefix !== undefined && !file.startsWith(normalize(routes[prefix]) + sep) && file !== normalize(routes[prefix])) file = undefined;
    if (file && existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
    if (!file || !existsSync(file)) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/`, close: () => new Promise<void>((ok) => server.close(() => ok())) };
}
