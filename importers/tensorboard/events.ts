// Decodes one event record (a serialized tensorboard.Event) into what the importer maps to ganwatch: scalars (TF1
// `simple_value` and TF2 rank-0 numeric tensors), PNG images (TF1 `Summary.Image` and TF2 image tensors), text, and
// everything else as a named kind of skipped value. Writers put a value's plugin metadata only on the first value of
// each tag, so the caller keeps a per-run map of tag → plugin name that this module reads and fills in.
import protobuf from 'protobufjs';
import { DT, TENSORBOARD_PROTO } from './schema.js';

const root = protobuf.parse(TENSORBOARD_PROTO, { keepCase: true }).root;
const EventType = root.lookupType('tensorboard.Event');

type Int64 = number | { toNumber(): number } | null | undefined;

interface TensorMessage {
  dtype: number;
  tensor_shape?: { dim: Array<{ size: Int64 }> } | null;
  tensor_content: Uint8Array;
  half_val: number[];
  float_val: number[];
  double_val: number[];
  int_val: number[];
  string_val: Uint8Array[];
  int64_val: Int64[];
  uint32_val: number[];
  uint64_val: Int64[];
}

interface ValueMessage {
  tag: string;
  metadata?: { plugin_data?: { plugin_name: string } | null } | null;
  value?: 'simple_value' | 'obsolete_old_style_histogram' | 'image' | 'histo' | 'audio' | 'tensor';
  simple_value: number;
  image?: { encoded_image_string: Uint8Array; width: number; height: number } | null;
  tensor?: TensorMessage | null;
}

interface EventMessage {
  wall_time: number;
  step: Int64;
  what?:
    'file_version' | 'graph_def' | 'summary' | 'log_message' | 'session_log' | 'tagged_run_metadata' | 'meta_graph_def';
  summary?: { value: ValueMessage[] } | null;
}

export type EventItem =
  | { kind: 'scalar'; tag: string; value: number }
  | { kind: 'image'; tag: string; index: number; png: Buffer }
  | { kind: 'text'; tag: string; text: string }
  | { kind: 'skipped'; tag: string | null; what: string };

export interface DecodedEvent {
  wall: number;
  /** The event's step; null when ganwatch cannot store it (negative, or beyond 2^53). */
  step: number | null;
  items: EventItem[];
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const EVENT_LEVEL_SKIPS: Record<string, string> = {
  graph_def: 'graphs',
  meta_graph_def: 'graphs',
  tagged_run_metadata: 'run metadata',
  session_log: 'session logs',
  log_message: 'log messages',
};

function toNumber(v: Int64): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'number' ? v : v.toNumber();
}

/** IEEE 754 binary16 bits to a number (TensorProto keeps DT_HALF values as their bits in int32s). */
export function halfToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

function bfloat16ToNumber(bits: number): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setUint32(0, (bits & 0xffff) << 16);
  return view.getFloat32(0);
}

/** The value of a rank-0 numeric tensor, from its typed field or its raw little-endian content; null otherwise. */
export function scalarOf(t: TensorMessage): number | null {
  if ((t.tensor_shape?.dim.length ?? 0) !== 0) return null;
  const raw = t.tensor_content.length > 0 ? Buffer.from(t.tensor_content) : null;
  const pick = <T>(list: T[], fromRaw: (b: Buffer) => number, of: (v: T) => number): number | null => {
    if (raw) return fromRaw(raw);
    return list.length > 0 ? of(list[0] as T) : null;
  };
  const id = (v: number): number => v;
  switch (t.dtype) {
    case DT.FLOAT:
      return pick(t.float_val, (b) => b.readFloatLE(0), id);
    case DT.DOUBLE:
      return pick(t.double_val, (b) => b.readDoubleLE(0), id);
    case DT.HALF:
      return pick(t.half_val, (b) => halfToNumber(b.readUInt16LE(0)), halfToNumber);
    case DT.BFLOAT16:
      return pick(t.half_val, (b) => bfloat16ToNumber(b.readUInt16LE(0)), bfloat16ToNumber);
    case DT.INT32:
      return pick(t.int_val, (b) => b.readInt32LE(0), id);
    case DT.INT16:
      return pick(t.int_val, (b) => b.readInt16LE(0), id);
    case DT.INT8:
      return pick(t.int_val, (b) => b.readInt8(0), id);
    case DT.UINT8:
      return pick(t.int_val, (b) => b.readUInt8(0), id);
    case DT.UINT16:
      return pick(t.int_val, (b) => b.readUInt16LE(0), id);
    case DT.INT64:
      return pick(t.int64_val, (b) => Number(b.readBigInt64LE(0)), toNumber);
    case DT.UINT32:
      return pick(t.uint32_val, (b) => b.readUInt32LE(0), id);
    case DT.UINT64:
      return pick(t.uint64_val, (b) => Number(b.readBigUInt64LE(0)), toNumber);
    default:
      return null;
  }
}

