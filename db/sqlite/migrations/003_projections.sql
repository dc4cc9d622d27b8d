-- 003: 2-D projections of latent codes per (run, epoch, method), and the class separation of each epoch's codes.

CREATE TABLE projections (
  rid          INTEGER NOT NULL REFERENCES runs (rid) ON DELETE CASCADE,
  epoch        INTEGER NOT NULL,
  method       TEXT    NOT NULL,                 -- tsne | pca | umap
  status       TEXT    NOT NULL CHECK (status IN ('pending', 'ready', 'failed')),
  source_count INTEGER NOT NULL,                 -- codes in the latent set
  count        INTEGER NOT NULL,                 -- codes projected (fewer when subsampled)
  stratified   INTEGER NOT NULL DEFAULT 0,       -- 1 when the subsample kept class shares
  xy           BLOB,                             -- Float32, little-endian, count × 2
  indices      BLOB,                             -- Int32: index in the latent set of each point, when subsampled
  labels       BLOB,                             -- Int32: class label of each point, when the set has labels
  params       TEXT    NOT NULL DEFAULT '{}',    -- JSON: parameters used, alignment
  ms           REAL,                             -- compute time
  error        TEXT,
  requested_at REAL    NOT NULL,
  finished_at  REAL,
  PRIMARY KEY (rid, epoch, method)
) WITHOUT ROWID;
CREATE INDEX projections_pending ON projections (status) WHERE status = 'pending';

CREATE TABLE latent_separation (
  rid          INTEGER NOT NULL REFERENCES runs (rid) ON DELETE CASCADE,
  epoch        INTEGER NOT NULL,
  status       TEXT    NOT NULL CHECK (status IN ('pending', 'ready', 'skipped', 'failed')),
  step         INTEGER,                          -- step of the val/latent_* points
  silhouette   REAL,
  fisher       REAL,                             -- NULL also for +Infinity (every class a single point)
  reason       TEXT,
  ms           REAL,
  updated_at   REAL    NOT NULL,
  PRIMARY KEY (rid, epoch)
) WITHOUT ROWID;
