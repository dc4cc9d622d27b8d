// Builds the Fastify application: validation, auth, error handling, the v1 routes, both sockets and the dashboard files.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import fastifyWebsocket from '@fastify/websocket';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { API_PREFIX, MAX_BODY_BYTES, gwError } from '../protocol/index.js';
import type { Store } from '../db/store.js';
import { allowed, tokenOf, type Access, type TokenConfig } from './auth.js';
import { DETECTOR_FACTORIES } from './alerts/registry.js';
import type { DetectorFactory } from './alerts/types.js';
import { createContext, type ServerContext } from './context.js';
import { installErrorHandlers } from './errors.js';
import { alertRoutes } from './routes/alerts.js';
import { controlRoutes } from './routes/controls.js';
import { healthRoutes } from './routes/health.js';
import { mediaRoutes } from './routes/media.js';
import { pointRoutes } from './routes/points.js';
import { distributionRoutes } from './routes/distributions.js';
import { projectionRoutes } from './routes/projections.js';
import { runRoutes } from './routes/runs.js';
import { userRuleRoutes } from './routes/user-rules.js';
import { DEFAULT_RATE_LIMIT, installJsonParser, registerSecurity } from './security.js';
import { tokenPage, wantsTokenPage } from './token-page.js';
import { bodyAjv, compileText } from './validation.js';
import { ingestSocket } from './ws/ingest-socket.js';
import { liveSocket } from './ws/live-socket.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Which token a route needs; by default GET/HEAD read and everything else writes. */
    access?: Access;
  }
}

export interface AppOptions extends TokenConfig {
  store: Store;
  logger?: FastifyServerOptions['logger'];
  /** Alert rules to run (default: every registered detector). */
  detectors?: readonly DetectorFactory[];
  webhooks?: readonly string[];
  /** Base URL for links in alert messages. */
  publicUrl?: string;
  /** Origins allowed to call the API cross-origin (default none: no CORS). */
  corsOrigins?: readonly string[];
  /** Writes per minute per client (HTTP per IP, ingest frames per socket); 0: no limit. Default 6000. */
  rateLimit?: number;
  /** Client addresses from X-Forwarded-For (behind a reverse proxy). */
  trustProxy?: boolean;
  /** How long after its last answered control poll an HTTP trainer still counts as connected (ms). Default 10 s. */
  trainerTimeoutMs?: number;
}

const WEB_ROOT = fileURLToPath(new URL('../web/', import.meta.url));

export async function buildApp(options: AppOptions): Promise<{ app: FastifyInstance; ctx: ServerContext }> {
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: MAX_BODY_BYTES,
    // A frame or request body must never be able to poison prototypes.
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    return503OnClosing: true,
    trustProxy: options.trustProxy ?? false,
  });
  const ctx = createContext(
    options.store,
    { token: options.token, readToken: options.readToken },
    {
      detectors: options.detectors ?? DETECTOR_FACTORIES,
      webhooks: options.webhooks ?? [],
      publicUrl: options.publicUrl ?? 'http://127.0.0.1:8080',
      log: (msg, err) => app.log.error({ err }, msg),
    },
  );
  app.addHook('onClose', async () => ctx.webhooks.close());

  app.setValidatorCompiler(({ schema, httpPart }) =>
    httpPart === 'body' ? bodyAjv.compile(schema) : compileText(schema),
  );
  installErrorHandlers(app);
  installJsonParser(app);

  // Before the token check: CORS preflights carry no credentials and must be answered first.
  const rateLimit = options.rateLimit ?? DEFAULT_RATE_LIMIT;
  // The built dashboard when there is one, else the placeholder page.
  const webRoot = existsSync(WEB_ROOT + 'dist/index.html') ? WEB_ROOT + 'dist/' : WEB_ROOT + 'static/';
  await registerSecurity(app, {
    corsOrigins: options.corsOrigins ?? [],
    rateLimit,
    dashboardIndex: webRoot + 'index.html',
  });

  app.addHook('onRequest', async (req, reply) => {
    if (req.method === 'OPTIONS') return;
    const access: Access =
      req.routeOptions.config?.access ?? (req.method === 'GET' || req.method === 'HEAD' ? 'read' : 'write');
    const given = tokenOf(req);
    if (allowed(ctx.tokens, access, given)) return;
    // A person opening the dashboard gets a form asking for the token; everything else gets the JSON error.
    if (wantsTokenPage(req))
      return reply
        .code(401)
        .type('text/html; charset=utf-8')
        .send(tokenPage(given !== null));
    throw gwError('GW_ERR_UNAUTHORIZED', access === 'write' ? 'writing' : 'reading');
  });

  // A refused WebSocket handshake (401, 404, 400) leaves a raw socket that no HTTP machinery owns; close it, or it
  // lingers and holds up shutdown.
  app.addHook('onResponse', async (req, reply) => {
    if (req.headers.upgrade && reply.statusCode !== 101 && !req.raw.socket.destroyed) req.raw.socket.end();
  });

  await app.register(fastifyWebsocket, {
    options: { maxPayload: MAX_BODY_BYTES * 2 },
    // A client breaking the WebSocket protocol (invalid UTF-8, oversized frame) is the client's error: ws has already
    // closed with the right code (1007, 1009); note it quietly instead of logging a server error.
    errorHandler: (error, socket, req) => {
      const code = (error as Error & { code?: string }).code;
      if (typeof code === 'string' && code.startsWith('WS_ERR_')) req.log.info({ code }, error.message);
      else req.log.error({ err: error }, 'websocket handler failed');
      socket.terminate();
    },
  });
  await app.register(
    async (api) => {
      await runRoutes(api, ctx);
      await pointRoutes(api, ctx);
      await distributionRoutes(api, ctx);
      await mediaRoutes(api, ctx);
      await projectionRoutes(api, ctx);
      await controlRoutes(api, ctx, { trainerTimeoutMs: options.trainerTimeoutMs });
      await alertRoutes(api, ctx, ctx.alerts);
      await userRuleRoutes(api, ctx);
      await healthRoutes(api, ctx);
      await ingestSocket(api, ctx, { frameRateLimit: rateLimit });
      await liveSocket(api, ctx);
    },
    { prefix: API_PREFIX },
  );

  await app.register(fastifyStatic, { root: webRoot, prefix: '/', index: ['index.html'] });

  return { app, ctx };
}
