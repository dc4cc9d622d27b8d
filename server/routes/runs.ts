// Routes: create, list (and the runs table: ./run-table.ts), read, update and delete runs; per-metric summaries.
import type { FastifyInstance } from 'fastify';
import { CreateRunBody, ListRunsQuery, PatchRunBody, RunParams, gwError } from '../../protocol/index.js';
import type { RunRef } from '../../db/store.js';
import type { ServerContext } from '../context.js';
import { deleteRun } from '../services/retention.js';
import { isTableRequest, listRunTable } from './run-table.js';

export async function requireRun(ctx: ServerContext, id: string): Promise<RunRef> {
  const ref = await ctx.store.runs.ref(id);
  if (!ref) throw gwError('GW_ERR_RUN_NOT_FOUND', id);
  return ref;
}

/** A fork names its parent and the parent's step together, and the parent must exist: else 400, nothing stored. */
async function checkLineage(ctx: ServerContext, body: CreateRunBody): Promise<void> {
  const { parent_id: parent, fork_step: step } = body;
  if ((parent === undefined) !== (step === undefined)) {
    throw gwError(
      'GW_ERR_VALIDATION',
      `body/${parent === undefined ? 'parent_id' : 'fork_step'}: a fork gives parent_id and fork_step together`,
    );
  }
  if (parent !== undefined && !(await ctx.store.runs.ref(parent))) {
    throw gwError('GW_ERR_VALIDATION', `body/parent_id: run '${parent}' does not exist`);
  }
}

export async function runRoutes(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  app.post<{ Body: CreateRunBody }>('/runs', { schema: { body: CreateRunBody } }, async (req, reply) => {
    const { alerts, ...body } = req.body;
    if (alerts) ctx.alerts.checkConfig(alerts);
    await checkLineage(ctx, body);
    const created = await ctx.store.runs.create(body);
    if (alerts) await ctx.alerts.setRunConfig((await ctx.store.runs.ref(created.id))!, alerts);
    const run = (await ctx.store.runs.get(created.id))!;
    ctx.hub.publish(run.id, { type: 'run', run });
    return reply.code(201).send(run);
  });

  app.get<{ Querystring: ListRunsQuery }>('/runs', { schema: { querystring: ListRunsQuery } }, async (req, reply) => {
    if (isTableRequest(req.query)) return listRunTable(ctx, req.query, reply);
    return { runs: await ctx.store.runs.list(req.query) };
  });

  app.get('/runs/fields', async () => ctx.store.runs.fields());

  app.get<{ Params: RunParams }>('/runs/:id', { schema: { params: RunParams } }, async (req) => {
    const run = await ctx.store.runs.get(req.params.id);
    if (!run) throw gwError('GW_ERR_RUN_NOT_FOUND', req.params.id);
    return run;
  });

  app.patch<{ Params: RunParams; Body: PatchRunBody }>(
    '/runs/:id',
    { schema: { params: RunParams, body: PatchRunBody } },
    async (req) => {
      const run = await ctx.store.runs.update(req.params.id, req.body);
      if (!run) throw gwError('GW_ERR_RUN_NOT_FOUND', req.params.id);
      ctx.hub.publish(run.id, { type: 'run', run });
      if (req.body.status) await ctx.liveness.statusChanged(await requireRun(ctx, run.id), req.body.status);
      return run;
    },
  );

  app.delete<{ Params: RunParams }>('/runs/:id', { schema: { params: RunParams } }, async (req, reply) => {
    if (!(await deleteRun(ctx, req.params.id))) throw gwError('GW_ERR_RUN_NOT_FOUND', req.params.id);
    return reply.code(204).send();
  });

  app.get<{ Params: RunParams }>('/runs/:id/metrics', { schema: { params: RunParams } }, async (req) => {
    const run = await requireRun(ctx, req.params.id);
    return { metrics: await ctx.store.series.summaries(run.rid) };
  });
}
