/**
 * A small subset of PromQL, parsed into a tree the evaluator (./eval.ts)
 * walks. It is a subset on purpose: an alert rule written here is exported
 * unchanged as a Prometheus alerting rule (src/alerts/export.ts), so every
 * expression this parser accepts means the same thing to Prometheus (the
 * few differences in arithmetic are listed in docs/alerts.md).
 *
 *   expr     := compare
 *   compare  := sum [ ('=='|'!='|'>'|'<'|'>='|'<=') ['bool'] [matching] sum ]
 *   sum      := product { ('+'|'-') [matching] product }
 *   product  := unary { ('*'|'/'|'%') [matching] unary }
 *   unary    := ['-'|'+'] primary
 *   primary  := NUMBER | '(' expr ')' | call | aggregate | selector
 *   selector := NAME [ '{' matcher { ',' matcher } '}' ] [ '[' DURATION ']' ]
 *   matcher  := LABEL ('='|'!='|'=~'|'!~') STRING
 *   aggregate:= AGG [ grouping ] '(' [NUMBER ','] expr ')' [ grouping ]
 *   grouping := ('by'|'without') '(' [ LABEL { ',' LABEL } ] ')'
 *   matching := ('on'|'ignoring') '(' [ LABEL { ',' LABEL } ] ')' [ 'group_left' '(' [ LABEL {...} ] ')' ]
 *
 * Every error names the position (1-based column) and what was expected.
 */

export class ExprError extends Error {
  constructor(
    /** 1-based column in the expression */
    readonly position: number,
    readonly expected: string,
    found: string,
  ) {
    super(`at ${position}: expected ${expected}, found ${found}`);
    this.name = 'ExprError';
  }
}

export type MatchOp = '=' | '!=' | '=~' | '!~';
export interface Matcher {
  label: string;
  op: MatchOp;
  value: string;
  /** compiled, anchored as PromQL anchors it */
  re?: RegExp;
}

export type BinaryOp = '+' | '-' | '*' | '/' | '%' | '==' | '!=' | '>' | '<' | '>=' | '<=';
export const COMPARISONS: ReadonlySet<string> = new Set(['==', '!=', '>', '<', '>=', '<=']);

export type Node =
  | { kind: 'number'; value: number; pos: number }
  | { kind: 'selector'; name: string; matchers: Matcher[]; rangeMs: number | null; pos: number }
  | { kind: 'call'; fn: string; args: Node[]; pos: number }
  | { kind: 'aggregate'; op: string; param: Node | null; by: string[] | null; without: string[] | null; expr: Node; pos: number }
  | { kind: 'binary'; op: BinaryOp; bool: boolean; on: string[] | null; ignoring: string[] | null; groupLeft: string[] | null; lhs: Node; rhs: Node; pos: number }
  | { kind: 'negate'; expr: Node; pos: number };

/** name: [argument kinds]; 'range' is a range selector, 'vector' an instant expression, 'scalar' a number */
export const FUNCTIONS: Readonly<Record<string, readonly ('range' | 'vector' | 'scalar')[]>> = {
  rate: ['range'],
  increase: ['range'],
  delta: ['range'],
  avg_over_time: ['range'],
  min_over_time: ['range'],
  max_over_time: ['range'],
  sum_over_time: ['range'],
  count_over_time: ['range'],
  last_over_time: ['range'],
  stddev_over_time: ['range'],
  quantile_over_time: ['scalar', 'range'],
  histogram_quantile: ['scalar', 'vector'],
  abs: ['vector'],
  clamp_min: ['vector', 'scalar'],
  clamp_max: ['vector', 'scalar'],
};

export const AGGREGATES: ReadonlySet<string> = new Set(['sum', 'avg', 'min', 'max', 'count', 'quantile']);

type Tok =
  | { t: 'num'; v: number; pos: number; text: string }
  | { t: 'dur'; v: number; pos: number; text: string }
  | { t: 'ident'; v: string; pos: number; text: string }
  | { t: 'str'; v: string; pos: number; text: string }
  | { t: 'op'; v: string; pos: number; text: string }
  | { t: 'end'; pos: number; text: string };

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const OPS = ['==', '!=', '>=', '<=', '=~', '!~', '>', '<', '=', '+', '-', '*', '/', '%', '(', ')', '{', '}', '[', ']', ','];
export const MAX_EXPR_LENGTH = 2000;

