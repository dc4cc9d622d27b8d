-- 002: servers sharing the database and the runs each holds.
--
-- * `servers`: one row per running server, its heartbeat refreshed every second (db/postgres/presence.ts). A server
--   whose heartbeat is older than the staleness limit is gone (killed, or cut off from the database): another server
--   deletes its row and its holdings, and marks their runs `disconnected`.
-- * `run_holders`: the server a run's trainer is connected to; it delivers the run's controls and runs its detectors.
--   A trainer reconnecting elsewhere moves the row (the new server claims it).
-- * Both are UNLOGGED: what they hold is true only while the servers run, so nothing of it needs to survive a crash of
--   PostgreSQL (which empties them), and the once-a-second heartbeats write no WAL. Times are the database's clock, so
--   servers on machines whose clocks disagree still agree on who is stale.
CREATE UNLOGGED TABLE servers (
  id           text COLLATE "C" PRIMARY KEY,
  started_at   float8 NOT NULL,
  heartbeat_at float8 NOT NULL
);

CREATE UNLOGGED TABLE run_holders (
  rid       bigint PRIMARY KEY REFERENCES runs (rid) ON DELETE CASCADE,
  server_id text COLLATE "C" NOT NULL,
  since     float8 NOT NULL
);
CREATE INDEX run_holders_by_server ON run_holders (server_id);

CREATE FUNCTION gw_now() RETURNS float8 LANGUAGE sql VOLATILE AS $$
  SELECT extract(epoch FROM clock_timestamp())::float8
$$;
