-- 004: per-metric run summaries: the last value, the finite minimum and maximum, and the step of each, kept by
-- gw_write_points in the batch's own statement (the rules of db/summaries.ts), so listing, filtering and sorting runs by
-- a metric never reads points. The runs already stored are summarised here, from their points.

ALTER TABLE metrics
  ADD COLUMN last_step bigint,
  ADD COLUMN last_value float8,  -- NaN when the last value is NaN
  ADD COLUMN min_value float8,   -- finite values only; NULL when the metric has none
  ADD COLUMN min_step bigint,    -- the earliest step holding min_value
  ADD COLUMN max_value float8,
  ADD COLUMN max_step bigint;

UPDATE metrics m SET
  (last_step, last_value) = (
    SELECT p.step, p.value FROM points p WHERE p.rid = m.rid AND p.mid = m.mid ORDER BY p.step DESC LIMIT 1),
  (min_step, min_value) = (
    SELECT p.step, p.value FROM points p WHERE p.rid = m.rid AND p.mid = m.mid AND abs(p.value) < 'Infinity'
    ORDER BY p.value, p.step LIMIT 1),
  (max_step, max_value) = (
    SELECT p.step, p.value FROM points p WHERE p.rid = m.rid AND p.mid = m.mid AND abs(p.value) < 'Infinity'
    ORDER BY p.value DESC, p.step LIMIT 1);

-- The earliest step holding a metric's finite minimum (p_max: maximum), found down the block levels (16 children at a
-- time) rather than by reading its points: what a write needs when it overwrote the step of the old extreme.
CREATE FUNCTION gw_extreme(p_rid bigint, p_mid bigint, p_max boolean, OUT o_step bigint, OUT o_value float8)
LANGUAGE plpgsql
SET plan_cache_mode = force_custom_plan
SET jit = off
AS $$
DECLARE
  b bigint;
  lvl integer;
BEGIN
  IF p_max THEN
    SELECT block, vmax INTO b, o_value FROM blocks
    WHERE rid = p_rid AND mid = p_mid AND level = 4 AND vmax IS NOT NULL ORDER BY vmax DESC, block LIMIT 1;
  ELSE
    SELECT block, vmin INTO b, o_value FROM blocks
    WHERE rid = p_rid AND mid = p_mid AND level = 4 AND vmin IS NOT NULL ORDER BY vmin, block LIMIT 1;
  END IF;
  IF b IS NULL THEN
    o_value := NULL;
    RETURN;
  END IF;
  FOR lvl IN REVERSE 3..1 LOOP
    SELECT c.block INTO b FROM blocks c
    WHERE c.rid = p_rid AND c.mid = p_mid AND c.level = lvl AND c.block BETWEEN b * 16 AND b * 16 + 15
      AND (CASE WHEN p_max THEN c.vmax ELSE c.vmin END) = o_value
    ORDER BY c.block LIMIT 1;
  END LOOP;
  SELECT p.step INTO o_step FROM points p
  WHERE p.rid = p_rid AND p.mid = p_mid AND p.step BETWEEN b * 16 AND b * 16 + 15 AND p.value = o_value
  ORDER BY p.step LIMIT 1;
END
$$;

-- Brings the summaries of the metrics a batch wrote up to date (after its points and envelopes): the batch's own
-- values extend them, a step written twice in the batch keeping its last value; an old extreme whose step was
-- overwritten with a worse value is found again with gw_extreme.
CREATE FUNCTION gw_refresh_summaries(p_rid bigint, p_mids bigint[], p_metric integer[], p_step bigint[], p_value float8[])
RETURNS void LANGUAGE plpgsql
SET plan_cache_mode = force_custom_plan
SET jit = off
AS $$
DECLARE
  m record;
  b record;
  new_last_step bigint;
  new_last_value float8;
  new_min_step bigint;
  new_min_value float8;
  new_max_step bigint;
  new_max_value float8;
