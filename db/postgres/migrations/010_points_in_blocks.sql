-- 010: a level-1 block row holds its 16 steps' points, next to their envelope; the points table goes.
--
-- Why: PostgreSQL pays per row (heap tuple, index entry, WAL record) far more than per value. Measured on this store's
-- cluster, commit included: 10,000 values as 10,000 rows took 27.8–29.2 ms, as 630 rows of 16-value arrays 4.8–5.1 ms
-- — and every level-1 envelope row was written besides. One row per block now carries both, so a trainer's batch
-- writes about 1/16 as many rows and index entries. (`npm run bench -- pg --multi`; README "Where several servers on
-- PostgreSQL top out".)
--
-- Layout: point_values[i] and point_walls[i] hold step block·16 + i − 1 (i = 1..16); NULL where no point was written
-- (a value is never NULL: NaN is stored as NaN). Levels 2..4 hold no points. The view `points` shows them as rows,
-- for ad hoc SQL; the server reads them with block-range queries (db/postgres/series.ts), which use the index.

ALTER TABLE blocks ADD COLUMN point_values float8[], ADD COLUMN point_walls float8[];

-- A block's 16 slots from (step, value) pairs of that block.
CREATE FUNCTION gw_slots(p_block bigint, p_steps bigint[], p_values float8[]) RETURNS float8[]
LANGUAGE sql IMMUTABLE AS $$
  SELECT array_agg(u.value ORDER BY o.o)
  FROM generate_series(0, 15) AS o(o) LEFT JOIN unnest(p_steps, p_values) AS u(step, value) ON u.step = p_block * 16 + o.o
$$;

UPDATE blocks b SET point_values = s.point_values, point_walls = s.point_walls
FROM (
  SELECT p.rid, p.mid, p.step >> 4 AS block,
    gw_slots(p.step >> 4, array_agg(p.step), array_agg(p.value)) AS point_values,
    gw_slots(p.step >> 4, array_agg(p.step), array_agg(p.wall)) AS point_walls
  FROM points p GROUP BY p.rid, p.mid, p.step >> 4
) s
WHERE b.rid = s.rid AND b.mid = s.mid AND b.level = 1 AND b.block = s.block;

ALTER TABLE blocks ADD CONSTRAINT blocks_points_at_level_1 CHECK (
  CASE WHEN level = 1
    THEN cardinality(point_values) = 16 AND cardinality(point_walls) = 16
    ELSE point_values IS NULL AND point_walls IS NULL
  END
);

DROP TABLE points;  -- with every run's partition of it

CREATE VIEW points AS
  SELECT b.rid, b.mid, b.block * 16 + u.i - 1 AS step, u.value, u.wall
  FROM blocks b CROSS JOIN LATERAL unnest(b.point_values, b.point_walls) WITH ORDINALITY AS u(value, wall, i)
  WHERE b.level = 1 AND u.value IS NOT NULL;

-- A run's one partition now.
CREATE OR REPLACE FUNCTION gw_add_run_partitions(p_rid bigint) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('CREATE TABLE %I (LIKE blocks INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', 'blocks_' || p_rid);
  EXECUTE format('ALTER TABLE blocks ATTACH PARTITION %I FOR VALUES IN (%s)', 'blocks_' || p_rid, p_rid);
END
$$;

CREATE OR REPLACE FUNCTION gw_delete_run(p_rid bigint) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  PERFORM gw_lock_run(p_rid);
  DELETE FROM runs WHERE rid = p_rid;
  IF NOT FOUND THEN
    RETURN false;
  END IF;
  EXECUTE format('DROP TABLE IF EXISTS %I', 'blocks_' || p_rid);
  RETURN true;
END
$$;

-- The envelope of a level-1 block from its slots (db/blocks.ts): finite values counted, summed (p_safe: as numeric, see
-- 001's gw_float8), their minimum, maximum and last; the others counted as non-finite; the last point's step and wall.
CREATE FUNCTION gw_slots_envelope(
  p_block bigint, p_values float8[], p_walls float8[], p_safe boolean,
  OUT cnt integer, OUT nonfinite integer, OUT vmin float8, OUT vmax float8, OUT vsum float8, OUT vlast float8,
  OUT last_step bigint, OUT wall float8
) LANGUAGE sql IMMUTABLE AS $$
  SELECT count(*) FILTER (WHERE f.ok), count(*) FILTER (WHERE NOT f.ok),
    min(u.value) FILTER (WHERE f.ok), max(u.value) FILTER (WHERE f.ok),
    coalesce(sum(u.value) FILTER (WHERE f.ok AND NOT p_safe),
      gw_float8(sum(u.value::numeric) FILTER (WHERE f.ok AND p_safe)), 0),
    (array_agg(u.value ORDER BY u.i DESC) FILTER (WHERE f.ok))[1],
    p_block * 16 + max(u.i) - 1,
    (array_agg(u.wall ORDER BY u.i DESC))[1]
  FROM unnest(p_values, p_walls) WITH ORDINALITY AS u(value, wall, i)
  CROSS JOIN LATERAL (SELECT abs(u.value) < 'Infinity'::float8 AS ok) f
  WHERE u.value IS NOT NULL
$$;

-- A block's slots after a batch wrote p_new_values (NULL where it wrote nothing): the batch's value where it has one.
CREATE FUNCTION gw_merge_slots(
  p_old_values float8[], p_old_walls float8[], p_new_values float8[], p_new_walls float8[],
  OUT point_values float8[], OUT point_walls float8[]
) LANGUAGE sql IMMUTABLE AS $$
  SELECT array_agg(coalesce(u.nv, u.ov) ORDER BY u.i),
    array_agg(CASE WHEN u.nv IS NULL THEN u.ow ELSE u.nw END ORDER BY u.i)
  FROM unnest(p_old_values, p_old_walls, p_new_values, p_new_walls) WITH ORDINALITY AS u(ov, ow, nv, nw, i)
$$;

-- As 004's, but the step is found in the level-1 block's slots.
CREATE OR REPLACE FUNCTION gw_extreme(p_rid bigint, p_mid bigint, p_max boolean, OUT o_step bigint, OUT o_value float8)
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
  SELECT b * 16 + u.i - 1 INTO o_step
  FROM blocks c CROSS JOIN LATERAL unnest(c.point_values) WITH ORDINALITY AS u(value, i)
  WHERE c.rid = p_rid AND c.mid = p_mid AND c.level = 1 AND c.block = b AND u.value = o_value
  ORDER BY u.i LIMIT 1;
END
$$;

-- The batch's extremes merged into a metric's stored one where the batch may have rewritten its step (as 009's):
-- p_at is the batch's value at the stored extreme's step, NULL when the batch wrote none there.
DROP FUNCTION gw_merge_overlapping_extreme(bigint, bigint, boolean, bigint, float8, bigint[], float8[], bigint, float8);
CREATE FUNCTION gw_merge_overlapping_extreme(
  p_rid bigint, p_mid bigint, p_max boolean, p_old_step bigint, p_old_value float8, p_at float8,
  p_batch_step bigint, p_batch_value float8,
  OUT o_step bigint, OUT o_value float8
) LANGUAGE plpgsql
SET jit = off
AS $$
BEGIN
  IF p_at IS NOT NULL AND (NOT abs(p_at) < 'Infinity' OR CASE WHEN p_max THEN p_at < p_old_value ELSE p_at > p_old_value END) THEN
    SELECT e.o_step, e.o_value INTO o_step, o_value FROM gw_extreme(p_rid, p_mid, p_max) e;
    RETURN;
  END IF;
  SELECT b.o_step, b.o_value INTO o_step, o_value
  FROM gw_better_extreme(p_max, p_old_step, coalesce(p_at, p_old_value), p_batch_step, p_batch_value) b;
END
$$;

-- The summaries of the metrics a batch wrote (as 009's), from what the server computed per metric: the batch's step
-- range, its last value, its extremes; e_* are the batch's blocks (gw_write_points), where the batch's value at a stored
-- extreme's step is looked up.
DROP FUNCTION gw_merge_summaries(bigint, bigint[], integer[], integer[], bigint[], float8[], bigint[], float8[], bigint[],
  float8[]);
CREATE FUNCTION gw_merge_summaries(
  p_rid bigint, p_mids bigint[], p_first_step bigint[], p_last_step bigint[], p_last_value float8[],
  p_min_step bigint[], p_min_value float8[], p_max_step bigint[], p_max_value float8[],
  e_metric integer[], e_level integer[], e_block bigint[], e_mask integer[], e_values float8[]
) RETURNS void LANGUAGE plpgsql
SET jit = off
AS $$
DECLARE
  m record;
  i integer;
  overlapping integer[];
  new_min record;
  new_max record;
BEGIN
  SELECT coalesce(array_agg(u.i::integer), '{}') INTO overlapping
  FROM unnest(p_mids, p_first_step, p_last_step) WITH ORDINALITY AS u(mid, first, last, i) JOIN metrics mt ON mt.mid = u.mid
  WHERE mt.min_step BETWEEN u.first AND u.last OR mt.max_step BETWEEN u.first AND u.last;

  UPDATE metrics mt SET
    last_step = CASE WHEN mt.last_step IS NULL OR b.last_step >= mt.last_step THEN b.last_step ELSE mt.last_step END,
    last_value = CASE WHEN mt.last_step IS NULL OR b.last_step >= mt.last_step THEN b.last_value ELSE mt.last_value END,
    (min_step, min_value) = (
      SELECT o_step, o_value FROM gw_better_extreme(false, mt.min_step, mt.min_value, b.min_step, b.min_value)),
    (max_step, max_value) = (
      SELECT o_step, o_value FROM gw_better_extreme(true, mt.max_step, mt.max_value, b.max_step, b.max_value))
  FROM unnest(p_mids, p_last_step, p_last_value, p_min_step, p_min_value, p_max_step, p_max_value) WITH ORDINALITY
    AS b(mid, last_step, last_value, min_step, min_value, max_step, max_value, i)
  WHERE mt.mid = b.mid AND b.i::integer <> ALL (overlapping);

  FOREACH i IN ARRAY overlapping LOOP
    SELECT mt.last_step, mt.last_value, mt.min_value, mt.min_step, mt.max_value, mt.max_step INTO m
    FROM metrics mt WHERE mt.mid = p_mids[i];
    SELECT * INTO new_min FROM gw_merge_overlapping_extreme(p_rid, p_mids[i], false, m.min_step, m.min_value,
      gw_batch_value(i, m.min_step, e_metric, e_level, e_block, e_mask, e_values), p_min_step[i], p_min_value[i]);
    SELECT * INTO new_max FROM gw_merge_overlapping_extreme(p_rid, p_mids[i], true, m.max_step, m.max_value,
      gw_batch_value(i, m.max_step, e_metric, e_level, e_block, e_mask, e_values), p_max_step[i], p_max_value[i]);
    UPDATE metrics SET
      last_step = CASE WHEN m.last_step IS NULL OR p_last_step[i] >= m.last_step THEN p_last_step[i] ELSE m.last_step END,
      last_value = CASE WHEN m.last_step IS NULL OR p_last_step[i] >= m.last_step THEN p_last_value[i]
        ELSE m.last_value END,
      min_step = new_min.o_step, min_value = new_min.o_value, max_step = new_max.o_step, max_value = new_max.o_value
    WHERE mid = p_mids[i];
  END LOOP;
END
$$;

-- The value a batch wrote for metric p_metric at p_step, or NULL: slot p_step & 15 of its level-1 block (see
-- gw_write_points for e_mask and e_values).
CREATE FUNCTION gw_batch_value(
  p_metric integer, p_step bigint, e_metric integer[], e_level integer[], e_block bigint[], e_mask integer[],
  e_values float8[]
) RETURNS float8 LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN u.mask & (1 << (p_step & 15)::integer) <> 0 THEN e_values[(u.i - 1) * 16 + (p_step & 15) + 1] END
  FROM unnest(e_metric, e_level, e_block, e_mask) WITH ORDINALITY AS u(metric, level, block, mask, i)
  WHERE u.metric = p_metric AND u.level = 1 AND u.block = p_step >> 4
$$;

-- A level-1 block's slots from the 16 values sent for it, where p_mask says which were written (bit i: slot i + 1).
CREATE FUNCTION gw_masked_slots(p_values float8[], p_mask integer) RETURNS float8[]
LANGUAGE sql IMMUTABLE AS $$
  SELECT array_agg(CASE WHEN p_mask & (1 << (u.i - 1)::integer) <> 0 THEN u.value END ORDER BY u.i)
  FROM unnest(p_values) WITH ORDINALITY AS u(value, i)
$$;

-- A block's slots from the 16 values sent for it and the mask of those written (bit i: slot i + 1); none above level 1.
-- Inlined into the statement that calls it (a plain CASE), so that a full block, a trainer's usual, costs no call.
CREATE FUNCTION gw_level1_slots(p_level integer, p_mask integer, p_values float8[]) RETURNS float8[]
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN p_level <> 1 THEN NULL WHEN p_mask = 65535 THEN p_values ELSE gw_masked_slots(p_values, p_mask) END
$$;

-- The blocks a prepared batch touched, at every level (e_*, as gw_write_points takes them). p_stored_last: per metric,
-- its last stored step before the batch (-1: none); p_appending: whether all its values in the batch come after it.
--   1. A block after the block of the stored last step (at its level) holds no stored points: the batch's envelope is
--      its envelope, and the row is inserted as it came.
--   2. A level-1 block that may hold points: its slots merged with the batch's, its envelope recomputed from them.
--   3. A coarser block that may hold points, of a metric the batch appends to: its envelope extended by the batch's
--      (its sum then adds in the order the values came, which may differ in the last bits from adding its children).
--   4. A coarser block of a metric whose batch rewrote stored steps: recomputed from the 16 below (gw_recompute_coarser).
-- p_safe sums as numeric (see 001).
DROP FUNCTION gw_write_envelopes(bigint, bigint[], bigint[], integer[], bigint[], integer[], integer[], float8[], float8[],
  float8[], float8[], bigint[], float8[], boolean);
CREATE FUNCTION gw_write_blocks(
  p_rid bigint, p_mids bigint[], p_stored_last bigint[], p_appending boolean[],
  e_metric integer[], e_level integer[], e_block bigint[], e_cnt integer[], e_nonfinite integer[], e_vmin float8[],
  e_vmax float8[], e_vsum float8[], e_vlast float8[], e_last_step bigint[], e_wall float8[], e_mask integer[],
  e_values float8[], e_walls float8[], p_safe boolean
) RETURNS void LANGUAGE plpgsql
-- No forced custom plans: none of these statements reads a partition (the conflicts are found through the key), and
-- a generic plan spares planning each of them per batch.
SET jit = off
AS $$
BEGIN
  INSERT INTO blocks (rid, mid, level, block, cnt, nonfinite, vmin, vmax, vsum, vlast, last_step, wall, point_values,
    point_walls)
  SELECT p_rid, p_mids[e.metric], e.level, e.block, e.cnt, e.nonfinite, e.vmin, e.vmax, e.vsum, e.vlast, e.last_step,
    e.wall, gw_level1_slots(e.level, e.mask, e_values[e.i * 16 - 15 : e.i * 16]),
    gw_level1_slots(e.level, e.mask, e_walls[e.i * 16 - 15 : e.i * 16])
  FROM unnest(e_metric, e_level, e_block, e_cnt, e_nonfinite, e_vmin, e_vmax, e_vsum, e_vlast, e_last_step, e_wall,
    e_mask) WITH ORDINALITY AS e(metric, level, block, cnt, nonfinite, vmin, vmax, vsum, vlast, last_step, wall, mask, i)
  WHERE e.block > p_stored_last[e.metric] >> (4 * e.level);

  INSERT INTO blocks AS b (rid, mid, level, block, cnt, nonfinite, vmin, vmax, vsum, vlast, last_step, wall,
    point_values, point_walls)
  SELECT p_rid, p_mids[e.metric], 1, e.block, e.cnt, e.nonfinite, e.vmin, e.vmax, e.vsum, e.vlast, e.last_step, e.wall,
    gw_level1_slots(e.level, e.mask, e_values[e.i * 16 - 15 : e.i * 16]),
    gw_level1_slots(e.level, e.mask, e_walls[e.i * 16 - 15 : e.i * 16])
  FROM unnest(e_metric, e_level, e_block, e_cnt, e_nonfinite, e_vmin, e_vmax, e_vsum, e_vlast, e_last_step, e_wall,
    e_mask) WITH ORDINALITY AS e(metric, level, block, cnt, nonfinite, vmin, vmax, vsum, vlast, last_step, wall, mask, i)
  WHERE e.level = 1 AND e.block <= p_stored_last[e.metric] >> 4
  ON CONFLICT (rid, mid, level, block) DO UPDATE SET
    (point_values, point_walls, cnt, nonfinite, vmin, vmax, vsum, vlast, last_step, wall) = (
      SELECT s.point_values, s.point_walls, e.cnt, e.nonfinite, e.vmin, e.vmax, e.vsum, e.vlast, e.last_step, e.wall
      FROM gw_merge_slots(b.point_values, b.point_walls, excluded.point_values, excluded.point_walls) s
      CROSS JOIN LATERAL gw_slots_envelope(b.block, s.point_values, s.point_walls, p_safe) e
    );

  INSERT INTO blocks AS b (rid, mid, level, block, cnt, nonfinite, vmin, vmax, vsum, vlast, last_step, wall)
  SELECT p_rid, p_mids[e.metric], e.level, e.block, e.cnt, e.nonfinite, e.vmin, e.vmax, e.vsum, e.vlast, e.last_step,
    e.wall
  FROM unnest(e_metric, e_level, e_block, e_cnt, e_nonfinite, e_vmin, e_vmax, e_vsum, e_vlast, e_last_step, e_wall)
    AS e(metric, level, block, cnt, nonfinite, vmin, vmax, vsum, vlast, last_step, wall)
  WHERE e.level > 1 AND e.block <= p_stored_last[e.metric] >> (4 * e.level) AND p_appending[e.metric]
  ON CONFLICT (rid, mid, level, block) DO UPDATE SET
    cnt = b.cnt + excluded.cnt,
    nonfinite = b.nonfinite + excluded.nonfinite,
    vmin = least(b.vmin, excluded.vmin),
    vmax = greatest(b.vmax, excluded.vmax),
    vsum = CASE WHEN p_safe THEN gw_float8(b.vsum::numeric + excluded.vsum::numeric) ELSE b.vsum + excluded.vsum END,
    vlast = coalesce(excluded.vlast, b.vlast),
    last_step = excluded.last_step,
    wall = excluded.wall;

  IF false = ANY (p_appending) THEN
    PERFORM gw_recompute_coarser(p_rid, p_mids, p_stored_last, p_appending, e_metric, e_level, e_block, p_safe);
  END IF;
END
$$;

-- Step 4 of gw_write_blocks: levels 2..4 of the metrics whose batch rewrote stored steps, each touched block that may
-- hold stored points recomputed from the 16 below (as 009's gw_write_envelopes did), level by level.
CREATE FUNCTION gw_recompute_coarser(
  p_rid bigint, p_mids bigint[], p_stored_last bigint[], p_appending boolean[], e_metric integer[], e_level integer[],
  e_block bigint[], p_safe boolean
) RETURNS void LANGUAGE plpgsql
-- These statements read the run's partition: plan each for that run (see 001's gw_refresh_envelopes).
SET plan_cache_mode = force_custom_plan
SET enable_seqscan = off
SET jit = off
AS $$
DECLARE
  lvl integer;
BEGIN
  FOR lvl IN 2..4 LOOP
    INSERT INTO blocks AS b (rid, mid, level, block, cnt, nonfinite, vmin, vmax, vsum, vlast, last_step, wall)
    SELECT p_rid, t.mid, lvl, t.block, e.cnt, e.nonfinite, e.vmin, e.vmax, e.vsum, e.vlast, e.last_step, e.wall
    FROM (
      SELECT p_mids[u.metric] AS mid, u.block FROM unnest(e_metric, e_level, e_block) AS u(metric, level, block)
      WHERE u.level = lvl AND u.block <= p_stored_last[u.metric] >> (4 * lvl) AND NOT p_appending[u.metric]
    ) t
    CROSS JOIN LATERAL (
      SELECT sum(c.cnt) AS cnt, sum(c.nonfinite) AS nonfinite, min(c.vmin) AS vmin, max(c.vmax) AS vmax,
        coalesce(
          sum(c.vsum) FILTER (WHERE NOT p_safe),
          gw_float8(sum(c.vsum::numeric) FILTER (WHERE p_safe))
        ) AS vsum,
        (array_agg(c.vlast ORDER BY c.block DESC) FILTER (WHERE c.cnt > 0))[1] AS vlast,
        max(c.last_step) AS last_step,
        (array_agg(c.wall ORDER BY c.block DESC))[1] AS wall
      FROM blocks c
      WHERE c.rid = p_rid AND c.mid = t.mid AND c.level = lvl - 1 AND c.block BETWEEN t.block * 16 AND t.block * 16 + 15
    ) e
    ON CONFLICT (rid, mid, level, block) DO UPDATE SET cnt = excluded.cnt, nonfinite = excluded.nonfinite,
      vmin = excluded.vmin, vmax = excluded.vmax, vsum = excluded.vsum, vlast = excluded.vlast,
      last_step = excluded.last_step, wall = excluded.wall;
  END LOOP;
END
$$;

-- Writes one prepared batch (db/postgres/point-batch.ts) in one statement, so in one transaction and one round trip:
-- the metrics it names created if new, its blocks written (gw_write_blocks), the summaries merged, the run's last step
-- and last-seen time moved on. Per metric (m_*): the batch's first and last step, last value and extremes; per touched
-- block (e_*, every level, level-1 blocks first): its metric (an index into p_names), level, number, the envelope of
-- the batch's values in it and, at level 1, the mask of the slots written (bit i: slot i + 1). e_values and e_walls hold
-- 16 values per level-1 block, in order, 0 where nothing was written: no NULL in them, so a block's slice is found
-- without walking the array from its start. Raises GW404 when the run does not exist.
DROP FUNCTION gw_write_points(bigint, text[], integer[], bigint[], float8[], float8[], bigint, float8, integer[],
  integer[], bigint[], float8[], bigint[], float8[], integer[], bigint[], integer[], integer[], float8[], float8[],
  float8[], float8[], bigint[], float8[]);
CREATE FUNCTION gw_write_points(
  p_rid bigint,
  p_names text[],
  p_max_step bigint,
  p_now float8,
  m_first_step bigint[],
  m_last_step bigint[],
  m_last_value float8[],
  m_min_step bigint[],
  m_min_value float8[],
  m_max_step bigint[],
  m_max_value float8[],
  e_metric integer[],
  e_level integer[],
  e_block bigint[],
  e_cnt integer[],
  e_nonfinite integer[],
  e_vmin float8[],
  e_vmax float8[],
  e_vsum float8[],
  e_vlast float8[],
  e_last_step bigint[],
  e_wall float8[],
  e_mask integer[],
  e_values float8[],
  e_walls float8[]
) RETURNS void LANGUAGE plpgsql
SET jit = off
AS $$
DECLARE
  mids bigint[];
  stored_last bigint[];  -- per metric, its last stored step before this batch (-1: none)
  appending boolean[];   -- per metric, whether all its values in this batch come after stored_last
  unknown bigint[];      -- as stored_last, when the summaries cannot be trusted: every block may hold points
BEGIN
  PERFORM gw_lock_run(p_rid);
  PERFORM 1 FROM runs WHERE rid = p_rid;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'run % does not exist', p_rid USING ERRCODE = 'GW404';
  END IF;

  INSERT INTO metrics (rid, name)
  SELECT p_rid, n.name FROM unnest(p_names) AS n(name)
  WHERE NOT EXISTS (SELECT 1 FROM metrics m WHERE m.rid = p_rid AND m.name = n.name);
  SELECT array_agg(m.mid ORDER BY n.i), array_agg(coalesce(m.last_step, -1) ORDER BY n.i),
    array_agg(m_first_step[n.i] > coalesce(m.last_step, -1) ORDER BY n.i)
  INTO mids, stored_last, appending
  FROM unnest(p_names) WITH ORDINALITY AS n(name, i) JOIN metrics m ON m.rid = p_rid AND m.name = n.name;

  BEGIN
    PERFORM gw_write_blocks(p_rid, mids, stored_last, appending, e_metric, e_level, e_block, e_cnt, e_nonfinite,
      e_vmin, e_vmax, e_vsum, e_vlast, e_last_step, e_wall, e_mask, e_values, e_walls, false);
  EXCEPTION
    WHEN numeric_value_out_of_range THEN
      PERFORM gw_write_blocks(p_rid, mids, stored_last, appending, e_metric, e_level, e_block, e_cnt, e_nonfinite,
        e_vmin, e_vmax, e_vsum, e_vlast, e_last_step, e_wall, e_mask, e_values, e_walls, true);
    WHEN unique_violation THEN
      -- A block taken for new already held points (the summaries were behind the stored steps, which they never
      -- should be): merge into every touched level-1 block and recompute every coarser one, with sums that cannot
      -- overflow.
      unknown := array_fill(9223372036854775807::bigint, ARRAY[array_length(mids, 1)]);
      PERFORM gw_write_blocks(p_rid, mids, unknown, array_fill(false, ARRAY[array_length(mids, 1)]), e_metric,
        e_level, e_block, e_cnt, e_nonfinite, e_vmin, e_vmax, e_vsum, e_vlast, e_last_step, e_wall, e_mask, e_values,
        e_walls, true);
  END;

  PERFORM gw_merge_summaries(p_rid, mids, m_first_step, m_last_step, m_last_value, m_min_step, m_min_value,
    m_max_step, m_max_value, e_metric, e_level, e_block, e_mask, e_values);

  UPDATE runs SET last_step = greatest(coalesce(last_step, -1), p_max_step), last_seen_at = p_now WHERE rid = p_rid;
END
$$;
