// Routes: alerts (list, read, acknowledge, mute, apply the remedy), alert settings (server-wide and per run), markers.
import type { FastifyInstance } from 'fastify';
import {
  AlertConfig,
  AlertParams,
  AlertsQuery,
  MarkersQuery,
  MuteBody,
  RunParams,
  gwError,
  type Alert,
} from '../../protocol/index.js';
import type { AlertEngine } from '../alerts/engine.js';
import type { ServerContext } from '../context.js';
import { requireRun } from './runs.js';

export async function alertRoutes(app: FastifyInstance, ctx: ServerContext, engine: AlertEngine): Promise<void> {
  const requireAlert = async (id: number): Promise<Alert> => {
    const alert = await ctx.store.alerts.get(id);
    if (!alert) throw gwError('GW_ERR_ALERT_NOT_FOUND', String(id));
    return alert;
  };
  const publish = (alert: Alert): Alert => {
    ctx.hub.publish(alert.run, { type: 'alert', run: alert.run, alert });
    return alert;
  };

  app.get<{ Querystring: AlertsQuery }>('/alerts', { schema: { querystring: AlertsQuery } }, async (req) => {
    const { run, ...rest } = req.query;
    const rid = run === undefined ? undefined : (await requireRun(ctx, run)).rid;
    return { alerts: await ctx.store.alerts.list({ ...rest, rid }) };
  });

  app.get('/alerts/rules', async () => ({ rules: await engine.rules() }));

  app.get('/alerts/config', async () => engine.serverConfig());

  app.put<{ Body: AlertConfig }>('/alerts/config', { schema: { body: AlertConfig } }, async (req) => {
    await engine.setServerConfig(req.body);
    return engine.serverConfig();
  });

  app.get<{ Params: AlertParams }>('/alerts/:id', { schema: { params: AlertParams } }, async (req) =>
    requireAlert(req.params.id),
  );

  app.post<{ Params: AlertParams }>('/alerts/:id/ack', { schema: { params: AlertParams } }, async (req) => {
    await requireAlert(req.params.id);
    return publish((await ctx.store.alerts.acknowledge(req.params.id))!);
  });

  app.post<{ Params: AlertParams; Body: MuteBody }>(
    '/alerts/:id/mute',
    { schema: { params: AlertParams, body: MuteBody } },
    async (req) => {
      await requireAlert(req.params.id);
      return publish((await ctx.store.alerts.setMuted(req.params.id, req.body.muted))!);
    },
  );

  app.post<{ Params: AlertParams }>('/alerts/:id/apply', { schema: { params: AlertParams } }, async (req, reply) => {
    const alert = await engine.apply(req.params.id, 'user');
    return reply.code(201).send({ alert, control: alert.control });
  });

  app.get<{ Params: RunParams; Querystring: Omit<AlertsQuery, 'run'> }>(
    '/runs/:id/alerts',
    { schema: { params: RunParams, querystring: AlertsQuery } },
    async (req) => {
      const run = await requireRun(ctx, req.params.id);
      return { alerts: await ctx.store.alerts.list({ ...req.query, rid: run.rid }) };
    },
  );

  app.get<{ Params: RunParams }>('/runs/:id/alerts/config', { schema: { params: RunParams } }, async (req) => {
    return engine.runConfig(await requireRun(ctx, req.params.id));
  });

  app.put<{ Params: RunParams; Body: AlertConfig }>(
    '/runs/:id/alerts/config',
    { schema: { params: RunParams, body: AlertConfig } },
    async (req) => {
      const run = await requireRun(ctx, req.params.id);
      await engine.setRunConfig(run, req.body);
      return engine.runConfig(run);
    },
  );

  app.get<{ Params: RunParams; Querystring: MarkersQuery }>(
    '/runs/:id/markers',
    { schema: { params: RunParams, querystring: MarkersQuery } },
    async (req) => ({
      markers: await ctx.store.markers.list((await requireRun(ctx, req.params.id)).rid, req.query.metric),
    }),
  );
}
