/** A word of a command line: its value when it is fixed text, else its source (an expansion known only at run time). */
export interface Word {
  text: string;
  fixed: boolean;
}

/**
 * A program's options as GNU getopt_long reads them: `short` in getopt's notation ("ab:c::", a letter
 * followed by ":" takes a value, attached or the next word; by "::" only an attached one), `long` as
 * "name", "name:" or "name::" (a value after "=" or, for "name:", the next word).
 */
export interface OptionSyntax {
  short: string;
  long?: readonly string[];
  /** Options and operands may mix (getopt's default); otherwise options end at the first operand, as for wrappers. */
  permute?: boolean;
  /** `nice -5`: a dash and digits is an option of its own. */
  numeric?: boolean;
}

export interface ParsedOption {
  /** "-x" for a short option, "--name" (the full name, abbreviations resolved) for a long one. */
  name: string;
  value?: Word;
}

export interface ParsedArgs {
  options: ParsedOption[];
  /** The operands, in order; without permute, everything from the first operand on. */
  operands: Word[];
  /** Why the options cannot be read as the program reads them (an option it does not know, a word known only at run time). */
  problem?: string;
}

type Arity = 'none' | 'required' | 'optional';

function shortArity(short: string, letter: string): Arity | undefined {
  const i = short.indexOf(letter);
  if (i < 0 || letter === ':' || letter === '+') return undefined;
  if (short[i + 1] !== ':') return 'none';
  return short[i + 2] === ':' ? 'optional' : 'required';
}

function longArity(spec: string): [string, Arity] {
  if (spec.endsWith('::')) return [spec.slice(0, -2), 'optional'];
  if (spec.endsWith(':')) return [spec.slice(0, -1), 'required'];
  return [spec, 'none'];
}

/**
 * The long option a word names: an exact name, else the one name it abbreviates (getopt_long accepts
 * any unambiguous prefix: `--recu` is `--recursive`). Undefined when none or several match.
 */
export function resolveLong(given: string, names: readonly string[]): string | undefined {
  if (names.includes(given)) return given;
  const matches = names.filter((n) => n.startsWith(given));
  return matches.length === 1 ? matches[0] : undefined;
}

/** Reads `args` (the words after the program's name) as getopt_long would. */
export function parseOptions(program: string, args: readonly Word[], syntax: OptionSyntax): ParsedArgs {
  const longs = (syntax.long ?? []).map(longArity);
  const names = longs.map(([n]) => n);
  const parsed: ParsedArgs = { options: [], operands: [] };
  const fail = (problem: string) => ({ ...parsed, operands: [...parsed.operands, ...args.slice(i)], problem: `${program}: ${problem}` });
  let i = 0;
  for (; i < args.length; i++) {
    const word = args[i]!;
    const t = word.text;
    if (!word.fixed) {
      if (!syntax.permute && !t.startsWith('-')) break;
      return fail(`an option known only at run time (${t})`);
    }
    if (t === '--') {
      parsed.operands.push(...args.slice(i + 1));
      return parsed;
    }
    if (!t.startsWith('-') || t === '-') {
      if (!syntax.permute) break;
      parsed.operands.push(word);
      continue;
    }
    if (syntax.numeric && /^-\d+$/.test(t)) {
      parsed.options.push({ name: t });
      continue;
    }
    if (t.startsWith('--')) {
      const eq = t.indexOf('=');
      const given = t.slice(2, eq < 0 ? undefined : eq);
      const name = resolveLong(given, names);
      if (name === undefined) return fail(`option --${given} is ${names.some((n) => n.startsWith(given)) ? 'ambiguous' : 'not one the gateway knows'}`);
      const arity = longs.find(([n]) => n === name)![1];
      if (eq >= 0) parsed.options.push({ name: `--${name}`, value: { text: t.slice(eq + 1), fixed: true } });
      else if (arity === 'required') {
        const value = args[++i];
        if (!value) return fail(`option --${name} needs a value`);
        parsed.options.push({ name: `--${name}`, value });
      } else parsed.options.push({ name: `--${name}` });
      continue;
    }
    for (let j = 1; j < t.length; j++) {
      const letter = t[j]!;
      const arity = shortArity(syntax.short, letter);
      if (arity === undefined) return fail(`option -${letter} is not one the gateway knows`);
      if (arity === 'none') {
        parsed.options.push({ name: `-${letter}` });
        continue;
      }
      const attached = t.slice(j + 1);
      if (attached || arity === 'optional') parsed.options.push({ name: `-${letter}`, ...(attached && { value: { text: attached, fixed: true } }) });
      else {
        const value = args[++i];
        if (!value) return fail(`option -${letter} needs a value`);
        parsed.options.push({ name: `-${letter}`, value });
      }
      break;
    }
  }
  parsed.operands.push(...args.slice(i));
  return parsed;
}

/** Whether one of the options read is one of `names` ("-c", "--command"). */
export function has(parsed: ParsedArgs, ...names: string[]): boolean {
  return parsed.options.some((o) => names.includes(o.name));
}

/** The values of the options read that are one of `names`. */
export function valuesOf(parsed: ParsedArgs, ...names: string[]): Word[] {
  return parsed.options.filter((o) => names.includes(o.name) && o.value).map((o) => o.value!);
}
