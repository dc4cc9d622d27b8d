// The parts of the wire format that need no schema library: the API prefix and how metric values travel. The
// browser bundle imports this module directly, since the rest of protocol/ pulls in typebox.

export const API_PREFIX = '/api/v1';

/** JSON has no NaN or Infinity, so those three travel as strings. */
export type NonFiniteString = 'NaN' | 'Infinity' | '-Infinity';

/** A metric value on the wire: a finite JSON number, or one of the three non-finite strings. */
export type WireValue = number | NonFiniteString;

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
