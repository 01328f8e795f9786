/**
 * The two small JSON languages of the policy: selectors for `mask.json` ($.a.b, $..ssn, $.items[*].card)
 * and conditions for `approve.json` / `block.json` (payment_amount > 1000 and currency == "EUR").
 * Both are compiled once when the policy loads; a syntax error is a policy error.
 */
export class JsonSyntaxError extends Error {}

type Step = { kind: 'child'; key: string | number } | { kind: 'any' } | { kind: 'descend'; key: string | '*' };

export interface JsonSelector {
  readonly source: string;
  readonly steps: readonly Step[];
}

export function compileSelector(source: string): JsonSelector {
  if (!source.startsWith('$')) throw new JsonSyntaxError(`selector "${source}" must start with $`);
  const steps: Step[] = [];
  const re = /\.\.([A-Za-z_][\w-]*|\*)|\.([A-Za-z_][\w-]*)|\.\*|\[\*\]|\[(\d+)\]|\['([^']*)'\]|\["([^"]*)"\]/y;
  re.lastIndex = 1;
  while (re.lastIndex < source.length) {
    const at = re.lastIndex;
    const m = re.exec(source);
    if (!m) throw new JsonSyntaxError(`selector "${source}" cannot be read at character ${at + 1}`);
    if (m[1] !== undefined) steps.push({ kind: 'descend', key: m[1] });
    else if (m[2] !== undefined) steps.push({ kind: 'child', key: m[2] });
    else if (m[3] !== undefined) steps.push({ kind: 'child', key: Number(m[3]) });
    else if (m[4] !== undefined || m[5] !== undefined) steps.push({ kind: 'child', key: (m[4] ?? m[5])! });
    else steps.push({ kind: 'any' });
  }
  if (steps.length === 0) throw new JsonSyntaxError(`selector "${source}" selects the whole document; name a field`);
  return { source, steps };
}

type Container = Record<string, unknown> | unknown[];
const isContainer = (v: unknown): v is Container => typeof v === 'object' && v !== null;

function childKeys(v: Container): (string | number)[] {
  return Array.isArray(v) ? v.map((_, i) => i) : Object.keys(v);
}

/**
 * Calls `visit(parent, key)` for every place the selector reaches, so the caller can replace the value
 * in place. Cyclic input cannot occur: the values come from JSON.parse.
 */
export function forEachSelected(
  root: unknown,
  selector: JsonSelector,
  visit: (parent: Container, key: string | number) => void,
): void {
  const walk = (value: unknown, stepIndex: number, parent: Container | undefined, key: string | number): void => {
    if (stepIndex === selector.steps.length) {
      if (parent !== undefined) visit(parent, key);
      return;
    }
    if (!isContainer(value)) return;
    const step = selector.steps[stepIndex]!;
    if (step.kind === 'child') {
      if (Object.prototype.hasOwnProperty.call(value, step.key)) {
        walk((value as Record<string | number, unknown>)[step.key], stepIndex + 1, value, step.key);
      }
    } else if (step.kind === 'any') {
      for (const k of childKeys(value)) walk((value as Record<string | number, unknown>)[k], stepIndex + 1, value, k);
    } else {
      for (const k of childKeys(value)) {
        const child = (value as Record<string | number, unknown>)[k];
        if (step.key === '*' || k === step.key) walk(child, stepIndex + 1, value, k);
        walk(child, stepIndex, value, k);
      }
    }
  };
  walk(root, 0, undefined, '');
}

// ---- conditions ----

type Comparator = '==' | '!=' | '>' | '>=' | '<' | '<=';
type Literal = string | number | boolean | null;
type Expr =
  | { kind: 'or' | 'and'; left: Expr; right: Expr }
  | { kind: 'not'; operand: Expr }
  | { kind: 'cmp'; op: Comparator; left: Operand; right: Operand }
  | { kind: 'truthy'; operand: Operand };
type Operand = { kind: 'path'; keys: (string | number)[] } | { kind: 'literal'; value: Literal };

export interface JsonCondition {
  readonly source: string;
  readonly expr: Expr;
}

const TOKEN = /\s*(?:(\d+(?:\.\d+)?)|"((?:[^"\\]|\\.)*)"|'([^']*)'|(==|!=|>=|<=|>|<|\(|\))|([A-Za-z_$][\w$]*(?:(?:\.[A-Za-z_][\w]*)|\[\d+\])*))/y;

type Token = { type: 'num'; value: number } | { type: 'str'; value: string } | { type: 'op'; value: string } | { type: 'word'; value: string };

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < source.length) {
    if (/^\s*$/.test(source.slice(TOKEN.lastIndex))) break;
    const at = TOKEN.lastIndex;
    const m = TOKEN.exec(source);
    if (!m) throw new JsonSyntaxError(`condition "${source}" cannot be read at character ${at + 1}`);
    if (m[1] !== undefined) tokens.push({ type: 'num', value: Number(m[1]) });
    else if (m[2] !== undefined) tokens.push({ type: 'str', value: JSON.parse(`"${m[2]}"`) as string });
    else if (m[3] !== undefined) tokens.push({ type: 'str', value: m[3] });
    else if (m[4] !== undefined) tokens.push({ type: 'op', value: m[4] });
    else tokens.push({ type: 'word', value: m[5]! });
  }
  return tokens;
}

