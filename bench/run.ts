import { benchDetectors } from './detectors.js';

/** `npm run bench`: every benchmark with its baseline in the same run, printed as ratios. */
function main(): void {
  console.log(`govern benchmarks — node ${process.version}, ${process.platform}/${process.arch}\n`);
  const d = benchDetectors();
  console.log('detectors (all types, redact; 8 MiB of table rows in 8 KiB chunks, 1 in 20 rows with PII)');
  console.log(`  baseline UTF-8 decode         ${d.decodeMBps.toFixed(0).padStart(6)} MB/s`);
  console.log(`  mask mixed rows               ${d.mixedMBps.toFixed(0).padStart(6)} MB/s   (${(d.mixedMBps / d.decodeMBps).toFixed(3)}× of decode)`);
  console.log(`  mask look-alike values only   ${d.cleanMBps.toFixed(0).padStart(6)} MB/s   (${(d.cleanMBps / d.decodeMBps).toFixed(3)}× of decode)`);
  console.log(`  recall on injected PII        ${(d.recall * 100).toFixed(2)} %`);
  console.log(`  false positives               ${d.falsePositives} of ${d.harmlessCount} look-alike values (${((d.falsePositives / d.harmlessCount) * 1e6).toFixed(0)} per million) ${JSON.stringify(d.falsePositiveKinds)}`);
}

main();
