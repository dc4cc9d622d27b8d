-- 009: a batch arrives prepared by the server that received it (db/postgres/point-batch.ts): grouped by metric, in
-- step order, one value per step, with each metric's extremes and the level-1 envelope of every block it touches.
-- The database then does the least it can per point, because its work is shared by every server while the servers'
-- work is not (measured: `npm run bench -- pg --multi`):
--   - values after a metric's last stored step cannot collide with a stored one: a plain INSERT (no conflict probe);
--     only the others take the upsert. Should a value collide anyway, the batch falls back to upserting everything
--     (and a block taken for new that holds points, to recomputing every touched block).
--   - a level-1 block after the block of the metric's last stored step held no points: its envelope is the batch's,
--     stored as it is; only blocks that already held points are recomputed from them.
--   - the summaries are merged from the batch's extremes, O(metrics), no longer by scanning the batch per metric.

-- The better of a stored extreme and a batch's (p_max: the maximum, else the minimum): the batch's when it is beyond
-- the stored one, or equal to it at an earlier step (a tie keeps the earliest step); NULL values are no extreme.
CREATE FUNCTION gw_better_extreme(
  p_max boolean, p_old_step bigint, p_old_value float8, p_new_step bigint, p_new_value float8,
  OUT o_step bigint, OUT o_value float8
) LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN better THEN p_new_step ELSE p_old_step END, CASE WHEN better THEN p_new_value ELSE p_old_value END
  FROM (
    SELECT p_new_value IS NOT NULL AND (p_old_value IS NULL
      OR CASE WHEN p_max THEN p_new_value > p_old_value ELSE p_new_value < p_old_value END
      OR (p_new_value = p_old_value AND p_new_step < p_old_step)) AS better
  ) b
$$;

-- The summaries of the metrics a batch wrote, brought up to date from the batch's own extremes (the rules of
-- db/summaries.ts, as gw_refresh_summaries of 004 applied them): p_first/p_count give each metric's slice of the
-- step-ordered p_step/p_value. A metric whose stored minimum and maximum lie outside the batch's step range (a
-- trainer's usual batch) is merged in one statement with the others; only a metric whose batch may have rewritten
-- the step of an extreme is taken alone (gw_merge_overlapping_extreme).
CREATE FUNCTION gw_merge_summaries(
  p_rid bigint, p_mids bigint[], p_first integer[], p_count integer[], p_step bigint[], p_value float8[],
  p_min_step bigint[], p_min_value float8[], p_max_step bigint[], p_max_value float8[]
) RETURNS void LANGUAGE plpgsql
SET jit = off
AS $$
DECLARE
  m record;
  i integer;
  z integer;
  overlapping integer[];
  new_min record;
  new_max record;
