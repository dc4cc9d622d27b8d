// Route: health and a few counters, for load balancers, docker health checks and people.
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';

export const VERSION = '0.1.0';

export async function healthRoutes(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  app.get('/health', async () => ({
    status: 'ok',
    version: VERSION,
    uptime_s: Math.round((Date.now() - ctx.startedAt) / 1000),
    trainers_connected: ctx.trainers.count,
    live_subscribers: ctx.hub.size,
  }));
}
