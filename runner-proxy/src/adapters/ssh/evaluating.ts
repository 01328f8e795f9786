import sh, { type Node } from 'mvdan-sh';
import type { Word } from './options.js';

const { syntax } = sh;

/**
 * Shell features that evaluate a variable's value as code: arithmetic evaluates a variable holding
 * `a[$(cmd)]` and runs cmd (in `$((x))`, `((…))`, `let`, `[[ x -eq y ]]`, subscripts and offsets),
 * `${!x}` evaluates the subscript of the name x holds, `${x@P}` expands a prompt. A variable is safe in
 * arithmetic only when this text gives it numbers alone.
 */

const OPS = (() => {
  const parser = syntax.NewParser();
  const op = (src: string, type: string) => firstNode(parser.Parse(src, ''), type)!.Op as number;
  return {
    assign: new Set(['a=1', 'a+=1', 'a-=1', 'a*=1', 'a/=1', 'a%=1', 'a<<=1', 'a>>=1', 'a&=1', 'a|=1', 'a^=1'].map((s) => op(`((${s}))`, 'BinaryArithm'))),
    step: new Set(['a++', 'a--', '++a', '--a'].map((s) => op(`((${s}))`, 'UnaryArithm'))),
    tests: new Set(['-eq', '-ne', '-lt', '-le', '-gt', '-ge'].map((t) => op(`[[ a ${t} b ]]`, 'BinaryTest'))),
  };
})();

function firstNode(root: Node, type: string): Node | undefined {
  let found: Node | undefined;
  syntax.Walk(root, (n) => {
    if (!found && n && syntax.NodeType(n) === type) found = n;
    return !found;
  });
  return found;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The name a word is when it is a bare identifier (in arithmetic, `x` is the variable x). */
function identifier(word: Node | null | undefined): string | undefined {
  if (!word || syntax.NodeType(word) !== 'Word') return undefined;
  const parts = word.Parts as Node[];
  const value = parts.length === 1 && syntax.NodeType(parts[0]!) === 'Lit' ? (parts[0]!.Value as string) : undefined;
  return value && IDENTIFIER.test(value) ? value : undefined;
}

/**
 * The variables this text gives only numbers: literal integers and arithmetic results, never a
 * string, a loop's word, or what `read`, `mapfile`, `getopts` or `printf -v` store.
 */
export function numericNames(file: Node, value: (word: Node) => Word): ReadonlySet<string> {
  const numeric = new Set<string>();
  const tainted = new Set<string>();
  syntax.Walk(file, (node) => {
    if (!node) return true;
    switch (syntax.NodeType(node)) {
      case 'Assign': {
        const name = (node.Name as Node | null)?.Value as string | undefined;
        if (!name) break;
        const v = node.Value as Node | null;
        const fixed = v && value(v);
        (fixed && fixed.fixed && /^-?\d+$/.test(fixed.text) && !node.Array ? numeric : tainted).add(name);
        break;
      }
      case 'BinaryArithm':
      case 'UnaryArithm': {
        const ops = syntax.NodeType(node) === 'BinaryArithm' ? OPS.assign : OPS.step;
        const name = identifier(node.X as Node);
        if (name && ops.has(node.Op as number)) numeric.add(name);
        break;
      }
      case 'WordIter':
        tainted.add((node.Name as Node).Value as string);
        break;
      case 'CallExpr': {
        const args = (node.Args as Node[]).map(value);
        if (/^(read|mapfile|readarray|getopts|printf)$/.test(args[0]?.text ?? '')) for (const a of args.slice(1)) if (IDENTIFIER.test(a.text)) tainted.add(a.text);
        break;
      }
    }
    return true;
  });
  for (const name of tainted) numeric.delete(name);
  return numeric;
}

/** The variables an arithmetic expression reads: bare names and parameter expansions. */
function arithmeticReads(root: Node | null | undefined): string[] {
  const names: string[] = [];
  if (!root) return names;
  syntax.Walk(root, (node) => {
    if (!node) return true;
    const name = identifier(node) ?? (syntax.NodeType(node) === 'ParamExp' ? ((node.Param as Node | null)?.Value as string | undefined) : undefined);
    if (name) names.push(name);
    return true;
  });
  return names;
}

/** Reports (through `unknown`) what about one node evaluates text the gateway cannot see. */
export function evaluatingFeatures(node: Node, source: string, numeric: ReadonlySet<string>, unknown: (reason: string) => void): void {
  const arithmetic = (root: Node | null | undefined) => {
    const unsafe = arithmeticReads(root).find((n) => !numeric.has(n) && !/^[0-9#?$!@*-]$/.test(n));
    if (unsafe) unknown(`arithmetic evaluates the value of ${unsafe} as an expression, which can run code`);
  };
  switch (syntax.NodeType(node)) {
    case 'ArithmExp':
    case 'ArithmCmd':
      return arithmetic(node.X as Node);
    case 'LetClause':
      return (node.Exprs as Node[]).forEach(arithmetic);
    case 'CStyleLoop':
      return [node.Init, node.Cond, node.Post].forEach((n) => arithmetic(n as Node | null));
    case 'BinaryTest':
      if (OPS.tests.has(node.Op as number)) [node.X, node.Y].forEach((n) => arithmetic(n as Node));
      return;
    case 'DeclClause': {
      const naked = (node.Args as Node[])
        .filter((a) => a.Naked)
        .map((a) => ((a.Name as Node | null)?.Value as string | undefined) ?? source.slice((a.Value as Node).Pos().Offset(), (a.Value as Node).End().Offset()));
      const flags = naked.filter((t) => t.startsWith('-')).join('');
      if (/[in]/.test(flags)) unknown(`declare ${flags} makes assignments evaluate their values`);
      if (naked.some((t) => !t.startsWith('-') && !IDENTIFIER.test(t))) unknown('a declaration of a name known only at run time');
      return;
    }
    case 'ParamExp': {
      const text = source.slice(node.Pos().Offset(), node.End().Offset());
      if (node.Excl && !/^\$\{!\w+(\*|@|\[[@*]\])\}$/.test(text)) unknown(`${text} expands the name a variable holds, evaluating its subscript`);
      if (/@P\}$/.test(text)) unknown(`${text} expands a prompt, which runs command substitutions`);
      const index = node.Index as Node | null;
      if (index && !/^[@*]$/.test(source.slice(index.Pos().Offset(), index.End().Offset()))) arithmetic(index);
      const slice = node.Slice as Node | null;
      if (slice) [slice.Offset, slice.Length].forEach((n) => arithmetic(n as Node | null));
      return;
    }
  }
}