/** "30s", "1m30s", "500ms" → ms, or null. */
export function parseDuration(text: string): number | null {
  const m = /^(?:[0-9]+(?:ms|s|m|h|d))+$/.exec(text);
  if (!m) return null;
  let total = 0;
  for (const part of text.matchAll(/([0-9]+)(ms|s|m|h|d)/g)) total += Number(part[1]) * DURATION_UNITS[part[2]!]!;
  return total;
}

/** ms → the shortest duration text ("90000" → "1m30s"). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = ms;
  let out = '';
  for (const [u, n] of [['h', 3_600_000], ['m', 60_000], ['s', 1000], ['ms', 1]] as const) {
    if (rest >= n) {
      out += `${Math.floor(rest / n)}${u}`;
      rest %= n;
    }
  }
  return out;
}

function lex(src: string): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    const pos = i + 1;
    if (c === '"' || c === "'") {
      let j = i + 1;
      let v = '';
      while (j < src.length && src[j] !== c) {
        if (src[j] === '\\') {
          const e = src[j + 1];
          if (e === undefined) break;
          v += e === 'n' ? '\n' : e === 't' ? '\t' : e;
          j += 2;
        } else v += src[j++];
      }
      if (j >= src.length) throw new ExprError(pos, `a closing ${c} for the string`, 'the end of the expression');
      toks.push({ t: 'str', v, pos, text: src.slice(i, j + 1) });
      i = j + 1;
      continue;
    }
    const num = /^(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?/.exec(src.slice(i));
    if (num) {
      // "5m" is a duration; "5" a number (PromQL's lexer does the same).
      const dur = /^(?:[0-9]+(?:ms|s|m|h|d)(?![A-Za-z0-9_]))+/.exec(src.slice(i));
      if (dur && dur[0].length > num[0].length) {
        toks.push({ t: 'dur', v: parseDuration(dur[0])!, pos, text: dur[0] });
        i += dur[0].length;
        continue;
      }
      if (/^[A-Za-z_]/.test(src.slice(i + num[0].length))) throw new ExprError(pos, 'a number or a duration (a number and one of ms, s, m, h, d)', JSON.stringify(/^[0-9A-Za-z_.]+/.exec(src.slice(i))![0]));
      toks.push({ t: 'num', v: Number(num[0]), pos, text: num[0] });
      i += num[0].length;
      continue;
    }
    const id = /^[A-Za-z_:][A-Za-z0-9_:]*/.exec(src.slice(i));
    if (id) {
      const v = id[0];
      if (v === 'Inf' || v === 'NaN') toks.push({ t: 'num', v: v === 'Inf' ? Infinity : NaN, pos, text: v });
      else toks.push({ t: 'ident', v, pos, text: v });
      i += v.length;
      continue;
    }
    const op = OPS.find((o) => src.startsWith(o, i));
    if (!op) throw new ExprError(pos, 'a name, a number, a string or an operator', JSON.stringify(c));
    toks.push({ t: 'op', v: op, pos, text: op });
    i += op.length;
  }
  toks.push({ t: 'end', pos: src.length + 1, text: 'the end of the expression' });
  return toks;
}

const describe = (t: Tok): string => (t.t === 'end' ? t.text : JSON.stringify(t.text));

class Parser {
  private i = 0;
  constructor(private readonly toks: Tok[]) {}

  private get tok(): Tok {
    return this.toks[this.i]!;
  }
  private isOp(v: string): boolean {
    return this.tok.t === 'op' && this.tok.v === v;
  }
  private isIdent(v: string): boolean {
    return this.tok.t === 'ident' && this.tok.v === v;
  }
  private expectOp(v: string, what = `"${v}"`): Tok {
    if (!this.isOp(v)) throw new ExprError(this.tok.pos, what, describe(this.tok));
    return this.toks[this.i++]!;
  }
  private fail(expected: string): never {
    throw new ExprError(this.tok.pos, expected, describe(this.tok));
  }

  parse(): Node {
    const n = this.compare();
    if (this.tok.t !== 'end') this.fail('an operator or the end of the expression');
    return n;
  }

