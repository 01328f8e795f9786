import type { DetectorType, MaskStrategy, Policy, RuleCondition, RuleSpec } from '../policy/types.js';
import { globMatcher } from '../base/glob.js';
import { isPerRequest, pathMatcher, requestMatcher } from './http-match.js';
import { compileCondition, compileSelector, evaluateCondition } from '../base/json-select.js';
import type { ColumnMask, Decision, JsonMask, MaskPlan, Operation, RequestMasks, Verdict } from './operation.js';
import type { Principal } from '../identity/principal.js';

/**
 * Classes no operation may have unless a rule allows them explicitly: the safe defaults, the one list
 * README's policy section documents. `unparseable` has no place in the schema, so nothing allows it: text
 * the parser rejects is always refused.
 */
const REFUSED_UNLESS_ALLOWED: ReadonlySet<string> = new Set([
  'function_call', 'startup_options', 'replication', 'dangerous_function', 'integrity_setting', 'copy_program', 'masked_copy', 'masked_predicate', 'unparseable',
  // MySQL: the target asks the job's client for one of its files.
  'load_local',
  // SSH channels that reach beyond one command: a terminal, tunnels, the job's agent, X11.
  'interactive', 'port_forwarding', 'agent_forwarding', 'x11_forwarding',
]);
const UNKNOWN = 'unknown';
/** The protocols whose operations are SQL statements, which `sql:` conditions match. */
const SQL_PROTOCOLS: ReadonlySet<Operation['protocol']> = new Set(['postgres', 'mysql']);

type Matcher = (op: Operation) => boolean;

interface CompiledRule {
  name: string;
  action: RuleSpec['action'];
  applies: Matcher;
  matches: Matcher;
  /**
   * The classes the rule's sql and ssh conditions list: to name the one that matched, and because only
   * an allow rule naming a refused-by-default class lifts it.
   */
  namedClasses: ReadonlySet<string>;
  /** Whether the rule's condition names the unknown class, which lifts the default hold. */
  coversUnknown: boolean;
  mask?: { columns: ColumnMask[]; types: DetectorType[]; json: JsonMask[]; headers: readonly string[]; on: 'read' | 'write'; strategy: MaskStrategy };
  /** Whether `applies` depends on more than the connection, so mask plans cannot be cached per connection. */
  perRequest: boolean;
  /** Whether the rule's condition reads the request's JSON body. */
  readsJson: boolean;
  /** An allow-list (`others:`): what it covers and does not list gets this verdict. */
  allowList?: { covers: Matcher; lists: Matcher; verdict: 'block' | 'approve' };
}

const anyOf = (matchers: Matcher[]): Matcher => (op) => matchers.some((m) => m(op));

/**
 * Long and alternative spellings of single-letter flags, per program (or git subcommand), so "rm -rf"
 * also matches `rm --recursive --force`, `rm -R -f` and the abbreviation `rm --recu --f`, and "git push
 * --force" every way of forcing a push (`-f`, `--force-with-lease`, `--mirror`, a `+refspec`).
 */
