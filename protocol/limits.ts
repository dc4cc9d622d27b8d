// Limits of the v1 wire format, shared by the server (which enforces them) and clients (which respect them).

/** Longest metric name, in characters (see METRIC_NAME_PATTERN). */
export const MAX_METRIC_NAME_CHARS = 128;
/** Most points one HTTP request or WS frame may carry. */
export const MAX_POINTS_PER_BATCH = 10_000;
/** Most metric values one point (one step) may carry. */
export const MAX_VALUES_PER_POINT = 1000;
/** Latest wall time a point may carry, in seconds since the Unix epoch (year 5138: rejects milliseconds). */
export const MAX_WALL = 1e11;
/** Largest JSON body or WS text frame, in bytes. */
export const MAX_BODY_BYTES = 4 * 1024 * 1024;
/** Largest PNG accepted by the media route, in bytes. */
export const MAX_MEDIA_BYTES = 16 * 1024 * 1024;
/** Most latent codes one epoch may hold (larger sets are rejected by the client-side subsampler). */
export const MAX_LATENT_CODES = 20_000;
/** Largest latent dimension accepted. */
export const MAX_LATENT_DIM = 1024;
/** Largest class label a latent code may carry. */
export const MAX_LATENT_LABEL = 1_000_000;
/** Longest media meta (JSON text), in characters. */
export const MAX_MEDIA_META_CHARS = 10_000;
/** Media kinds: letters, digits and `_ . -`, 1 to 64 characters. */
export const MEDIA_KIND_PATTERN = '^[A-Za-z0-9_.-]{1,64}$';
/** Longest run notes, in characters. */
export const MAX_NOTES_CHARS = 20_000;
/** Most buckets a series request may ask for. */
export const MAX_BUCKETS = 10_000;
/** Most buckets one distribution (histogram) may have. */
export const MAX_DISTRIBUTION_BUCKETS = 512;
/** Most distributions one HTTP request or WS frame may carry. */
export const MAX_DISTRIBUTIONS_PER_BATCH = 2000;
/** Most GPU names a run's `system` document may list (a node has at most 16 in practice). */
export const MAX_SYSTEM_GPUS = 64;
/** Run ids: lowercase letters and digits, 1 to 32 characters (the server makes them 10 long). */
const RUN_ID = '[a-z0-9]{1,32}';
export const RUN_ID_PATTERN = `^${RUN_ID}$`;
/** A run id, or `*` for every run (live subscriptions). */
export const RUN_SELECTOR_PATTERN = `^(${RUN_ID}|\\*)$`;
/** Metric names: letters, digits and `_ . / -`, 1 to 128 characters. */
export const METRIC_NAME_PATTERN = `^[A-Za-z0-9_./-]{1,${MAX_METRIC_NAME_CHARS}}$`;
