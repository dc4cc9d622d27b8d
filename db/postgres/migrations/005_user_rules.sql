-- 005: user threshold rules (protocol/user-rules.ts): server-wide (rid NULL) or of one run (deleted with it).

CREATE TABLE user_rules (
  id         bigserial PRIMARY KEY,
  rid        bigint REFERENCES runs (rid) ON DELETE CASCADE,
  name       text   NOT NULL,
  metric     text   NOT NULL,
  comparison text   NOT NULL,
  value      float8 NOT NULL,
  -- 'steps' or 'minutes', and how many
  for_unit   text   NOT NULL CHECK (for_unit IN ('steps', 'minutes')),
  for_count  float8 NOT NULL,
  severity   text   NOT NULL,
  enabled    boolean NOT NULL DEFAULT true,
  created_at float8 NOT NULL,
  updated_at float8 NOT NULL
);
CREATE INDEX user_rules_by_run ON user_rules (rid, id);
