import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleFiles, POLICY_FILE, signatureValid, type Manifest } from './bundle.js';
import { canonical, chainHash, GENESIS, sha256Hex } from './canonical.js';
import { EVENTS_FILE, MANIFEST_FILE, type RecordedEvent } from './recorder.js';

export interface VerifyResult {
  ok: boolean;
  /** The first thing that is wrong, in one sentence; the rest follows from it. */
  problem?: string;
  /** The sequence number of the first broken event, where one is to blame. */
  brokenSeq?: number;
  manifest?: Manifest;
  events: RecordedEvent[];
  /** The signed manifest says the recording failed: where the record stops and what was cut. */
  failure?: string;
}

export interface VerifyOptions {
  /** The key printed in the job log: the manifest's own key must be this one. */
  expectedKey?: string;
}

/** Checks the signature, the hash chain and completeness of a session bundle. */
export function verifyBundle(dir: string, options: VerifyOptions = {}): VerifyResult {
  const fail = (problem: string, events: RecordedEvent[], extra: Partial<VerifyResult> = {}): VerifyResult => ({ ok: false, problem, events, ...extra });
  const eventsPath = join(dir, EVENTS_FILE);
  if (!existsSync(eventsPath)) return fail(`${dir} has no ${EVENTS_FILE}; it is not a session bundle`, []);
  const raw = readFileSync(eventsPath);
  const chain = checkChain(raw.toString('utf8'));
  const manifestPath = join(dir, MANIFEST_FILE);
  if (!existsSync(manifestPath)) {
    return fail(
      chain.problem ?? `${MANIFEST_FILE} is missing: the gateway never finalized this session (${chain.events.length} events recorded)`,
      chain.events,
      chain.brokenSeq !== undefined ? { brokenSeq: chain.brokenSeq } : {},
    );
  }
  let manifest: Manifest;
  try {
    manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest;
  } catch {
    return fail(`${MANIFEST_FILE} is not valid JSON`, chain.events);
  }
  if (!signatureValid(manifest)) return fail(`${MANIFEST_FILE}'s signature does not verify: the manifest was altered`, chain.events, { manifest });
  if (options.expectedKey && options.expectedKey !== manifest.public_key) {
    return fail(`the bundle is signed by ${manifest.public_key}, not by the expected key ${options.expectedKey}`, chain.events, { manifest });
  }
  // A line cut off by a failed write is no tampering when the signed manifest says the recording failed there.
  const declaredCut = chain.truncated && manifest.events.failure !== undefined;
  if (chain.problem && !declaredCut) return fail(chain.problem, chain.events, { manifest, ...(chain.brokenSeq !== undefined && { brokenSeq: chain.brokenSeq }) });
  const { count, head } = manifest.events;
  if (chain.events.length !== count) {
    const brokenSeq = Math.min(chain.events.length, count) + 1;
    return fail(
      chain.events.length > count
        ? `${EVENTS_FILE} has ${chain.events.length} events but the signed manifest counts ${count}: event ${brokenSeq} was added afterwards`
        : `${EVENTS_FILE} ends after event ${chain.events.length} but the signed manifest counts ${count}: events from ${brokenSeq} on are missing`,
      chain.events,
      { manifest, brokenSeq },
    );
  }
  if ((chain.events.at(-1)?.hash ?? GENESIS) !== head) return fail(`the chain head does not match the signed manifest`, chain.events, { manifest, brokenSeq: count });
  for (const [file, digest] of Object.entries(manifest.files)) {
    const path = join(dir, file);
    if (!existsSync(path)) return fail(`${file} is listed in the manifest but missing from the bundle`, chain.events, { manifest });
    if (sha256Hex(readFileSync(path)) !== digest) return fail(`${file} does not match its digest in the manifest`, chain.events, { manifest });
  }
  const unlisted = bundleFiles(dir).find((f) => !(f in manifest.files));
  if (unlisted) return fail(`${unlisted} is in the bundle but not in the signed manifest`, chain.events, { manifest });
  const policyProblem = checkPolicyCopy(manifest, chain.events[0]);
  if (policyProblem) return fail(policyProblem, chain.events, { manifest });
  return { ok: true, manifest, events: chain.events, ...(manifest.events.failure !== undefined && { failure: manifest.events.failure }) };
}

/** The bundled policy must be the one whose digest the session recorded when it started. */
function checkPolicyCopy(manifest: Manifest, start: RecordedEvent | undefined): string | undefined {
  const { bundled, sha256 } = manifest.policy;
  if (bundled === undefined) return undefined;
  if (bundled !== POLICY_FILE || manifest.files[POLICY_FILE] !== sha256) return `${POLICY_FILE} is not the policy whose digest the manifest names`;
  const recorded = (start?.policy as { sha256?: unknown } | undefined)?.sha256;
  if (start?.type !== 'session.start' || recorded !== sha256) return `the manifest's policy digest is not the one recorded when the session started`;
  return undefined;
}

function checkChain(text: string): { events: RecordedEvent[]; problem?: string; brokenSeq?: number; truncated?: boolean } {
  const events: RecordedEvent[] = [];
  if (text.length > 0 && !text.endsWith('\n')) {
    // A line without its newline was cut off mid-write; name it, the rest is checked as usual.
    const count = text.split('\n').length;
    const partial = checkLines(text.split('\n').slice(0, -1), events);
    return partial.problem ? partial : { events, problem: `${EVENTS_FILE} is truncated: event ${count} is cut off`, brokenSeq: count, truncated: true };
  }
  return checkLines(text.split('\n').slice(0, -1), events);
}

function checkLines(lines: string[], events: RecordedEvent[]): { events: RecordedEvent[]; problem?: string; brokenSeq?: number } {
  let prev = GENESIS;
  for (let i = 0; i < lines.length; i++) {
    const expected = i + 1;
    let event: RecordedEvent;
    try {
      event = JSON.parse(lines[i]!) as RecordedEvent;
    } catch {
      return { events, problem: `${EVENTS_FILE} line ${expected} is not JSON`, brokenSeq: expected };
    }
    if (event.seq !== expected) {
      return { events, problem: `event at line ${expected} has seq ${String(event.seq)}: events were removed or reordered`, brokenSeq: expected };
    }
    if (event.prev !== prev) {
      return { events, problem: `event ${expected} does not follow event ${expected - 1}: an event before it was removed or changed`, brokenSeq: expected };
    }
    const { hash, ...body } = event;
    if (chainHash(prev, canonical(body)) !== hash) return { events, problem: `event ${expected} (${String(event.type)}) was altered: its hash does not match its content`, brokenSeq: expected };
    events.push(event);
    prev = hash;
  }
  return { events };
}
