// Turns every error a request can meet into the registry's code, status and message; no stack traces reach users.
import type { FastifyError, FastifyInstance } from 'fastify';
import { GanwatchError, MAX_BODY_BYTES, gwError, isGanwatchError } from '../protocol/index.js';
import { describeAjvError } from './validation.js';

/** Maps Fastify's own errors (body parsing, limits, validation) onto registry codes. */
export function toGanwatchError(err: FastifyError): GanwatchError {
  if (isGanwatchError(err)) return err;
  if (err.validation)
    return gwError('GW_ERR_VALIDATION', describeAjvError(err.validationContext ?? 'request', err.validation as never));
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return gwError('GW_ERR_BODY_TOO_LARGE', String(MAX_BODY_BYTES));
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return gwError('GW_ERR_UNSUPPORTED_MEDIA_TYPE', err.message.replace(/^.*?: /, ''));
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return gwError('GW_ERR_BAD_JSON', 'the body is empty');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return gwError('GW_ERR_BAD_JSON', err.message);
  }
  if (err instanceof SyntaxError) return gwError('GW_ERR_BAD_JSON', err.message);
  if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
    return new GanwatchError('GW_ERR_VALIDATION', `Invalid request: ${err.message}`, err.statusCode);
  }
  return gwError('GW_ERR_INTERNAL');
}

export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    const gw = toGanwatchError(err);
    if (gw.status >= 500) req.log.error({ err }, 'request failed');
    return reply.code(gw.status).send({ statusCode: gw.status, code: gw.code, message: gw.message });
  });
  app.setNotFoundHandler((req, reply) => {
    const gw = gwError('GW_ERR_ROUTE_NOT_FOUND', req.method, req.url.split('?')[0] ?? '');
    return reply.code(404).send({ statusCode: 404, code: gw.code, message: gw.message });
  });
}
