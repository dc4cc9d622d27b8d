// The projection service: when a latent set is stored it queues the class-separation figures and the eager
// projections (t-SNE and PCA; UMAP on first request) of that epoch, runs them one at a time in a single worker
// thread (the machine has 2 cores: the event loop keeps the other), caches the results in the database, writes
// val/latent_silhouette and val/latent_fisher as points of the run, and announces ready projections on the live
// socket. Jobs run in arrival order, so an epoch's t-SNE can start from the previous epoch's layout (never from one
// whose codes collapsed); one a user is waiting for (requested, never computed) jumps the queue. Pending work
// survives a restart: it is in the database.
import { Worker } from 'node:worker_threads';
import { encodeValue, gwError } from '../../protocol/index.js';
import type { ProjectionRecord, RunRef, Store } from '../../db/store.js';
import type { LiveHub } from '../services/live-hub.js';
import type { IngestService } from '../services/ingest.js';
import type { PreviousProjection } from './compute.js';
import { continuityOf } from './continuity.js';
import type { JobReply, JobRequest } from './jobs.js';
import { PROJECTION_METHODS, type ProjectionMethods } from './methods/index.js';

/** Metric names of the separation figures, as written to the run. */
export const SILHOUETTE_METRIC = 'val/latent_silhouette';
export const FISHER_METRIC = 'val/latent_fisher';

/** A registered method's name, or the separation figures. */
type JobKind = string;

interface Job {
  rid: number;
  runId: string;
  epoch: number;
  kind: JobKind;
  /** The latent set's generation when queued; a newer POST of the epoch makes the job stale. */
  gen: number;
  urgent: boolean;
  seq: number;
}

export interface ProjectionServiceOptions {
  store: Store;
  hub: LiveHub;
  ingest: IngestService;
  /** The methods it computes (default every registered one): the worker thread knows only the registered ones. */
  methods?: ProjectionMethods;
  /** Methods computed as soon as a latent set arrives (default the methods' eager ones: t-SNE and PCA). */
  eager?: readonly string[];
  seed?: number;
  log?: (msg: string, err?: unknown) => void;
}

const key = (rid: number, epoch: number): string => `${rid}:${epoch}`;
const jobKey = (rid: number, epoch: number, kind: JobKind): string => `${rid}:${epoch}:${kind}`;

function startWorker(): Worker {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return new Worker(new URL('./worker.js', here));
  // Running from TypeScript sources (tsx): a worker does not inherit the loader, so register it first.
  const target = new URL('./worker.ts', here).href;
  const api = import.meta.resolve('tsx/esm/api');
  return new Worker(
    `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(target)}); });`,
    { eval: true },
  );
}

export class ProjectionService {
  readonly methods: ProjectionMethods;
  readonly eager: readonly string[];
  private readonly store: Store;
  private readonly hub: LiveHub;
  private readonly ingest: IngestService;
  private readonly seed: number;
  private readonly log: (msg: string, err?: unknown) => void;
  private readonly queue: Job[] = [];
  private readonly queued = new Set<string>();
  private readonly gens = new Map<string, number>();
  private running: Job | null = null;
  private worker: Worker | null = null;
  private nextId = 1;
  private seq = 0;
  private closed = false;

  constructor(options: ProjectionServiceOptions) {
    this.store = options.store;
    this.hub = options.hub;
    this.ingest = options.ingest;
    this.methods = options.methods ?? PROJECTION_METHODS;
    this.eager = options.eager ?? this.methods.eager;
    this.seed = options.seed ?? 1;
    this.log = options.log ?? ((msg, err) => console.error(`ganwatch projections: ${msg}`, err ?? ''));
    // Work left pending by a stop or crash.
    this.resumed = this.store.projections.pendingWork().then(
      (work) => {
        for (const w of work) this.enqueue({ rid: w.rid, id: w.runId }, w.epoch, w.kind, false);
      },
      (err) => this.log('reading pending work', err),
    );
  }

  /** Settles once the work a previous server left pending is queued again. */
  readonly resumed: Promise<void>;

  /** Called after a latent set is stored (or replaced): queues its separation figures and projections. */
  async latentsStored(
    run: Pick<RunRef, 'rid' | 'id'>,
    set: { epoch: number; step: number | null; count: number; labelled: boolean },
  ): Promise<void> {
    if (this.closed) return;
    const k = key(run.rid, set.epoch);
    this.gens.set(k, (this.gens.get(k) ?? 0) + 1);
    const step = set.step ?? (await this.store.runs.get(run.id))?.last_step ?? 0;
    await this.store.projections.markSeparationPending(run.rid, set.epoch, step);
    if (!set.labelled) {
      await this.store.projections.putSeparation(run.rid, set.epoch, {
        status: 'skipped',
        silhouette: null,
        fisher: null,
        reason: 'the latent set has no class labels',
        ms: 0,
      });
    } else this.enqueue(run, set.epoch, 'separation', false);
    for (const method of this.methods.names) {
      // Lazy methods are recomputed too if someone has asked for this epoch before.
      if (!this.eager.includes(method) && !(await this.store.projections.get(run.rid, set.epoch, method))) continue;
      await this.store.projections.markPending(run.rid, set.epoch, method, this.sizes(method, set.count, set.labelled));
      this.enqueue(run, set.epoch, method, false);
    }
  }

