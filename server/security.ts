// Security around the routes: response headers (helmet, with a content security policy the dashboard passes), CORS
// only for configured origins, per-client rate limits on writes (HTTP and ingest frames), and the rule that a server
// reachable from other machines needs a token.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { IncomingMessage } from 'node:http';
import fastifyCors from '@fastify/cors';
import fastifyHelmet from '@fastify/helmet';
import fastifyRateLimit from '@fastify/rate-limit';
import { isUtf8 } from 'node:buffer';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { MAX_BODY_BYTES, gwError } from '../protocol/index.js';

export interface SecurityOptions {
  /** The dashboard's index.html: its inline scripts and styles are allowed by hash, nothing else inline is. */
  dashboardIndex?: string;
  /** Origins allowed to call the API from another origin (exact, e.g. https://lab.example.org); none: no CORS. */
  corsOrigins?: readonly string[];
  /** Writes per minute per client IP over HTTP, and frames per minute per ingest socket; 0 turns limits off. */
  rateLimit?: number;
}

/** Default write limit: far above what a trainer sends (5 frames/s = 300/min), low enough to stop a runaway script. */
export const DEFAULT_RATE_LIMIT = 6000;

const HOST_HEADER = /^(?:[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$/;

/** The socket origins of this page's own host (`ws://HOST wss://HOST`), so connect-src needs no `ws:` wildcard. */
function ownSocketOrigins(req: IncomingMessage): string {
  const host = req.headers.host;
  return typeof host === 'string' && HOST_HEADER.test(host) ? `ws://${host} wss://${host}` : "'self'";
}

/** CSP hash sources of the inline `<script>` (without src) and `<style>` elements of an HTML file. */
export function inlineHashes(htmlPath: string | undefined): { scripts: string[]; styles: string[] } {
  const out = { scripts: [] as string[], styles: [] as string[] };
  if (!htmlPath || !existsSync(htmlPath)) return out;
  const html = readFileSync(htmlPath, 'utf8');
  const hash = (text: string): string => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
  for (const m of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script\s*>/gi)) {
    if (!/\bsrc\s*=/i.test(m[1]!) && m[2]!.length > 0) out.scripts.push(hash(m[2]!));
  }
  for (const m of html.matchAll(/<style\b[^>]*>([\s\S]*?)<\/style\s*>/gi)) out.styles.push(hash(m[1]!));
  return out;
}

export async function registerSecurity(app: FastifyInstance, options: SecurityOptions): Promise<void> {
  drainRefusedBodies(app);
  // Hashed once at start-up: the dashboard's files do not change under a running server.
  const inline = inlineHashes(options.dashboardIndex);
  await app.register(fastifyHelmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        'default-src': ["'self'"],
        // Scripts and stylesheets from this origin, plus the exact inline ones of index.html (by hash).
        'script-src': ["'self'", ...inline.scripts],
        'style-src': ["'self'", ...inline.styles],
        'style-src-attr': ["'unsafe-inline'"],
        'img-src': ["'self'", 'data:', 'blob:'],
        'font-src': ["'self'", 'data:'],
        'connect-src': ["'self'", ownSocketOrigins],
        'worker-src': ["'self'", 'blob:'],
        'object-src': ["'none'"],
        'base-uri': ["'self'"],
        'form-action': ["'self'"],
        'frame-ancestors': ["'none'"],
        // No upgrade-insecure-requests: over plain http on a LAN address it would break every asset of the page.
      },
    },
    // HTTPS is the reverse proxy's business; a Strict-Transport-Security header from plain http would only confuse.
    strictTransportSecurity: false,
    // The media and latent routes serve the dashboard (same origin) and, with --cors, other origins' fetch().
    crossOriginResourcePolicy: { policy: options.corsOrigins?.length ? 'cross-origin' : 'same-origin' },
  });

  if (options.corsOrigins?.length) {
    const allowed = new Set(options.corsOrigins);
    await app.register(fastifyCors, {
      origin: (origin, cb) => cb(null, origin !== undefined && allowed.has(origin)),
      methods: ['GET', 'HEAD', 'POST', 'PATCH', 'PUT', 'DELETE'],
      allowedHeaders: ['authorization', 'content-type'],
      maxAge: 600,
    });
  }

  const limit = options.rateLimit ?? DEFAULT_RATE_LIMIT;
  if (limit > 0) {
    await app.register(fastifyRateLimit, {
      max: limit,
      timeWindow: 60_000,
      // Reads (the dashboard polls and zooms) are not limited; writes are, per client address.
      allowList: (req: FastifyRequest) => req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS',
      errorResponseBuilder: () => gwError('GW_ERR_RATE_LIMITED'),
    });
  }
}

