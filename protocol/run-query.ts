// The runs table's little languages: the filter expression (`q`), the sort keys (`sort`) and the column list
// (`columns`) of GET /runs, parsed here once for the server (which compiles them to SQL in db/) and the dashboard (which
// shows an error where it is in the text). Pure and without the schema library, so the web bundle imports it.
//
//   q       := or
//   or      := and ("or" and)*
//   and     := unary (["and"] unary)*            two terms side by side are and-ed
//   unary   := "not" unary | "(" or ")" | term
//   term    := field OP value                     OP: < <= > >= = == !=
//            | ("tag" | "status" | "name") ":" value
//            | value                              a bare word or "quoted text": the name contains it
//   field   := name | status | step | age | created | alerts | tags
//            | config.KEY[.KEY...]                 a config value (nested keys with dots; "quoted" keys allowed)
//            | AGG(METRIC) | METRIC               AGG: last min max best; a bare metric name is its last value
//   value   := number (1e-4, -3, 2.5) | duration (age only: 90s 30m 2h 1d 1w) | true | false | word | "quoted"
//   sort    := ["-"]field ("," ["-"]field)*       "-" sorts descending; missing values sort last either way
//   columns := field ("," field)*
import { RUN_STATUSES } from './run-statuses.js';

export const AGGREGATES = ['last', 'min', 'max', 'best'] as const;
export type Aggregate = (typeof AGGREGATES)[number];
export const RUN_FIELDS = ['name', 'status', 'step', 'age', 'created', 'alerts', 'tags'] as const;
export type RunField = (typeof RUN_FIELDS)[number];
export type CompareOp = '<' | '<=' | '>' | '>=' | '=' | '!=';

export type Field =
  | { kind: 'run'; name: RunField }
  | { kind: 'config'; path: string[] }
  | { kind: 'metric'; metric: string; agg: Aggregate };

export type Literal = number | string | boolean;

export type RunQuery =
  | { op: 'and' | 'or'; args: RunQuery[] }
  | { op: 'not'; arg: RunQuery }
  | { op: 'cmp'; field: Field; cmp: CompareOp; value: Literal }
  | { op: 'has'; what: 'tag' | 'status' | 'name'; value: string };

export interface SortKey {
  field: Field;
  desc: boolean;
}

/** Most distinct metrics one request may name (each is one index probe per run; SQLite joins at most 64 tables). */
export const MAX_QUERY_METRICS = 40;
/** Longest q, sort or columns text, in characters. */
export const MAX_QUERY_CHARS = 4000;

/** A parse error: what is wrong, and where (0-based character offset and length in the text). */
export class RunQueryError extends Error {
  constructor(
    message: string,
    readonly position: number,
    readonly length: number = 1,
  ) {
    super(message);
    this.name = 'RunQueryError';
  }
}

// --- tokens -----------------------------------------------------------------------------------------------------

type TokenKind = 'word' | 'string' | 'op' | '(' | ')' | ':' | ',';
interface Token {
  kind: TokenKind;
  text: string;
  at: number;
  end: number;
}

const WORD = /[A-Za-z0-9_./+\-*]/;
const OPS = ['<=', '>=', '!=', '==', '<', '>', '='];

function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const start = i;
    if (c === '(' || c === ')' || c === ':' || c === ',') {
      out.push({ kind: c, text: c, at: i, end: ++i });
      continue;
    }
    const op = OPS.find((o) => text.startsWith(o, i));
    if (op) {
      i += op.length;
      out.push({ kind: 'op', text: op === '==' ? '=' : op, at: start, end: i });
      continue;
    }
    if (c === '"' || c === "'") {
      let value = '';
      i++;
      for (;;) {
        if (i >= text.length) throw new RunQueryError('this quoted text is not closed', start, text.length - start);
        const d = text[i]!;
        if (d === c) break;
        if (d === '\\' && i + 1 < text.length) {
          value += text[i + 1];
          i += 2;
          continue;
        }
        value += d;
        i++;
      }
      i++;
      out.push({ kind: 'string', text: value, at: start, end: i });
      continue;
    }
    if (WORD.test(c)) {
      while (i < text.length && WORD.test(text[i]!)) i++;
      out.push({ kind: 'word', text: text.slice(start, i), at: start, end: i });
      continue;
    }
    throw new RunQueryError(`unexpected character '${c}'`, i);
  }
  return out;
}

