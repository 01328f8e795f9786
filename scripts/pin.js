// The templates' pin: the release version and the SHA-256 of each release archive that
// scripts/release-archive.sh packs from this tree, in the hidden job and in the CI/CD component.
//   node scripts/pin.js                    write them (npm run pin)
//   node scripts/pin.js --check            fail, naming both digests, where a template pins other ones
//   ... --archives DIR                     use the archives and SHA256SUMS already packed in DIR
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const ARCHES = ['x64', 'arm64'];

/** Where each template keeps the version and the digest of an arch's archive (the value is group 2). */
const TEMPLATES = {
  'gitlab-template/govern.gitlab-ci.yml': {
    version: /^( {4}GOVERN_VERSION: )"([^"]*)"/m,
    digest: (arch) => new RegExp(`^( {4}GOVERN_ARCHIVE_SHA256_LINUX_${arch.toUpperCase()}: )(\\S+)`, 'm'),
  },
  'gitlab-template/templates/govern/template.yml': {
    version: /^( {4}version:\n(?: {6}.*\n)*? {6}default: )"([^"]*)"/m,
    digest: (arch) => new RegExp(`^( {4}archive_sha256_linux_${arch}:\\n(?: {6}.*\\n)*? {6}default: )(\\S+)`, 'm'),
  },
};

const { values } = parseArgs({ options: { check: { type: 'boolean' }, archives: { type: 'string' } } });
const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
const digests = packedDigests(values.archives);
const stale = [];
for (const [file, where] of Object.entries(TEMPLATES)) {
  const path = join(root, file);
  let text = readFileSync(path, 'utf8');
  const pins = [['version', where.version, version, 'the version'], ...ARCHES.map((arch) => [arch, where.digest(arch), digests[arch], `linux-${arch} at SHA-256`])];
  for (const [what, pattern, wanted, label] of pins) {
    const found = pattern.exec(text);
    if (!found) throw new Error(`${file} has no pin for ${what} where scripts/pin.js looks for it`);
    if (found[2] !== wanted) stale.push(`${file} pins ${label} ${found[2]}, but this tree packs ${wanted}`);
    text = text.replace(pattern, (_all, prefix) => (what === 'version' ? `${prefix}"${wanted}"` : `${prefix}${wanted}`));
  }
  if (!values.check) writeFileSync(path, text);
}
if (values.check && stale.length > 0) {
  process.stderr.write(`${stale.map((s) => `${s}: run npm run pin and commit the templates`).join('\n')}\n`);
  process.exit(1);
}
process.stdout.write(`govern ${version}: ${ARCHES.map((a) => `linux-${a} ${digests[a]}`).join(', ')}${values.check ? ' (the templates pin these)' : ' (pinned)'}\n`);

/** The SHA-256 of each arch's archive, from DIR's SHA256SUMS or packed afresh into a scratch directory. */
function packedDigests(dir) {
  const out = dir ?? mkdtempSync(join(tmpdir(), 'govern-pin-'));
  try {
    if (!dir) execFileSync('bash', [join(root, 'scripts', 'release-archive.sh'), out], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
    const sums = Object.fromEntries(readFileSync(join(out, 'SHA256SUMS'), 'utf8').trim().split('\n').map((line) => line.split(/\s+/).reverse()));
    return Object.fromEntries(ARCHES.map((arch) => [arch, sums[`govern-cli-${version}-linux-${arch}.tar.gz`]]));
  } finally {
    if (!dir) rmSync(out, { recursive: true, force: true });
  }
}
