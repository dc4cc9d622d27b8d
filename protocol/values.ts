// The schemas of metric values on the wire; the types and the encoding itself live in wire.ts (no typebox there).
import { Type } from 'typebox';
import type * as Wire from './wire.js';

export const NonFiniteString = Type.Union([Type.Literal('NaN'), Type.Literal('Infinity'), Type.Literal('-Infinity')]);
export type NonFiniteString = Wire.NonFiniteString;

/** A metric value on the wire: a finite JSON number, or one of the three non-finite strings. */
export const WireValue = Type.Union([Type.Number(), NonFiniteString]);
export type WireValue = Wire.WireValue;