// --- fields -----------------------------------------------------------------------------------------------------

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?$/i;
const DURATION = /^(\d+(?:\.\d+)?)(s|m|h|d|w)$/;
const DURATION_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
const METRIC_NAME = /^[A-Za-z0-9_./-]{1,128}$/;
const KEYWORDS = new Set(['and', 'or', 'not']);

class Parser {
  private i = 0;
  readonly metrics = new Set<string>();

  constructor(
    private readonly text: string,
    private readonly tokens: Token[],
  ) {}

  private peek(offset = 0): Token | undefined {
    return this.tokens[this.i + offset];
  }

  private next(): Token | undefined {
    return this.tokens[this.i++];
  }

  atEnd(): boolean {
    return this.i >= this.tokens.length;
  }

  private isKeyword(t: Token | undefined, word: string): boolean {
    return t?.kind === 'word' && t.text.toLowerCase() === word;
  }

  fail(message: string, t?: Token): never {
    if (!t) throw new RunQueryError(message, this.text.length, 0);
    throw new RunQueryError(message, t.at, Math.max(1, t.end - t.at));
  }

  expectEnd(what: string): void {
    const t = this.peek();
    if (t) this.fail(`unexpected '${this.text.slice(t.at, t.end)}' ${what}`, t);
  }

  // q
  parseOr(): RunQuery {
    const args = [this.parseAnd()];
    while (this.isKeyword(this.peek(), 'or')) {
      this.next();
      args.push(this.parseAnd());
    }
    return args.length === 1 ? args[0]! : { op: 'or', args };
  }

  private parseAnd(): RunQuery {
    const args = [this.parseUnary()];
    for (;;) {
      const t = this.peek();
      if (!t || t.kind === ')' || this.isKeyword(t, 'or')) break;
      if (this.isKeyword(t, 'and')) this.next();
      args.push(this.parseUnary());
    }
    return args.length === 1 ? args[0]! : { op: 'and', args };
  }

  private parseUnary(): RunQuery {
    const t = this.peek();
    if (!t) this.fail('expected a condition here');
    if (this.isKeyword(t, 'not')) {
      this.next();
      return { op: 'not', arg: this.parseUnary() };
    }
    if (t.kind === '(') {
      this.next();
      const inner = this.parseOr();
      const close = this.next();
      if (close?.kind !== ')') this.fail(`expected ')' to close the '(' at character ${t.at + 1}`, close);
      return inner;
    }
    if (t.kind === ')') this.fail("unexpected ')': there is no '(' to close", t);
    if (this.isKeyword(t, 'and') || this.isKeyword(t, 'or')) this.fail(`expected a condition before '${t.text}'`, t);
    return this.parseTerm();
  }

  private parseTerm(): RunQuery {
    const first = this.peek()!;
    const colon = this.peek(1);
    if (first.kind === 'word' && colon?.kind === ':') {
      const what = first.text.toLowerCase();
      if (what !== 'tag' && what !== 'status' && what !== 'name')
        this.fail(`unknown prefix '${first.text}:' (use tag:, status: or name:)`, first);
      this.i += 2;
      const v = this.next();
      if (!v || (v.kind !== 'word' && v.kind !== 'string')) this.fail(`expected a ${what} after '${what}:'`, v);
      if (what === 'status') this.checkStatus(v.text, v);
      return { op: 'has', what, value: v.text };
    }
    if ((first.kind === 'word' || first.kind === 'string') && this.peek(1)?.kind !== 'op' && !this.startsCall()) {
      this.next();
      if (first.kind === 'word' && KEYWORDS.has(first.text.toLowerCase()))
        this.fail(`expected a condition, not '${first.text}'`, first);
      return { op: 'has', what: 'name', value: first.text };
    }
    const field = this.parseField();
    const op = this.next();
    if (op?.kind !== 'op') this.fail('expected a comparison (< <= > >= = !=) after this field', op);
    const value = this.parseValue(field, op.text as CompareOp);
    return { op: 'cmp', field, cmp: op.text as CompareOp, value };
  }

