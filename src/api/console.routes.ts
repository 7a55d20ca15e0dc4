/**
 * The web console (SPEC §8): `GET /` is its page, `GET /console/*` its scripts and style sheet.
 * The files are the hand-written `web/public/` and the browser modules `npm run build` compiles
 * from `web/src/` into `web/dist/`; they are read once, when the app is built, and served from
 * memory, so no request path ever reaches the file system. The console talks only to the REST API
 * (same origin, session cookie), and its pages are routed in the URL's fragment (`/#/deliveries`),
 * so every other path keeps answering the API's 404. docs/console.md
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root, from `src/api/` when run by tsx and `dist/api/` when built. */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const CONSOLE_DIRS = [path.join(ROOT, 'web', 'public'), path.join(ROOT, 'web', 'dist')];

/** The path prefix of the console's files (scripts, style sheet). */
const ASSET_PREFIX = '/console/';

/**
 * Scripts and styles from this origin only, no inline script or style, nothing framed, no plugin,
 * requests to this origin only: the console needs nothing more.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': CONSOLE_CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'same-origin',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=(), payment=()',
};

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.png': 'image/png',
};

interface ConsoleFile {
  body: Buffer;
  type: string;
  etag: string;
}

/** Every servable file of `dirs` by its name (no sub-folders); a later folder wins a name. */
function readConsoleFiles(dirs: string[] = CONSOLE_DIRS): Map<string, ConsoleFile> {
  const files = new Map<string, ConsoleFile>();
  for (const dir of dirs) {
    if (!existsSync(dir)) continue;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const type = TYPES[path.extname(entry.name)];
      if (!entry.isFile() || type === undefined) continue;
      const body = readFileSync(path.join(dir, entry.name));
      const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
      files.set(entry.name, { body, type, etag });
    }
  }
  return files;
}

/** The page shown at `/` when the console's files were not built (`npm run build` builds them). */
const NOT_BUILT =
  '<!doctype html><title>Callhook</title><p>The web console is not built: run <code>npm run build</code>.</p>';

export const consoleRoutes: FastifyPluginAsync<{ dirs?: string[] }> = async (app, options) => {
  const files = readConsoleFiles(options.dirs);
  const built = files.has('index.html') && files.has('app.js');
  if (!built) app.log.warn('web console not built (web/dist): / explains how to build it');

  const send = (request: FastifyRequest, reply: FastifyReply, file: ConsoleFile) => {
    void reply.headers(SECURITY_HEADERS);
    // Revalidated on each load (a cheap 304): a rebuilt console is never half old, half new.
    void reply.header('cache-control', 'no-cache').header('etag', file.etag).type(file.type);
    if (request.headers['if-none-match'] === file.etag) return reply.code(304).send();
    return reply.send(file.body);
  };

  app.get('/', { config: { access: 'public' }, schema: { hide: true } }, async (request, reply) => {
    const page = files.get('index.html');
    if (!built || page === undefined) {
      void reply.headers(SECURITY_HEADERS).header('cache-control', 'no-store');
      return reply.code(503).type(TYPES['.html']!).send(NOT_BUILT);
    }
    return send(request, reply, page);
  });

  app.get<{ Params: { '*': string } }>(
    `${ASSET_PREFIX}*`,
    { config: { access: 'public' }, schema: { hide: true } },
    async (request, reply) => {
      const file = files.get(request.params['*']);
      if (file === undefined || request.params['*'] === 'index.html') {
        return reply.callNotFound();
      }
      return send(request, reply, file);
    },
  );
};
