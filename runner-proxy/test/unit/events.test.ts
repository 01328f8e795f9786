import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { EVENTS } from '../../src/recording/events.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const SRC = join(ROOT, 'runner-proxy/src');

/**
 * Every event type the sources write: the string literals passed where a parameter is declared
 * `EventType` (Recorder.append, Governor.note and whatever else takes one), found by the compiler
 * rather than by a pattern, so a write is found whatever its receiver is called. An argument with no
 * literal must be a parameter declared `EventType` passing its caller's type on; anything else fails,
 * since the test could not say what it writes.
 */
function writtenTypes(): { written: Map<string, string[]>; unfollowed: string[] } {
  const files = readdirSync(SRC, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts')).map((f) => join(SRC, f));
  const program = ts.createProgram(files, { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, strict: true, noEmit: true, noResolve: true, types: [] });
  const checker = program.getTypeChecker();
  const written = new Map<string, string[]>();
  const unfollowed: string[] = [];
  const declaredEventType = (declaration: ts.Declaration | undefined) =>
    declaration !== undefined && ts.isParameter(declaration) && declaration.type !== undefined && ts.isTypeReferenceNode(declaration.type) && declaration.type.typeName.getText() === 'EventType';
  for (const file of program.getSourceFiles()) {
    if (!file.fileName.startsWith(SRC)) continue;
    const where = (node: ts.Node) => `${relative(ROOT, file.fileName)}:${file.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
    const visit = (node: ts.Node): void => {
      if (ts.isCallExpression(node) && node.arguments.length > 0) {
        const first = checker.getResolvedSignature(node)?.parameters[0];
        if (declaredEventType(first?.valueDeclaration)) {
          const argument = node.arguments[0]!;
          const literals: string[] = [];
          const collect = (n: ts.Node): void => {
            if (ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n)) literals.push(n.text);
            else ts.forEachChild(n, collect);
          };
          collect(argument);
          for (const type of literals) written.set(type, [...(written.get(type) ?? []), where(node)]);
          const passedOn = ts.isIdentifier(argument) && declaredEventType(checker.getSymbolAtLocation(argument)?.valueDeclaration);
          if (literals.length === 0 && !passedOn) unfollowed.push(`${where(node)}: ${argument.getText()}`);
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(file);
  }
  return { written, unfollowed };
}

describe('the event catalogue', () => {
  const { written, unfollowed } = writtenTypes();

  test('every type the sources write is in the catalogue, and every type in it is written', () => {
    assert.ok(written.size > 10, `the scan found the writes (${written.size} types)`);
    assert.deepEqual([...written.keys()].filter((type) => !Object.hasOwn(EVENTS, type)).map((type) => `${type} (${written.get(type)!.join(', ')})`), [], 'written but not in events.ts');
    assert.deepEqual(Object.keys(EVENTS).filter((type) => !written.has(type)), [], 'in events.ts but written nowhere');
  });

  test('every write names its type where it is written', () => {
    assert.deepEqual(unfollowed, [], 'write the event type as a literal at the call, or pass on a parameter declared EventType');
  });

  test('an incident is a warning or an error, and each says what happened', () => {
    for (const [type, kind] of Object.entries(EVENTS)) {
      if (kind.incident) assert.notEqual(kind.severity, 'info', type);
      if (kind.incident) assert.ok('detail' in kind, `${type} names the field that says what happened`);
    }
  });
});
