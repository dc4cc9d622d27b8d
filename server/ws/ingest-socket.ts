// The trainer's socket: points and distributions in (acked after commit), status changes, control results; controls out.
import type { FastifyInstance } from 'fastify';
import type { WebSocket, RawData } from 'ws';
import { Type, type Static } from 'typebox';
import {
  IngestClientFrame,
  MAX_BODY_BYTES,
  RunId,
  type IngestServerFrame,
  gwError,
  isGanwatchError,
  type GanwatchError,
} from '../../protocol/index.js';
import type { RunRef } from '../../db/store.js';
import type { ServerContext } from '../context.js';
import { trainerConnected, trainerGone } from '../services/gaps.js';
import { FrameRateLimiter } from '../security.js';
import { compileFrame } from '../validation.js';

export interface IngestSocketOptions {
  /** Frames per minute per socket (0: no limit); a frame over the limit gets GW_ERR_RATE_LIMITED and is resent later. */
  frameRateLimit?: number;
}

const IngestQuery = Type.Object(
  { run: RunId, token: Type.Optional(Type.String({ maxLength: 1000 })) },
  { additionalProperties: false },
);
type IngestQuery = Static<typeof IngestQuery>;

const checkFrame = compileFrame<IngestClientFrame>(IngestClientFrame);

function send(socket: WebSocket, frame: IngestServerFrame): void {
  if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(frame));
}

function errorFrame(seq: number | null, err: GanwatchError): IngestServerFrame {
  return { type: 'error', seq, code: err.code, message: err.message };
}

/** The seq of a frame that failed validation, when it has a usable one, so the client can match the error. */
function seqOf(data: unknown): number | null {
  const seq = (data as { seq?: unknown } | null)?.seq;
  return typeof seq === 'number' && Number.isInteger(seq) && seq >= 0 ? seq : null;
}

export async function ingestSocket(
  app: FastifyInstance,
  ctx: ServerContext,
  options: IngestSocketOptions = {},
): Promise<void> {
  // The run each handshake's preHandler found, handed to the socket handler (which must attach its listeners at once).
  const runs = new WeakMap<object, RunRef>();
  app.get<{ Querystring: IngestQuery }>(
    '/ingest',
    {
      websocket: true,
      config: { access: 'write' },
      schema: { querystring: IngestQuery },
      preHandler: async (req) => {
        const ref = await ctx.store.runs.ref(req.query.run);
        if (!ref) throw gwError('GW_ERR_RUN_NOT_FOUND', req.query.run);
        runs.set(req, ref);
      },
    },
    (socket, req) => {
      const run = runs.get(req)!;
      runs.delete(req);
      ctx.trainers.attach(run.id, socket);
      // Everything this socket asks of the store happens in arrival order, one thing at a time: acks go out in the
      // order the frames came, and a status frame lands after the points sent before it.
      let queue: Promise<void> = Promise.resolve();
      const then = (work: () => Promise<void>): void => {
        queue = queue.then(work).catch((err: unknown) => failed(ctx, socket, err));
      };
      then(async () => {
        await trainerConnected(ctx, run);
        await ctx.controls.deliverPending(run);
      });

      const limiter = new FrameRateLimiter(options.frameRateLimit ?? 0);
      socket.on('message', (data: RawData, isBinary: boolean) => {
        if (!limiter.take())
          return send(socket, errorFrame(isBinary ? null : seqOfText(data), gwError('GW_ERR_RATE_LIMITED')));
        const frame = parseFrame(socket, data, isBinary);
        if (frame) then(() => handleFrame(ctx, run, socket, frame));
      });
      socket.on('close', () => then(() => trainerGone(ctx, run, socket)));
      socket.on('error', () => socket.terminate());
    },
  );
}

/** A failure of the store while handling a frame: the trainer is told (it keeps the batch and resends it), the log says why. */
function failed(ctx: ServerContext, socket: WebSocket, err: unknown, seq: number | null = null): void {
  ctx.log('ingest socket: handling a frame failed', err);
  send(socket, errorFrame(seq, isGanwatchError(err) ? err : gwError('GW_ERR_INTERNAL')));
}

/** The seq of a frame refused before parsing (rate limit), read cheaply from its start, so the client resends it. */
function seqOfText(data: RawData): number | null {
  const buf = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
  const head = buf.subarray(0, 200).toString();
  const m = /"seq"\s*:\s*(\d{1,15})[,}\s]/.exec(head);
  return m ? Number(m[1]) : null;
}

/** A frame checked against the protocol, or null after an error frame saying why it is refused. */
function parseFrame(socket: WebSocket, data: RawData, isBinary: boolean): IngestClientFrame | null {
  const refuse = (seq: number | null, err: GanwatchError): null => {
    send(socket, errorFrame(seq, err));
    return null;
  };
  if (isBinary) return refuse(null, gwError('GW_ERR_FRAME_BINARY'));
  const text = data.toString();
  if (Buffer.byteLength(text) > MAX_BODY_BYTES)
    return refuse(null, gwError('GW_ERR_FRAME_TOO_LARGE', String(MAX_BODY_BYTES)));
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return refuse(null, gwError('GW_ERR_FRAME_NOT_JSON', (err as Error).message));
  }
  const check = checkFrame(parsed);
  if (!check.ok) return refuse(seqOf(parsed), gwError('GW_ERR_FRAME_INVALID', check.message));
  return check.value;
}

async function handleFrame(
  ctx: ServerContext,
  run: RunRef,
  socket: WebSocket,
  frame: IngestClientFrame,
): Promise<void> {
  const seq = 'seq' in frame ? frame.seq : null;
  try {
    if (!(await ctx.store.runs.ref(run.id))) throw gwError('GW_ERR_RUN_NOT_FOUND', run.id);
    switch (frame.type) {
      case 'points':
        // Acked as soon as the batch is committed; live pushes and detectors follow.
        await ctx.ingest.write(run, frame.points, (accepted) =>
          send(socket, { type: 'ack', seq: frame.seq, accepted }),
        );
        return;
      case 'distributions':
        await ctx.ingest.writeDistributions(run, frame.distributions, (accepted) =>
          send(socket, { type: 'ack', seq: frame.seq, accepted }),
        );
        return;
      case 'status':
        await ctx.setStatus(run, frame.status);
        return send(socket, { type: 'ack', seq: frame.seq, accepted: 0 });
      case 'control_result':
        await ctx.controls.recordResult(run, frame.id, frame.ok, frame.step ?? null, frame.message ?? null);
        return;
    }
  } catch (err) {
    if (!isGanwatchError(err)) return failed(ctx, socket, err, seq);
    send(socket, errorFrame(seq, err));
    if (err.code === 'GW_ERR_RUN_NOT_FOUND') socket.close(1008, 'run deleted');
  }
}