function parsePath(word: string): (string | number)[] {
  const body = word.startsWith('$') ? word.slice(1).replace(/^\./, '') : word;
  const keys: (string | number)[] = [];
  for (const m of body.matchAll(/([A-Za-z_]\w*)|\[(\d+)\]/g)) keys.push(m[1] ?? Number(m[2]));
  return keys;
}

export function compileCondition(source: string): JsonCondition {
  const tokens = tokenize(source);
  let i = 0;
  const fail = (what: string): never => {
    throw new JsonSyntaxError(`condition "${source}": ${what}`);
  };
  const peekWord = (w: string) => tokens[i]?.type === 'word' && tokens[i]!.value === w;
  const operand = (): Operand => {
    const t = tokens[i++];
    if (!t) return fail('ends where a value was expected');
    if (t.type === 'num' || t.type === 'str') return { kind: 'literal', value: t.value };
    if (t.type === 'word') {
      if (t.value === 'true' || t.value === 'false') return { kind: 'literal', value: t.value === 'true' };
      if (t.value === 'null') return { kind: 'literal', value: null };
      if (t.value === 'and' || t.value === 'or' || t.value === 'not') return fail(`"${t.value}" stands where a value was expected`);
      return { kind: 'path', keys: parsePath(t.value) };
    }
    return fail(`"${t.value}" stands where a value was expected`);
  };
  const primary = (): Expr => {
    if (peekWord('not')) {
      i++;
      return { kind: 'not', operand: primary() };
    }
    if (tokens[i]?.type === 'op' && tokens[i]!.value === '(') {
      i++;
      const inner = or();
      if (!(tokens[i]?.type === 'op' && tokens[i]!.value === ')')) fail('a parenthesis is not closed');
      i++;
      return inner;
    }
    const left = operand();
    const t = tokens[i];
    if (t?.type === 'op' && t.value !== '(' && t.value !== ')') {
      i++;
      return { kind: 'cmp', op: t.value as Comparator, left, right: operand() };
    }
    return { kind: 'truthy', operand: left };
  };
  // `and` binds tighter than `or`: each level chains operands of the level below.
  const chain = (word: 'and' | 'or', operandOf: () => Expr): Expr => {
    let left = operandOf();
    while (peekWord(word)) {
      i++;
      left = { kind: word, left, right: operandOf() };
    }
    return left;
  };
  const and = (): Expr => chain('and', primary);
  const or = (): Expr => chain('or', and);
  if (tokens.length === 0) fail('is empty');
  const expr = or();
  if (i < tokens.length) fail(`unexpected "${String(tokens[i]!.value)}"`);
  return { source, expr };
}

/**
 * Every value a path reaches: an array on the way (a top-level batch, a list of items) is entered, so
 * `amount` reaches the amount of each object in `[{"amount": 1}, {"amount": 5000}]`.
 */
function resolve(operand: Operand, body: unknown): unknown[] {
  if (operand.kind === 'literal') return [operand.value];
  let values: unknown[] = [body];
  for (const k of operand.keys) {
    const next: unknown[] = [];
    const step = (v: unknown): void => {
      if (!isContainer(v)) return;
      if (Array.isArray(v) && typeof k === 'string') return v.forEach(step);
      if (Object.prototype.hasOwnProperty.call(v, k)) next.push((v as Record<string | number, unknown>)[k]);
    };
    values.forEach(step);
    values = next;
  }
  // A path that ends on an array compares each of its elements too.
  return values.flatMap((v) => (Array.isArray(v) ? [v, ...v] : [v]));
}

/** A number, or a string a lenient reader takes for one ("5000", " 5e3 "), as a number; anything else undefined. */
function numeric(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v !== 'string' || v.trim() === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

/** Numbers and numeric strings compare as numbers (targets read "5000" as 5000); other values by type. */
function compare(op: Comparator, a: unknown, b: unknown): boolean {
  const x = numeric(a);
  const y = numeric(b);
  if (x !== undefined && y !== undefined && (typeof a === 'number' || typeof b === 'number')) return ordered(op, x, y);
  if (op === '==') return a === b;
  if (op === '!=') return a !== b;
  if (typeof a === 'string' && typeof b === 'string') return ordered(op, a, b);
  return false;
}

function ordered<T extends number | string>(op: Comparator, x: T, y: T): boolean {
  switch (op) {
    case '==':
      return x === y;
    case '!=':
      return x !== y;
    case '>':
      return x > y;
    case '>=':
      return x >= y;
    case '<':
      return x < y;
    case '<=':
      return x <= y;
  }
}

export function evaluateCondition(condition: JsonCondition, body: unknown): boolean {
  const run = (e: Expr): boolean => {
    switch (e.kind) {
      case 'or':
        return run(e.left) || run(e.right);
      case 'and':
        return run(e.left) && run(e.right);
      case 'not':
        return !run(e.operand);
      case 'cmp': {
        // True when it holds for some value each side reaches.
        const rights = resolve(e.right, body);
        return resolve(e.left, body).some((l) => rights.some((r) => compare(e.op, l, r)));
      }
      case 'truthy':
        return resolve(e.operand, body).some(Boolean);
    }
  };
  return run(condition.expr);
}
