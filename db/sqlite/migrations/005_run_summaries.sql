-- 005: per-metric run summaries: the last value, the finite minimum and maximum, and the step of each, kept by every
-- write in the write's own transaction (db/sqlite/summaries.ts), so listing, filtering and sorting runs by a metric
-- never reads points. The runs already stored are summarised here, from their points.

ALTER TABLE metrics ADD COLUMN last_step INTEGER;
ALTER TABLE metrics ADD COLUMN last_value REAL;  -- NULL when the last value is NaN
ALTER TABLE metrics ADD COLUMN min_value REAL;   -- finite values only; NULL when the metric has none
ALTER TABLE metrics ADD COLUMN min_step INTEGER; -- the earliest step holding min_value
ALTER TABLE metrics ADD COLUMN max_value REAL;
ALTER TABLE metrics ADD COLUMN max_step INTEGER;

UPDATE metrics SET
  last_step = (SELECT max(p.step) FROM points p WHERE p.mid = metrics.mid),
  min_step = (SELECT p.step FROM points p WHERE p.mid = metrics.mid AND abs(p.value) < 9e999 ORDER BY p.value, p.step LIMIT 1),
  max_step = (SELECT p.step FROM points p WHERE p.mid = metrics.mid AND abs(p.value) < 9e999 ORDER BY p.value DESC, p.step LIMIT 1);
UPDATE metrics SET
  last_value = (SELECT p.value FROM points p WHERE p.mid = metrics.mid AND p.step = metrics.last_step),
  min_value = (SELECT p.value FROM points p WHERE p.mid = metrics.mid AND p.step = metrics.min_step),
  max_value = (SELECT p.value FROM points p WHERE p.mid = metrics.mid AND p.step = metrics.max_step);

-- The runs table filters and sorts by a metric of every run: one (rid, name) probe per run, which UNIQUE (rid, name)
-- already indexes.
