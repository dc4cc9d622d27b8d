// Sample images and latent codes: checked when they are given, stored in the spool, and uploaded over HTTP one at a
// time, oldest first, to the server in use, retried with backoff until the server stores or refuses them.
import {
  API_PREFIX,
  MAX_BODY_BYTES,
  MAX_LATENT_CODES,
  MAX_LATENT_DIM,
  MAX_LATENT_LABEL,
  MAX_MEDIA_BYTES,
  MAX_MEDIA_META_CHARS,
  MEDIA_KIND_PATTERN,
  gwError,
} from '../../protocol/index.js';
import { backoffDelay, type Sleeper } from './backoff.js';
import { authHeaders, describeFetchFailure, describeHttpError, serverError } from './http.js';
import { isCount } from './points.js';
import type { Reporter } from './report.js';
import type { ServerList } from './servers.js';
import type { SpoolGuard } from './spool-guard.js';
import type { NewUpload, SpooledUpload } from './spool.js';

const HTTP_TIMEOUT_MS = 60_000;
const MEDIA_KIND = new RegExp(MEDIA_KIND_PATTERN);
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export interface PreparedUpload {
  upload: NewUpload;
  payload: Buffer | string;
}

/** A PNG sample grid as an upload; throws GW_ERR_MONITOR_INPUT for what the server would refuse. */
export function mediaUpload(
  epoch: number,
  step: number,
  kind: string,
  png: Uint8Array,
  meta?: Record<string, unknown>,
): PreparedUpload {
  if (!isCount(epoch) || !isCount(step))
    throw gwError('GW_ERR_MONITOR_INPUT', 'media epoch and step must be non-negative integers');
  if (!MEDIA_KIND.test(kind))
    throw gwError('GW_ERR_MONITOR_INPUT', `media kind '${kind}' must match ${MEDIA_KIND.source}`);
  const bytes = Buffer.from(png.buffer, png.byteOffset, png.byteLength);
  if (bytes.length < 8 || !bytes.subarray(0, 8).equals(PNG_SIGNATURE)) {
    throw gwError('GW_ERR_MONITOR_INPUT', 'media must be PNG bytes (they must start with the PNG signature)');
  }
  if (bytes.length > MAX_MEDIA_BYTES) {
    throw gwError('GW_ERR_MONITOR_INPUT', `PNG of ${bytes.length} bytes exceeds the ${MAX_MEDIA_BYTES}-byte limit`);
  }
  if (meta === undefined) return { upload: { kind: 'media', epoch, step, mediaKind: kind }, payload: bytes };
  const metaText = JSON.stringify(meta);
  if (metaText.length > MAX_MEDIA_META_CHARS) {
    const limit = MAX_MEDIA_META_CHARS.toLocaleString('en-US');
    throw gwError('GW_ERR_MONITOR_INPUT', `media meta exceeds ${limit} characters of JSON`);
  }
  return { upload: { kind: 'media', epoch, step, mediaKind: kind, meta: metaText }, payload: bytes };
}

/** Rows of `dim` numbers, from rows or from a flat Float32Array of rows × dim values. */
function latentRows(dim: number, codes: Float32Array | number[][]): number[][] {
  if (!(codes instanceof Float32Array)) return codes;
  if (codes.length % dim !== 0)
    throw gwError('GW_ERR_MONITOR_INPUT', `${codes.length} values do not split into rows of ${dim}`);
  const rows: number[][] = [];
  // 9 significant digits give back the same float32, in about half the JSON of a full double.
  for (let r = 0; r < codes.length / dim; r++) {
    const row = new Array<number>(dim);
    for (let c = 0; c < dim; c++) row[c] = Number((codes[r * dim + c] as number).toPrecision(9));
    rows.push(row);
  }
  return rows;
}

function checkLabels(labels: ArrayLike<number> | undefined, count: number): number[] | undefined {
  if (labels === undefined) return undefined;
  const list = Array.from(labels);
  if (list.length !== count) throw gwError('GW_ERR_MONITOR_INPUT', `${list.length} labels for ${count} latent codes`);
  if (!list.every((l) => Number.isInteger(l) && l >= 0 && l <= MAX_LATENT_LABEL)) {
    throw gwError('GW_ERR_MONITOR_INPUT', `latent labels must be integers in [0, ${MAX_LATENT_LABEL}]`);
  }
  return list;
}

