// How metric values travel: JSON has no NaN or Infinity, so those three travel as strings.
import { Type, type Static } from 'typebox';

export const NonFiniteString = Type.Union([Type.Literal('NaN'), Type.Literal('Infinity'), Type.Literal('-Infinity')]);
export type NonFiniteString = Static<typeof NonFiniteString>;

/** A metric value on the wire: a finite JSON number, or one of the three non-finite strings. */
export const WireValue = Type.Union([Type.Number(), NonFiniteString]);
export type WireValue = Static<typeof WireValue>;

/** Turns any JS number into its wire form. */
export function encodeValue(value: number): WireValue {
  if (Number.isFinite(value)) return value;
  if (Number.isNaN(value)) return 'NaN';
  return value > 0 ? 'Infinity' : '-Infinity';
}

/** Turns a wire value back into a JS number. */
export function decodeValue(value: WireValue): number {
  if (typeof value === 'number') return value;
  if (value === 'NaN') return Number.NaN;
  return value === 'Infinity' ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
}
