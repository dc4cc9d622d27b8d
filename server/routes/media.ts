// Routes: PNG media (sample grids) and latent codes, per run and validation epoch.
import type { FastifyInstance } from 'fastify';
import {
  API_PREFIX,
  LatentEpochParams,
  LatentsBody,
  MAX_MEDIA_BYTES,
  MediaListQuery,
  MediaParams,
  MediaQuery,
  RunParams,
  gwError,
} from '../../protocol/index.js';
import type { ServerContext } from '../context.js';
import { projectionsOf } from '../projections/service.js';
import { requireRun } from './runs.js';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

const mediaUrl = (run: string, id: number): string => `${API_PREFIX}/runs/${run}/media/${id}`;

function parseMeta(text: string | undefined): Record<string, unknown> {
  if (text === undefined) return {};
  let meta: unknown;
  try {
    meta = JSON.parse(text);
  } catch {
    throw gwError('GW_ERR_VALIDATION', 'querystring/meta must be a JSON object');
  }
  if (meta === null || typeof meta !== 'object' || Array.isArray(meta))
    throw gwError('GW_ERR_VALIDATION', 'querystring/meta must be a JSON object');
  return meta as Record<string, unknown>;
}

export async function mediaRoutes(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  app.addContentTypeParser('image/png', { parseAs: 'buffer', bodyLimit: MAX_MEDIA_BYTES }, (_req, body, done) =>
    done(null, body),
  );

  app.post<{ Params: RunParams; Querystring: MediaQuery; Body: Buffer }>(
    '/runs/:id/media',
    { schema: { params: RunParams, querystring: MediaQuery }, bodyLimit: MAX_MEDIA_BYTES },
    async (req, reply) => {
      const run = await requireRun(ctx, req.params.id);
      const png = req.body;
      if (!Buffer.isBuffer(png))
        throw gwError('GW_ERR_UNSUPPORTED_MEDIA_TYPE', String(req.headers['content-type'] ?? 'none'));
      if (png.length < 8 || !png.subarray(0, 8).equals(PNG_SIGNATURE)) throw gwError('GW_ERR_NOT_PNG');
      const { epoch, step, kind = 'samples' } = req.query;
      const meta = parseMeta(req.query.meta);
      const id = await ctx.store.media.put(run.rid, { epoch, step, kind, meta, png });
      ctx.hub.publish(run.id, { type: 'media', run: run.id, id, epoch, step, kind });
      return reply.code(201).send({ id, epoch, step, kind, bytes: png.length, url: mediaUrl(run.id, id) });
    },
  );

  app.get<{ Params: RunParams; Querystring: MediaListQuery }>(
    '/runs/:id/media',
    { schema: { params: RunParams, querystring: MediaListQuery } },
    async (req) => {
      const run = await requireRun(ctx, req.params.id);
      const items = (await ctx.store.media.list(run.rid, req.query)).map((m) => ({
        ...m,
        url: mediaUrl(run.id, m.id),
      }));
      return { media: items };
    },
  );

  app.get<{ Params: MediaParams }>(
    '/runs/:id/media/:mediaId',
    { schema: { params: MediaParams } },
    async (req, reply) => {
      const run = await requireRun(ctx, req.params.id);
      const bytes = await ctx.store.media.bytes(run.rid, req.params.mediaId);
      if (!bytes) throw gwError('GW_ERR_MEDIA_NOT_FOUND', String(req.params.mediaId));
      return reply.type('image/png').header('cache-control', 'no-cache').send(bytes);
    },
  );

  app.post<{ Params: RunParams; Body: LatentsBody }>(
    '/runs/:id/latents',
    { schema: { params: RunParams, body: LatentsBody } },
    async (req, reply) => {
      const run = await requireRun(ctx, req.params.id);
      const { epoch, step, dim, codes, labels } = req.body;
      const flat = new Float32Array(codes.length * dim);
      codes.forEach((code, i) => {
        if (code.length !== dim)
          throw gwError('GW_ERR_LATENT_SHAPE', `codes[${i}] has ${code.length} values, dim is ${dim}`);
        flat.set(code, i * dim);
      });
      if (labels && labels.length !== codes.length)
        throw gwError('GW_ERR_LATENT_SHAPE', `${labels.length} labels for ${codes.length} codes`);
      await ctx.store.latents.put(run.rid, {
        epoch,
        step: step ?? null,
        dim,
        codes: flat,
        labels: labels ? Int32Array.from(labels) : null,
      });
      ctx.hub.publish(run.id, { type: 'latents', run: run.id, epoch });
      // Separation figures and projections are computed off the request path, in the projection worker.
      await projectionsOf(ctx).latentsStored(run, {
        epoch,
        step: step ?? null,
        count: codes.length,
        labelled: labels !== undefined,
      });
      return reply.code(201).send({ epoch, count: codes.length, dim });
    },
  );

  app.get<{ Params: RunParams }>('/runs/:id/latents', { schema: { params: RunParams } }, async (req) => {
    const run = await requireRun(ctx, req.params.id);
    return { epochs: await ctx.store.latents.list(run.rid) };
  });

  app.get<{ Params: LatentEpochParams }>(
    '/runs/:id/latents/:epoch',
    { schema: { params: LatentEpochParams } },
    async (req) => {
      const run = await requireRun(ctx, req.params.id);
      const rec = await ctx.store.latents.get(run.rid, req.params.epoch);
      if (!rec) throw gwError('GW_ERR_LATENTS_NOT_FOUND', String(req.params.epoch));
      const codes: number[][] = [];
      for (let i = 0; i < rec.count; i++) codes.push(Array.from(rec.codes.subarray(i * rec.dim, (i + 1) * rec.dim)));
      return {
        epoch: rec.epoch,
        step: rec.step,
        dim: rec.dim,
        count: rec.count,
        codes,
        labels: rec.labels ? Array.from(rec.labels) : null,
        created_at: rec.created_at,
      };
    },
  );
}
