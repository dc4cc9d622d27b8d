// Where the cells of a sample grid are, from its media meta (rows, columns, tile, padding, header) and its pixel
// size: the layout the trainer draws (trainer/images.ts gridLayout), so a viewer can zoom onto one cell. A grid whose
// meta leaves out padding or header (other trainers) gets them inferred from its size when they come out whole.

/** A rectangle in fractions of the grid image (0..1 both ways). */
export interface FracRect {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface GridCells {
  rows: number;
  columns: number;
  tile: number;
  padding: number;
  header: number;
  width: number;
  height: number;
  labels: string[];
  /** Cell (row, column) as fractions of the image. */
  cellRect(row: number, column: number): FracRect;
  /** The cell under a point given in fractions of the image, or null (a gap, the header, outside). */
  cellAt(fx: number, fy: number): { row: number; column: number } | null;
}

const posInt = (v: unknown): number | null => (typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : null);
const nonNegInt = (v: unknown): number | null => (typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : null);

/** The grid's cells, or null when the meta does not say rows, columns and tile, or they do not fit the image. */
export function gridCells(meta: Record<string, unknown>, width: number, height: number): GridCells | null {
  const rows = posInt(meta.rows);
  const columns = posInt(meta.columns);
  const tile = posInt(meta.tile);
  if (rows === null || columns === null || tile === null || width <= 0 || height <= 0) return null;
  const padding = nonNegInt(meta.padding) ?? (width - columns * tile) / (columns + 1);
  const header = nonNegInt(meta.header) ?? height - rows * tile - (rows + 1) * padding;
  if (!Number.isInteger(padding) || padding < 0 || !Number.isInteger(header) || header < 0) return null;
  if (columns * tile + (columns + 1) * padding !== width || header + rows * tile + (rows + 1) * padding !== height)
    return null;
  const labels = Array.isArray(meta.labels) ? meta.labels.map(String) : [];
  const step = tile + padding;
  return {
    rows,
    columns,
    tile,
    padding,
    header,
    width,
    height,
    labels,
    cellRect: (row, column) => ({
      x: (padding + column * step) / width,
      y: (header + padding + row * step) / height,
      w: tile / width,
      h: tile / height,
    }),
    cellAt(fx, fy) {
      const px = fx * width - padding;
      const py = fy * height - header - padding;
      if (px < 0 || py < 0) return null;
      const column = Math.floor(px / step);
      const row = Math.floor(py / step);
      if (column >= columns || row >= rows || px - column * step >= tile || py - row * step >= tile) return null;
      return { row, column };
    },
  };
}

/** "row 2 · z1": a cell named for people (rows count from 1, the column by its label when the meta has one). */
export function cellName(cells: GridCells, row: number, column: number): string {
  return `row ${row + 1} · ${cells.labels[column] ?? `column ${column + 1}`}`;
}
