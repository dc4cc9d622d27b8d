// What the importer tells its user, one line per thing that happened: as text for a person (problems and warnings on
// stderr), or with --json as one JSON object per line on stdout for scripts and tests to follow.
import type { GanwatchError } from '../../protocol/index.js';

export interface Totals {
  runs: number;
  records: number;
  /** Scalar values stored (one per tag per step). */
  points: number;
  images: number;
  texts: number;
  /** What was counted and not imported: histograms, graphs, values of other plugins, … → count. */
  skipped: Record<string, number>;
  /** Corrupt or truncated records. */
  problems: number;
}

export type ImportReport =
  | { event: 'run'; run: string; id: string; created: boolean }
  | {
      event: 'batch';
      run: string;
      file: string;
      from: number;
      to: number;
      records: number;
      points: number;
      images: number;
      texts: number;
    }
  | { event: 'renamed'; run: string; tag: string; metric: string }
  | { event: 'problem'; run: string; file: string; offset: number; code: string; message: string }
  | { event: 'warning'; code: string; message: string }
  | { event: 'caught_up'; totals: Totals }
  | { event: 'summary'; totals: Totals };

export type Reporter = (report: ImportReport) => void;

const plural = (n: number, one: string, many = `${one}s`): string =>
  `${n.toLocaleString('en')} ${n === 1 ? one : many}`;

function describeSkipped(skipped: Record<string, number>): string {
  return Object.entries(skipped)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .map(([what, n]) => `${n.toLocaleString('en')} ${what}`)
    .join(', ');
}

function describeTotals(t: Totals): string[] {
  const lines = [
    `imported: ${plural(t.runs, 'run')}, ${plural(t.records, 'record')} → ${plural(t.points, 'value')}, ${plural(t.images, 'image')}, ${plural(t.texts, 'text')}`,
  ];
  if (Object.keys(t.skipped).length > 0) lines.push(`skipped (not imported): ${describeSkipped(t.skipped)}`);
  if (t.problems > 0) lines.push(`problems: ${plural(t.problems, 'corrupt or truncated record')} (reported above)`);
  return lines;
}

function describe(r: ImportReport): string[] {
  switch (r.event) {
    case 'run':
      return [`run '${r.run}' → ${r.id} (${r.created ? 'created' : 'found again'})`];
    case 'batch':
      return [
        `${r.run === '.' ? '' : `${r.run}/`}${r.file} bytes ${r.from}–${r.to}: ${plural(r.records, 'record')} → ${plural(r.points, 'value')}, ${plural(r.images, 'image')}, ${plural(r.texts, 'text')}`,
      ];
    case 'renamed':
      return [`metric name: tag '${r.tag}' → '${r.metric}' (run '${r.run}')`];
    case 'problem':
    case 'warning':
      return [`ganwatch: warning: ${r.code}: ${r.message}`];
    case 'caught_up':
      return [
        ...describeTotals(r.totals),
        'following: new records and runs are imported as they are written (Ctrl-C stops)',
      ];
    case 'summary':
      return describeTotals(r.totals);
  }
}

export function textReporter(out: NodeJS.WritableStream, err: NodeJS.WritableStream): Reporter {
  return (r) => {
    const stream = r.event === 'problem' || r.event === 'warning' ? err : out;
    for (const line of describe(r)) stream.write(`${line}\n`);
  };
}

export function jsonReporter(out: NodeJS.WritableStream): Reporter {
  return (r) => out.write(`${JSON.stringify(r)}\n`);
}

export function warningOf(error: GanwatchError): ImportReport {
  return { event: 'warning', code: error.code, message: error.message };
}