  private matching(): { on: string[] | null; ignoring: string[] | null; groupLeft: string[] | null } {
    if (this.isIdent('on') || this.isIdent('ignoring')) {
      const which = (this.toks[this.i++] as { v: string }).v;
      const labels = this.labelList();
      let groupLeft: string[] | null = null;
      if (this.isIdent('group_left')) {
        this.i++;
        groupLeft = this.isOp('(') ? this.labelList() : [];
      } else if (this.isIdent('group_right')) this.fail('on(...) or ignoring(...) alone, or with group_left (group_right is not supported: swap the sides)');
      return which === 'on' ? { on: labels, ignoring: null, groupLeft } : { on: null, ignoring: labels, groupLeft };
    }
    if (this.isIdent('group_left') || this.isIdent('group_right')) this.fail('on(...) or ignoring(...) before group_left');
    return { on: null, ignoring: null, groupLeft: null };
  }

  private compare(): Node {
    const lhs = this.sum();
    if (this.tok.t === 'op' && COMPARISONS.has(this.tok.v)) {
      const t = this.toks[this.i++]!;
      const bool = this.isIdent('bool') ? (this.i++, true) : false;
      const m = this.matching();
      const rhs = this.sum();
      if (this.tok.t === 'op' && COMPARISONS.has(this.tok.v)) this.fail('the end of the expression (one comparison per expression; use parentheses)');
      return { kind: 'binary', op: t.text as BinaryOp, bool, ...m, lhs, rhs, pos: t.pos };
    }
    return lhs;
  }

  private sum(): Node {
    let lhs = this.product();
    while (this.isOp('+') || this.isOp('-')) {
      const t = this.toks[this.i++]!;
      const m = this.matching();
      lhs = { kind: 'binary', op: t.text as BinaryOp, bool: false, ...m, lhs, rhs: this.product(), pos: t.pos };
    }
    return lhs;
  }

  private product(): Node {
    let lhs = this.unary();
    while (this.isOp('*') || this.isOp('/') || this.isOp('%')) {
      const t = this.toks[this.i++]!;
      const m = this.matching();
      lhs = { kind: 'binary', op: t.text as BinaryOp, bool: false, ...m, lhs, rhs: this.unary(), pos: t.pos };
    }
    return lhs;
  }

  private unary(): Node {
    if (this.isOp('-') || this.isOp('+')) {
      const t = this.toks[this.i++]!;
      const expr = this.unary();
      return t.text === '-' ? { kind: 'negate', expr, pos: t.pos } : expr;
    }
    return this.primary();
  }

  private labelList(): string[] {
    this.expectOp('(', '"(" and a list of label names');
    const labels: string[] = [];
    while (!this.isOp(')')) {
      if (this.tok.t !== 'ident') this.fail('a label name or ")"');
      labels.push(this.tok.v);
      this.i++;
      if (!this.isOp(')')) this.expectOp(',', '"," or ")"');
    }
    this.i++;
    return labels;
  }

  private primary(): Node {
    const t = this.tok;
    if (t.t === 'num') {
      this.i++;
      return { kind: 'number', value: t.v, pos: t.pos };
    }
    if (this.isOp('(')) {
      this.i++;
      const e = this.compare();
      this.expectOp(')', '")"');
      return e;
    }
    if (t.t !== 'ident') this.fail('a number, a metric name, a function or "("');
    this.i++;
    if (AGGREGATES.has(t.v) && (this.isOp('(') || this.isIdent('by') || this.isIdent('without'))) return this.aggregate(t.v, t.pos);
    if (this.isOp('(')) {
      if (!Object.hasOwn(FUNCTIONS, t.v)) throw new ExprError(t.pos, `a known function (${[...Object.keys(FUNCTIONS), ...AGGREGATES].join(', ')})`, JSON.stringify(t.v));
      this.i++;
      const args: Node[] = [];
      while (!this.isOp(')')) {
        args.push(this.compare());
        if (!this.isOp(')')) this.expectOp(',', '"," or ")"');
      }
      this.i++;
      const want = FUNCTIONS[t.v]!;
      if (args.length !== want.length) throw new ExprError(t.pos, `${want.length} argument${want.length === 1 ? '' : 's'} to ${t.v} (${want.join(', ')})`, `${args.length}`);
      args.forEach((a, k) => {
        const isRange = a.kind === 'selector' && a.rangeMs !== null;
        if (want[k] === 'range' && !isRange) throw new ExprError(a.pos, `a range selector such as metric[1m] as argument ${k + 1} of ${t.v}`, 'an instant expression');
        if (want[k] !== 'range' && isRange) throw new ExprError(a.pos, `an instant expression as argument ${k + 1} of ${t.v}`, 'a range selector');
      });
      return { kind: 'call', fn: t.v, args, pos: t.pos };
    }
    return this.selector(t.v, t.pos);
  }

