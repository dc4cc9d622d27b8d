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
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { gwError } from '../protocol/index.js';

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
