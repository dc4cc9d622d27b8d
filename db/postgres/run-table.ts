// The runs table's SQL as PostgreSQL spells it (db/run-table.ts compiles the query): json path operators for config,
// text[] containment for tags, $n parameters, NaN stored as NaN (mapped to NULL where it is compared or sorted).
import type { Dialect } from '../run-table.js';

const typed = (p: string, type: string, then: string) =>
  `CASE WHEN json_typeof(r.config #> ${p}::text[]) = '${type}' THEN ${then} END`;

export const postgresDialect: Dialect = {
  placeholder: (i) => `$${i}`,
  number: (p) => `${p}::float8`,
  noLimit: 'LIMIT ALL',
  configPath: (path) => path,
  configNumber: (p) => typed(p, 'number', `(r.config #>> ${p}::text[])::float8`),
  configText: (p) => typed(p, 'string', `r.config #>> ${p}::text[]`),
  configBool: (p) => typed(p, 'boolean', `r.config #>> ${p}::text[]`),
  hasTag: (p) => `r.tags @> ARRAY[${p}::text]`,
  // lower() of the C collation folds ASCII only, as SQLite's does.
  nameContains: (p) => `strpos(lower(r.name), lower(${p}::text)) > 0`,
  tagsText: `NULLIF(array_to_string(r.tags, ',') COLLATE "C", '')`,
  finite: (expr) => `NULLIF(${expr}, 'NaN'::float8)`,
  lastIsNaN: () => false,
};
