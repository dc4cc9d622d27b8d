// The spool as the client uses it: a full or failing disk is reported (GW_ERR_SPOOL) and survived, never thrown into
// the training loop. A frame the spool cannot take stays in memory instead; a settlement mark that cannot be written
// only means the frame is sent once more after a restart, which the server's upsert makes harmless.
import { gwError } from '../../protocol/index.js';
import type { Reporter } from './report.js';
import type { NewUpload, Spool, SpooledFrame, SpooledUpload } from './spool.js';

function reason(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class SpoolGuard {
  private closed = false;

  constructor(
    readonly spool: Spool,
    private readonly reporter: Reporter,
  ) {}

  get dir(): string {
    return this.spool.dir;
  }

  /** After close() begins nothing more is written: the log is about to be compacted and closed. */
  markClosed(): void {
    this.closed = true;
  }

  /** Appends a frame; null (reported) when the disk refused it. */
  appendFrame(seq: number, kind: SpooledFrame['kind'], points: number, text: string): SpooledFrame | null {
    try {
      return this.spool.appendFrame(seq, kind, points, text);
    } catch (err) {
      this.fail(`cannot append: ${reason(err)}`);
      return null;
    }
  }

  /** A frame's text read back from the log; null (reported) when it cannot be read. */
  readFrame(frame: SpooledFrame): string | null {
    try {
      return this.spool.readFrame(frame);
    } catch (err) {
      this.fail(`cannot re-read batch ${frame.seq}: ${reason(err)}`);
      return null;
    }
  }

  ack(seq: number): void {
    this.record('an ack', () => this.spool.appendAck([seq]));
  }

  reject(seq: number, code: string, message: string): void {
    this.record('a rejection', () => this.spool.appendReject(seq, code, message));
  }

  /** Stores an upload and its payload; false (reported) when the disk refused it. */
  queueUpload(upload: NewUpload, payload: Buffer | string): boolean {
    try {
      this.spool.appendUpload(upload, payload);
      return true;
    } catch (err) {
      this.fail(`cannot store ${upload.kind} for upload: ${reason(err)}`);
      return false;
    }
  }

  uploadStored(upload: SpooledUpload): void {
    this.record('an upload', () => this.spool.appendUploadDone(upload.id, true));
  }

  uploadRejected(upload: SpooledUpload, code: string, message: string): void {
    this.record('a rejected upload', () => this.spool.appendUploadDone(upload.id, false, code, message));
  }

  /** fdatasync: what is on disk survives a power loss too. */
  sync(): void {
    if (this.closed) return;
    try {
      this.spool.sync();
    } catch (err) {
      this.fail(`fdatasync failed: ${reason(err)}`);
    }
  }

  /** Rewrites the log as its header when it has grown past `bytes` and nothing in it is pending. */
  compactBeyond(bytes: number): void {
    if (this.closed || this.spool.bytes < bytes) return;
    try {
      this.spool.compact();
    } catch (err) {
      this.fail(`compaction failed: ${reason(err)}`);
    }
  }

  /** The last compaction (when everything is settled) and the release of the folder. */
  close(settled: boolean): void {
    try {
      if (settled) this.spool.compact();
    } catch (err) {
      this.fail(reason(err));
    }
    this.spool.close();
  }

  private record(what: string, write: () => void): void {
    if (this.closed) return;
    try {
      write();
    } catch (err) {
      this.fail(`cannot record ${what}: ${reason(err)}`);
    }
  }

  private fail(detail: string): void {
    this.reporter.report(gwError('GW_ERR_SPOOL', this.spool.dir, detail));
  }
}