BEGIN
  SELECT coalesce(array_agg(u.i::integer), '{}') INTO overlapping
  FROM unnest(p_mids, p_first, p_count) WITH ORDINALITY AS u(mid, first, count, i) JOIN metrics mt ON mt.mid = u.mid
  WHERE mt.min_step BETWEEN p_step[u.first] AND p_step[u.first + u.count - 1]
     OR mt.max_step BETWEEN p_step[u.first] AND p_step[u.first + u.count - 1];

  UPDATE metrics mt SET
    last_step = CASE WHEN mt.last_step IS NULL OR b.last_step >= mt.last_step THEN b.last_step ELSE mt.last_step END,
    last_value = CASE WHEN mt.last_step IS NULL OR b.last_step >= mt.last_step THEN b.last_value ELSE mt.last_value END,
    (min_step, min_value) = (
      SELECT o_step, o_value FROM gw_better_extreme(false, mt.min_step, mt.min_value, b.min_step, b.min_value)),
    (max_step, max_value) = (
      SELECT o_step, o_value FROM gw_better_extreme(true, mt.max_step, mt.max_value, b.max_step, b.max_value))
  FROM (
    SELECT u.mid, p_step[u.first + u.count - 1] AS last_step, p_value[u.first + u.count - 1] AS last_value,
      u.min_step, u.min_value, u.max_step, u.max_value
    FROM unnest(p_mids, p_first, p_count, p_min_step, p_min_value, p_max_step, p_max_value) WITH ORDINALITY
      AS u(mid, first, count, min_step, min_value, max_step, max_value, i)
    WHERE u.i::integer <> ALL (overlapping)
  ) b
  WHERE mt.mid = b.mid;

  FOREACH i IN ARRAY overlapping LOOP
    SELECT mt.last_step, mt.last_value, mt.min_value, mt.min_step, mt.max_value, mt.max_step INTO m
    FROM metrics mt WHERE mt.mid = p_mids[i];
    z := p_first[i] + p_count[i] - 1;
    SELECT * INTO new_min FROM gw_merge_overlapping_extreme(p_rid, p_mids[i], false, m.min_step, m.min_value,
      p_step[p_first[i]:z], p_value[p_first[i]:z], p_min_step[i], p_min_value[i]);
    SELECT * INTO new_max FROM gw_merge_overlapping_extreme(p_rid, p_mids[i], true, m.max_step, m.max_value,
      p_step[p_first[i]:z], p_value[p_first[i]:z], p_max_step[i], p_max_value[i]);
    UPDATE metrics SET
      last_step = CASE WHEN m.last_step IS NULL OR p_step[z] >= m.last_step THEN p_step[z] ELSE m.last_step END,
      last_value = CASE WHEN m.last_step IS NULL OR p_step[z] >= m.last_step THEN p_value[z] ELSE m.last_value END,
      min_step = new_min.o_step, min_value = new_min.o_value, max_step = new_max.o_step, max_value = new_max.o_value
    WHERE mid = p_mids[i];
  END LOOP;
END
$$;

