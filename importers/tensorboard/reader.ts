// TFRecord framing of TensorBoard event files: each record is a uint64 length (little-endian), the masked CRC32C of
// those 8 bytes, the data, and the masked CRC32C of the data. Splits a byte range of a file into records, checks
// both CRCs, and says where parsing must resume: past a record whose data is corrupt (its length is trusted, its
// CRC was right), at the next position that frames a valid record after a corrupt length, or at an incomplete tail.
import { open } from 'node:fs/promises';
import { crc32c } from '@node-rs/crc32';

export const HEADER_BYTES = 12;
export const FOOTER_BYTES = 4;
const MASK_DELTA = 0xa282ead8;

/** TensorFlow's CRC masking (crc32c.h): rotate right by 15 bits and add a constant. */
export function maskedCrc32c(data: Uint8Array): number {
  const crc = crc32c(data);
  return (((crc >>> 15) | (crc << 17)) + MASK_DELTA) >>> 0;
}

export interface RecordSpan {
  /** File offset of the record's header. */
  offset: number;
  data: Buffer;
}

export type RecordProblemKind = 'corrupt-length' | 'corrupt-data' | 'truncated';

export interface RecordProblem {
  kind: RecordProblemKind;
  /** File offset of the record's header. */
  offset: number;
  detail: string;
}

export interface FramingResult {
  records: RecordSpan[];
  problems: RecordProblem[];
  /** File offset where the next read must start. */
  next: number;
  /** Bytes at `next` that start an incomplete record (0 when `next` is the end of what was given). */
  incomplete: number;
  /** Bytes needed from `next` to complete that record, when its header was complete; else 12 (a header). */
  needed: number;
  /** Still looking for a valid record after a corrupt length: pass it back with the next bytes. */
  resyncing: boolean;
}

export interface FramingOptions {
  /** `buf` reaches the end of the file as it is now. */
  atEnd: boolean;
  /** The file is still being written: an incomplete last record is waited for, not reported. */
  growing: boolean;
  /** The previous call ended looking for a valid record after a corrupt one (already reported). */
  resyncing?: boolean;
}

function readLength(buf: Buffer, at: number): number {
  const low = buf.readUInt32LE(at);
  const high = buf.readUInt32LE(at + 4);
  // Lengths past 2^53 cannot be real (and cannot be addressed); they only come from corrupt headers.
  return high >= 0x200000 ? Number.POSITIVE_INFINITY : high * 0x1_0000_0000 + low;
}

function lengthCrcOk(buf: Buffer, at: number): boolean {
  return maskedCrc32c(buf.subarray(at, at + 8)) === buf.readUInt32LE(at + 8);
}

/**
 * The first position after `from` in `buf` where a record header with a valid length CRC starts and, when the
 * whole record lies in `buf`, its data CRC is valid too. -1 if none.
 */
function resync(buf: Buffer, from: number): number {
  for (let p = from; p + HEADER_BYTES <= buf.length; p++) {
    if (!lengthCrcOk(buf, p)) continue;
    const length = readLength(buf, p);
    const end = p + HEADER_BYTES + length + FOOTER_BYTES;
    if (end > buf.length) return p;
    const data = buf.subarray(p + HEADER_BYTES, p + HEADER_BYTES + length);
    if (maskedCrc32c(data) === buf.readUInt32LE(p + HEADER_BYTES + length)) return p;
  }
  return -1;
}

/**
 * Splits `buf`, the bytes of a file from offset `base`, into records. An incomplete record at the end of the file is
 * reported as `truncated`, unless the file is `growing` (its last record may be half written: wait for the rest).
 */