  /**
   * The projection of (run, epoch, method): as stored, or a new pending one queued first when it was never
   * computed. GW_ERR_LATENTS_NOT_FOUND when the epoch has no latent codes.
   */
  async request(run: Pick<RunRef, 'rid' | 'id'>, epoch: number, method: string): Promise<ProjectionRecord> {
    this.methods.get(method); // GW_ERR_PROJECTION_METHOD for a name no registered method has
    await this.resumed; // else a job left pending by the last server could be queued twice
    const rec = await this.store.projections.get(run.rid, epoch, method);
    if (rec) {
      // Pending but not queued: its job was lost (it cannot be, short of a bug; do not leave the client waiting).
      if (
        rec.status === 'pending' &&
        !this.queued.has(jobKey(run.rid, epoch, method)) &&
        !this.isRunning(run.rid, epoch, method)
      ) {
        this.enqueue(run, epoch, method, true);
      }
      return rec;
    }
    const set = (await this.store.latents.list(run.rid)).find((s) => s.epoch === epoch);
    if (!set) throw gwError('GW_ERR_LATENTS_NOT_FOUND', String(epoch));
    await this.store.projections.markPending(run.rid, epoch, method, this.sizes(method, set.count, set.labelled));
    const pending = (await this.store.projections.get(run.rid, epoch, method))!;
    this.enqueue(run, epoch, method, true);
    return pending;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.queue.length = 0;
    this.queued.clear();
    const worker = this.worker;
    this.worker = null;
    this.running = null;
    if (worker) await worker.terminate();
  }

  /** The sizes a projection of `count` codes will have: projected count and whether it is a stratified subsample. */
  private sizes(
    method: string,
    count: number,
    labelled: boolean,
  ): { sourceCount: number; count: number; stratified: boolean } {
    const limit = this.methods.get(method).limit;
    return { sourceCount: count, count: Math.min(count, limit), stratified: count > limit && labelled };
  }

  private isRunning(rid: number, epoch: number, kind: JobKind): boolean {
    return (
      this.running !== null && this.running.rid === rid && this.running.epoch === epoch && this.running.kind === kind
    );
  }

  private enqueue(run: Pick<RunRef, 'rid' | 'id'>, epoch: number, kind: JobKind, urgent: boolean): void {
    if (this.closed) return;
    const jk = jobKey(run.rid, epoch, kind);
    const gen = this.gens.get(key(run.rid, epoch)) ?? 0;
    if (this.isRunning(run.rid, epoch, kind) && this.running!.gen === gen) return; // already being computed
    const existing = this.queue.find((j) => j.rid === run.rid && j.epoch === epoch && j.kind === kind);
    if (existing) {
      existing.gen = gen;
      existing.urgent ||= urgent;
    } else {
      this.queue.push({ rid: run.rid, runId: run.id, epoch, kind, gen, urgent, seq: this.seq++ });
      this.queued.add(jk);
    }
    this.pump();
  }

  private next(): Job | undefined {
    let best = -1;
    for (let i = 0; i < this.queue.length; i++) {
      const j = this.queue[i]!;
      const b = this.queue[best];
      if (!b || (j.urgent && !b.urgent) || (j.urgent === b.urgent && j.seq < b.seq)) best = i;
    }
    if (best < 0) return undefined;
    const [job] = this.queue.splice(best, 1);
    this.queued.delete(jobKey(job!.rid, job!.epoch, job!.kind));
    return job;
  }

  /** Starts the next job unless one is running (being prepared, computed, or its result stored). */
  private pump(): void {
    if (this.running || this.closed) return;
    const job = this.next();
    if (!job) return;
    this.running = job;
    void this.start(job);
  }

  private async start(job: Job): Promise<void> {
    let request: JobRequest | null = null;
    try {
      // A job whose latent set was replaced by a newer one is skipped.
      if (job.gen === (this.gens.get(key(job.rid, job.epoch)) ?? 0)) request = await this.prepare(job);
    } catch (err) {
      this.log(`preparing ${job.kind} of run ${job.runId} epoch ${job.epoch}`, err);
    }
    if (this.running !== job) return; // closed meanwhile
    if (!request || this.closed) {
      this.running = null;
      return this.pump();
    }
    this.send(request);
  }