const FLAG_SPELLINGS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  rm: { '--recursive': 'r', '-R': 'r', '--force': 'f', '--dir': 'd', '--verbose': 'v', '--interactive': 'i', '--one-file-system': 'x', '--no-preserve-root': 'N', '--preserve-root': 'P' },
  chmod: { '--recursive': 'R', '--changes': 'c', '--silent': 'f', '--quiet': 'f', '--verbose': 'v', '--reference': '-', '--no-preserve-root': 'N', '--preserve-root': 'P' },
  chown: { '--recursive': 'R', '--changes': 'c', '--silent': 'f', '--quiet': 'f', '--verbose': 'v', '--reference': '-', '--dereference': '-', '--no-dereference': 'h', '--from': '-' },
  chgrp: { '--recursive': 'R', '--changes': 'c', '--silent': 'f', '--quiet': 'f', '--verbose': 'v', '--reference': '-', '--dereference': '-', '--no-dereference': 'h' },
  cp: { '--recursive': 'r', '-R': 'r', '--force': 'f', '--archive': 'a', '--target-directory': 't', '--suffix': 'S', '--verbose': 'v' },
  mv: { '--force': 'f', '--target-directory': 't', '--suffix': 'S', '--verbose': 'v', '--no-clobber': 'n' },
  shred: { '--remove': 'u', '--zero': 'z', '--force': 'f', '--iterations': 'n', '--size': 's', '--verbose': 'v', '--exact': 'x' },
  'git push': { '--force': 'f', '--force-with-lease': 'f', '--mirror': 'f', '--delete': 'd', '--all': '-', '--tags': '-', '--set-upstream': 'u', '--verbose': 'v', '--quiet': 'q', '--dry-run': 'n', '--push-option': 'o', '--repo': '-', '--atomic': '-', '--prune': '-', '--no-verify': '-', '--follow-tags': '-' },
};
/** Short flags that take a value, attached or the next word, so letters in it are not flags. */
const FLAG_VALUES: Readonly<Record<string, string>> = { cp: 'tS', mv: 'tS', shred: 'ns', 'git push': 'o' };
/** Programs whose options are whole words (`find -delete`): a pattern's option matches the same word, not its letters. */
const WORD_OPTIONS: Readonly<Record<string, ReadonlySet<string>>> = {
  // find's tests and actions that take a value: `find -name -delete` names a file, it deletes nothing.
  find: new Set(['-name', '-iname', '-path', '-ipath', '-wholename', '-iwholename', '-regex', '-iregex', '-lname', '-ilname', '-type', '-xtype', '-user', '-group', '-uid', '-gid', '-perm', '-size', '-newer', '-anewer', '-cnewer', '-mtime', '-atime', '-ctime', '-mmin', '-amin', '-cmin', '-used', '-links', '-inum', '-samefile', '-fstype', '-maxdepth', '-mindepth', '-printf', '-fprint', '-fprint0', '-fls', '-context', '-regextype', '-files0-from']),
};
/** git's options before its subcommand that take the next word. */
const GIT_GLOBAL_VALUED = new Set(['-C', '-c', '--git-dir', '--work-tree', '--namespace', '--config-env', '--super-prefix', '--exec-path', '--attr-source', '--list-cmds']);

/** The long spelling a word names, abbreviations resolved (GNU and git accept any unambiguous prefix); every letter it could be when ambiguous. */
function spelledFlags(given: string, spellings: Readonly<Record<string, string>>): string[] {
  if (spellings[given]) return [spellings[given]!];
  const matches = Object.keys(spellings).filter((s) => s.startsWith('--') && given.length > 2 && s.startsWith(given));
  return [...new Set(matches.map((m) => spellings[m]!))];
}

/** The single-letter flags an argv carries, in any grouping, spelling or abbreviation, up to `--`. */
function flagsOf(program: string, args: readonly string[]): { flags: Set<string>; words: string[] } {
  const spellings = FLAG_SPELLINGS[program] ?? {};
  const valued = FLAG_VALUES[program] ?? '';
  const flags = new Set<string>();
  const words: string[] = [];
  let options = true;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (options && arg === '--') {
      options = false;
      continue;
    }
    const spelled = options && arg.startsWith('-') ? spelledFlags(arg.split('=')[0]!, spellings) : [];
    if (spelled.length) spelled.forEach((f) => flags.add(f));
    else if (options && /^-[^-]/.test(arg)) {
      for (let j = 1; j < arg.length; j++) {
        const f = arg[j]!;
        flags.add(spellings[`-${f}`] ?? f);
        if (!valued.includes(f)) continue;
        if (j === arg.length - 1) i++;
        break;
      }
    } else words.push(arg);
  }
  if (program === 'git push' && words.some((w) => w.startsWith('+'))) flags.add('f');
  return { flags, words };
}

/** A pattern's program names its family: `mkfs` is also mkfs.ext4, `python3` also python3.11, `rm` never rmdir. */
function inFamily(program: string, name: string): boolean {
  return name === program || (name.startsWith(program) && /^(\.[\w.-]+|[\d.]+)$/.test(name.slice(program.length)));
}