  private startsCall(): boolean {
    const t = this.peek();
    const p = this.peek(1);
    return (
      t?.kind === 'word' && (AGGREGATES as readonly string[]).includes(t.text) && p?.kind === '(' && p.at === t.end
    );
  }

  private checkStatus(value: string, t: Token): void {
    if (!(RUN_STATUSES as readonly string[]).includes(value))
      this.fail(`unknown status '${value}' (one of ${RUN_STATUSES.join(', ')})`, t);
  }

  parseField(): Field {
    const t = this.next();
    if (!t) this.fail('expected a field here');
    if (t.kind === 'string') return this.metric(t.text, 'last', t);
    if (t.kind !== 'word') this.fail(`expected a field, not '${t.text}'`, t);
    if ((AGGREGATES as readonly string[]).includes(t.text) && this.peek()?.kind === '(') {
      this.next();
      const m = this.next();
      if (!m || (m.kind !== 'word' && m.kind !== 'string')) this.fail(`expected a metric name inside ${t.text}( )`, m);
      const close = this.next();
      if (close?.kind !== ')') this.fail(`expected ')' after the metric name`, close);
      return this.metric(m.text, t.text as Aggregate, m);
    }
    if (t.text === 'config' || t.text.startsWith('config.')) return this.config(t);
    if ((RUN_FIELDS as readonly string[]).includes(t.text)) return { kind: 'run', name: t.text as RunField };
    return this.metric(t.text, 'last', t);
  }

  /** config.a.b, or config."a key".b: the word may stop at a quoted key, which the tokens after it continue. */
  private config(t: Token): Field {
    const path = t.text.split('.').slice(1);
    let end = t.end;
    // A quoted key right after "config." or after a trailing dot: config."learning rate"
    while (path[path.length - 1] === '' || path.length === 0) {
      const q = this.peek();
      if (q?.kind !== 'string' || q.at !== end) break;
      this.next();
      if (path.length === 0) path.push(q.text);
      else path[path.length - 1] = q.text;
      end = q.end;
      const dot = this.peek();
      if (dot?.kind === 'word' && dot.at === end && dot.text.startsWith('.')) {
        this.next();
        path.push(...dot.text.split('.').slice(1));
        end = dot.end;
      }
    }
    if (path.length === 0 || path.some((k) => k === ''))
      throw new RunQueryError('expected a config key after "config." (e.g. config.lr_d)', t.at, end - t.at);
    if (path.some((k) => k.includes('"') || k.length > 200))
      throw new RunQueryError('a config key may not contain " and is at most 200 characters', t.at, end - t.at);
    return { kind: 'config', path };
  }

  private metric(name: string, agg: Aggregate, t: Token): Field {
    if (!METRIC_NAME.test(name))
      this.fail(`'${name}' is not a metric name (letters, digits and _ . / -, at most 128)`, t);
    this.metrics.add(name);
    if (this.metrics.size > MAX_QUERY_METRICS) this.fail(`at most ${MAX_QUERY_METRICS} metrics per request`, t);
    return { kind: 'metric', metric: name, agg };
  }

