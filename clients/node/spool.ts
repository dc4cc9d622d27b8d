// The monitor client's on-disk spool: one folder per run holding an append-only log of everything not yet
// acknowledged by the server (point, distribution and status frames, media and latent uploads) and the marks that settle them.
// A trainer crash, a server restart or a long outage loses nothing: whatever is unsettled on disk is resent.
//
// Folder layout (<spoolDir>/<key>/):
//   log.jsonl   one JSON record per line. Frame records are the exact WS frame text ({"type":"points",...},
//               {"type":"distributions",...} or {"type":"status",...}) so a resend is a byte copy; bookkeeping
//               records carry a "t" field.
//   u-<id>.png / u-<id>.json   upload payloads (a PNG, or the latents JSON body), written before their record.
//   lock        the pid of the process using the folder.
// Crash safety: records are appended with one write each; a torn last line (no trailing newline) is cut off on
// open and any line that does not parse is skipped, so replay sees exactly the records that were written whole.
// When nothing is pending, compact() rewrites the log as a single header line (via a temp file and rename).
import fs from 'node:fs';
import path from 'node:path';
import type { CreateRunBody } from '../../protocol/index.js';
import { gwError } from '../../protocol/index.js';

const LOG = 'log.jsonl';
const LOCK = 'lock';
const SCAN_CHUNK = 1 << 20;
const NEWLINE = 0x0a;

/** What the spool knows about its run. `server` is null while the run exists only locally (offline mode). */
export interface SpoolRunInfo {
  key: string;
  server: string | null;
  create: CreateRunBody | null;
  createdAt: number;
}

/** A frame kind the spool keeps until its ack: the ingest socket's client frames that carry data. */
export type SpooledFrameKind = 'points' | 'distributions' | 'status';

/** A point, distribution or status frame not yet acknowledged; its text sits in the log at [offset, offset + length). */
export interface SpooledFrame {
  seq: number;
  kind: SpooledFrameKind;
  points: number;
  offset: number;
  length: number;
}

export interface MediaUpload {
  id: number;
  kind: 'media';
  epoch: number;
  step: number;
  mediaKind: string;
  /** JSON text of the optional meta object, passed as the `meta` query parameter. */
  meta?: string;
  file: string;
}
export interface LatentsUpload {
  id: number;
  kind: 'latents';
  epoch: number;
  step?: number;
  /** Number of codes, for summaries only (the body lives in `file`). */
  count: number;
  file: string;
}
export type SpooledUpload = MediaUpload | LatentsUpload;

/** Distributes Omit over a union, so each upload variant keeps its own fields. */
type WithoutIdAndFile<T> = T extends unknown ? Omit<T, 'id' | 'file'> : never;
export type NewUpload = WithoutIdAndFile<SpooledUpload>;

interface HeaderRecord {
  t: 'run';
  v: 1;
  key: string;
  server: string | null;
  create: CreateRunBody | null;
  createdAt: number;
  nextSeq: number;
  nextUpload: number;
}

/** Counts of what replay found, for summaries and tests. */
export interface SpoolReplayStats {
  records: number;
  corruptLines: number;
  tornBytes: number;
}

// Pids of folders locked by this process, so two clients in one process cannot share a run folder either.
const lockedHere = new Set<string>();

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function fsyncDir(dir: string): void {
  try {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // Some file systems refuse fsync on directories; the rename itself is still atomic.
  }
}