BEGIN
  FOR m IN
    SELECT t.mid, t.idx, mt.last_step, mt.last_value, mt.min_value, mt.min_step, mt.max_value, mt.max_step
    FROM unnest(p_mids) WITH ORDINALITY AS t(mid, idx) JOIN metrics mt ON mt.mid = t.mid
  LOOP
    WITH v AS (
      SELECT DISTINCT ON (u.step) u.step, u.value
      FROM unnest(p_metric, p_step, p_value) WITH ORDINALITY AS u(metric, step, value, o)
      WHERE u.metric = m.idx ORDER BY u.step, u.o DESC
    ), f AS (SELECT * FROM v WHERE abs(v.value) < 'Infinity')
    SELECT
      (SELECT v.step FROM v ORDER BY v.step DESC LIMIT 1) AS last_step,
      (SELECT v.value FROM v ORDER BY v.step DESC LIMIT 1) AS last_value,
      (SELECT f.step FROM f ORDER BY f.value, f.step LIMIT 1) AS min_step,
      (SELECT f.value FROM f ORDER BY f.value, f.step LIMIT 1) AS min_value,
      (SELECT f.step FROM f ORDER BY f.value DESC, f.step LIMIT 1) AS max_step,
      (SELECT f.value FROM f ORDER BY f.value DESC, f.step LIMIT 1) AS max_value,
      EXISTS (SELECT 1 FROM v WHERE v.step = m.min_step) AS min_hit,
      (SELECT f.value FROM f WHERE f.step = m.min_step) AS at_min,
      EXISTS (SELECT 1 FROM v WHERE v.step = m.max_step) AS max_hit,
      (SELECT f.value FROM f WHERE f.step = m.max_step) AS at_max
    INTO b;

    IF m.last_step IS NULL OR b.last_step >= m.last_step THEN
      new_last_step := b.last_step;
      new_last_value := b.last_value;
    ELSE
      new_last_step := m.last_step;
      new_last_value := m.last_value;
    END IF;

    new_min_step := m.min_step;
    new_min_value := m.min_value;
    IF b.min_hit AND (b.at_min IS NULL OR b.at_min > m.min_value) THEN
      SELECT e.o_step, e.o_value INTO new_min_step, new_min_value FROM gw_extreme(p_rid, m.mid, false) e;
    ELSE
      IF b.min_hit THEN
        new_min_value := b.at_min;
      END IF;
      IF b.min_value IS NOT NULL AND (new_min_value IS NULL OR b.min_value < new_min_value
          OR (b.min_value = new_min_value AND b.min_step < new_min_step)) THEN
        new_min_step := b.min_step;
        new_min_value := b.min_value;
      END IF;
    END IF;

    new_max_step := m.max_step;
    new_max_value := m.max_value;
    IF b.max_hit AND (b.at_max IS NULL OR b.at_max < m.max_value) THEN
      SELECT e.o_step, e.o_value INTO new_max_step, new_max_value FROM gw_extreme(p_rid, m.mid, true) e;
    ELSE
      IF b.max_hit THEN
        new_max_value := b.at_max;
      END IF;
      IF b.max_value IS NOT NULL AND (new_max_value IS NULL OR b.max_value > new_max_value
          OR (b.max_value = new_max_value AND b.max_step < new_max_step)) THEN
        new_max_step := b.max_step;
        new_max_value := b.max_value;
      END IF;
    END IF;

    UPDATE metrics SET last_step = new_last_step, last_value = new_last_value, min_step = new_min_step,
      min_value = new_min_value, max_step = new_max_step, max_value = new_max_value
    WHERE mid = m.mid;
  END LOOP;
END
$$;

-- gw_write_points of 001, now also refreshing the summaries in the same statement (so in the same transaction).
CREATE OR REPLACE FUNCTION gw_write_points(
  p_rid bigint,
  p_names text[],
  p_metric integer[],
  p_step bigint[],
  p_value float8[],
  p_wall float8[],
  p_max_step bigint,
  p_now float8
) RETURNS void LANGUAGE plpgsql
SET plan_cache_mode = force_custom_plan
SET jit = off
AS $$
DECLARE
  mids bigint[];
BEGIN
  PERFORM gw_lock_run(p_rid);
  PERFORM 1 FROM runs WHERE rid = p_rid;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'run % does not exist', p_rid USING ERRCODE = 'GW404';
  END IF;

  INSERT INTO metrics (rid, name)
  SELECT p_rid, n.name FROM unnest(p_names) AS n(name)
  WHERE NOT EXISTS (SELECT 1 FROM metrics m WHERE m.rid = p_rid AND m.name = n.name);
  SELECT array_agg(m.mid ORDER BY n.i) INTO mids
  FROM unnest(p_names) WITH ORDINALITY AS n(name, i) JOIN metrics m ON m.rid = p_rid AND m.name = n.name;

  INSERT INTO points (rid, mid, step, value, wall)
  SELECT DISTINCT ON (v.metric, v.step) p_rid, mids[v.metric], v.step, v.value, v.wall
  FROM unnest(p_metric, p_step, p_value, p_wall) WITH ORDINALITY AS v(metric, step, value, wall, i)
  ORDER BY v.metric, v.step, v.i DESC
  ON CONFLICT (rid, mid, step) DO UPDATE SET value = excluded.value, wall = excluded.wall;

  BEGIN
    PERFORM gw_refresh_envelopes(p_rid, mids, p_metric, p_step, false);
  EXCEPTION WHEN numeric_value_out_of_range THEN
    PERFORM gw_refresh_envelopes(p_rid, mids, p_metric, p_step, true);
  END;

  PERFORM gw_refresh_summaries(p_rid, mids, p_metric, p_step, p_value);

  UPDATE runs SET last_step = greatest(coalesce(last_step, -1), p_max_step), last_seen_at = p_now WHERE rid = p_rid;
END
$$;
