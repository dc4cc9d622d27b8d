// A run's statuses, without the schema library (the web bundle and protocol/run-query.ts import this directly).
export const RUN_STATUSES = ['running', 'paused', 'finished', 'failed', 'disconnected'] as const;
export type RunStatusName = (typeof RUN_STATUSES)[number];
