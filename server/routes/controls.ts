// Routes: issue a control to a run's trainer, and list the controls with their results.
import type { FastifyInstance } from 'fastify';
import { ControlCommand, RunParams } from '../../protocol/index.js';
import type { ServerContext } from '../context.js';
import { requireRun } from './runs.js';

export async function controlRoutes(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  app.post<{ Params: RunParams; Body: ControlCommand }>(
    '/runs/:id/controls',
    { schema: { params: RunParams, body: ControlCommand } },
    async (req, reply) => {
      const run = await requireRun(ctx, req.params.id);
      return reply.code(201).send(await ctx.controls.issue(run, req.body, 'api'));
    },
  );

  app.get<{ Params: RunParams }>('/runs/:id/controls', { schema: { params: RunParams } }, async (req) => {
    const run = await requireRun(ctx, req.params.id);
    return { controls: await ctx.store.controls.list(run.rid), trainer_connected: ctx.trainers.connected(run.id) };
  });
}
