-- 001: runs, metrics, points with their multi-level summaries, media, latent codes, alerts and controls.

CREATE TABLE runs (
  rid          INTEGER PRIMARY KEY,
  id           TEXT    NOT NULL UNIQUE,           -- the public id (a short random string)
  name         TEXT    NOT NULL,
  status       TEXT    NOT NULL CHECK (status IN ('running', 'paused', 'finished', 'failed', 'disconnected')),
  config       TEXT    NOT NULL DEFAULT '{}',     -- JSON object
  tags         TEXT    NOT NULL DEFAULT '[]',     -- JSON array of strings
  notes        TEXT    NOT NULL DEFAULT '',
  backend      TEXT,
  device       TEXT,
  host         TEXT,
  created_at   REAL    NOT NULL,                  -- seconds since the Unix epoch
  updated_at   REAL    NOT NULL,
  finished_at  REAL,
  last_step    INTEGER,
  last_seen_at REAL                               -- last time the trainer wrote anything
);

CREATE TABLE metrics (
  mid  INTEGER PRIMARY KEY,
  rid  INTEGER NOT NULL REFERENCES runs (rid) ON DELETE CASCADE,
  name TEXT    NOT NULL,
  UNIQUE (rid, name)
);

-- One row per (run, metric, step); the run is implied by the metric. NaN is stored as NULL, ±Infinity as REAL.
CREATE TABLE points (
  mid   INTEGER NOT NULL,
  step  INTEGER NOT NULL,
  value REAL,
  wall  REAL    NOT NULL,
  PRIMARY KEY (mid, step)
) WITHOUT ROWID;

-- Exact envelopes of fixed step blocks: level L covers 16^L steps (L = 1..4). Recomputed from the level below
-- for every block a write touches, so a bucketed read never scans raw points and never loses a spike.
CREATE TABLE blocks (
  mid       INTEGER NOT NULL,
  level     INTEGER NOT NULL,
  block     INTEGER NOT NULL,  -- first step of the block >> (4 · level)
  cnt       INTEGER NOT NULL,  -- finite values
  nonfinite INTEGER NOT NULL,
  vmin      REAL,
  vmax      REAL,
  vsum      REAL    NOT NULL,
  vlast     REAL,              -- last finite value
  last_step INTEGER NOT NULL,
  wall      REAL    NOT NULL,  -- wall time of the last point
  PRIMARY KEY (mid, level, block)
) WITHOUT ROWID;

CREATE TABLE media (
  id         INTEGER PRIMARY KEY,
  rid        INTEGER NOT NULL REFERENCES runs (rid) ON DELETE CASCADE,
  epoch      INTEGER NOT NULL,
  step       INTEGER NOT NULL,
  kind       TEXT    NOT NULL,
  meta       TEXT    NOT NULL DEFAULT '{}',
  bytes      BLOB    NOT NULL,
  created_at REAL    NOT NULL,
  UNIQUE (rid, kind, epoch, step)
);

CREATE TABLE latents (
  rid        INTEGER NOT NULL REFERENCES runs (rid) ON DELETE CASCADE,
  epoch      INTEGER NOT NULL,
  step       INTEGER,
  dim        INTEGER NOT NULL,
  count      INTEGER NOT NULL,
  codes      BLOB    NOT NULL,  -- Float32, little-endian, count × dim
  labels     BLOB,              -- Int32, little-endian, count
  created_at REAL    NOT NULL,
  PRIMARY KEY (rid, epoch)
);

CREATE TABLE alerts (
  id            INTEGER PRIMARY KEY,
  rid           INTEGER NOT NULL REFERENCES runs (rid) ON DELETE CASCADE,
  rule          TEXT    NOT NULL,
  severity      TEXT    NOT NULL,
  state         TEXT    NOT NULL,
  step_opened   INTEGER,
  step_closed   INTEGER,
  message       TEXT    NOT NULL,
  evidence      TEXT    NOT NULL DEFAULT '{}',
  remedy_text   TEXT,
  remedy_action TEXT,
  acknowledged  INTEGER NOT NULL DEFAULT 0,
  muted         INTEGER NOT NULL DEFAULT 0,
  control_id    INTEGER,
  created_at    REAL    NOT NULL,
  updated_at    REAL    NOT NULL
);
CREATE INDEX alerts_by_run ON alerts (rid, state);

CREATE TABLE controls (
  id          INTEGER PRIMARY KEY,
  rid         INTEGER NOT NULL REFERENCES runs (rid) ON DELETE CASCADE,
  action      TEXT    NOT NULL,
  args        TEXT    NOT NULL DEFAULT '{}',
  status      TEXT    NOT NULL CHECK (status IN ('pending', 'sent', 'applied', 'failed')),
  source      TEXT    NOT NULL DEFAULT 'api',
  created_at  REAL    NOT NULL,
  sent_at     REAL,
  result_at   REAL,
  result_step INTEGER,
  message     TEXT
);
CREATE INDEX controls_by_run ON controls (rid, status);
