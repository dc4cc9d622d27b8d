// Test support: writes TensorBoard event files the way TensorFlow's and PyTorch's writers do (TFRecord framing with
// masked CRC32C, serialized tensorboard.Event protos), record by record, so tests control every byte: corrupt CRCs,
// truncated tails, files that grow while an importer follows them.
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { PNG } from 'pngjs';
import { encodeEvent } from '../importers/tensorboard/events.js';
import { encodeRecord } from '../importers/tensorboard/reader.js';
import { DT } from '../importers/tensorboard/schema.js';

type EventObject = Record<string, unknown>;

/** One framed record per event; `bytes` is what a file of these records holds. */
export function records(events: EventObject[]): Buffer {
  return Buffer.concat(events.map((e) => encodeRecord(encodeEvent(e))));
}

/** Creates `path` (and its folder) holding the file_version record and `events`; returns the file's size. */
export function writeEventFile(path: string, events: EventObject[], wall = 1_700_000_000): number {
  mkdirSync(dirname(path), { recursive: true });
  const bytes = Buffer.concat([records([{ wall_time: wall, file_version: 'brain.Event:2' }]), records(events)]);
  writeFileSync(path, bytes);
  return bytes.length;
}

export function appendBytes(path: string, bytes: Buffer): void {
  appendFileSync(path, bytes);
}

/** A TF1 / PyTorch scalar: Summary.Value.simple_value. */
export function simpleScalar(step: number, wall: number, tag: string, value: number): EventObject {
  return { step, wall_time: wall, summary: { value: [{ tag, simple_value: value }] } };
}

/** Several TF1 scalars in one event (one Summary with several values, as TF1's merged summaries write them). */
export function simpleScalars(step: number, wall: number, values: Record<string, number>): EventObject {
  return {
    step,
    wall_time: wall,
    summary: { value: Object.entries(values).map(([tag, simple_value]) => ({ tag, simple_value })) },
  };
}

function pluginMetadata(plugin: string): EventObject {
  return { plugin_data: { plugin_name: plugin } };
}

export type TensorScalar =
  | { dtype: 'float' | 'double' | 'half' | 'int32' | 'int64'; value: number; raw?: boolean }
  | { dtype: 'bfloat16'; value: number; raw?: boolean };

function halfBits(value: number): number {
  // Exact only for values representable in binary16, which is all the tests use.
  const f = new DataView(new ArrayBuffer(4));
  f.setFloat32(0, value);
  const bits = f.getUint32(0);
  const sign = (bits >>> 16) & 0x8000;
  const exponent = ((bits >>> 23) & 0xff) - 127 + 15;
  const mantissa = (bits >>> 13) & 0x3ff;
  if (value === 0) return sign;
  return sign | (exponent << 10) | mantissa;
}

/** A TF2 scalar: a rank-0 tensor (typed field, or tensor_content bytes with `raw`), plugin metadata if `first`. */
export function tensorScalar(step: number, wall: number, tag: string, s: TensorScalar, first: boolean): EventObject {
  const tensor: EventObject = { tensor_shape: {} };
  const raw = (size: number, write: (b: Buffer) => void): void => {
    const b = Buffer.alloc(size);
    write(b);
    tensor.tensor_content = b;
  };
  switch (s.dtype) {
    case 'float':
      tensor.dtype = DT.FLOAT;
      if (s.raw) raw(4, (b) => b.writeFloatLE(s.value));
      else tensor.float_val = [s.value];
      break;
    case 'double':
      tensor.dtype = DT.DOUBLE;
      if (s.raw) raw(8, (b) => b.writeDoubleLE(s.value));
      else tensor.double_val = [s.value];
      break;
    case 'half':
      tensor.dtype = DT.HALF;
      if (s.raw) raw(2, (b) => b.writeUInt16LE(halfBits(s.value)));
      else tensor.half_val = [halfBits(s.value)];
      break;
    case 'bfloat16': {
      const f = Buffer.alloc(4);
      f.writeFloatBE(s.value);
      const bits = f.readUInt16BE(0);
      tensor.dtype = DT.BFLOAT16;
      if (s.raw) raw(2, (b) => b.writeUInt16LE(bits));
      else tensor.half_val = [bits];
      break;
    }
    case 'int32':
      tensor.dtype = DT.INT32;
      if (s.raw) raw(4, (b) => b.writeInt32LE(s.value));
      else tensor.int_val = [s.value];
      break;
    case 'int64':
      tensor.dtype = DT.INT64;
      if (s.raw) raw(8, (b) => b.writeBigInt64LE(BigInt(s.value)));
      else tensor.int64_val = [s.value];
      break;
  }
  const value: EventObject = { tag, tensor };
  if (first) value.metadata = pluginMetadata('scalars');
  return { step, wall_time: wall, summary: { value: [value] } };
}

/** A `width`×`height` RGB PNG whose pixels depend on `seed`. */
export function png(width: number, height: number, seed: number): Buffer {
  const image = new PNG({ width, height });
  for (let i = 0; i < width * height; i++) {
    image.data[i * 4] = (i * 7 + seed * 31) & 0xff;
    image.data[i * 4 + 1] = (i * 13 + seed * 17) & 0xff;
    image.data[i * 4 + 2] = (seed * 101) & 0xff;
    image.data[i * 4 + 3] = 255;
  }
  return PNG.sync.write(image);
}

/** A TF1 / PyTorch image: Summary.Image with an encoded PNG. */
export function imageSummary(step: number, wall: number, tag: string, bytes: Buffer): EventObject {
  return {
    step,
    wall_time: wall,
    summary: { value: [{ tag, image: { height: 4, width: 4, colorspace: 3, encoded_image_string: bytes } }] },
  };
}

/** A TF2 image summary: a string tensor [width, height, PNG, PNG, ...], plugin metadata if `first`. */
export function imageTensor(step: number, wall: number, tag: string, pngs: Buffer[], first: boolean): EventObject {
  const value: EventObject = {
    tag,
    tensor: {
      dtype: DT.STRING,
      tensor_shape: { dim: [{ size: 2 + pngs.length }] },
      string_val: [Buffer.from('4'), Buffer.from('4'), ...pngs],
    },
  };
  if (first) value.metadata = pluginMetadata('images');
  return { step, wall_time: wall, summary: { value: [value] } };
}

/** A text summary (TF2 and PyTorch add_text): a string tensor, plugin `text`. */
export function textSummary(step: number, wall: number, tag: string, text: string): EventObject {
  return {
    step,
    wall_time: wall,
    summary: {
      value: [
        {
          tag,
          metadata: pluginMetadata('text'),
          tensor: { dtype: DT.STRING, tensor_shape: { dim: [{ size: 1 }] }, string_val: [Buffer.from(text)] },
        },
      ],
    },
  };
}

/** A TF1 histogram value (its HistogramProto bytes are never parsed by the importer, only counted). */
export function histogramSummary(step: number, wall: number, tag: string): EventObject {
  return { step, wall_time: wall, summary: { value: [{ tag, histo: Buffer.from([0x09, 0, 0, 0, 0, 0, 0, 0, 0]) }] } };
}

/** A value of a plugin the importer does not map (e.g. hparams), as a TF2 tensor. */
export function pluginValue(step: number, wall: number, tag: string, plugin: string): EventObject {
  return {
    step,
    wall_time: wall,
    summary: {
      value: [{ tag, metadata: pluginMetadata(plugin), tensor: { dtype: DT.FLOAT, tensor_shape: {}, float_val: [0] } }],
    },
  };
}