-- One extreme of a metric whose batch (p_steps/p_values, in step order) may have rewritten the step of the stored
-- extreme: rewritten with a worse value (or a non-finite one), the extreme is found again down the blocks
-- (gw_extreme, which sees the batch's points); otherwise the value there, then the batch's own extreme, may beat it.
CREATE FUNCTION gw_merge_overlapping_extreme(
  p_rid bigint, p_mid bigint, p_max boolean, p_old_step bigint, p_old_value float8,
  p_steps bigint[], p_values float8[], p_batch_step bigint, p_batch_value float8,
  OUT o_step bigint, OUT o_value float8
) LANGUAGE plpgsql
SET jit = off
AS $$
DECLARE
  hit boolean;
  at float8;  -- the batch's value at the stored extreme's step, if finite
BEGIN
  SELECT true, CASE WHEN abs(u.value) < 'Infinity' THEN u.value END INTO hit, at
  FROM unnest(p_steps, p_values) AS u(step, value) WHERE u.step = p_old_step;
  IF coalesce(hit, false) AND (at IS NULL OR CASE WHEN p_max THEN at < p_old_value ELSE at > p_old_value END) THEN
    SELECT e.o_step, e.o_value INTO o_step, o_value FROM gw_extreme(p_rid, p_mid, p_max) e;
    RETURN;
  END IF;
  SELECT b.o_step, b.o_value INTO o_step, o_value
  FROM gw_better_extreme(p_max, p_old_step, CASE WHEN hit THEN at ELSE p_old_value END, p_batch_step, p_batch_value) b;
END
$$;

-- The envelopes a prepared batch touched: level-1 blocks after p_fresh_after[metric] (the block of the metric's last
-- stored step) stored from the batch's envelopes; the other touched level-1 blocks recomputed from their points;
-- levels 2..4 from the 16 children below (as 001's gw_refresh_envelopes did). p_safe sums as numeric (see 001).
CREATE FUNCTION gw_write_envelopes(
  p_rid bigint, p_mids bigint[], p_fresh_after bigint[],
  e_metric integer[], e_block bigint[], e_cnt integer[], e_nonfinite integer[], e_vmin float8[], e_vmax float8[],
  e_vsum float8[], e_vlast float8[], e_last_step bigint[], e_wall float8[], p_safe boolean
) RETURNS void LANGUAGE plpgsql
SET plan_cache_mode = force_custom_plan
SET enable_seqscan = off
SET jit = off
AS $$
DECLARE
  lvl integer;
BEGIN
  INSERT INTO blocks (rid, mid, level, block, cnt, nonfinite, vmin, vmax, vsum, vlast, last_step, wall)
  SELECT p_rid, p_mids[e.metric], 1, e.block, e.cnt, e.nonfinite, e.vmin, e.vmax, e.vsum, e.vlast, e.last_step, e.wall
  FROM unnest(e_metric, e_block, e_cnt, e_nonfinite, e_vmin, e_vmax, e_vsum, e_vlast, e_last_step, e_wall)
    AS e(metric, block, cnt, nonfinite, vmin, vmax, vsum, vlast, last_step, wall)
  WHERE e.block > p_fresh_after[e.metric];

  INSERT INTO blocks AS b (rid, mid, level, block, cnt, nonfinite, vmin, vmax, vsum, vlast, last_step, wall)
  SELECT p_rid, t.mid, 1, t.block, e.cnt, e.nonfinite, e.vmin, e.vmax, e.vsum, e.vlast, e.last_step, e.wall
  FROM (
    SELECT p_mids[u.metric] AS mid, u.block FROM unnest(e_metric, e_block) AS u(metric, block)
    WHERE u.block <= p_fresh_after[u.metric]
  ) t
  CROSS JOIN LATERAL (
    SELECT count(*) FILTER (WHERE f.ok) AS cnt,
      count(*) FILTER (WHERE NOT f.ok) AS nonfinite,
      min(p.value) FILTER (WHERE f.ok) AS vmin,
      max(p.value) FILTER (WHERE f.ok) AS vmax,
      coalesce(
        sum(p.value) FILTER (WHERE f.ok AND NOT p_safe),
        gw_float8(sum(p.value::numeric) FILTER (WHERE f.ok AND p_safe)),
        0
      ) AS vsum,
      (array_agg(p.value ORDER BY p.step DESC) FILTER (WHERE f.ok))[1] AS vlast,
      max(p.step) AS last_step,
      (array_agg(p.wall ORDER BY p.step DESC))[1] AS wall
    FROM points p CROSS JOIN LATERAL (SELECT abs(p.value) < 'Infinity'::float8 AS ok) f
    WHERE p.rid = p_rid AND p.mid = t.mid AND p.step BETWEEN t.block * 16 AND t.block * 16 + 15
  ) e
  ON CONFLICT (rid, mid, level, block) DO UPDATE SET cnt = excluded.cnt, nonfinite = excluded.nonfinite,
    vmin = excluded.vmin, vmax = excluded.vmax, vsum = excluded.vsum, vlast = excluded.vlast,
    last_step = excluded.last_step, wall = excluded.wall;

  FOR lvl IN 2..4 LOOP
    INSERT INTO blocks AS b (rid, mid, level, block, cnt, nonfinite, vmin, vmax, vsum, vlast, last_step, wall)
    SELECT p_rid, t.mid, lvl, t.block, e.cnt, e.nonfinite, e.vmin, e.vmax, e.vsum, e.vlast, e.last_step, e.wall
    FROM (
      SELECT DISTINCT p_mids[u.metric] AS mid, u.block >> (4 * (lvl - 1)) AS block
      FROM unnest(e_metric, e_block) AS u(metric, block)
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

-- Writes one prepared batch in one statement (so in one transaction and one round trip): the metrics it names are
-- created if new, the values stored (upserted where a stored step may collide), the envelopes and summaries brought
-- up to date, the run's last step and last-seen time moved on. Raises GW404 when the run does not exist.
DROP FUNCTION gw_write_points(bigint, text[], integer[], bigint[], float8[], float8[], bigint, float8);
-- What it called, replaced by gw_write_envelopes and gw_merge_summaries above.
DROP FUNCTION gw_refresh_envelopes(bigint, bigint[], integer[], bigint[], boolean);
DROP FUNCTION gw_refresh_summaries(bigint, bigint[], integer[], bigint[], float8[]);
CREATE FUNCTION gw_write_points(
  p_rid bigint,
  p_names text[],
  p_metric integer[],
  p_step bigint[],
  p_value float8[],
  p_wall float8[],
  p_max_step bigint,
  p_now float8,
  p_first integer[],
  p_count integer[],
  p_min_step bigint[],
  p_min_value float8[],
  p_max_step_of bigint[],
  p_max_value float8[],
  e_metric integer[],
  e_block bigint[],
  e_cnt integer[],
  e_nonfinite integer[],
  e_vmin float8[],
  e_vmax float8[],
  e_vsum float8[],
  e_vlast float8[],
  e_last_step bigint[],
  e_wall float8[]
) RETURNS void LANGUAGE plpgsql
-- No forced custom plans here (unlike the functions that read a run's partition): none of these statements reads
-- points, and a custom plan would copy the batch's arrays into every plan as constants.
SET jit = off
AS $$
DECLARE
  mids bigint[];
  stored_last bigint[];  -- per metric, the last stored step before this batch (-1: none)
  fresh_after bigint[];  -- per metric, the last level-1 block that may already hold points
BEGIN
  PERFORM gw_lock_run(p_rid);
  PERFORM 1 FROM runs WHERE rid = p_rid;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'run % does not exist', p_rid USING ERRCODE = 'GW404';
  END IF;

  INSERT INTO metrics (rid, name)
  SELECT p_rid, n.name FROM unnest(p_names) AS n(name)
  WHERE NOT EXISTS (SELECT 1 FROM metrics m WHERE m.rid = p_rid AND m.name = n.name);
  SELECT array_agg(m.mid ORDER BY n.i), array_agg(coalesce(m.last_step, -1) ORDER BY n.i) INTO mids, stored_last
  FROM unnest(p_names) WITH ORDINALITY AS n(name, i) JOIN metrics m ON m.rid = p_rid AND m.name = n.name;

  BEGIN
    INSERT INTO points (rid, mid, step, value, wall)
    SELECT p_rid, mids[v.metric], v.step, v.value, v.wall
    FROM unnest(p_metric, p_step, p_value, p_wall) AS v(metric, step, value, wall)
    WHERE v.step > stored_last[v.metric];
  EXCEPTION WHEN unique_violation THEN
    -- The summaries did not know a stored step (they always should): trust nothing, upsert and recompute it all.
    stored_last := array_fill(9223372036854775807::bigint, ARRAY[array_length(mids, 1)]);
  END;
  -- Each metric's values are in step order: its first value is at or before its stored last step, or none is.
  IF EXISTS (SELECT 1 FROM unnest(p_first) WITH ORDINALITY AS f(first, i) WHERE p_step[f.first] <= stored_last[f.i]) THEN
    INSERT INTO points (rid, mid, step, value, wall)
    SELECT p_rid, mids[v.metric], v.step, v.value, v.wall
    FROM unnest(p_metric, p_step, p_value, p_wall) AS v(metric, step, value, wall)
    WHERE v.step <= stored_last[v.metric]
    ON CONFLICT (rid, mid, step) DO UPDATE SET value = excluded.value, wall = excluded.wall;
  END IF;

  SELECT array_agg(s >> 4 ORDER BY i) INTO fresh_after FROM unnest(stored_last) WITH ORDINALITY AS u(s, i);
  BEGIN
    PERFORM gw_write_envelopes(p_rid, mids, fresh_after, e_metric, e_block, e_cnt, e_nonfinite, e_vmin, e_vmax,
      e_vsum, e_vlast, e_last_step, e_wall, false);
  EXCEPTION
    WHEN numeric_value_out_of_range THEN
      PERFORM gw_write_envelopes(p_rid, mids, fresh_after, e_metric, e_block, e_cnt, e_nonfinite, e_vmin, e_vmax,
        e_vsum, e_vlast, e_last_step, e_wall, true);
    WHEN unique_violation THEN
      -- A block taken for new already held points (the summaries were behind): recompute every touched block, with
      -- sums that cannot overflow.
      PERFORM gw_write_envelopes(p_rid, mids, array_fill(9223372036854775807::bigint, ARRAY[array_length(mids, 1)]),
        e_metric, e_block, e_cnt, e_nonfinite, e_vmin, e_vmax, e_vsum, e_vlast, e_last_step, e_wall, true);
  END;

  PERFORM gw_merge_summaries(p_rid, mids, p_first, p_count, p_step, p_value, p_min_step, p_min_value, p_max_step_of,
    p_max_value);

  UPDATE runs SET last_step = greatest(coalesce(last_step, -1), p_max_step), last_seen_at = p_now WHERE rid = p_rid;
END
$$;
