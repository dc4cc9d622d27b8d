// The runs table's view: its filter, sort keys, columns and the brushes of its parallel coordinates, read from the address (which wins, so a shared link shows
// what its sender saw) or else from this browser's last choice, and written back to both; column widths per browser.
import {
  fieldKey,
  parseRunColumns,
  parseRunQuery,
  parseRunSort,
  type Field,
  type SortKey,
} from '../../../protocol/run-query.js';
import type { RunsTableParams } from '../router.js';
import { store, stored } from '../storage.js';

export const DEFAULT_COLUMNS = 'status,name,tags,age,step,loss/D,loss/G_GAN,Cyc_error,Latent_mse,alerts';
const COLUMNS_KEY = 'ganwatch.runs.columns';
const WIDTHS_KEY = 'ganwatch.runs.widths';

export interface TableView {
  /** The filter text as typed (it may hold an error the box shows; the table keeps the last valid one). */
  q: string;
  sort: SortKey[];
  columns: Field[];
  /** The parallel coordinates' brushes, as text ('' for none). */
  brush: string;
}

function parsedOr<T>(text: string | null | undefined, parse: (t: string) => T, fallback: T): T {
  if (text === null || text === undefined) return fallback;
  try {
    return parse(text);
  } catch {
    return fallback;
  }
}

export function readView(params: RunsTableParams): TableView {
  const defaults = parseRunColumns(DEFAULT_COLUMNS);
  const q = params.q ?? '';
  return {
    q: parsedOr(q, (t) => (parseRunQuery(t), t), ''),
    sort: parsedOr(params.sort, parseRunSort, []),
    columns: parsedOr(params.cols ?? stored(COLUMNS_KEY), parseRunColumns, defaults),
    brush: params.brush ?? '',
  };
}

export const sortText = (sort: readonly SortKey[]): string =>
  sort.map((k) => `${k.desc ? '-' : ''}${fieldKey(k.field)}`).join(',');
export const columnsText = (columns: readonly Field[]): string => columns.map(fieldKey).join(',');

/** The address parameters of a view (the defaults left out), and this browser's column choice remembered. */
export function saveView(view: TableView): RunsTableParams {
  const cols = columnsText(view.columns);
  store(COLUMNS_KEY, cols);
  const params: RunsTableParams = {};
  if (view.q) params.q = view.q;
  if (view.sort.length) params.sort = sortText(view.sort);
  if (cols !== columnsText(parseRunColumns(DEFAULT_COLUMNS))) params.cols = cols;
  if (view.brush) params.brush = view.brush;
  return params;
}

export function readWidths(): Record<string, number> {
  return parsedOr(stored(WIDTHS_KEY), (t) => JSON.parse(t) as Record<string, number>, {});
}

export function saveWidth(key: string, px: number): void {
  store(WIDTHS_KEY, JSON.stringify({ ...readWidths(), [key]: Math.round(px) }));
}
