// One step's values as the wire wants them, checked before they can spoil a batch, and the buffer that makes point
// frames of them (each point is serialized once, when it is pushed, so cutting a batch is a string join).
import {
  MAX_BODY_BYTES,
  MAX_VALUES_PER_POINT,
  MAX_WALL,
  METRIC_NAME_PATTERN,
  encodeValue,
  gwError,
  type WireValue,
} from '../../protocol/index.js';

const FRAME_ENVELOPE_BYTES = 64;
const METRIC_NAME = new RegExp(METRIC_NAME_PATTERN);

export function isCount(n: unknown): n is number {
  return Number.isSafeInteger(n) && (n as number) >= 0;
}

export class PointBuffer {
  private points: string[] = [];
  private bytes = 0;
  private readonly knownNames = new Set<string>();

  constructor(private readonly maxPoints: number) {}

  get count(): number {
    return this.points.length;
  }

  /** The buffer holds a full batch: cut it now. */
  get full(): boolean {
    return this.points.length >= this.maxPoints;
  }

  /**
   * One step's point as JSON text. Throws GW_ERR_MONITOR_INPUT for anything the server would refuse: a bad step,
   * wall time or metric name, a value that is not a number, no values or too many.
   */
  encode(step: number, values: Record<string, number>, wall?: number): string {
    if (!isCount(step)) throw gwError('GW_ERR_MONITOR_INPUT', `step must be a non-negative integer, got ${step}`);
    const time = wall ?? Date.now() / 1000;
    if (!Number.isFinite(time) || time < 0 || time > MAX_WALL) {
      throw gwError('GW_ERR_MONITOR_INPUT', `wall must be seconds since the Unix epoch, got ${wall}`);
    }
    const wire: Record<string, WireValue> = {};
    let count = 0;
    for (const name in values) {
      const value = values[name];
      if (!this.knownNames.has(name)) {
        if (!METRIC_NAME.test(name)) {
          throw gwError('GW_ERR_MONITOR_INPUT', `metric name '${name}' must match ${METRIC_NAME_PATTERN}`);
        }
        this.knownNames.add(name);
      }
      if (typeof value !== 'number') throw gwError('GW_ERR_MONITOR_INPUT', `metric '${name}' is not a number`);
      wire[name] = encodeValue(value);
      count++;
    }
    if (count === 0) throw gwError('GW_ERR_MONITOR_INPUT', `step ${step} has no values`);
    if (count > MAX_VALUES_PER_POINT) {
      throw gwError('GW_ERR_MONITOR_INPUT', `step ${step} has ${count} values; the limit is ${MAX_VALUES_PER_POINT}`);
    }
    return JSON.stringify({ step, wall: time, values: wire });
  }

  /** Whether `point` still fits in the current batch's frame (the server's body limit). */
  fits(point: string): boolean {
    return this.bytes + point.length + 1 + FRAME_ENVELOPE_BYTES <= MAX_BODY_BYTES;
  }

  add(point: string): void {
    this.points.push(point);
    this.bytes += point.length + 1;
  }

  /** Empties the buffer into the text of points frame `seq`. */
  frame(seq: number): { text: string; count: number } {
    const count = this.points.length;
    const text = `{"type":"points","seq":${seq},"points":[${this.points.join(',')}]}`;
    this.points = [];
    this.bytes = 0;
    return { text, count };
  }
}
