// Schema validation for HTTP parts and WS frames, with messages that name the offending field.
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { TSchema } from 'typebox';

function makeAjv(coerce: boolean): Ajv {
  // Bodies are checked strictly (no coercion, unknown fields rejected); query strings and params arrive as text.
  // strictNumbers: a number that overflowed to Infinity (1e400, in JSON or a query string) is not a number here.
  const ajv = new Ajv({
    coerceTypes: coerce ? 'array' : false,
    useDefaults: true,
    removeAdditional: false,
    allErrors: false,
    strict: false,
    strictNumbers: true,
    verbose: true,
  });
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
    const patterns = Object.keys(
      (e.parentSchema as { patternProperties?: object } | undefined)?.patternProperties ?? {},
    );
    if (patterns.length)
      return `${where} has key '${String(extra.additionalProperty)}', which does not match ${patterns.join(' or ')}`;
    return `${where} has unknown property '${String(extra.additionalProperty)}'`;
  }
  if (e.keyword === 'required') return `${where} must have property '${String(extra.missingProperty)}'`;
  return `${where} ${e.message ?? 'is invalid'}`;
}

export type FrameCheck<T> = (data: unknown) => { ok: true; value: T } | { ok: false; message: string };

/** Compiles a validator for a WS frame schema. */
export function compileFrame<T>(schema: TSchema): FrameCheck<T> {
  const validate: ValidateFunction = bodyAjv.compile(schema);
  return (data) =>
    validate(data)
      ? { ok: true, value: data as T }
      : { ok: false, message: describeAjvError('frame', validate.errors) };
}

/**
 * Compiles a validator for query strings and path parameters. Coercion turns '1e400' into Infinity without asking
 * whether it is finite, so coerced values are checked again: a non-finite number fails like any invalid field.
 */
export function compileText(schema: object): ValidateFunction {
  const validate = textAjv.compile(schema);
  const check = ((data: unknown) => {
    const ok = validate(data);
    check.errors = validate.errors;
    if (!ok || data === null || typeof data !== 'object') return ok;
    for (const [key, value] of Object.entries(data as Record<string, unknown>)) {
      const values = Array.isArray(value) ? value : [value];
      if (values.some((v) => typeof v === 'number' && !Number.isFinite(v))) {
        check.errors = [
          { instancePath: `/${key}`, schemaPath: '#', keyword: 'type', params: {}, message: 'must be a finite number' },
        ];
        return false;
      }
    }
    return true;
  }) as ValidateFunction;
  check.schema = validate.schema;
  return check;
}
