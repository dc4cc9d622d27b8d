// Routes: write points over HTTP, read a series (raw or bucketed), export everything (JSON: points and distributions).
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { DEFAULT_BUCKETS, ExportQuery, PointsBody, RunParams, SeriesQuery, gwError } from '../../protocol/index.js';
import type { ServerContext } from '../context.js';
import { requireRun } from './runs.js';

export async function pointRoutes(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  app.post<{ Params: RunParams; Body: PointsBody }>(
    '/runs/:id/points',
    { schema: { params: RunParams, body: PointsBody } },
    async (req) => {
      const run = await requireRun(ctx, req.params.id);
      return { accepted: await ctx.ingest.write(run, req.body.points) };
    },
  );

  app.get<{ Params: RunParams; Querystring: SeriesQuery }>(
    '/runs/:id/series',
    { schema: { params: RunParams, querystring: SeriesQuery } },
    async (req) => {
      const run = await requireRun(ctx, req.params.id);
      const { metric, buckets = DEFAULT_BUCKETS, from, to } = req.query;
      if (from !== undefined && to !== undefined && from > to)
        throw gwError('GW_ERR_RANGE', `from (${from}) is after to (${to})`);
      const ref = await ctx.store.series.metricId(run.rid, metric);
      if (ref === null) throw gwError('GW_ERR_METRIC_NOT_FOUND', metric);
      return { metric, ...(await ctx.store.series.read(ref, buckets, from, to)) };
    },
  );

  app.get<{ Params: RunParams; Querystring: ExportQuery }>(
    '/runs/:id/export',
    { schema: { params: RunParams, querystring: ExportQuery } },
    async (req, reply) => {
      const run = await requireRun(ctx, req.params.id);
      const format = req.query.format ?? 'json';
      const pages = ctx.store.series.exportRun(run.rid);
      reply.header('content-disposition', `attachment; filename="ganwatch-${run.id}.${format}"`);
      if (format === 'csv') {
        reply.type('text/csv; charset=utf-8');
        return reply.send(Readable.from(csvLines(pages)));
      }
      reply.type('application/json; charset=utf-8');
      return reply.send(Readable.from(jsonChunks(run.id, pages, ctx.store.distributions.exportRun(run.rid))));
    },
  );
}

async function* csvLines(
  pages: AsyncGenerator<Array<{ metric: string; step: number; value: number | string | null; wall: number }>>,
): AsyncGenerator<string> {
  yield 'metric,step,value,wall\n';
  for await (const rows of pages) {
    let chunk = '';
    for (const r of rows) chunk += `${r.metric},${r.step},${r.value},${r.wall}\n`;
    yield chunk;
  }
}

async function* jsonChunks(
  run: string,
  pages: AsyncGenerator<unknown[]>,
  distributions: AsyncGenerator<unknown[]>,
): AsyncGenerator<string> {
  yield `{"run":${JSON.stringify(run)},"points":[`;
  yield* jsonItems(pages);
  // The wire's Distribution records with their wall time: what POST /runs/:id/distributions takes back.
  yield '],"distributions":[';
  yield* jsonItems(distributions);
  yield ']}\n';
}

async function* jsonItems(pages: AsyncGenerator<unknown[]>): AsyncGenerator<string> {
  let first = true;
  for await (const rows of pages) {
    let chunk = '';
    for (const r of rows) {
      chunk += (first ? '' : ',') + JSON.stringify(r);
      first = false;
    }
    yield chunk;
  }
}