/** For git, the subcommand and what follows it, past git's own options (`git -C dir push -f`). */
function gitSubcommand(args: readonly string[]): { sub: string | undefined; rest: readonly string[] } {
  let i = 0;
  while (i < args.length && args[i]!.startsWith('-')) i += GIT_GLOBAL_VALUED.has(args[i]!) ? 2 : 1;
  return { sub: args[i], rest: args.slice(i + 1) };
}

/**
 * A deny pattern "program flags… words…": a command of the program's family carrying every flag (in
 * any spelling) and every word. For git the first word is the subcommand. Options of programs that
 * spell them as words (find) match as words.
 */
function shellMatcher(pattern: string): Matcher {
  if (pattern === UNKNOWN) return (op) => op.protocol === 'ssh' && op.classes.has(UNKNOWN);
  const [program, ...required] = pattern.split(/\s+/) as [string, ...string[]];
  const sub = program === 'git' && required[0] && !required[0].startsWith('-') ? required.shift() : undefined;
  const key = sub ? `git ${sub}` : program;
  const wordOptions = WORD_OPTIONS[program];
  const needed = wordOptions ? { flags: new Set<string>(), words: required } : flagsOf(key, required);
  const matchesArgs = (args: readonly string[]): boolean => {
    if (wordOptions) return required.every((w) => args.some((a, i) => a === w && !wordOptions.has(args[i - 1] ?? '')));
    const { flags, words } = flagsOf(key, args);
    return [...needed.flags].every((f) => flags.has(f)) && needed.words.every((w) => words.includes(w) || args.includes(w));
  };
  return (op) =>
    op.commands?.some((argv) => {
      if (argv.length === 0 || !inFamily(program, argv[0]!.split('/').pop()!)) return false;
      if (!sub) return matchesArgs(argv.slice(1));
      const git = gitSubcommand(argv.slice(1));
      return git.sub === sub && matchesArgs(git.rest);
    }) ?? false;
}

/** SSH channel classes: interactive, port_forwarding, agent_forwarding, x11_forwarding. */
function sshMatcher(kind: string): Matcher {
  return (op) => op.protocol === 'ssh' && op.classes.has(kind);
}

/** "CLASS" or "CLASS /path/glob": an sftp operation of that class on a matching path. */
function sftpMatcher(pattern: string): Matcher {
  const [kind, path] = pattern.split(/\s+/, 2) as [string, string | undefined];
  const pathMatches = path ? globMatcher(path, { separator: '/' }) : () => true;
  return (op) => op.protocol === 'ssh' && op.classes.has('sftp') && op.classes.has(kind) && pathMatches(op.path ?? '');
}

/** An http pattern; `exactCase` for what an allow rule lists (see pathMatcher). */
function httpMatcher(pattern: NonNullable<RuleCondition['http']>[number], exactCase: boolean): Matcher {
  if (typeof pattern !== 'string') return requestMatcher(pattern, exactCase);
  if (pattern === UNKNOWN) return (op) => op.protocol === 'http' && op.classes.has(UNKNOWN);
  const parts = pattern.split(/\s+/);
  const method = parts.find((p) => !p.startsWith('/'))?.toUpperCase();
  const path = parts.find((p) => p.startsWith('/'));
  const pathMatches = path ? pathMatcher([path], exactCase) : () => true;
  return (op) => op.protocol === 'http' && (!method || op.method === method) && pathMatches(op);
}

/**
 * An allow-list entry for one simple command: the program (by base name unless the pattern gives a path)
 * and then each argument as a glob, in order; a last `**` takes any further arguments. Nothing else
 * passes: an allow-list says exactly what may run, so `git pull` does not admit `git -c x=y pull`. As
 * elsewhere, `*` stays within one path segment of an argument and `**` crosses them.
 */
function allowedCommand(pattern: string): (argv: readonly string[]) => boolean {
  const [program, ...words] = pattern.trim().split(/\s+/) as [string, ...string[]];
  const rest = words.at(-1) === '**' ? words.slice(0, -1) : undefined;
  const globs = (rest ?? words).map((w) => globMatcher(w, { separator: '/' }));
  const byPath = program.includes('/');
  return (argv) =>
    argv.length > 0 &&
    (byPath ? argv[0] === program : argv[0]!.split('/').pop() === program) &&
    (rest ? argv.length - 1 >= globs.length : argv.length - 1 === globs.length) &&
    globs.every((g, i) => g(argv[i + 1]!));
}

