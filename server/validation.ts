// Schema validation for HTTP parts and WS frames, with messages that name the offending field.
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { TSchema } from 'typebox';

function makeAjv(coerce: boolean): Ajv {
  // Bodies are checked strictly (no coercion, unknown fields rejected); query strings and params arrive as text.
  const ajv = new Ajv({ coerceTypes: coerce ? 'array' : false, useDefaults: true, removeAdditional: false, allErrors: false, strict: false, verbose: true });
  (addFormats as unknown as (a: Ajv) => Ajv)(ajv);
  return ajv;
}

export const bodyAjv = makeAjv(false);
export const textAjv = makeAjv(true);

/** One readable line for the first validation error, e.g. "body/points/0/step must be integer". */
export function describeAjvError(context: string, errors: ErrorObject[] | null | undefined): string {
  const e = errors?.[0];
  if (!e) return `${context} is invalid`;
  const where = `${context}${e.instancePath}`;
  const extra = e.params as Record<string, unknown>;
  if (e.keyword === 'additionalProperties') {
    const patterns = Object.keys((e.parentSchema as { patternProperties?: object } | undefined)?.patternProperties ?? {});
    if (patterns.length) return `${where} has key '${String(extra.additionalProperty)}', which does not match ${patterns.join(' or ')}`;
    return `${where} has unknown property '${String(extra.additionalProperty)}'`;
  }
  if (e.keyword === 'required') return `${where} must have property '${String(extra.missingProperty)}'`;
  return `${where} ${e.message ?? 'is invalid'}`;
}

export type FrameCheck<T> = (data: unknown) => { ok: true; value: T } | { ok: false; message: string };

/** Compiles a validator for a WS frame schema. */
export function compileFrame<T>(schema: TSchema): FrameCheck<T> {
  const validate: ValidateFunction = bodyAjv.compile(schema as object);
  return (data) => (validate(data) ? { ok: true, value: data as T } : { ok: false, message: describeAjvError('frame', validate.errors) });
}
