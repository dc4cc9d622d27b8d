// Routes: 2-D projections of a run's latent codes and their class separation (GET /runs/:id/projections).
import type { FastifyInstance } from 'fastify';
import {
  ProjectionQuery,
  RunParams,
  gwError,
  type LatentSeparation,
  type Projection,
  type ProjectionList,
} from '../../protocol/index.js';
import type { ProjectionRecord, SeparationRecord } from '../../db/store.js';
import type { ServerContext } from '../context.js';
import { projectionsOf } from '../projections/service.js';
import { requireRun } from './runs.js';

function separationOut(rec: SeparationRecord | null): LatentSeparation | null {
  if (!rec) return null;
  return {
    status: rec.status,
    silhouette: rec.silhouette,
    fisher: rec.fisher,
    step: rec.step,
    ...(rec.reason ? { reason: rec.reason } : {}),
  };
}

function subsampleOf(rec: Pick<ProjectionRecord, 'sourceCount' | 'count' | 'stratified'>): Projection['subsampled'] {
  return rec.count < rec.sourceCount ? { from: rec.sourceCount, to: rec.count, stratified: rec.stratified } : null;
}

function projectionOut(rec: ProjectionRecord, separation: SeparationRecord | null): Projection {
  let points: Projection['points'] = null;
  if (rec.status === 'ready' && rec.xy) {
    points = new Array(rec.xy.length / 2);
    for (let i = 0; i < points.length; i++) points[i] = [rec.xy[2 * i]!, rec.xy[2 * i + 1]!];
  }
  const { aligned, ...params } = rec.params;
  return {
    epoch: rec.epoch,
    method: rec.method,
    status: rec.status,
    points,
    labels: rec.status === 'ready' && rec.labels ? Array.from(rec.labels) : null,
    indices: rec.status === 'ready' && rec.indices ? Array.from(rec.indices) : null,
    count: rec.count,
    subsampled: subsampleOf(rec),
    ms: rec.ms === null ? null : Math.round(rec.ms),
    ...(rec.error ? { error: rec.error } : {}),
    aligned: (aligned as Projection['aligned']) ?? null,
    params,
    separation: separationOut(separation),
  };
}

export async function projectionRoutes(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  const service = projectionsOf(ctx);
  app.addHook('onClose', async () => service.close());

  app.get<{ Params: RunParams; Querystring: ProjectionQuery }>(
    '/runs/:id/projections',
    { schema: { params: RunParams, querystring: ProjectionQuery } },
    async (req, reply) => {
      const run = await requireRun(ctx, req.params.id);
      const { epoch, method } = req.query;
      if (epoch === undefined && method === undefined) {
        const separations = new Map((await ctx.store.projections.separations(run.rid)).map((s) => [s.epoch, s]));
        const list: ProjectionList = {
          epochs: (await ctx.store.latents.list(run.rid)).map((s) => ({
            epoch: s.epoch,
            count: s.count,
            labelled: s.labelled,
            separation: separationOut(separations.get(s.epoch) ?? null),
          })),
          projections: (await ctx.store.projections.list(run.rid)).map((p) => ({
            epoch: p.epoch,
            method: p.method,
            status: p.status,
            count: p.count,
            subsampled: subsampleOf(p),
            ms: p.ms === null ? null : Math.round(p.ms),
            ...(p.error ? { error: p.error } : {}),
          })),
          eager: [...service.eager],
          limits: service.methods.limits,
        };
        return list;
      }
      // The registry refuses a name it does not hold (GW_ERR_PROJECTION_METHOD, naming the registered methods).
      const name = service.methods.get(method ?? 'tsne').name;
      let at = epoch;
      if (at === undefined) {
        const sets = await ctx.store.latents.list(run.rid);
        if (sets.length === 0) throw gwError('GW_ERR_NO_LATENTS');
        at = sets[sets.length - 1]!.epoch;
      }
      const rec = await service.request(run, at, name);
      const body = projectionOut(rec, await ctx.store.projections.separation(run.rid, at));
      return reply.code(rec.status === 'pending' ? 202 : 200).send(body);
    },
  );
}