/** Latent codes (and their class labels) as an upload; throws GW_ERR_MONITOR_INPUT for what the server would refuse. */
export function latentsUpload(
  epoch: number,
  step: number | undefined,
  dim: number,
  codes: Float32Array | number[][],
  labels?: ArrayLike<number>,
): PreparedUpload {
  if (!isCount(epoch) || (step !== undefined && !isCount(step))) {
    throw gwError('GW_ERR_MONITOR_INPUT', 'latents epoch and step must be non-negative integers');
  }
  if (!Number.isInteger(dim) || dim < 1 || dim > MAX_LATENT_DIM) {
    throw gwError('GW_ERR_MONITOR_INPUT', `latent dim must be an integer in [1, ${MAX_LATENT_DIM}], got ${dim}`);
  }
  const rows = latentRows(dim, codes);
  if (rows.length < 1 || rows.length > MAX_LATENT_CODES) {
    throw gwError('GW_ERR_MONITOR_INPUT', `latent code count must be in [1, ${MAX_LATENT_CODES}], got ${rows.length}`);
  }
  for (const [i, row] of rows.entries()) {
    if (row.length !== dim)
      throw gwError('GW_ERR_MONITOR_INPUT', `latent code ${i} has ${row.length} values, expected ${dim}`);
    for (const v of row) {
      if (typeof v !== 'number' || !Number.isFinite(v))
        throw gwError('GW_ERR_MONITOR_INPUT', `latent code ${i} holds a non-finite value`);
    }
  }
  const labelList = checkLabels(labels, rows.length);
  const body = JSON.stringify({
    epoch,
    ...(step === undefined ? {} : { step }),
    dim,
    codes: rows,
    ...(labelList ? { labels: labelList } : {}),
  });
  if (body.length > MAX_BODY_BYTES) {
    throw gwError(
      'GW_ERR_MONITOR_INPUT',
      `latents body of ${body.length} bytes exceeds ${MAX_BODY_BYTES}; subsample the codes`,
    );
  }
  const upload: NewUpload =
    step === undefined
      ? { kind: 'latents', epoch, count: rows.length }
      : { kind: 'latents', epoch, step, count: rows.length };
  return { upload, payload: body };
}

type Outcome = 'ok' | 'retry' | { code: string; message: string };

export interface UploaderParts {
  spool: SpoolGuard;
  servers: ServerList;
  token: string | undefined;
  reporter: Reporter;
  sleeper: Sleeper;
  /** Called after each upload is settled (stored or refused). */
  settled: () => void;
}

export class Uploader {
  private running = false;
  private stopped = false;
  private inFlight: AbortController | null = null;

  constructor(private readonly parts: UploaderParts) {}

  /** Uploads what the spool holds, unless already doing so; ends when nothing is left. */
  start(): void {
    void this.loop();
  }

  /** Abandons the request in flight (the server changed); the loop tries again. */
  abort(): void {
    this.inFlight?.abort();
  }

  stop(): void {
    this.stopped = true;
    this.abort();
  }

  private async loop(): Promise<void> {
    if (this.running || this.stopped) return;
    this.running = true;
    const { spool, reporter, sleeper } = this.parts;
    let attempt = 0;
    try {
      while (!this.stopped) {
        const upload = spool.spool.pendingUploads()[0];
        if (!upload) break;
        const run = spool.spool.run.server;
        if (run === null) return; // the run exists only offline: started again once it is created on the server
        const outcome = await this.send(run, upload);
        if (this.stopped) break;
        if (outcome === 'retry') {
          attempt++;
          await sleeper.sleep(backoffDelay(attempt));
          continue;
        }
        attempt = 0;
        if (outcome === 'ok') {
          spool.uploadStored(upload);
        } else {
          spool.uploadRejected(upload, outcome.code, outcome.message);
          reporter.report(
            serverError(outcome.code, `${upload.kind} upload (epoch ${upload.epoch}): ${outcome.message}`),
          );
        }
        this.parts.settled();
      }
    } finally {
      this.running = false;
    }
  }

  private async send(run: string, upload: SpooledUpload): Promise<Outcome> {
    const { spool, servers, token, reporter } = this.parts;
    let payload: Buffer;
    try {
      payload = spool.spool.readUploadPayload(upload);
    } catch (err) {
      return { code: 'GW_ERR_SPOOL', message: `payload file lost: ${(err as Error).message}` };
    }
    const server = servers.current;
    const base = `${server}${API_PREFIX}/runs/${encodeURIComponent(run)}`;
    let url: string;
    let contentType: string;
    if (upload.kind === 'media') {
      const q = new URLSearchParams({ epoch: String(upload.epoch), step: String(upload.step), kind: upload.mediaKind });
      if (upload.meta !== undefined) q.set('meta', upload.meta);
      url = `${base}/media?${q.toString()}`;
      contentType = 'image/png';
    } else {
      url = `${base}/latents`;
      contentType = 'application/json';
    }
    const abort = new AbortController();
    this.inFlight = abort;
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': contentType, ...authHeaders(token) },
        body: new Uint8Array(payload),
        signal: AbortSignal.any([abort.signal, AbortSignal.timeout(HTTP_TIMEOUT_MS)]),
      });
    } catch (err) {
      if (!abort.signal.aborted) {
        reporter.connection(
          gwError('GW_ERR_SERVER', server, `${describeFetchFailure(err)} while uploading ${upload.kind}`),
        );
      }
      return 'retry';
    } finally {
      if (this.inFlight === abort) this.inFlight = null;
    }
    if (res.ok) {
      await res.arrayBuffer().catch(() => undefined);
      return 'ok';
    }
    const { code, detail } = await describeHttpError(res);
    if (res.status >= 500 || res.status === 401 || res.status === 408 || res.status === 429) {
      // May succeed later (server trouble, or a token the user will fix): keep it queued.
      reporter.connection(gwError('GW_ERR_SERVER', server, `${upload.kind} upload: ${detail}`));
      return 'retry';
    }
    return { code: code ?? 'GW_ERR_SERVER', message: detail };
  }
}