  private async prepare(job: Job): Promise<JobRequest | null> {
    const set = await this.store.latents.get(job.rid, job.epoch);
    if (!set) return null; // the run was deleted
    const id = this.nextId++;
    if (job.kind === 'separation')
      return { id, kind: 'separation', codes: set.codes, dim: set.dim, labels: set.labels };
    const prev = await this.referenceFor(job.rid, job.kind, job.epoch);
    const previous: PreviousProjection | null =
      prev && prev.xy
        ? {
            epoch: prev.epoch,
            sourceCount: prev.sourceCount,
            xy: prev.xy,
            indices: prev.indices,
            labels: prev.labels,
            params: prev.params,
          }
        : null;
    return {
      id,
      kind: 'project',
      method: job.kind,
      codes: set.codes,
      dim: set.dim,
      labels: set.labels,
      previous,
      seed: this.seed,
    };
  }

  /**
   * The earlier projection a new one builds on: the newest ready one by the method, or, when that epoch's codes had
   * collapsed, the epoch it was itself compared with (the newest before the collapse), so no later epoch starts from,
   * or is aligned with, a collapsed one.
   */
  private async referenceFor(rid: number, method: string, epoch: number): Promise<ProjectionRecord | null> {
    const prev = await this.store.projections.previous(rid, method, epoch);
    const c = continuityOf(prev?.params);
    if (!prev || !c?.collapsed || c.reference === null) return prev;
    const ref = await this.store.projections.get(rid, c.reference, method);
    return ref?.status === 'ready' && ref.xy ? ref : prev;
  }

  private send(request: JobRequest): void {
    if (!this.worker) {
      const worker = startWorker();
      worker.unref();
      worker.on('message', (reply: JobReply) => {
        if (worker === this.worker) this.finish(reply);
      });
      worker.on('error', (err) => {
        if (worker !== this.worker) return;
        this.log('worker failed', err);
        this.worker = null;
        this.fail(this.running, `the projection worker failed: ${err.message}`);
      });
      worker.on('exit', (code) => {
        if (worker !== this.worker) return;
        this.worker = null;
        this.fail(this.running, `the projection worker exited (code ${code})`);
      });
      this.worker = worker;
    }
    const transfer = [
      request.codes.buffer,
      ...(request.kind === 'project' && request.previous ? [request.previous.xy.buffer] : []),
    ];
    this.worker.postMessage(request, transfer as ArrayBuffer[]);
  }

  private fail(job: Job | null, error: string): void {
    if (!job) return;
    this.finish({ id: -1, ok: false, error }, job);
  }

  /** Stores a job's result; the next job starts after that, so it can build on this one (the previous layout). */
  private finish(reply: JobReply, job: Job | null = this.running): void {
    if (!job || this.closed) {
      this.running = null;
      return;
    }
    const stale = job.gen !== (this.gens.get(key(job.rid, job.epoch)) ?? 0);
    void (stale ? Promise.resolve() : this.store_(job, reply))
      .catch((err) => this.log(`storing ${job.kind} of run ${job.runId} epoch ${job.epoch}`, err))
      .then(() => {
        if (this.running === job) this.running = null;
        this.pump();
      });
  }

  private async store_(job: Job, reply: JobReply): Promise<void> {
    const { rid, runId, epoch } = job;
    if (job.kind === 'separation') {
      if (!reply.ok) {
        await this.store.projections.putSeparation(rid, epoch, {
          status: 'failed',
          silhouette: null,
          fisher: null,
          reason: reply.error,
          ms: null,
        });
        return;
      }
      if (reply.kind !== 'separation') return;
      const r = reply.result;
      await this.store.projections.putSeparation(rid, epoch, r);
      const step = (await this.store.projections.separation(rid, epoch))?.step ?? 0;
      const run = await this.store.runs.ref(runId);
      if (run && r.status === 'ready' && r.silhouette !== null && r.fisher !== null) {
        await this.ingest.write(run, [
          { step, values: { [SILHOUETTE_METRIC]: encodeValue(r.silhouette), [FISHER_METRIC]: encodeValue(r.fisher) } },
        ]);
      }
      return;
    }
    if (!reply.ok) {
      await this.store.projections.putFailed(rid, epoch, job.kind, reply.error, null);
      return;
    }
    if (reply.kind !== 'project') return;
    const r = reply.result;
    await this.store.projections.putReady(rid, epoch, job.kind, {
      xy: r.xy,
      indices: r.indices,
      labels: r.labels,
      stratified: r.stratified,
      params: { ...r.params, aligned: r.aligned },
      ms: r.ms,
    });
    this.hub.publish(runId, { type: 'projection', run: runId, epoch, method: job.kind });
  }
}

const services = new WeakMap<object, ProjectionService>();

/**
 * The one projection service of a server context, created on first use (by the projections routes at start-up,
 * which also close it with the app).
 */
export function projectionsOf(ctx: { store: Store; hub: LiveHub; ingest: IngestService }): ProjectionService {
  let service = services.get(ctx);
  if (!service) {
    service = new ProjectionService({ store: ctx.store, hub: ctx.hub, ingest: ctx.ingest });
    services.set(ctx, service);
  }
  return service;
}
