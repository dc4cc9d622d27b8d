// GET /runs as the runs table: the filter expression, sort keys and metric columns parsed (protocol/run-query.ts) and
// evaluated by the store in SQL, a page at a time with an opaque cursor; a bad expression is a 400 naming the position.
import type { FastifyReply } from 'fastify';
import {
  RunQueryError,
  gwError,
  parseRunColumns,
  parseRunQuery,
  parseRunSort,
  type ListRunsQuery,
  type RunRow,
} from '../../protocol/index.js';
import { now, type RunTableQuery } from '../../db/store.js';
import type { ServerContext } from '../context.js';

/** True when the request uses the table's parameters (otherwise GET /runs answers as it always did). */
export function isTableRequest(q: ListRunsQuery): boolean {
  return (
    q.q !== undefined ||
    q.sort !== undefined ||
    q.columns !== undefined ||
    q.limit !== undefined ||
    q.cursor !== undefined
  );
}

export interface RunTablePage {
  runs: RunRow[];
  /** Runs matching the filter, over all pages. */
  total: number;
  /** Pass as `cursor` (with the same q, sort and filters) for the next page; null on the last one. */
  next_cursor: string | null;
}

/** A cursor is the offset of the next page and a fingerprint of the query it belongs to. */
function fingerprint(q: ListRunsQuery): string {
  const text = JSON.stringify([q.q ?? '', q.sort ?? '', q.status ?? '', q.tag ?? '', q.name ?? '']);
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(36);
}

function encodeCursor(offset: number, q: ListRunsQuery): string {
  return Buffer.from(JSON.stringify({ o: offset, h: fingerprint(q) })).toString('base64url');
}

function decodeCursor(cursor: string, q: ListRunsQuery): number {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw gwError('GW_ERR_RUN_CURSOR', 'it is not a cursor this server gave');
  }
  const c = parsed as { o?: unknown; h?: unknown };
  if (typeof c !== 'object' || c === null || !Number.isInteger(c.o) || (c.o as number) < 0)
    throw gwError('GW_ERR_RUN_CURSOR', 'it is not a cursor this server gave');
  if (c.h !== fingerprint(q)) throw gwError('GW_ERR_RUN_CURSOR', 'it belongs to another query');
  return c.o as number;
}

/** Parses one parameter; a RunQueryError becomes the 400 the caller sends. */
function parse<T>(param: string, text: string | undefined, fn: (t: string) => T, empty: T): T {
  if (text === undefined) return empty;
  try {
    return fn(text);
  } catch (err) {
    if (err instanceof RunQueryError) throw new QueryParamError(param, err);
    throw err;
  }
}

class QueryParamError extends Error {
  constructor(
    readonly param: string,
    readonly error: RunQueryError,
  ) {
    super(error.message);
  }
}

/** Answers a table request, or sends the 400 of a bad q, sort or columns (with `param`, `position` and `length`). */
export async function listRunTable(ctx: ServerContext, q: ListRunsQuery, reply: FastifyReply): Promise<unknown> {
  let query: RunTableQuery;
  try {
    query = {
      where: parse('q', q.q, parseRunQuery, null),
      sort: parse('sort', q.sort, parseRunSort, []),
      columns: parse('columns', q.columns, parseRunColumns, []),
      filters: { status: q.status, tag: q.tag, name: q.name },
      limit: q.limit ?? null,
      offset: q.cursor === undefined ? 0 : decodeCursor(q.cursor, q),
      now: now(),
    };
  } catch (err) {
    if (!(err instanceof QueryParamError)) throw err;
    const gw = gwError('GW_ERR_RUN_QUERY', err.param, String(err.error.position + 1), err.error.message);
    return reply.code(gw.status).send({
      statusCode: gw.status,
      code: gw.code,
      message: gw.message,
      param: err.param,
      position: err.error.position,
      length: err.error.length,
    });
  }
  const { runs, total } = await ctx.store.runs.table(query);
  const end = query.offset + runs.length;
  const page: RunTablePage = {
    runs,
    total,
    next_cursor: query.limit !== null && end < total ? encodeCursor(end, q) : null,
  };
  return page;
}
