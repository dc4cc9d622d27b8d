// Routes: issue a control to a run's trainer, list the controls with their results, and the two routes through which
// a trainer without a WebSocket receives controls (a long poll, which is also its heartbeat) and answers them.
import type { FastifyInstance } from 'fastify';
import {
  ControlCommand,
  ControlPollQuery,
  ControlResultBody,
  ControlResultParams,
  RunParams,
  gwError,
  type ControlPollReply,
} from '../../protocol/index.js';
import type { ServerContext } from '../context.js';
import { PollingTrainers } from '../services/control-polling.js';
import { requireRun } from './runs.js';

export interface ControlRouteOptions {
  /** How long after its last answered poll an HTTP trainer still counts as connected (ms). */
  trainerTimeoutMs?: number;
}

/** A poll waits this long when the trainer does not say (seconds). */
const DEFAULT_POLL_WAIT_S = 20;

export async function controlRoutes(
  app: FastifyInstance,
  ctx: ServerContext,
  options: ControlRouteOptions = {},
): Promise<void> {
  const polling = new PollingTrainers(ctx, options.trainerTimeoutMs);
  app.addHook('preClose', async () => polling.closeAll());

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
    // Connected here, or to another server sharing the store (which then holds the run).
    const connected = ctx.trainers.connected(run.id) || (await ctx.presence.holder(run)) !== null;
    return { controls: await ctx.store.controls.list(run.rid), trainer_connected: connected };
  });

  // The trainer's side: a write (it marks controls sent and keeps the run connected), so it needs the write token.
  app.get<{ Params: RunParams; Querystring: ControlPollQuery }>(
    '/runs/:id/controls/next',
    { schema: { params: RunParams, querystring: ControlPollQuery }, config: { access: 'write' } },
    async (req, reply): Promise<ControlPollReply> => {
      const run = await requireRun(ctx, req.params.id);
      const aborted = new AbortController();
      reply.raw.on('close', () => {
        if (!reply.raw.writableFinished) aborted.abort();
      });
      const wait = req.query.wait ?? DEFAULT_POLL_WAIT_S;
      const controls = await polling.poll(run, req.query.after ?? 0, wait * 1000, aborted.signal);
      return { controls: controls.map(({ id, action, args }) => ({ id, action, args })) };
    },
  );

  app.post<{ Params: ControlResultParams; Body: ControlResultBody }>(
    '/runs/:id/controls/:cid/result',
    { schema: { params: ControlResultParams, body: ControlResultBody } },
    async (req) => {
      const run = await requireRun(ctx, req.params.id);
      const { cid } = req.params;
      const control = await ctx.store.controls.get(cid);
      if (!control || control.run !== run.id) throw gwError('GW_ERR_CONTROL_NOT_FOUND', String(cid));
      const { ok, step, message } = req.body;
      // Answering again (a retry after a lost response) leaves the first answer in place.
      return (
        (await ctx.controls.recordResult(run, cid, ok, step ?? null, message ?? null)) ?? ctx.store.controls.get(cid)
      );
    },
  );
}