/**
 * What an allow-list covers and what it lists: a command line is listed when every simple command in it
 * is, as written (`sudo systemctl restart app` needs an entry that starts with sudo; the shell text a
 * listed `bash -c` runs needs its own), and it has nothing the gateway cannot resolve, unless `unknown`
 * is listed; a request when one of
 * the http patterns (or the json condition) matches it.
 */
function allowListOf(condition: RuleCondition, verdict: 'block' | 'approve'): NonNullable<CompiledRule['allowList']> {
  const shell = (condition.shell ?? []).filter((p) => p !== UNKNOWN).map(allowedCommand);
  const shellUnknown = condition.shell?.includes(UNKNOWN) ?? false;
  const http = condition.http && conditionMatcher({ http: condition.http, ...(condition.json !== undefined && { json: condition.json }) }, true);
  return {
    verdict,
    covers: (op) => (condition.shell !== undefined && op.protocol === 'ssh' && op.commands !== undefined) || (http !== undefined && op.protocol === 'http'),
    lists: (op) =>
      op.protocol === 'http'
        ? http!(op)
        : (shellUnknown || !op.classes.has(UNKNOWN)) && (op.written ?? op.commands!).every((argv) => shell.some((allowed) => allowed(argv))),
  };
}

function conditionMatcher(condition: RuleCondition, allows: boolean): Matcher {
  const matchers: Matcher[] = [];
  if (condition.sql) {
    const classes = new Set(condition.sql);
    matchers.push((op) => SQL_PROTOCOLS.has(op.protocol) && [...op.classes].some((c) => classes.has(c)));
  }
  condition.shell?.forEach((p) => matchers.push(shellMatcher(p)));
  condition.http?.forEach((p) => matchers.push(httpMatcher(p, allows)));
  condition.ssh?.forEach((p) => matchers.push(sshMatcher(p)));
  condition.sftp?.forEach((p) => matchers.push(sftpMatcher(p)));
  if (condition.json !== undefined) {
    const compiled = compileCondition(condition.json);
    matchers.push((op) => op.json !== undefined && evaluateCondition(compiled, op.json));
  }
  return anyOf(matchers);
}

function whenMatcher(when: RuleSpec['when']): Matcher {
  if (!when) return () => true;
  const connections = when.connection && new Set(when.connection);
  const request = isPerRequest(when) ? requestMatcher(when) : undefined;
  return (op) => (!connections || connections.has(op.connection)) && (!request || request(op));
}

function compileRule(spec: RuleSpec): CompiledRule {
  const rule: CompiledRule = {
    name: spec.name,
    action: spec.action,
    applies: whenMatcher(spec.when),
    matches: spec.condition ? conditionMatcher(spec.condition, spec.action === 'allow') : () => false,
    namedClasses: new Set([...(spec.condition?.sql ?? []), ...(spec.condition?.ssh ?? [])]),
    coversUnknown: [spec.condition?.sql, spec.condition?.shell, spec.condition?.http, spec.condition?.sftp].some((l) => l?.includes(UNKNOWN)),
    perRequest: spec.when !== undefined && isPerRequest(spec.when),
    readsJson: spec.condition?.json !== undefined,
  };
  if (spec.others && spec.condition) rule.allowList = allowListOf(spec.condition, spec.others === 'refuse' ? 'block' : 'approve');
  if (spec.mask) {
    const { strategy } = spec.mask;
    rule.mask = {
      columns: spec.mask.columns.map((pattern) => {
        const [table, column] = splitColumn(pattern);
        const t = globMatcher(table, { separator: '.' });
        const c = globMatcher(column, { separator: '.' });
        return {
          matches: (tn: string, cn: string) => t(tn) && c(cn),
          matchesColumn: c,
          matchesTable: t,
          strategy,
          rule: spec.name,
          ...(spec.mask!.predicates && { predicates: spec.mask!.predicates }),
        };
      }),
      types: [...spec.mask.types],
      json: spec.mask.json.map((s) => ({ selector: compileSelector(s), strategy, rule: spec.name })),
      headers: spec.mask.headers,
      on: spec.mask.on,
      strategy,
    };
  }
  return rule;
}