function isPng(bytes: Uint8Array): boolean {
  return bytes.length > 8 && Buffer.from(bytes.buffer, bytes.byteOffset, 8).equals(PNG_SIGNATURE);
}

function imageItems(tag: string, images: Uint8Array[], firstIndex: number): EventItem[] {
  return images.map((bytes, i) =>
    isPng(bytes)
      ? { kind: 'image', tag, index: firstIndex + i, png: Buffer.from(bytes) }
      : { kind: 'skipped', tag, what: 'non-PNG images' },
  );
}

function tensorItems(tag: string, plugin: string, t: TensorMessage): EventItem[] {
  switch (plugin) {
    case '':
    case 'scalars': {
      const value = scalarOf(t);
      if (value !== null) return [{ kind: 'scalar', tag, value }];
      return [
        { kind: 'skipped', tag, what: plugin ? 'scalar tensors of another shape or type' : 'tensors of no plugin' },
      ];
    }
    case 'images':
      // The images plugin's tensor: [width, height, PNG, PNG, ...] as strings.
      if (t.dtype !== DT.STRING || t.string_val.length < 3)
        return [{ kind: 'skipped', tag, what: 'image tensors of another shape' }];
      return imageItems(tag, t.string_val.slice(2), 0);
    case 'text':
      if (t.dtype !== DT.STRING || t.string_val.length === 0)
        return [{ kind: 'skipped', tag, what: 'text tensors of another type' }];
      return [{ kind: 'text', tag, text: t.string_val.map((s) => Buffer.from(s).toString('utf8')).join('\n') }];
    case 'histograms':
      return [{ kind: 'skipped', tag, what: 'histograms' }];
    default:
      return [{ kind: 'skipped', tag, what: `${plugin} plugin values` }];
  }
}

function valueItems(v: ValueMessage, plugins: Map<string, string>): EventItem[] {
  const declared = v.metadata?.plugin_data?.plugin_name;
  if (declared) plugins.set(v.tag, declared);
  const plugin = plugins.get(v.tag) ?? '';
  switch (v.value) {
    case 'simple_value':
      return [{ kind: 'scalar', tag: v.tag, value: v.simple_value }];
    case 'image':
      return imageItems(v.tag, v.image ? [v.image.encoded_image_string] : [], 0);
    case 'histo':
    case 'obsolete_old_style_histogram':
      return [{ kind: 'skipped', tag: v.tag, what: 'histograms' }];
    case 'audio':
      return [{ kind: 'skipped', tag: v.tag, what: 'audio clips' }];
    case 'tensor':
      return v.tensor ? tensorItems(v.tag, plugin, v.tensor) : [];
    default:
      return [{ kind: 'skipped', tag: v.tag, what: 'empty values' }];
  }
}

/** Decodes one record; throws (protobufjs's error) when the bytes are not an Event. */
export function decodeEvent(data: Uint8Array, plugins: Map<string, string>): DecodedEvent {
  const event = EventType.decode(data) as unknown as EventMessage;
  const step = toNumber(event.step);
  const decoded: DecodedEvent = {
    wall: event.wall_time,
    step: Number.isSafeInteger(step) && step >= 0 ? step : null,
    items: [],
  };
  if (event.what === 'summary' && event.summary) {
    for (const v of event.summary.value) decoded.items.push(...valueItems(v, plugins));
  } else if (event.what !== undefined && event.what in EVENT_LEVEL_SKIPS) {
    decoded.items.push({ kind: 'skipped', tag: null, what: EVENT_LEVEL_SKIPS[event.what] as string });
  }
  return decoded;
}

/** Encodes an Event from a plain object in the same shape (snake_case fields): for tests and the benchmark. */
export function encodeEvent(event: Record<string, unknown>): Uint8Array {
  const err = EventType.verify(event);
  if (err) throw new Error(`not a valid Event: ${err}`);
  return EventType.encode(EventType.fromObject(event)).finish();
}
