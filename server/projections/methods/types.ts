// What a projection method is to the server: a name the API accepts, how many codes it takes, its parameters with
// their defaults, and a function from codes to a 2-D layout. The registry (index.ts) holds one per method.
import type { ProjectionAlignment, ProjectionContinuity } from '../../../protocol/index.js';
import type { CodesAssessment } from '../continuity.js';

/**
 * The earlier epoch's projection by the same method that a new one builds on (the newest whose codes had not
 * collapsed: see ProjectionService).
 */
export interface PreviousProjection {
  epoch: number;
  sourceCount: number;
  xy: Float32Array;
  indices: Int32Array | null;
  labels: Int32Array | null;
  params: Record<string, unknown>;
}

/** A method's parameters: numbers only, by name (e.g. t-SNE's iterations). */
export type MethodParams = Record<string, number>;

/** What a method projects: the codes after subsampling, and the previous epoch's layout to stay close to. */
export interface MethodInput {
  /** n × dim, row-major. */
  codes: Float32Array;
  n: number;
  dim: number;
  /** The class label of each code, or null. */
  labels: Int32Array | null;
  /**
   * Every random draw derives from this (random.ts: seededRandom(seed)), so the same codes and seed give the same
   * picture on every server. A seed rather than one generator: a method may start over (t-SNE tries a fresh and a
   * continued layout, both from the seed).
   */
  seed: number;
  /** The previous epoch's projection by this method, or null. */
  previous: PreviousProjection | null;
  /** Whether `previous`'s points are these codes' points, in this order (same latent set size, labels, subsample). */
  corresponds: boolean;
  /** How the codes compare with the previous epoch's (spread, collapse): continuity.ts. */
  assessment: CodesAssessment;
}

export interface MethodLayout {
  /** n × 2, row-major. */
  xy: Float64Array;
  /** What was used and found (stored with the projection and shown by the API): numbers, arrays, short strings. */
  params: Record<string, unknown>;
  /** How the layout was made to agree with the previous epoch's, or null. */
  aligned: ProjectionAlignment | null;
  /** Whether it continues the previous epoch's layout; omitted: computed afresh (compute.ts says why). */
  continuity?: ProjectionContinuity;
}

export interface ProjectionMethod<P extends MethodParams = MethodParams> {
  /** The API's name (`?method=`), stored with every projection: lowercase, stable. */
  readonly name: string;
  /** How people write it ('t-SNE'), in messages. */
  readonly title: string;
  /** Most codes it projects; larger latent sets get a deterministic class-stratified subsample of this many. */
  readonly limit: number;
  /** Computed as soon as a latent set arrives (else on first request). */
  readonly eager: boolean;
  /** Every parameter with its default. */
  readonly defaults: Readonly<P>;
  /** Why a set of parameters (defaults merged with overrides) is unusable, or null. */
  check?(params: Readonly<P>): string | null;
  project(input: MethodInput, params: Readonly<P>): MethodLayout;
}
