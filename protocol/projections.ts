// 2-D projections of a run's latent codes (t-SNE, PCA, UMAP), computed by the server per validation epoch, and the
// class-separation figures of the same codes (silhouette, Fisher ratio).
import { Type, type Static } from 'typebox';

/**
 * A projection method's name: the server's registry (server/projections/methods/) holds them; 'tsne', 'pca' and
 * 'umap' ship. GET /runs/:id/projections lists the ones it computes (`limits`) and refuses others with
 * GW_ERR_PROJECTION_METHOD naming them.
 */
export type ProjectionMethod = string;

/**
 * GET /runs/:id/projections: with neither field, the list of what exists; with either, one projection (method
 * defaults to tsne, epoch to the newest epoch that has latent codes). The method is checked by the route so that
 * an unknown one gets its own error naming the known ones.
 */
export const ProjectionQuery = Type.Object(
  {
    epoch: Type.Optional(Type.Integer({ minimum: 0 })),
    method: Type.Optional(Type.String({ minLength: 1, maxLength: 32 })),
  },
  { additionalProperties: false },
);
export type ProjectionQuery = Static<typeof ProjectionQuery>;

export type ProjectionStatus = 'pending' | 'ready' | 'failed';

/** Set when the latent set had more codes than the method's working limit. */
export interface ProjectionSubsample {
  /** Codes in the latent set. */
  from: number;
  /** Codes projected. */
  to: number;
  /** True: each class keeps its share (deterministic, evenly spaced within the class); false: no labels, evenly spaced. */
  stratified: boolean;
}

/** How the picture was kept in place relative to an earlier epoch's (never by scaling it: each method keeps its units). */
export type ProjectionAlignment =
  /** t-SNE started from the earlier epoch's layout (same codes in the same order), then Procrustes. */
  | 'init+procrustes'
  /** rotated (reflection allowed) and shifted onto the earlier epoch's corresponding points. */
  | 'procrustes'
  /** the same, fitted on class centroids (the codes do not correspond one to one). */
  | 'centroids'
  /** PCA: each axis's sign chosen to agree with the earlier epoch's picture (or its axes, when the codes do not correspond). */
  | 'sign';

/**
 * How an epoch's projection builds on an earlier epoch's, in `params.continuity`: which epoch, whether the codes
 * collapsed, and whether the t-SNE layout continued from the earlier one or started afresh, and why.
 */
export interface ProjectionContinuity {
  /** The epoch aligned with: the newest earlier one projected by this method whose codes had not collapsed; null for the first. */
  reference: number | null;
  /** Root-mean-square distance of the projected codes from their mean, in code units. */
  code_spread: number;
  /** code_spread over the reference epoch's (null without a reference). */
  spread_ratio: number | null;
  /** The codes' spread fell below a tenth of the reference epoch's: projected afresh, and never a reference itself. */
  collapsed: boolean;
  /** 'continued': t-SNE started from the reference's layout; 'fresh': computed from scratch (always, for PCA and UMAP). */
  start: 'continued' | 'fresh';
  /** Why, in words. */
  reason: string;
  /** t-SNE, when it tried both: KL of the layout continued from the reference and of a fresh one. */
  kl_continued?: number;
  kl_fresh?: number;
}

export type SeparationStatus = 'pending' | 'ready' | 'skipped' | 'failed';

/** The class separation of an epoch's codes; also stored as the points val/latent_silhouette and val/latent_fisher. */
export interface LatentSeparation {
  status: SeparationStatus;
  /** Mean silhouette of the codes by class label, in [−1, 1]. */
  silhouette: number | null;
  /** tr(S_B)/tr(S_W): between-class over within-class scatter. */
  fisher: number | null;
  /** The step the points were written at. */
  step: number | null;
  /** Why it was skipped or failed (no labels, a single class, ...). */
  reason?: string;
}

export interface Projection {
  epoch: number;
  method: ProjectionMethod;
  status: ProjectionStatus;
  /** [x, y] per projected code, in the order of `indices` (or of the latent set when not subsampled). */
  points: Array<[number, number]> | null;
  /** The class label of each point, or null when the latent set has none. */
  labels: number[] | null;
  /** Index in the latent set of each point when subsampled, else null. */
  indices: number[] | null;
  /** Points projected (or to be). */
  count: number;
  subsampled: ProjectionSubsample | null;
  /** Compute time in milliseconds (null while pending). */
  ms: number | null;
  error?: string;
  aligned: ProjectionAlignment | null;
  /** The parameters used (perplexity, iterations, learning rate, ...), and what aligned it. */
  params: Record<string, unknown>;
  separation: LatentSeparation | null;
}

export interface ProjectionSummary {
  epoch: number;
  method: ProjectionMethod;
  status: ProjectionStatus;
  count: number;
  subsampled: ProjectionSubsample | null;
  ms: number | null;
  error?: string;
}

export interface ProjectionList {
  /** Every epoch with latent codes, and its separation figures. */
  epochs: Array<{ epoch: number; count: number; labelled: boolean; separation: LatentSeparation | null }>;
  projections: ProjectionSummary[];
  /** Methods computed as soon as a latent set arrives; the others on first request. */
  eager: ProjectionMethod[];
  /** Largest number of codes each method projects; larger sets are subsampled. */
  limits: Record<ProjectionMethod, number>;
}
