-- Distributions: a histogram of a named quantity per run and step (db/distribution-rows.ts has the packing). Equal-
-- width edges are just lo..hi (edges NULL); counts are Uint32 (or Float64) bytes. Deleted with their run.
CREATE TABLE distributions (
  rid        INTEGER NOT NULL REFERENCES runs (rid) ON DELETE CASCADE,
  name       TEXT    NOT NULL,
  step       INTEGER NOT NULL,
  wall       REAL    NOT NULL,
  buckets    INTEGER NOT NULL,
  lo         REAL,
  hi         REAL,
  edges      BLOB,
  counts     BLOB    NOT NULL,
  non_finite INTEGER NOT NULL,
  total      INTEGER NOT NULL,
  PRIMARY KEY (rid, name, step)
) WITHOUT ROWID;
