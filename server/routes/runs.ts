// Routes: create, list, read, update and delete runs; per-metric summaries.
import type { FastifyInstance } from 'fastify';
import { CreateRunBody, ListRunsQuery, PatchRunBody, RunParams, gwError } from '../../protocol/index.js';
import type { RunRef } from '../../db/store.js';
import type { ServerContext } from '../context.js';
import { deleteRun } from '../retention.js';

export function requireRun(ctx: ServerContext, id: string): RunRef {
  const ref = ctx.store.runs.ref(id);
  if (!ref) throw gwError('GW_ERR_RUN_NOT_FOUND', id);
  return ref;
}

export async function runRoutes(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  app.post<{ Body: CreateRunBody }>('/runs', { schema: { body: CreateRunBody } }, async (req, reply) => {
    const { alerts, ...body } = req.body;
    if (alerts) ctx.alerts.checkConfig(alerts);
    const created = ctx.store.runs.create(body);
    if (alerts) ctx.alerts.setRunConfig(ctx.store.runs.ref(created.id)!, alerts);
    const run = ctx.store.runs.get(created.id)!;
    ctx.hub.publish(run.id, { type: 'run', run });
    return reply.code(201).send(run);
  });

  app.get<{ Querystring: ListRunsQuery }>('/runs', { schema: { querystring: ListRunsQuery } }, async (req) => {
    return { runs: ctx.store.runs.list(req.query) };
  });

  app.get<{ Params: RunParams }>('/runs/:id', { schema: { params: RunParams } }, async (req) => {
    const run = ctx.store.runs.get(req.params.id);
    if (!run) throw gwError('GW_ERR_RUN_NOT_FOUND', req.params.id);
    return run;
  });

  app.patch<{ Params: RunParams; Body: PatchRunBody }>(
    '/runs/:id',
    { schema: { params: RunParams, body: PatchRunBody } },
    async (req) => {
      const run = ctx.store.runs.update(req.params.id, req.body);
      if (!run) throw gwError('GW_ERR_RUN_NOT_FOUND', req.params.id);
      ctx.hub.publish(run.id, { type: 'run', run });
      return run;
    },
  );

  app.delete<{ Params: RunParams }>('/runs/:id', { schema: { params: RunParams } }, async (req, reply) => {
    if (!deleteRun(ctx, req.params.id)) throw gwError('GW_ERR_RUN_NOT_FOUND', req.params.id);
    return reply.code(204).send();
  });

  app.get<{ Params: RunParams }>('/runs/:id/metrics', { schema: { params: RunParams } }, async (req) => {
    const run = requireRun(ctx, req.params.id);
    return { metrics: ctx.store.series.summaries(run.rid) };
  });
}
