-- 006: user threshold rules (protocol/user-rules.ts): server-wide (rid NULL) or of one run (deleted with it).

CREATE TABLE user_rules (
  -- AUTOINCREMENT: an id is never reused, so a new rule never inherits a deleted one's alerts (keys are 'id:metric')
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  rid        INTEGER REFERENCES runs (rid) ON DELETE CASCADE,
  name       TEXT    NOT NULL,
  metric     TEXT    NOT NULL,
  comparison TEXT    NOT NULL,
  value      REAL    NOT NULL,
  -- 'steps' or 'minutes', and how many
  for_unit   TEXT    NOT NULL CHECK (for_unit IN ('steps', 'minutes')),
  for_count  REAL    NOT NULL,
  severity   TEXT    NOT NULL,
  enabled    INTEGER NOT NULL DEFAULT 1,
  created_at REAL    NOT NULL,
  updated_at REAL    NOT NULL
);
CREATE INDEX user_rules_by_run ON user_rules (rid, id);
