// The browser's socket: subscribe to runs and receive their points, status changes, controls and alerts as they happen.
import type { FastifyInstance } from 'fastify';
import type { RawData } from 'ws';
import { LiveClientFrame, gwError, type GanwatchError, type LiveServerFrame } from '../../protocol/index.js';
import type { ServerContext } from '../context.js';
import { compileFrame } from '../validation.js';

const checkFrame = compileFrame<LiveClientFrame>(LiveClientFrame);
const MAX_LIVE_FRAME = 64 * 1024;

export async function liveSocket(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  app.get('/live', { websocket: true, config: { access: 'read' } }, (socket) => {
    const reply = (frame: LiveServerFrame): void => {
      if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(frame));
    };
    const fail = (err: GanwatchError): void => reply({ type: 'error', code: err.code, message: err.message });
    socket.on('message', (data: RawData, isBinary: boolean) => {
      if (isBinary) return fail(gwError('GW_ERR_FRAME_BINARY'));
      const text = data.toString();
      if (text.length > MAX_LIVE_FRAME) return fail(gwError('GW_ERR_FRAME_TOO_LARGE', String(MAX_LIVE_FRAME)));
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch (err) {
        return fail(gwError('GW_ERR_FRAME_NOT_JSON', (err as Error).message));
      }
      const check = checkFrame(parsed);
      if (!check.ok) return fail(gwError('GW_ERR_FRAME_INVALID', check.message));
      if (check.value.type === 'subscribe') ctx.hub.subscribe(socket, check.value.runs);
      else ctx.hub.unsubscribe(socket, check.value.runs);
      reply({ type: 'subscribed', runs: check.value.runs });
    });
    socket.on('close', () => ctx.hub.unsubscribe(socket));
    socket.on('error', () => socket.terminate());
  });
}
