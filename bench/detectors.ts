import { performance } from 'node:perf_hooks';
import { detect, DETECTOR_TYPES, luhnValid } from '../runner-proxy/src/masking/detectors.js';
import { Masker, REDACT_ALL } from '../runner-proxy/src/masking/masker.js';

/**
 * Detector throughput and false positives. Baseline: decoding the same bytes as UTF-8, which every
 * adapter pays before it can scan text, so the ratio says what detection adds on top.
 */

/** A small deterministic PRNG, so every run scans the same corpus. */
function prng(seed: number): () => number {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const digits = (rand: () => number, n: number) => Array.from({ length: n }, () => Math.floor(rand() * 10)).join('');

function card(rand: () => number): string {
  for (;;) {
    const candidate = `4${digits(rand, 15)}`;
    if (luhnValid(candidate)) return candidate.replace(/(\d{4})(?=\d)/g, '$1 ');
  }
}

/** Rows like a users table dumped as text: most hold no PII, one in twenty holds some. */
function mixedCorpus(bytes: number, rand: () => number): { chunks: Buffer[]; injected: number } {
  const rows: string[] = [];
  let size = 0;
  let injected = 0;
  const names = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank'];
  for (let id = 1; size < bytes; id++) {
    const when = new Date(1_700_000_000_000 + Math.floor(rand() * 1e10)).toISOString();
    let note = `order ${digits(rand, 9)} shipped v1.${id % 20}.${id % 7} from 10.0.${id % 255}.${id % 200}`;
    if (rand() < 0.05) {
      injected += 2;
      note = `card ${card(rand)} ssn ${100 + Math.floor(rand() * 500)}-${10 + Math.floor(rand() * 89)}-${1000 + Math.floor(rand() * 8999)}`;
    }
    const row = `${id},${names[id % names.length]}${id}@example.com,${when},${(rand() * 1000).toFixed(2)},${note}\n`;
    injected += 1; // the email
    rows.push(row);
    size += row.length;
  }
  return { chunks: chunkRows(rows), injected };
}

/** Whole rows in chunks of about 8 KiB, as an adapter hands over a batch of result rows. */
function chunkRows(rows: string[]): Buffer[] {
  const chunks: Buffer[] = [];
  let current: string[] = [];
  let size = 0;
  for (const row of rows) {
    current.push(row);
    size += row.length;
    if (size >= 8192) {
      chunks.push(Buffer.from(current.join('')));
      current = [];
      size = 0;
    }
  }
  if (current.length) chunks.push(Buffer.from(current.join('')));
  return chunks;
}

/** Values that are not PII but look like numbers a detector could take for some. */
const HARMLESS_KINDS: Record<string, (rand: () => number, i: number) => string> = {
  'serial id': (_, i) => String(1_000_000 + i * 7919),
  'snowflake id': (rand) => String(1_100_000_000_000_000_000n + BigInt(Math.floor(rand() * 1e15)) * 1000n),
  'epoch ms': (rand) => String(1_600_000_000_000 + Math.floor(rand() * 1e11)),
  date: (rand) => new Date(Math.floor(rand() * 4e12)).toISOString().slice(0, 10),
  timestamp: (rand) => new Date(Math.floor(rand() * 4e12)).toISOString(),
  'ip address': (rand) => `${Math.floor(rand() * 256)}.${Math.floor(rand() * 256)}.${Math.floor(rand() * 256)}.${Math.floor(rand() * 256)}`,
  'reference code': (rand) => `${digits(rand, 3)}-${digits(rand, 3)}-${digits(rand, 3)}`,
  amount: (rand) => (rand() * 1e6).toFixed(2),
  uuid: () => crypto.randomUUID(),
  'random 8–19 digits': (rand) => digits(rand, 8 + Math.floor(rand() * 12)),
};

/** Values that are not PII but look like numbers a detector could take for some, by kind. */
function harmlessValues(count: number, rand: () => number): [string, string][] {
  const kinds = Object.entries(HARMLESS_KINDS);
  return Array.from({ length: count }, (_, i) => {
    const [kind, make] = kinds[i % kinds.length]!;
    return [kind, make(rand, i)];
  });
}

export interface DetectorFigures {
  mixedMBps: number;
  decodeMBps: number;
  cleanMBps: number;
  recall: number;
  falsePositives: number;
  harmlessCount: number;
  falsePositiveKinds: Record<string, number>;
}

function throughput(chunks: Buffer[], work: (chunk: Buffer) => void, rounds: number): number {
  const total = chunks.reduce((n, c) => n + c.length, 0) * rounds;
  for (const c of chunks.slice(0, 50)) work(c); // warm up
  const start = performance.now();
  for (let r = 0; r < rounds; r++) for (const c of chunks) work(c);
  return total / 1e6 / ((performance.now() - start) / 1000);
}

export function benchDetectors(): DetectorFigures {
  const rand = prng(42);
  const masker = new Masker();
  const { chunks, injected } = mixedCorpus(8 * 1024 * 1024, rand);
  let sink = 0;
  const decodeMBps = throughput(chunks, (c) => (sink += c.toString('utf8').length), 5);
  let found = 0;
  const mixedMBps = throughput(chunks, (c) => (sink += masker.maskText(c.toString('utf8'), REDACT_ALL).count), 3);
  for (const c of chunks) found += detect(c.toString('utf8'), new Set(DETECTOR_TYPES)).length;
  const harmless = harmlessValues(1_000_000, rand);
  const falsePositiveKinds: Record<string, number> = {};
  let falsePositives = 0;
  for (const [kind, v] of harmless) {
    for (const f of detect(v, new Set(DETECTOR_TYPES))) {
      falsePositives++;
      const key = `${kind} as ${f.type}`;
      falsePositiveKinds[key] = (falsePositiveKinds[key] ?? 0) + 1;
    }
  }
  const cleanChunks = chunkRows(harmless.map(([, v]) => `${v}\n`));
  const cleanMBps = throughput(cleanChunks, (c) => (sink += masker.maskText(c.toString('utf8'), REDACT_ALL).count), 2);
  if (sink < 0) console.log(sink);
  return { mixedMBps, decodeMBps, cleanMBps, recall: found / injected, falsePositives, harmlessCount: harmless.length, falsePositiveKinds };
}
