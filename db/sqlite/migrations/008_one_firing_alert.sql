-- At most one firing alert per run, rule and key. The alert engine opens one per transition; when two servers briefly
-- both watch a run (a trainer failing over while the old holder still finishes a batch), the second open must find
-- the first instead of doubling it. Any duplicates already stored are resolved, keeping the oldest.
UPDATE alerts SET state = 'resolved', resolved_at = updated_at
WHERE state = 'firing'
  AND id NOT IN (SELECT MIN(id) FROM alerts WHERE state = 'firing' GROUP BY rid, rule, key);
CREATE UNIQUE INDEX alerts_one_firing ON alerts (rid, rule, key) WHERE state = 'firing';