  private aggregate(op: string, pos: number): Node {
    let by: string[] | null = null;
    let without: string[] | null = null;
    const grouping = () => {
      if (this.isIdent('by') || this.isIdent('without')) {
        if (by || without) this.fail('one grouping clause (by or without), not two');
        const which = (this.toks[this.i++] as { v: string }).v;
        if (which === 'by') by = this.labelList();
        else without = this.labelList();
      }
    };
    grouping();
    this.expectOp('(', `"(" after ${op}`);
    let param: Node | null = null;
    if (op === 'quantile') {
      param = this.compare();
      this.expectOp(',', '"," after the quantile');
    }
    const expr = this.compare();
    this.expectOp(')', '")"');
    grouping();
    if (expr.kind === 'selector' && expr.rangeMs !== null) throw new ExprError(expr.pos, `an instant expression inside ${op}(...)`, 'a range selector (wrap it in rate(...) or an *_over_time function)');
    return { kind: 'aggregate', op, param, by, without, expr, pos };
  }

  private selector(name: string, pos: number): Node {
    const matchers: Matcher[] = [];
    if (this.isOp('{')) {
      this.i++;
      while (!this.isOp('}')) {
        if (this.tok.t !== 'ident') this.fail('a label name or "}"');
        const label = this.tok.v;
        this.i++;
        const opTok = this.tok as Tok;
        if (opTok.t !== 'op' || !['=', '!=', '=~', '!~'].includes(opTok.v)) this.fail('a label matcher operator: =, !=, =~ or !~');
        this.i++;
        const vt = this.tok as Tok;
        if (vt.t !== 'str') this.fail('a quoted label value');
        this.i++;
        const m: Matcher = { label, op: opTok.v as MatchOp, value: vt.v };
        if (m.op === '=~' || m.op === '!~') {
          try {
            m.re = new RegExp(`^(?:${vt.v})$`);
          } catch (err) {
            throw new ExprError(vt.pos, 'a valid regular expression', `${JSON.stringify(vt.v)} (${(err as Error).message})`);
          }
        }
        matchers.push(m);
        if (!this.isOp('}')) this.expectOp(',', '"," or "}"');
      }
      this.i++;
    }
    let rangeMs: number | null = null;
    if (this.isOp('[')) {
      this.i++;
      const d = this.tok;
      if (d.t !== 'dur' || d.v <= 0) this.fail('a duration such as 30s, 5m or 1h');
      this.i++;
      rangeMs = (d as { v: number }).v;
      this.expectOp(']', '"]"');
    }
    return { kind: 'selector', name, matchers, rangeMs, pos };
  }
}

/** Parse an expression; throws ExprError naming the position and what was expected. */
export function parseExpr(src: string): Node {
  if (typeof src !== 'string') throw new ExprError(1, 'an expression (a string)', typeof src);
  if (src.length > MAX_EXPR_LENGTH) throw new ExprError(MAX_EXPR_LENGTH + 1, `an expression of at most ${MAX_EXPR_LENGTH} characters`, `${src.length} characters`);
  if (src.trim() === '') throw new ExprError(1, 'an expression', 'nothing');
  return new Parser(lex(src)).parse();
}

/** The longest range any selector of the tree reads, in ms (0: instant only). */
export function longestRange(n: Node): number {
  switch (n.kind) {
    case 'selector':
      return n.rangeMs ?? 0;
    case 'call':
      return Math.max(0, ...n.args.map(longestRange));
    case 'aggregate':
      return Math.max(longestRange(n.expr), n.param ? longestRange(n.param) : 0);
    case 'binary':
      return Math.max(longestRange(n.lhs), longestRange(n.rhs));
    case 'negate':
      return longestRange(n.expr);
    default:
      return 0;
  }
}

/** Every metric name the expression reads. */
export function metricNames(n: Node): string[] {
  const out = new Set<string>();
  const walk = (x: Node): void => {
    if (x.kind === 'selector') out.add(x.name);
    else if (x.kind === 'call') x.args.forEach(walk);
    else if (x.kind === 'aggregate') {
      walk(x.expr);
      if (x.param) walk(x.param);
    } else if (x.kind === 'binary') {
      walk(x.lhs);
      walk(x.rhs);
    } else if (x.kind === 'negate') walk(x.expr);
  };
  walk(n);
  return [...out];
}
