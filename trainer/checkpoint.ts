// Checkpoints of a BicycleGAN run: the weights of G, E, D, D2, their Adam states, the controls (λs, lrs, clip), epoch,
// step and RNG states, as one JSON manifest plus one binary file of little-endian float32 tensors.
// Saving is crash-safe: the tensors go to a new uniquely named file (written, fsynced, renamed), then the manifest
// naming it replaces the old one by an atomic rename; older tensor files are deleted only after that.
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gwError } from '../protocol/errors.js';
import type { BicycleGAN, BicycleGANOptions, ModelState, TensorRecord } from './models/bicyclegan.js';
import type { RngState } from './rng.js';

export const CHECKPOINT_FORMAT = 'ganwatch-checkpoint';
export const CHECKPOINT_VERSION = 1;
export const MANIFEST_FILE = 'manifest.json';

/** What the trainer stores beside the model: where it was, and its own RNG (data shuffling). JSON only. */
export interface CheckpointExtra {
  epoch: number;
  step: number;
  rngState?: RngState;
  [key: string]: unknown;
}

interface TensorEntry {
  name: string;
  shape: number[];
  /** Offset in float32 elements from the start of the weights file. */
  offset: number;
}

interface Manifest {
  format: typeof CHECKPOINT_FORMAT;
  version: number;
  savedAt: string;
  weightsFile: string;
  dtype: 'float32le';
  bytes: number;
  sha256: string;
  model: Omit<ModelState, 'tensors'>;
  tensors: TensorEntry[];
  extra: CheckpointExtra;
}

export interface CheckpointInfo {
  savedAt: string;
  config: BicycleGANOptions;
  /** Model steps taken when saved. */
  steps: number;
  extra: CheckpointExtra;
}

/** Saves model + extra into `dir` (created if needed), replacing any checkpoint there atomically. */
export async function saveCheckpoint(dir: string, model: BicycleGAN, extra: CheckpointExtra): Promise<CheckpointInfo> {
  const state = await model.exportState();
  const { tensors, ...modelMeta } = state;
  let offset = 0;
  const entries: TensorEntry[] = tensors.map((t) => {
    const e = { name: t.name, shape: t.shape, offset };
    offset += t.values.length;
    return e;
  });
  const payload = Buffer.alloc(offset * 4);
  for (let i = 0; i < tensors.length; i++) {
    const t = tensors[i] as TensorRecord;
    const at = (entries[i] as TensorEntry).offset * 4;
    writeFloats(payload, at, t.values);
  }
  const weightsFile = `weights-${Date.now()}-${randomBytes(4).toString('hex')}.bin`;
  const manifest: Manifest = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    savedAt: new Date().toISOString(),
    weightsFile,
    dtype: 'float32le',
    bytes: payload.length,
    sha256: createHash('sha256').update(payload).digest('hex'),
    model: modelMeta,
    tensors: entries,
    extra: JSON.parse(JSON.stringify(extra)) as CheckpointExtra,
  };
  try {
    await fs.mkdir(dir, { recursive: true });
    await writeFileDurably(path.join(dir, weightsFile), payload);
    await writeFileDurably(path.join(dir, MANIFEST_FILE), Buffer.from(JSON.stringify(manifest, null, 1)));
    await syncDir(dir);
  } catch (err) {
    throw gwError('GW_ERR_CHECKPOINT', dir, `cannot write: ${message(err)}`);
  }
  // Only now is the previous tensor file unreferenced.
  for (const name of await fs.readdir(dir).catch(() => [] as string[])) {
    if (name !== weightsFile && /^weights-.*\.bin(\.tmp)?$/.test(name))
      await fs.rm(path.join(dir, name), { force: true });
  }
  return { savedAt: manifest.savedAt, config: modelMeta.config, steps: modelMeta.steps, extra: manifest.extra };
}

/** Reads a checkpoint's manifest only: the options a model must be built with to load it, and the extra. */
export async function readCheckpointInfo(dir: string): Promise<CheckpointInfo> {
  const m = await readManifest(dir);
  return { savedAt: m.savedAt, config: m.model.config, steps: m.model.steps, extra: m.extra };
}

/** Restores weights, optimizer states, controls and the model RNG into `model`; returns the saved extra. */
export async function loadCheckpoint(dir: string, model: BicycleGAN): Promise<CheckpointInfo> {
  const { info, state } = await readCheckpoint(dir);
  await importCheckpoint(dir, model, state);
  return info;
}

export interface ReadOptions {
  /** Refuse a checkpoint holding a NaN or ±Infinity weight or optimizer moment (a rollback must not restore one). */
  requireFinite?: boolean;
}