/** Splits the file into whole lines, calling `onLine(bytes, offset)`; returns where the last whole line ends. */
function scanLines(fd: number, size: number, onLine: (line: Buffer, offset: number) => void): number {
  let carry = Buffer.alloc(0);
  let carryOffset = 0;
  let position = 0;
  let end = 0;
  const chunk = Buffer.allocUnsafe(SCAN_CHUNK);
  while (position < size) {
    const n = fs.readSync(fd, chunk, 0, Math.min(SCAN_CHUNK, size - position), position);
    if (n <= 0) break;
    let data = carry.length > 0 ? Buffer.concat([carry, chunk.subarray(0, n)]) : chunk.subarray(0, n);
    const dataOffset = carry.length > 0 ? carryOffset : position;
    position += n;
    let start = 0;
    for (;;) {
      const nl = data.indexOf(NEWLINE, start);
      if (nl < 0) break;
      onLine(data.subarray(start, nl), dataOffset + start);
      start = nl + 1;
      end = dataOffset + start;
    }
    data = data.subarray(start);
    carry = Buffer.from(data);
    carryOffset = dataOffset + start;
  }
  return end;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isCount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

export class Spool {
  readonly dir: string;
  readonly key: string;
  private info: SpoolRunInfo;
  private fd: number;
  private size: number;
  private seqCounter: number;
  private uploadCounter: number;
  private readonly frames = new Map<number, SpooledFrame>();
  private readonly uploads = new Map<number, SpooledUpload>();
  private locked = false;
  private closed = false;
  readonly replay: SpoolReplayStats;

  private constructor(dir: string, header: HeaderRecord) {
    this.dir = dir;
    this.key = header.key;
    this.info = { key: header.key, server: header.server, create: header.create, createdAt: header.createdAt };
    this.seqCounter = header.nextSeq;
    this.uploadCounter = header.nextUpload;
    this.fd = -1;
    this.size = 0;
    this.replay = { records: 0, corruptLines: 0, tornBytes: 0 };
  }

  /** Folder names under `spoolDir` that hold a run log. */
  static list(spoolDir: string): string[] {
    if (!fs.existsSync(spoolDir)) return [];
    return fs
      .readdirSync(spoolDir, { withFileTypes: true })
      .filter((e) => e.isDirectory() && fs.existsSync(path.join(spoolDir, e.name, LOG)))
      .map((e) => e.name)
      .sort();
  }

  static exists(spoolDir: string, key: string): boolean {
    return fs.existsSync(path.join(spoolDir, key, LOG));
  }

  /** The spool folder whose run is `id`: the folder named `id`, or an offline folder later bound to server run `id`. */
  static find(spoolDir: string, id: string): string | null {
    if (Spool.exists(spoolDir, id)) return id;
    for (const key of Spool.list(spoolDir)) {
      try {
        const s = Spool.open(spoolDir, key, { readOnly: true });
        const server = s.run.server;
        s.close();
        if (server === id) return key;
      } catch {
        // An unreadable folder is not the one we look for.
      }
    }
    return null;
  }

  /** Starts a new run folder. Fails if the folder already holds a log. */
  static create(spoolDir: string, run: SpoolRunInfo, opts: { lock?: boolean } = {}): Spool {
    const dir = path.join(spoolDir, run.key);
    fs.mkdirSync(dir, { recursive: true });
    if (fs.existsSync(path.join(dir, LOG))) throw gwError('GW_ERR_SPOOL', dir, 'a run log already exists here');
    const header: HeaderRecord = { t: 'run', v: 1, ...run, nextSeq: 0, nextUpload: 1 };
    const spool = new Spool(dir, header);
    if (opts.lock !== false) spool.lock();
    spool.writeHeaderFile(header);
    spool.openForAppend();
    return spool;
  }

  /**
   * Opens an existing run folder and replays its log. With `readOnly`, neither locks nor repairs the file
   * (for inspecting a folder another process may be using).
   */
  static open(spoolDir: string, key: string, opts: { readOnly?: boolean; lock?: boolean } = {}): Spool {
    const dir = path.join(spoolDir, key);
    const file = path.join(dir, LOG);
    if (!fs.existsSync(file)) throw gwError('GW_ERR_SPOOL', dir, 'no run log in this folder');
    const fd = fs.openSync(file, 'r');
    let spool: Spool | null = null;
    let corrupt = 0;
    let records = 0;
    let end: number;
    const size = fs.fstatSync(fd).size;
    try {
      end = scanLines(fd, size, (bytes, offset) => {
        let rec: unknown;
        try {
          rec = JSON.parse(bytes.toString('utf8'));
        } catch {
          corrupt++;
          return;
        }
        if (!isRecord(rec)) {
          corrupt++;
          return;
        }
        if (spool === null) {
          if (rec.t !== 'run' || typeof rec.key !== 'string') {
            corrupt++;
            return;
          }
          spool = new Spool(dir, {
            t: 'run',
            v: 1,
            key: rec.key,
            server: typeof rec.server === 'string' ? rec.server : null,
            create: isRecord(rec.create) ? (rec.create as unknown as CreateRunBody) : null,
            createdAt: typeof rec.createdAt === 'number' ? rec.createdAt : 0,
            nextSeq: isCount(rec.nextSeq) ? rec.nextSeq : 0,
            nextUpload: isCount(rec.nextUpload) && rec.nextUpload > 0 ? rec.nextUpload : 1,
          });
          records++;
          return;
        }
        if (spool.apply(rec, offset, bytes.length)) records++;
        else corrupt++;
      });
    } finally {
      fs.closeSync(fd);
    }
    const found = spool as Spool | null;
    if (found === null) throw gwError('GW_ERR_SPOOL', dir, 'the run log has no readable header');
    found.replay.records = records;
    found.replay.corruptLines = corrupt;
    found.replay.tornBytes = size - end;
    if (opts.readOnly) {
      found.closed = true;
      found.size = end;
      return found;
    }
    if (opts.lock !== false) found.lock();
    // A torn last record is cut off so that the next append starts on a fresh line.
    if (end < size) fs.truncateSync(file, end);
    found.openForAppend();
    return found;
  }

  /** Applies one replayed bookkeeping or frame record; false when it is not one we understand. */
  private apply(rec: Record<string, unknown>, offset: number, length: number): boolean {
    if (rec.type === 'points' || rec.type === 'distributions' || rec.type === 'status') {
      if (!isCount(rec.seq)) return false;
      const points = rec.type === 'points' && Array.isArray(rec.points) ? rec.points.length : 0;
      this.frames.set(rec.seq, { seq: rec.seq, kind: rec.type, points, offset, length });
      this.seqCounter = Math.max(this.seqCounter, rec.seq + 1);
      return true;
    }
    switch (rec.t) {
      case 'ack':
      case 'rej': {
        const seqs = Array.isArray(rec.seq) ? rec.seq : [rec.seq];
        for (const s of seqs) if (isCount(s)) this.frames.delete(s);
        return true;
      }
      case 'up': {
        const up = rec.upload;
        if (!isRecord(up) || !isCount(up.id) || typeof up.file !== 'string') return false;
        this.uploads.set(up.id, up as unknown as SpooledUpload);
        this.uploadCounter = Math.max(this.uploadCounter, up.id + 1);
        return true;
      }
      case 'upd':
      case 'upr':
        if (!isCount(rec.id)) return false;
        this.uploads.delete(rec.id);
        return true;
      case 'bind':
        if (typeof rec.server !== 'string') return false;
        this.info = { ...this.info, server: rec.server };
        return true;
      default:
        return false;
    }
  }

  get run(): SpoolRunInfo {
    return this.info;
  }

  /** The seq the next frame will carry (seqs are never reused within a run folder). */
  takeSeq(): number {
    return this.seqCounter++;
  }

  get nextSeq(): number {
    return this.seqCounter;
  }

  /** Bytes in the log file. */
  get bytes(): number {
    return this.size;
  }

  /** Unacknowledged frames in seq order. */
  pendingFrames(): SpooledFrame[] {
    return [...this.frames.values()].sort((a, b) => a.seq - b.seq);
  }

  /** Unsettled uploads in the order they were queued. */
  pendingUploads(): SpooledUpload[] {
    return [...this.uploads.values()].sort((a, b) => a.id - b.id);
  }

  get pendingFrameCount(): number {
    return this.frames.size;
  }

  get pendingUploadCount(): number {
    return this.uploads.size;
  }

  /** Appends a point or status frame (its exact wire text) and returns where it lies in the log. */
  appendFrame(seq: number, kind: SpooledFrameKind, points: number, text: string): SpooledFrame {
    const offset = this.size;
    const length = Buffer.byteLength(text);
    this.write(text + '\n');
    const frame = { seq, kind, points, offset, length };
    this.frames.set(seq, frame);
    return frame;
  }

  /** Marks frames as acknowledged (stored by the server). */
  appendAck(seqs: number[]): void {
    if (seqs.length === 0) return;
    this.write(JSON.stringify({ t: 'ack', seq: seqs }) + '\n');
    for (const s of seqs) this.frames.delete(s);
  }

  /** Marks a frame the server rejected: it will never be accepted, so it is settled, not resent. */
  appendReject(seq: number, code: string, message: string): void {
    this.write(JSON.stringify({ t: 'rej', seq, code, message }) + '\n');
    this.frames.delete(seq);
  }

  /** Stores an upload's payload, then its record; returns the queued upload. */
  appendUpload(upload: NewUpload, payload: Buffer | string): SpooledUpload {
    const id = this.uploadCounter++;
    const file = `u-${id}.${upload.kind === 'media' ? 'png' : 'json'}`;
    fs.writeFileSync(path.join(this.dir, file), payload);
    const full = { ...upload, id, file };
    this.write(JSON.stringify({ t: 'up', upload: full }) + '\n');
    this.uploads.set(id, full);
    return full;
  }

  readUploadPayload(upload: SpooledUpload): Buffer {
    return fs.readFileSync(path.join(this.dir, upload.file));
  }

  /** Settles an upload: stored by the server (`ok`), or rejected for good. */
  appendUploadDone(id: number, ok: boolean, code?: string, message?: string): void {
    const upload = this.uploads.get(id);
    this.write(JSON.stringify(ok ? { t: 'upd', id } : { t: 'upr', id, code, message }) + '\n');
    this.uploads.delete(id);
    if (upload) fs.rmSync(path.join(this.dir, upload.file), { force: true });
  }

  /** Records the server id of a run first created offline. */
  bind(server: string): void {
    this.write(JSON.stringify({ t: 'bind', server }) + '\n');
    this.info = { ...this.info, server };
  }

  /** Reads a frame's text back from the log (frames that did not stay in memory). */
  readFrame(frame: SpooledFrame): string {
    const buf = Buffer.allocUnsafe(frame.length);
    let done = 0;
    while (done < frame.length) {
      const n = fs.readSync(this.fd, buf, done, frame.length - done, frame.offset + done);
      if (n <= 0) throw gwError('GW_ERR_SPOOL', this.dir, `log shorter than expected at byte ${frame.offset}`);
      done += n;
    }
    return buf.toString('utf8');
  }

  /** Forces the log to stable storage (page cache → disk); appends alone survive a process crash, not power loss. */
  sync(): void {
    if (this.fd >= 0) fs.fdatasyncSync(this.fd);
  }

  /**
   * When nothing is pending, rewrites the log as one header line and deletes leftover payload files.
   * Returns false (and changes nothing) while frames or uploads are unsettled.
   */
  compact(): boolean {
    if (this.closed || this.frames.size > 0 || this.uploads.size > 0) return false;
    const header: HeaderRecord = {
      t: 'run',
      v: 1,
      ...this.info,
      nextSeq: this.seqCounter,
      nextUpload: this.uploadCounter,
    };
    fs.closeSync(this.fd);
    this.fd = -1;
    this.writeHeaderFile(header);
    this.openForAppend();
    for (const name of fs.readdirSync(this.dir)) {
      if (/^u-\d+\.(png|json)$/.test(name)) fs.rmSync(path.join(this.dir, name), { force: true });
    }
    return true;
  }

  /** Closes the log and releases the folder lock. Safe to call twice. */
  close(): void {
    if (!this.closed) {
      this.closed = true;
      if (this.fd >= 0) {
        try {
          fs.fdatasyncSync(this.fd);
        } catch {
          // Nothing more can be done about a failing disk at close.
        }
        fs.closeSync(this.fd);
        this.fd = -1;
      }
    }
    this.unlock();
  }

  private write(text: string): void {
    if (this.closed) throw gwError('GW_ERR_SPOOL', this.dir, 'the spool is closed');
    const buf = Buffer.from(text, 'utf8');
    // One write per record (a loop only if the kernel takes it in pieces), so a crash tears at most the last line.
    let done = 0;
    while (done < buf.length) done += fs.writeSync(this.fd, buf, done, buf.length - done);
    this.size += buf.length;
  }

  private writeHeaderFile(header: HeaderRecord): void {
    const file = path.join(this.dir, LOG);
    const tmp = `${file}.tmp`;
    const fd = fs.openSync(tmp, 'w');
    try {
      fs.writeSync(fd, JSON.stringify(header) + '\n');
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
    fsyncDir(this.dir);
  }

  private openForAppend(): void {
    const file = path.join(this.dir, LOG);
    this.fd = fs.openSync(file, 'a+');
    this.size = fs.fstatSync(this.fd).size;
  }

  private lock(): void {
    const file = path.join(this.dir, LOCK);
    const resolved = path.resolve(this.dir);
    if (lockedHere.has(resolved)) throw gwError('GW_ERR_SPOOL', this.dir, 'already in use by this process');
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
        lockedHere.add(resolved);
        this.locked = true;
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const pid = Number.parseInt(fs.readFileSync(file, 'utf8'), 10);
        if (Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
          throw gwError('GW_ERR_SPOOL', this.dir, `in use by process ${pid}`);
        }
        // A lock left by a process that died (or by this pid in an earlier life) is stale.
        fs.rmSync(file, { force: true });
      }
    }
    throw gwError('GW_ERR_SPOOL', this.dir, 'cannot take the folder lock');
  }

  private unlock(): void {
    if (!this.locked) return;
    this.locked = false;
    lockedHere.delete(path.resolve(this.dir));
    fs.rmSync(path.join(this.dir, LOCK), { force: true });
  }
}