  private parseValue(field: Field, op: CompareOp): Literal {
    const v = this.next();
    if (!v || (v.kind !== 'word' && v.kind !== 'string')) this.fail(`expected a value after '${op}'`, v);
    const text = v.text;
    const numeric =
      field.kind === 'metric' || (field.kind === 'run' && !['name', 'status', 'tags'].includes(field.name));
    if (field.kind === 'run' && field.name === 'age' && v.kind === 'word') {
      const d = DURATION.exec(text);
      if (d) return Number(d[1]) * DURATION_SECONDS[d[2]!]!;
    }
    if (v.kind === 'word' && NUMBER.test(text)) {
      if (!numeric && field.kind === 'run') this.fail(`${field.name} is compared with text, not a number`, v);
      return Number(text);
    }
    if (numeric) {
      const hint = field.kind === 'run' && field.name === 'age' ? ' or a duration (30m, 2h, 1d)' : '';
      this.fail(`expected a number${hint}, not '${text}'`, v);
    }
    if (op !== '=' && op !== '!=' && field.kind === 'run') this.fail(`${field.name} takes = or != only`, v);
    if (field.kind === 'run' && field.name === 'status') this.checkStatus(text, v);
    if (field.kind === 'run' && field.name === 'tags') this.fail('use tag:NAME to filter by tag', v);
    if (v.kind === 'word' && (text === 'true' || text === 'false')) {
      if (op !== '=' && op !== '!=') this.fail('true and false take = or != only', v);
      return text === 'true';
    }
    if (op !== '=' && op !== '!=') this.fail(`text takes = or != only; '${text}' is not a number`, v);
    return text;
  }

  /** One sort key or column: ["-"]field, up to a comma or the end. */
  parseListItem(allowDesc: boolean): { field: Field; desc: boolean } {
    let desc = false;
    const t = this.peek();
    if (allowDesc && t?.kind === 'word' && t.text.startsWith('-') && t.text.length > 1) {
      // Split the leading "-" off the word in place.
      this.tokens[this.i] = { kind: 'word', text: t.text.slice(1), at: t.at + 1, end: t.end };
      desc = true;
    }
    const field = this.parseField();
    const after = this.peek();
    if (after && after.kind !== ',')
      this.fail(`expected ',' or the end after this ${allowDesc ? 'sort key' : 'column'}`, after);
    if (after) this.next();
    return { field, desc };
  }
}

function checkLength(text: string, what: string): void {
  if (text.length > MAX_QUERY_CHARS)
    throw new RunQueryError(`${what} is longer than ${MAX_QUERY_CHARS} characters`, MAX_QUERY_CHARS, 1);
}

/** Parses a filter expression; null for an empty one. Throws RunQueryError. */
export function parseRunQuery(text: string): RunQuery | null {
  checkLength(text, 'the filter');
  const tokens = tokenize(text);
  if (tokens.length === 0) return null;
  const p = new Parser(text, tokens);
  const q = p.parseOr();
  p.expectEnd('here (a ")" without "(", or a missing "and"/"or"?)');
  return q;
}

function parseList(text: string, allowDesc: boolean, what: string): Array<{ field: Field; desc: boolean }> {
  checkLength(text, what);
  const tokens = tokenize(text);
  const p = new Parser(text, tokens);
  const out: Array<{ field: Field; desc: boolean }> = [];
  while (!p.atEnd()) out.push(p.parseListItem(allowDesc));
  return out;
}

/** Parses `sort`: comma-separated fields, each descending with a leading "-". Throws RunQueryError. */
export function parseRunSort(text: string): SortKey[] {
  return parseList(text, true, 'sort');
}

/** Parses `columns`: comma-separated fields. Throws RunQueryError. */
export function parseRunColumns(text: string): Field[] {
  return parseList(text, false, 'columns').map((c) => c.field);
}

const PLAIN_KEY = /^[A-Za-z0-9_/+\-*]+$/;

/** The canonical text of a field, as sort and columns accept it and the API keys column values by. */
export function fieldKey(field: Field): string {
  switch (field.kind) {
    case 'run':
      return field.name;
    case 'config':
      return 'config' + field.path.map((k) => (PLAIN_KEY.test(k) ? `.${k}` : `."${k}"`)).join('');
    case 'metric':
      return `${field.agg}(${field.metric})`;
  }
}

/** The metric names a query, its sort keys and columns refer to. */
export function metricsOf(fields: Iterable<Field>, query: RunQuery | null): string[] {
  const names = new Set<string>();
  for (const f of fields) if (f.kind === 'metric') names.add(f.metric);
  const walk = (q: RunQuery): void => {
    if (q.op === 'and' || q.op === 'or') q.args.forEach(walk);
    else if (q.op === 'not') walk(q.arg);
    else if (q.op === 'cmp' && q.field.kind === 'metric') names.add(q.field.metric);
  };
  if (query) walk(query);
  return [...names];
}
