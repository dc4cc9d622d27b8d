// The server addresses a client may use, checked once, and the order it fails over in. Several addresses are for
// servers sharing one store (PostgreSQL): a run has the same id on each, so the client can move to the next one and
// resend what is unacknowledged there. Servers on separate SQLite files do not know each other's runs.
import { gwError } from '../../protocol/index.js';

/** Validates and normalizes one server base URL (no trailing slash). */
export function normalizeServer(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw gwError('GW_ERR_OPTION', `server '${url}' is not a URL (expected e.g. http://127.0.0.1:8080)`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw gwError('GW_ERR_OPTION', `server '${url}' must be an http:// or https:// URL`);
  }
  return parsed.toString().replace(/\/+$/, '');
}

/**
 * One address, a comma-separated list (as in GANWATCH_SERVER=URL1,URL2) or an array of addresses, normalized and
 * without repeats. Throws GW_ERR_OPTION naming the first entry that is not an http(s) URL, or when there is none.
 */
export function parseServers(input: string | readonly string[]): string[] {
  const entries = typeof input === 'string' ? [input] : [...input];
  const urls: string[] = [];
  for (const entry of entries) {
    if (typeof entry !== 'string') {
      throw gwError('GW_ERR_OPTION', `server addresses must be strings, got ${JSON.stringify(entry)}`);
    }
    for (const part of entry.split(',')) {
      if (part.trim() !== '') urls.push(normalizeServer(part.trim()));
    }
  }
  if (urls.length === 0) {
    throw gwError('GW_ERR_OPTION', 'no server address given (expected e.g. http://127.0.0.1:8080)');
  }
  return [...new Set(urls)];
}

/** The addresses and which one is in use. */
export class ServerList {
  private urls: string[];
  private index = 0;
  private replaced = 0;

  constructor(urls: readonly string[]) {
    this.urls = [...urls];
  }

  get current(): string {
    return this.urls[this.index] as string;
  }

  get all(): readonly string[] {
    return this.urls;
  }

  get size(): number {
    return this.urls.length;
  }

  /** Counts replace() calls: a retry loop that sees it change starts counting failures afresh. */
  get generation(): number {
    return this.replaced;
  }

  /** Moves to the next address, after the last back to the first; returns it. */
  advance(): string {
    this.index = (this.index + 1) % this.urls.length;
    return this.current;
  }

  /** Makes `url`, one of the list, the one in use. */
  use(url: string): void {
    const i = this.urls.indexOf(url);
    if (i >= 0) this.index = i;
  }

  /** A new list (a server file changed, SIGHUP): its first address is used next. */
  replace(urls: readonly string[]): void {
    this.urls = [...urls];
    this.index = 0;
    this.replaced++;
  }
}
