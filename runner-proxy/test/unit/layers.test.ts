import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from '../fixtures/cli.js';

/**
 * The floors of the source, lowest first. A file imports only from its own floor's folders or from
 * floors below; folders on one floor do not import each other. README (Development) states the same.
 */
const FLOORS: readonly (readonly string[])[] = [
  ['runner-proxy/src/base'],
  ['runner-proxy/src/policy'],
  ['runner-proxy/src/identity', 'runner-proxy/src/masking'],
  ['runner-proxy/src/recording'],
  ['runner-proxy/src/core'],
  ['runner-proxy/src/approvals', 'runner-proxy/src/adapters'],
  ['runner-proxy/src/gateway', 'runner-proxy/src/rollout'],
  ['runner-proxy/src/cli'],
  ['action/src'],
];
const ADAPTERS = 'runner-proxy/src/adapters';

function sources(dir: string): string[] {
  return readdirSync(join(REPO_ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(dir, f));
}

/** Relative specifiers of every import, export-from and dynamic import, type-only ones too. */
function importsOf(text: string): string[] {
  return [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)'(\.[^']*)'/g)].map((m) => m[1]!);
}

const folderOf = (file: string): string | undefined => FLOORS.flat().find((d) => file.startsWith(`${d}/`));
const floorOf = (folder: string): number => FLOORS.findIndex((f) => f.includes(folder));
/** The protocol folder a file of the adapters belongs to (adapters/postgres/…), if any. */
const protocolOf = (file: string): string | undefined => (file.startsWith(`${ADAPTERS}/`) ? /^([^/]+)\//.exec(file.slice(ADAPTERS.length + 1))?.[1] : undefined);

test('every source file lies on a floor, so a new folder is placed before its imports are read', () => {
  const unplaced = sources('runner-proxy/src').filter((file) => folderOf(file) === undefined);
  assert.deepEqual(unplaced, [], 'add the folder to FLOORS (and the README) at the floor its imports allow');
});

test('no source file imports from a floor above its own, nor from another folder of its floor', () => {
  const wrong: string[] = [];
  for (const file of FLOORS.flat().flatMap(sources)) {
    const from = folderOf(file)!;
    for (const spec of importsOf(readFileSync(join(REPO_ROOT, file), 'utf8'))) {
      const target = relative(REPO_ROOT, resolve(REPO_ROOT, dirname(file), spec));
      if (target === 'package.json') continue;
      const to = folderOf(target);
      if (to === undefined) wrong.push(`${file} imports '${spec}', which is no source file`);
      else if (to !== from && floorOf(to) >= floorOf(from)) wrong.push(`${file} imports '${spec}' from ${to}, which is not below ${from}`);
    }
  }
  assert.deepEqual(wrong, []);
});

test("an adapter's folder imports no other protocol's folder", () => {
  const wrong: string[] = [];
  for (const file of sources(ADAPTERS)) {
    const own = protocolOf(file);
    if (!own) continue;
    for (const spec of importsOf(readFileSync(join(REPO_ROOT, file), 'utf8'))) {
      const other = protocolOf(relative(REPO_ROOT, resolve(REPO_ROOT, dirname(file), spec)));
      if (other && other !== own) wrong.push(`${file} imports '${spec}' from adapters/${other}`);
    }
  }
  assert.deepEqual(wrong, []);
});

test('adapters see the governor through its narrow interface, not the Governor class or its recorder', () => {
  const wrong = sources(ADAPTERS).filter((file) => /\bGovernor\b|governor\.recorder\b/.test(readFileSync(join(REPO_ROOT, file), 'utf8')));
  assert.deepEqual(wrong, []);
});
