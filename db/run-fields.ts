// The stored fields of a run, listed once: the PostgreSQL store selects them, and `ganwatch migrate` copies them from
// SQLite. A field added to `Run` and not here fails to compile, so neither can silently drop it.
import type { Run } from '../protocol/index.js';

export const STORED_RUN_FIELDS = [
  'id',
  'name',
  'status',
  'config',
  'tags',
  'notes',
  'backend',
  'device',
  'host',
  'system',
  'created_at',
  'updated_at',
  'finished_at',
  'last_step',
  'last_seen_at',
  'parent_id',
  'fork_step',
] as const satisfies ReadonlyArray<keyof Run>;

type Unlisted = Exclude<keyof Run, (typeof STORED_RUN_FIELDS)[number]>;
// Compiles only while Unlisted is empty.
export const EVERY_RUN_FIELD_LISTED: [Unlisted] extends [never] ? true : Unlisted = true;
