// The one definition of ganwatch's v1 wire format, imported by the server, the trainer and the web dashboard.
export * from './limits.js';
export { API_PREFIX, decodeValue, encodeValue } from './wire.js';
export * from './values.js';
export * from './points.js';
export * from './runs.js';
export * from './run-query.js';
export * from './metric-directions.js';
export * from './series.js';
export * from './media.js';
export * from './controls.js';
export * from './ingest.js';
export * from './live.js';
export * from './errors.js';
export * from './alerts.js';
export * from './user-rules.js';
export * from './user-rule-schemas.js';
export * from './projections.js';
export * from './metric-names.js';
