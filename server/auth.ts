// Tokens: constant-time comparison, and which requests need which token.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';

export interface TokenConfig {
  /** Required for every write (HTTP and the ingest socket) when set. */
  token: string | null;
  /** Required for reads (HTTP, the live socket, the dashboard) when set; the write token is accepted too. */
  readToken: string | null;
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** Compares two secrets in time independent of where they differ (hashing first makes lengths equal). */
export function tokensEqual(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

/** The token a request carries: `Authorization: Bearer T`, or `?token=T` (browsers cannot set WS headers). */
export function tokenOf(req: FastifyRequest): string | null {
  const header = req.headers.authorization;
  if (typeof header === 'string' && header.startsWith('Bearer ')) return header.slice(7).trim();
  const q = (req.query as Record<string, unknown> | undefined)?.token;
  return typeof q === 'string' ? q : null;
}

export type Access = 'read' | 'write';

export function allowed(config: TokenConfig, access: Access, given: string | null): boolean {
  if (access === 'write') return config.token === null || (given !== null && tokensEqual(given, config.token));
  if (config.readToken === null) return true;
  return (
    given !== null &&
    (tokensEqual(given, config.readToken) || (config.token !== null && tokensEqual(given, config.token)))
  );
}
