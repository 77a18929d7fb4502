// Serves the dashboard: GET / (the page) and GET /dashboard/{file} (its script and styles), all read once
// from static/ at start-up and sent with a same-origin-only CSP. Never fetches anything from the network.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServerResponse } from 'node:http';
import type { AdminRoute } from '../admin-server.js';
import { sendJson } from '../../server/respond.js';

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

/** The page may load only its own files and call only its own admin API. */
const SECURITY_HEADERS = [
  'content-security-policy',
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options',
  'nosniff',
  'cache-control',
  'no-cache',
];

interface Asset {
  body: Buffer;
  contentType: string;
}

/** static/ beside this module: in src/, or in dist/ where `npm run build` copies it. */
export function findStaticDir(): string {
  const dir = fileURLToPath(new URL('./static/', import.meta.url));
  if (!existsSync(join(dir, 'index.html'))) throw new Error(`dashboard assets not found in ${dir} (run npm run build)`);
  return dir;
}

export function dashboardRoutes(staticDir = findStaticDir()): AdminRoute[] {
  const assets = new Map<string, Asset>();
  for (const name of readdirSync(staticDir)) {
    const contentType = CONTENT_TYPES[extname(name)];
    if (contentType) assets.set(name, { body: readFileSync(join(staticDir, name)), contentType });
  }
  const page = assets.get('index.html');
  if (!page) throw new Error(`dashboard page missing: ${join(staticDir, 'index.html')}`);
  return [
    { method: 'GET', path: '/', handler: (_req, res) => send(res, page) },
    {
      method: 'GET',
      path: '/dashboard/*',
      handler: (_req, res, url) => {
        const asset = assets.get(url.pathname.slice('/dashboard/'.length));
        if (!asset) return sendJson(res, 404, { error: `no dashboard file ${url.pathname}`, code: 'ABPROXY_NOT_FOUND' });
        send(res, asset);
      },
    },
  ];
}

function send(res: ServerResponse, asset: Asset): void {
  res.writeHead(200, ['content-type', asset.contentType, 'content-length', String(asset.body.length), ...SECURITY_HEADERS]);
  res.end(asset.body);
}