/** "schema.users.ssn" names table "schema.users" and column "ssn". */
function splitColumn(pattern: string): [string, string] {
  const dot = pattern.lastIndexOf('.');
  return [pattern.slice(0, dot), pattern.slice(dot + 1)];
}

const NO_REQUEST_MASKS: RequestMasks = Object.freeze({ json: [], detectors: new Map(), headers: new Map(), rules: [] });
export const EMPTY_MASK_PLAN: MaskPlan = Object.freeze({ columns: [], writeColumns: [], detectors: new Map(), json: [], headers: new Map(), write: NO_REQUEST_MASKS, rules: [] });

/**
 * The rule engine: block beats approve beats allow, masks from every matching rule accumulate.
 * Built once per run from the validated policy.
 */
export class RuleEngine {
  readonly #rules: CompiledRule[];
  readonly #maskRules: CompiledRule[];
  readonly #allowLists: CompiledRule[];
  readonly #observe: boolean;
  readonly #planCache = new Map<string, MaskPlan>();
  readonly #plansPerRequest: boolean;
  /** Whether some mask rule rewrites what goes to a target beyond PostgreSQL columns (HTTP requests). */
  readonly masksRequests: boolean;
  /**
   * Decisions by classification: adapters cache classifications by statement shape, so the same class
   * set comes back for every statement of that shape. Only for operations whose decision depends on
   * nothing but their classes, connection and write flag (no method, path or body).
   */
  readonly #decisions = new WeakMap<ReadonlySet<string>, Map<string, Decision[]>>();

  constructor(policy: Pick<Policy, 'rules' | 'mode'>) {
    this.#rules = policy.rules.map(compileRule);
    this.#maskRules = this.#rules.filter((r) => r.mask);
    this.#allowLists = this.#rules.filter((r) => r.allowList);
    this.#observe = policy.mode === 'observe';
    this.#plansPerRequest = this.#maskRules.some((r) => r.perRequest);
    this.masksRequests = this.#maskRules.some((r) => r.mask!.on === 'write' && r.mask!.json.length + r.mask!.types.length + r.mask!.headers.length > 0);
  }


  /** Whether deciding this operation needs its JSON body: some rule that applies to it has a json condition. */
  needsJson(op: Operation): boolean {
    return this.#rules.some((r) => r.readsJson && r.applies(op));
  }