export function frameRecords(buf: Buffer, base: number, opts: FramingOptions): FramingResult {
  const records: RecordSpan[] = [];
  const problems: RecordProblem[] = [];
  const final = opts.atEnd && !opts.growing;
  let resyncing = opts.resyncing === true;
  let at = 0;
  const stopAt = (needed: number): FramingResult => {
    if (final && resyncing)
      return { records, problems, next: base + buf.length, incomplete: 0, needed: 0, resyncing: false };
    if (final) {
      problems.push({
        kind: 'truncated',
        offset: base + at,
        detail: `truncated record: ${buf.length - at} of ${Number.isFinite(needed) ? needed : 'unknown'} bytes present`,
      });
    }
    // A truncated record keeps the cursor at its start: a later read retries it once the writer has finished it.
    return { records, problems, next: base + at, incomplete: buf.length - at, needed, resyncing };
  };
  while (at < buf.length) {
    if (buf.length - at < HEADER_BYTES) return stopAt(HEADER_BYTES);
    if (!lengthCrcOk(buf, at)) {
      const found = resync(buf, at + 1);
      if (!resyncing) {
        problems.push({
          kind: 'corrupt-length',
          offset: base + at,
          detail: `length CRC mismatch; ${found >= 0 ? `resumed at the next valid record, byte ${base + found}` : 'no valid record follows'}`,
        });
      }
      if (found >= 0) {
        resyncing = false;
        at = found;
        continue;
      }
      // Keep the last 11 bytes: with what comes next they may hold the next valid header.
      resyncing = true;
      if (final) return { records, problems, next: base + buf.length, incomplete: 0, needed: 0, resyncing: false };
      at = Math.max(at + 1, buf.length - HEADER_BYTES + 1);
      continue;
    }
    resyncing = false;
    const length = readLength(buf, at);
    const total = HEADER_BYTES + length + FOOTER_BYTES;
    if (buf.length - at < total) return stopAt(total);
    const data = buf.subarray(at + HEADER_BYTES, at + HEADER_BYTES + length);
    if (maskedCrc32c(data) !== buf.readUInt32LE(at + HEADER_BYTES + length)) {
      problems.push({
        kind: 'corrupt-data',
        offset: base + at,
        detail: `data CRC mismatch in a ${length}-byte record; skipped`,
      });
    } else {
      records.push({ offset: base + at, data });
    }
    at += total;
  }
  return { records, problems, next: base + at, incomplete: 0, needed: 0, resyncing };
}

/** Frames `data` as one TFRecord (the writer's side: used by tests and the benchmark to make event files). */
export function encodeRecord(data: Uint8Array): Buffer {
  const out = Buffer.alloc(HEADER_BYTES + data.length + FOOTER_BYTES);
  out.writeUInt32LE(data.length >>> 0, 0);
  out.writeUInt32LE(Math.floor(data.length / 0x1_0000_0000), 4);
  out.writeUInt32LE(maskedCrc32c(out.subarray(0, 8)), 8);
  out.set(data, HEADER_BYTES);
  out.writeUInt32LE(maskedCrc32c(data), HEADER_BYTES + data.length);
  return out;
}

/** Where reading a file stands: the next byte to read, and whether a corrupt length is still being skipped. */
export interface FileCursor {
  offset: number;
  resyncing: boolean;
}

export interface ChunkRead {
  records: RecordSpan[];
  problems: RecordProblem[];
  /** The cursor after this chunk: save it once the chunk's records are stored. */
  cursor: FileCursor;
  /** The file was shorter than the cursor (rewritten or truncated by its writer): this chunk restarted at byte 0. */
  restarted: boolean;
}

/** Default bytes read at a time; a record larger than this is read whole. */
export const CHUNK_BYTES = 4 * 1024 * 1024;

/**
 * Reads the records of `path` from `cursor` to the file's current end, a chunk at a time (each chunk's records are
 * yielded before the next is read, so memory stays at about one chunk). `growing`: see FramingOptions.
 */
export async function* readChunks(
  path: string,
  start: FileCursor,
  growing: boolean,
  chunkBytes = CHUNK_BYTES,
): AsyncGenerator<ChunkRead> {
  const file = await open(path, 'r');
  try {
    const size = (await file.stat()).size;
    let cursor = start;
    let restarted = false;
    if (size < cursor.offset) {
      cursor = { offset: 0, resyncing: false };
      restarted = true;
    }
    let want = chunkBytes;
    while (cursor.offset < size) {
      const length = Math.min(Math.max(want, chunkBytes), size - cursor.offset);
      const buf = Buffer.allocUnsafe(length);
      const { bytesRead } = await file.read(buf, 0, length, cursor.offset);
      const view = buf.subarray(0, bytesRead);
      const atEnd = cursor.offset + bytesRead >= size;
      const framed = frameRecords(view, cursor.offset, { atEnd, growing, resyncing: cursor.resyncing });
      const next = { offset: framed.next, resyncing: framed.resyncing };
      const progressed = next.offset > cursor.offset;
      if (framed.records.length > 0 || framed.problems.length > 0 || progressed || restarted) {
        yield { records: framed.records, problems: framed.problems, cursor: next, restarted };
      }
      restarted = false;
      if (atEnd || bytesRead === 0) return;
      // A record larger than the chunk: read from its start with room for all of it.
      want = progressed ? chunkBytes : framed.needed;
      cursor = next;
    }
  } finally {
    await file.close();
  }
}