/** Deepest nesting of arrays and objects a JSON body may have: far beyond any real config, far below a stack's depth. */
export const MAX_JSON_DEPTH = 64;

/** The nesting depth of JSON text, counting brackets outside strings; stops counting past `limit`. */
export function jsonDepth(text: Buffer, limit = MAX_JSON_DEPTH): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max && (max = depth) > limit) return max;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return max;
}

/**
 * The JSON body parser: Fastify's own (prototype poisoning refused), after two checks a string parser cannot make:
 * the bytes are valid UTF-8 (JSON must be; otherwise bad bytes would be stored as U+FFFD), and nesting is at most
 * MAX_JSON_DEPTH (a deeply nested config would otherwise blow the stack when stored).
 */
export function installJsonParser(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: MAX_BODY_BYTES }, (req, body, done) => {
    const bytes = body as Buffer;
    if (!isUtf8(bytes)) return done(gwError('GW_ERR_BAD_JSON', 'the body is not valid UTF-8'), undefined);
    if (jsonDepth(bytes) > MAX_JSON_DEPTH) {
      return done(
        gwError('GW_ERR_BAD_JSON', `arrays and objects are nested deeper than ${MAX_JSON_DEPTH} levels`),
        undefined,
      );
    }
    void parse(req, bytes.toString('utf8'), done);
  });
}

/** Most of a refused body the server reads (and drops) so that its 413 reaches the client; beyond, it cuts. */
const DRAIN_LIMIT_BYTES = 64 * 1024 * 1024;
const DRAIN_TIMEOUT_MS = 10_000;

/**
 * A body refused as too large is read to its end (up to 64 MiB or 10 s) before the 413 goes out. Closing a connection
 * with unread bytes in it makes the kernel reset it, and the client then sees a broken pipe instead of the answer.
 */
export function drainRefusedBodies(app: FastifyInstance): void {
  app.addHook('onSend', async (req, reply, payload) => {
    const raw = req.raw;
    if (reply.statusCode !== 413 || raw.complete || raw.destroyed) return payload;
    await new Promise<void>((resolve) => {
      let read = 0;
      const done = (): void => {
        clearTimeout(timer);
        raw.off('data', onData);
        raw.off('end', done);
        raw.off('close', done);
        raw.off('error', done);
        resolve();
      };
      const onData = (chunk: Buffer): void => {
        read += chunk.length;
        if (read > DRAIN_LIMIT_BYTES) done();
      };
      const timer = setTimeout(done, DRAIN_TIMEOUT_MS);
      raw.on('data', onData);
      raw.once('end', done);
      raw.once('close', done);
      raw.once('error', done);
      raw.resume();
    });
    return payload;
  });
}

/**
 * A token bucket per ingest socket: `perMinute` frames a minute, with bursts of up to a minute's worth (a trainer
 * reconnecting after an outage resends its backlog at once).
 */
export class FrameRateLimiter {
  private tokens: number;
  private last: number;

  constructor(private readonly perMinute: number) {
    this.tokens = perMinute;
    this.last = performance.now();
  }

  /** True when one more frame may pass now. Always true when limits are off (perMinute 0). */
  take(): boolean {
    if (this.perMinute <= 0) return true;
    const now = performance.now();
    this.tokens = Math.min(this.perMinute, this.tokens + ((now - this.last) * this.perMinute) / 60_000);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** True for addresses only this machine can reach: 127.0.0.0/8, ::1, localhost. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || h === '0:0:0:0:0:0:0:1' || /^::ffff:127\./.test(h);
  return false;
}

/** Refuses to serve other machines without a token unless the user said --insecure (GW_ERR_INSECURE_BIND). */
export function checkBind(host: string, token: string | null, insecure: boolean): void {
  if (token === null && !insecure && !isLoopbackHost(host)) throw gwError('GW_ERR_INSECURE_BIND', host);
}
