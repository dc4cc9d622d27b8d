// Routes: write histograms over HTTP, read one name's over a step range (downsampled to `max`), list a run's names.
import type { FastifyInstance } from 'fastify';
import {
  DEFAULT_DISTRIBUTIONS_MAX,
  DistributionsBody,
  DistributionsQuery,
  RunParams,
  gwError,
  type DistributionNamesResponse,
  type DistributionsResponse,
} from '../../protocol/index.js';
import type { ServerContext } from '../context.js';
import { requireRun } from './runs.js';

export async function distributionRoutes(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  app.post<{ Params: RunParams; Body: DistributionsBody }>(
    '/runs/:id/distributions',
    { schema: { params: RunParams, body: DistributionsBody } },
    async (req) => {
      const run = await requireRun(ctx, req.params.id);
      return { accepted: await ctx.ingest.writeDistributions(run, req.body.distributions) };
    },
  );

  // A name with no records in the range answers an empty list, not 404: a chart may ask before the first one arrives.
  app.get<{ Params: RunParams; Querystring: DistributionsQuery }>(
    '/runs/:id/distributions',
    { schema: { params: RunParams, querystring: DistributionsQuery } },
    async (req): Promise<DistributionsResponse> => {
      const run = await requireRun(ctx, req.params.id);
      const { name, from, to, max = DEFAULT_DISTRIBUTIONS_MAX } = req.query;
      if (from !== undefined && to !== undefined && from > to)
        throw gwError('GW_ERR_RANGE', `from (${from}) is after to (${to})`);
      return ctx.store.distributions.read(run.rid, name, max, from, to);
    },
  );

  app.get<{ Params: RunParams }>(
    '/runs/:id/distributions/names',
    { schema: { params: RunParams } },
    async (req): Promise<DistributionNamesResponse> => {
      const run = await requireRun(ctx, req.params.id);
      return { names: await ctx.store.distributions.names(run.rid) };
    },
  );
}