/** Reads and verifies a whole checkpoint (size, checksum, layout) into memory; touches no model. */
export async function readCheckpoint(
  dir: string,
  options: ReadOptions = {},
): Promise<{ info: CheckpointInfo; state: ModelState }> {
  const m = await readManifest(dir);
  const file = path.join(dir, m.weightsFile);
  let payload: Buffer;
  try {
    payload = await fs.readFile(file);
  } catch (err) {
    throw gwError('GW_ERR_CHECKPOINT', dir, `cannot read ${m.weightsFile}: ${message(err)}`);
  }
  if (payload.length !== m.bytes) {
    throw gwError(
      'GW_ERR_CHECKPOINT',
      dir,
      `${m.weightsFile} holds ${payload.length} bytes, the manifest says ${m.bytes}`,
    );
  }
  if (createHash('sha256').update(payload).digest('hex') !== m.sha256) {
    throw gwError('GW_ERR_CHECKPOINT', dir, `${m.weightsFile} is corrupt (checksum mismatch)`);
  }
  const total = payload.length / 4;
  const tensors: TensorRecord[] = m.tensors.map((e) => {
    const size = e.shape.reduce((a, b) => a * b, 1);
    if (!Number.isInteger(e.offset) || e.offset < 0 || e.offset + size > total) {
      throw gwError('GW_ERR_CHECKPOINT', dir, `tensor ${e.name} lies outside ${m.weightsFile}`);
    }
    const values = readFloats(payload, e.offset * 4, size);
    if (options.requireFinite && !values.every(Number.isFinite)) {
      throw gwError(
        'GW_ERR_CHECKPOINT',
        dir,
        `tensor ${e.name} holds NaN or infinite values (saved at step ${m.extra.step}, after the run diverged)`,
      );
    }
    return { name: e.name, shape: e.shape, values };
  });
  const info = { savedAt: m.savedAt, config: m.model.config, steps: m.model.steps, extra: m.extra };
  return { info, state: { ...m.model, tensors } };
}

/** Puts a state read by readCheckpoint into `model` (same architecture; nothing is half-applied on a mismatch). */
export async function importCheckpoint(dir: string, model: BicycleGAN, state: ModelState): Promise<void> {
  try {
    await model.importState(state);
  } catch (err) {
    throw gwError('GW_ERR_CHECKPOINT', dir, `does not fit this model: ${message(err)}`);
  }
}

async function readManifest(dir: string): Promise<Manifest> {
  const file = path.join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    throw gwError(
      'GW_ERR_CHECKPOINT',
      dir,
      missing ? `no ${MANIFEST_FILE} (no checkpoint was saved here)` : message(err),
    );
  }
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch (err) {
    throw gwError('GW_ERR_CHECKPOINT', dir, `${MANIFEST_FILE} is not valid JSON (${message(err)})`);
  }
  const problem = manifestProblem(m);
  if (problem) throw gwError('GW_ERR_CHECKPOINT', dir, `${MANIFEST_FILE}: ${problem}`);
  return m as Manifest;
}

function manifestProblem(m: unknown): string | null {
  if (typeof m !== 'object' || m === null) return 'not an object';
  const r = m as Record<string, unknown>;
  if (r.format !== CHECKPOINT_FORMAT) return `format is ${JSON.stringify(r.format)}, expected ${CHECKPOINT_FORMAT}`;
  if (r.version !== CHECKPOINT_VERSION)
    return `version ${String(r.version)} is not supported (this build reads ${CHECKPOINT_VERSION})`;
  if (typeof r.weightsFile !== 'string' || !/^weights-[\w-]+\.bin$/.test(r.weightsFile))
    return 'weightsFile is missing or invalid';
  if (r.dtype !== 'float32le') return `dtype ${String(r.dtype)} is not supported`;
  if (typeof r.bytes !== 'number' || typeof r.sha256 !== 'string') return 'bytes or sha256 missing';
  if (!Array.isArray(r.tensors)) return 'tensors missing';
  for (const t of r.tensors as unknown[]) {
    const e = t as Partial<TensorEntry>;
    if (typeof e?.name !== 'string' || !Array.isArray(e.shape) || typeof e.offset !== 'number')
      return 'a tensor entry is malformed';
  }
  const model = r.model as Partial<ModelState> | undefined;
  if (
    !model ||
    typeof model !== 'object' ||
    !model.config ||
    !model.optimizers ||
    !model.baseLr ||
    !model.lambdas ||
    !Array.isArray(model.rngState)
  ) {
    return 'model state missing';
  }
  const extra = r.extra as Partial<CheckpointExtra> | undefined;
  if (!extra || typeof extra.epoch !== 'number' || typeof extra.step !== 'number')
    return 'extra.epoch / extra.step missing';
  return null;
}

const LITTLE_ENDIAN = os.endianness() === 'LE';

function writeFloats(buf: Buffer, at: number, values: Float32Array): void {
  if (LITTLE_ENDIAN) buf.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), at);
  else for (let k = 0; k < values.length; k++) buf.writeFloatLE(values[k] as number, at + k * 4);
}

function readFloats(buf: Buffer, at: number, size: number): Float32Array {
  const values = new Float32Array(size);
  if (LITTLE_ENDIAN) new Uint8Array(values.buffer).set(buf.subarray(at, at + size * 4));
  else for (let k = 0; k < size; k++) values[k] = buf.readFloatLE(at + k * 4);
  return values;
}

/** Write to a temp name, fsync, rename over the target: readers see the old file or the whole new one. */
async function writeFileDurably(file: string, data: Buffer): Promise<void> {
  const tmp = `${file}.tmp`;
  const fh = await fs.open(tmp, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fs.rename(tmp, file);
}

async function syncDir(dir: string): Promise<void> {
  try {
    const fh = await fs.open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // Some platforms (Windows) cannot fsync a directory; the renames are still atomic there.
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
