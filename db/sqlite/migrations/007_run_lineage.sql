-- 007: lineage. A run forked from another (a rollback to a checkpoint, `npm run train -- --resume CK --fork`) names
-- its parent's public id and the parent's step it continues after; both NULL for a run that starts from scratch.
-- The id is kept when the parent is deleted: the child still says where it came from.

ALTER TABLE runs ADD COLUMN parent_id TEXT;
ALTER TABLE runs ADD COLUMN fork_step INTEGER;
CREATE INDEX runs_parent ON runs (parent_id) WHERE parent_id IS NOT NULL;
