// The projection methods the server knows, by name: the API's list of valid methods, its error for an unknown one,
// the eager ones, each one's subsample limit, and what the worker runs all come from here. To add a method, follow the
// steps at the top of _template.ts (a working method that is deliberately not registered).
import { gwError } from '../../../protocol/index.js';
import { pca } from './pca.js';
import { tsne } from './tsne.js';
import type { MethodParams, ProjectionMethod } from './types.js';
import { umap } from './umap.js';

export type { MethodInput, MethodLayout, MethodParams, PreviousProjection, ProjectionMethod } from './types.js';

const NAME = /^[a-z][a-z0-9_]{0,31}$/;

/** A set of methods keyed by name, in the order the API lists them. */
export class ProjectionMethods {
  private readonly byName = new Map<string, ProjectionMethod>();

  constructor(methods: readonly ProjectionMethod[]) {
    for (const m of methods) {
      if (!NAME.test(m.name)) throw new Error(`projection method name '${m.name}' is not lowercase [a-z0-9_], ≤ 32`);
      if (m.name === 'separation') throw new Error(`'separation' names the class-separation job, not a method`);
      if (this.byName.has(m.name)) throw new Error(`projection method '${m.name}' is registered twice`);
      this.byName.set(m.name, m);
    }
  }

  get names(): string[] {
    return [...this.byName.keys()];
  }

  /** The methods computed as soon as a latent set arrives. */
  get eager(): string[] {
    return [...this.byName.values()].filter((m) => m.eager).map((m) => m.name);
  }

  /** Most codes each method projects. */
  get limits(): Record<string, number> {
    return Object.fromEntries([...this.byName.values()].map((m) => [m.name, m.limit]));
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** The method called `name`; GW_ERR_PROJECTION_METHOD, naming the known ones, for any other name. */
  get(name: string): ProjectionMethod {
    const m = this.byName.get(name);
    if (!m) throw gwError('GW_ERR_PROJECTION_METHOD', name, this.names.join(', '));
    return m;
  }

  /** These methods and `more` (e.g. a method under test). */
  with(...more: ProjectionMethod[]): ProjectionMethods {
    return new ProjectionMethods([...this.byName.values(), ...more]);
  }
}

/** Every method a server computes. The API and the projection worker use this registry. */
export const PROJECTION_METHODS = new ProjectionMethods([tsne, pca, umap]);

/**
 * A method's parameters: its defaults overridden by `overrides`. Refuses a name the method does not declare, a value
 * that is not a finite number, and whatever the method's own check refuses.
 */
export function methodParams<P extends MethodParams>(
  method: ProjectionMethod<P>,
  overrides: Readonly<Record<string, unknown>> = {},
): Readonly<P> {
  const params: MethodParams = { ...method.defaults };
  for (const [k, v] of Object.entries(overrides)) {
    if (!(k in method.defaults))
      throw new RangeError(
        `${method.title} has no parameter '${k}'; its parameters: ${Object.keys(method.defaults).join(', ')}`,
      );
    if (typeof v !== 'number' || !Number.isFinite(v))
      throw new RangeError(`${method.title} parameter '${k}' must be a finite number, not ${String(v)}`);
    params[k] = v;
  }
  const problem = method.check?.(params as P) ?? null;
  if (problem !== null) throw new RangeError(`${method.title}: ${problem}`);
  return params as P;
}
