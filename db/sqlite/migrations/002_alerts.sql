-- 002: alert keys and timings, per-run alert settings, server-wide settings, change-point markers.

ALTER TABLE alerts ADD COLUMN key TEXT NOT NULL DEFAULT '';
ALTER TABLE alerts ADD COLUMN firing_at REAL;
ALTER TABLE alerts ADD COLUMN resolved_at REAL;
CREATE INDEX alerts_by_rule ON alerts (rid, rule, key, id);

-- Per-run alert configuration (rule overrides, auto_apply policy), a JSON object.
ALTER TABLE runs ADD COLUMN alert_config TEXT NOT NULL DEFAULT '{}';

-- Server-wide settings that can be changed over the API (e.g. 'alerts.defaults'), JSON values.
CREATE TABLE settings (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);

-- Change points and other markers drawn on a run's curves.
CREATE TABLE markers (
  id        INTEGER PRIMARY KEY,
  rid       INTEGER NOT NULL REFERENCES runs (rid) ON DELETE CASCADE,
  metric    TEXT    NOT NULL,
  step      INTEGER NOT NULL,
  change_at INTEGER,
  kind      TEXT    NOT NULL,
  evidence  TEXT    NOT NULL DEFAULT '{}',
  created_at REAL   NOT NULL
);
CREATE INDEX markers_by_run ON markers (rid, metric, step);