  evaluate(op: Operation, principal: Principal): Decision {
    const cacheable = op.method === undefined && op.path === undefined && op.json === undefined && op.commands === undefined;
    if (!cacheable) return this.#evaluate(op, principal);
    let byConnection = this.#decisions.get(op.classes);
    if (!byConnection) this.#decisions.set(op.classes, (byConnection = new Map()));
    let byFlags = byConnection.get(op.connection);
    if (!byFlags) byConnection.set(op.connection, (byFlags = []));
    // No key is made per statement: the write flag and the identity's read-only flag pick one of four.
    return (byFlags[(op.writes ? 1 : 0) + (principal.readOnly ? 2 : 0)] ??= this.#evaluate(op, principal));
  }

  #evaluate(op: Operation, principal: Principal): Decision {
    const masks = this.maskPlan(op);
    const policyDecision = this.#policyDecision(op, principal);
    // Built field by field, not spread: every HTTP request is decided afresh, and spreading is slow.
    const decision: Decision = { verdict: this.#observe ? 'allow' : policyDecision.verdict, policyVerdict: policyDecision.verdict, reason: policyDecision.reason, masks };
    if (policyDecision.rule !== undefined) decision.rule = policyDecision.rule;
    return decision;
  }

  #policyDecision(op: Operation, principal: Principal): { verdict: Verdict; rule?: string; reason: string } {
    const applicable = this.#rules.filter((r) => r.action !== 'mask' && r.applies(op) && r.matches(op));
    const first = (action: RuleSpec['action']) => applicable.find((r) => r.action === action);
    const block = first('block');
    if (block) {
      const matched = [...op.classes].filter((c) => block.namedClasses.has(c));
      return { verdict: 'block', rule: block.name, reason: `blocked by rule "${block.name}"${matched.length ? ` (class ${matched.join(', ')})` : ''}` };
    }
    const unlisted = this.#allowLists.filter((r) => r.applies(op) && r.allowList!.covers(op) && !r.allowList!.lists(op));
    const refusedBy = unlisted.find((r) => r.allowList!.verdict === 'block');
    if (refusedBy) return { verdict: 'block', rule: refusedBy.name, reason: `refused by rule "${refusedBy.name}": not on its allow-list` };
    if (op.writes && principal.readOnly) {
      return { verdict: 'block', rule: 'read-only-identity', reason: `blocked: ${principal.readOnlyReason ?? 'this identity may only read'}` };
    }
    const refused = [...op.classes].find((c) => REFUSED_UNLESS_ALLOWED.has(c) && !applicable.some((r) => r.action === 'allow' && r.namedClasses.has(c)));
    if (refused) {
      return { verdict: 'block', rule: `default-${refused}`, reason: `blocked: ${refused.replaceAll('_', ' ')} is refused unless a rule allows it` };
    }
    const approve = first('approve') ?? unlisted[0];
    if (approve) return { verdict: 'approve', rule: approve.name, reason: `held for approval by rule "${approve.name}"` };
    if (op.classes.has(UNKNOWN) && !applicable.some((r) => r.coversUnknown)) {
      return { verdict: 'approve', rule: 'default-unknown', reason: 'held for approval: its effect cannot be known before it runs, and no rule covers unknown' };
    }
    return { verdict: 'allow', reason: 'allowed' };
  }

  /** The masks for an operation; cached per connection unless a mask rule looks at method or path. */
  maskPlan(op: Operation): MaskPlan {
    if (this.#maskRules.length === 0) return EMPTY_MASK_PLAN;
    if (this.#plansPerRequest) return this.#buildPlan(op);
    let plan = this.#planCache.get(op.connection);
    if (!plan) this.#planCache.set(op.connection, (plan = this.#buildPlan(op)));
    return plan;
  }

  #buildPlan(op: Operation): MaskPlan {
    const columns: ColumnMask[] = [];
    const writeColumns: ColumnMask[] = [];
    const detectors = new Map<DetectorType, MaskStrategy>();
    const json: JsonMask[] = [];
    const headers = new Map<string, { strategy: MaskStrategy; whole: boolean }>();
    const rules: string[] = [];
    const write = { json: [] as JsonMask[], detectors: new Map<DetectorType, MaskStrategy>(), headers: new Map<string, { strategy: MaskStrategy; whole: boolean }>(), rules: [] as string[] };
    const addTo = (side: { json: JsonMask[]; detectors: Map<DetectorType, MaskStrategy>; headers: Map<string, { strategy: MaskStrategy; whole: boolean }> }, mask: NonNullable<CompiledRule['mask']>) => {
      side.json.push(...mask.json);
      for (const h of mask.headers) if (!side.headers.has(h)) side.headers.set(h, { strategy: mask.strategy, whole: mask.types.length === 0 });
      for (const t of mask.types) if (!side.detectors.has(t)) side.detectors.set(t, mask.strategy);
    };
    for (const rule of this.#maskRules) {
      if (!rule.applies(op)) continue;
      const mask = rule.mask!;
      rules.push(rule.name);
      if (mask.on === 'write') {
        writeColumns.push(...mask.columns);
        addTo(write, mask);
        if (mask.json.length + mask.types.length > 0) write.rules.push(rule.name);
        continue;
      }
      columns.push(...mask.columns);
      addTo({ json, detectors, headers }, mask);
    }
    const requestMasks = write.rules.length + write.headers.size > 0 ? write : NO_REQUEST_MASKS;
    return rules.length ? { columns, writeColumns, detectors, json, headers, write: requestMasks, rules } : EMPTY_MASK_PLAN;
  }
}
