-- Distributions: a histogram of a named quantity per run and step (db/distribution-rows.ts has the packing). Equal-
-- width edges are just lo..hi (edges NULL); counts are Uint32 (or Float64) bytes. Deleted with their run.
CREATE TABLE distributions (
  rid        bigint  NOT NULL REFERENCES runs (rid) ON DELETE CASCADE,
  name       text    NOT NULL,
  step       bigint  NOT NULL,
  wall       float8  NOT NULL,
  buckets    integer NOT NULL,
  lo         float8,
  hi         float8,
  edges      bytea,
  counts     bytea   NOT NULL,
  non_finite bigint  NOT NULL,
  total      bigint  NOT NULL,
  PRIMARY KEY (rid, name, step)
);
