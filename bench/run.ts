import { cpus, loadavg } from 'node:os';
import { benchDetectors } from './detectors.js';
import { benchActionStart } from './action.js';
import { benchPostgres, LOADS, PATH_NAMES, type JobRun, type PathName, type PgbenchRun, type PostgresFigures } from './postgres.js';
import { benchMysql, CONNECTIONS, type MysqlPathName } from './mysql.js';
import { benchRecording } from './recording.js';
import { benchReport } from './report.js';
import { benchRollout } from './rollout.js';
import { benchHttp } from './http.js';
import { benchSsh, CIPHER } from './ssh.js';

const only = process.argv[2];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const spread = (xs: number[], digits: number) => `${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)}`;

/** `npm run bench [detectors|postgres|pg-jobs|mysql|recording|action|report|http|ssh|rollout]` (`pg-jobs`: the postgres bench without pgbench, the distinct statements and the 1M-row SELECT): every benchmark with its baselines in the same run, printed as ratios. */
async function main(): Promise<void> {
  console.log(`govern benchmarks — node ${process.version}, ${process.platform}/${process.arch}\n`);
  if (!only || only === 'detectors') printDetectors();
  if (!only || only === 'postgres' || only === 'pg-jobs') await printPostgres(only !== 'pg-jobs');
  if (!only || only === 'postgres' || only === 'recording') await printRecording();
  if (!only || only === 'mysql') await printMysql();
  if (!only || only === 'action') await printActionStart();
  if (!only || only === 'report') await printReport();
  if (!only || only === 'http') await printHttp();
  if (!only || only === 'ssh') await printSsh();
  if (!only || only === 'rollout') await printRollout();
}

async function printRollout(): Promise<void> {
  const r = await benchRollout();
  const ms = (xs: number[]) => `median ${median(xs).toFixed(0)} ms (${spread(xs, 0)})`;
  console.log(`
rollout: govern policy test and suggest over signed bundles, ${r.testMs.length} runs`);
  console.log(`  policy test, ${r.operations.toLocaleString('en-US')}-operation bundle   ${ms(r.testMs)}, of which verifying and reading ${ms(r.loadMs)}; ${r.changed.toLocaleString('en-US')} operations change (target under 5000 ms)`);
  console.log(`  policy suggest, ${r.suggestBundles} bundles of ${(r.suggestOperations / r.suggestBundles).toLocaleString('en-US')}   ${ms(r.suggestMs)}`);
  const d = r.discovery;
  const rate = (xs: number[]) => `${(d.bytes / 1024 / 1024 / (median(xs) / 1000)).toFixed(0)} MB/s, ${((median(xs) * 1000) / d.rows).toFixed(2)} µs a row`;
  console.log(`  observe-mode discovery, ${d.rows.toLocaleString('en-US')} rows × 5 text columns: walking the cells ${rate(d.baselineMs)}; counting them with every detector ${rate(d.discoveryMs)}`);
}

async function printReport(): Promise<void> {
  const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
  const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
  console.log(`\nreport: report.html in headless Chromium; load average before ${load()} (${cpus().length} cores)`);
  for (const [operations, runs] of [[100_000, 5], [1_000_000, 2]] as const) {
    const r = await benchReport(operations, runs);
    console.log(`\n  ${r.operations.toLocaleString('en-US')} operations, ${r.readyMs.length} loads; load average after ${load()}`);
    console.log(`  events.jsonl ${mb(r.eventsBytes)} MiB → report.html ${mb(r.reportBytes)} MiB, built in ${r.buildMs.toFixed(0)} ms (streamed)`);
    console.log(`  baseline empty page          median ${median(r.blankMs).toFixed(0)} ms`);
    console.log(`  first screen shown           median ${median(r.readyMs).toFixed(0)} ms (runs: ${r.readyMs.map((m) => m.toFixed(0)).join(', ')} ms; target under 1000 ms at 100,000)`);
    console.log(`  a group's executions open    median ${median(r.interactiveMs).toFixed(0)} ms after navigation (runs: ${r.interactiveMs.map((m) => m.toFixed(0)).join(', ')} ms)`);
  }
}

async function printHttp(): Promise<void> {
  const figures = await benchHttp();
  const rounds = Math.max(...figures.map((f) => f.round));
  const paths = [...new Set(figures.map((f) => f.path))];
  const of = (path: string) => figures.filter((f) => f.path === path);
  const spread = (xs: number[], digits: number) => `${median(xs).toFixed(digits)} (${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)})`;
  console.log(`\nhttp: wrk -t2 -c32, GET of a 1.3 KB JSON document served by nginx, ${rounds} interleaved rounds; medians (min–max)`);
  console.log('  (direct, nginx reverse proxy, a bare Node http pipe, a bare Node net pipe, govern masking $..ssn, mitmdump reverse mode)');
  for (const path of paths) {
    const runs = of(path);
    const cpu = runs.every((r) => r.cpuUsPerRequest !== undefined) ? `  cpu ${median(runs.map((r) => r.cpuUsPerRequest!)).toFixed(0)} µs/req` : '';
    console.log(`  ${path.padEnd(10)} ${spread(runs.map((r) => r.rps), 0).padStart(24)} req/s  p50 ${median(runs.map((r) => r.p50Ms)).toFixed(2)} ms  p99 ${median(runs.map((r) => r.p99Ms)).toFixed(2)} ms${cpu}`);
  }
  /** The gateway against another path, round by round, so both sides share the round's load. */
  const ratio = (other: string) => spread(of('gateway').map((g) => g.rps / of(other).find((o) => o.round === g.round)!.rps), 2);
  if (paths.length > 1) console.log(`  gateway: ${ratio('nginx')}× nginx, ${ratio('net')}× bare net pipe, ${ratio('node')}× bare http pipe, ${ratio('mitmproxy')}× mitmproxy`);
}

async function printSsh(): Promise<void> {
  const figures = await benchSsh();
  console.log(`\nssh: 200 MB from the host, OpenSSH client, cipher ${CIPHER} on every hop, one run each`);
  for (const f of figures) {
    const direct = figures.find((d) => d.what === f.what && d.path === 'direct')!;
    console.log(`  ${f.what.padEnd(8)} ${f.path.padEnd(17)} ${f.seconds.toFixed(2).padStart(6)} s  ${f.mbps.toFixed(1).padStart(6)} MB/s  ${(f.mbps / direct.mbps).toFixed(2)}× direct`);
  }
}

async function printActionStart(): Promise<void> {
  const { mainMs, nodeMs } = await benchActionStart();
  console.log(`\naction: main step from start to ready (OIDC token, gateway detached with a postgres connection), ${mainMs.length} runs`);
  console.log(`  baseline node -e ''   median ${median(nodeMs).toFixed(0)} ms`);
  console.log(`  dist/main/index.js    median ${median(mainMs).toFixed(0)} ms (runs: ${mainMs.map((m) => m.toFixed(0)).join(', ')} ms)`);
}

function printDetectors(): void {
  const d = benchDetectors();
  console.log('detectors (all types, redact; 8 MiB of table rows in 8 KiB chunks, 1 in 20 rows with PII)');
  console.log(`  baseline UTF-8 decode         ${d.decodeMBps.toFixed(0).padStart(6)} MB/s`);
  console.log(`  mask mixed rows               ${d.mixedMBps.toFixed(0).padStart(6)} MB/s   (${(d.mixedMBps / d.decodeMBps).toFixed(3)}× of decode)`);
  console.log(`  mask look-alike values only   ${d.cleanMBps.toFixed(0).padStart(6)} MB/s   (${(d.cleanMBps / d.decodeMBps).toFixed(3)}× of decode)`);
  console.log(`  recall on injected PII        ${(d.recall * 100).toFixed(2)} %`);
  console.log(`  false positives               ${d.falsePositives} of ${d.harmlessCount} look-alike values (${((d.falsePositives / d.harmlessCount) * 1e6).toFixed(0)} per million) ${JSON.stringify(d.falsePositiveKinds)}`);
}

async function printPostgres(pgbench: boolean): Promise<void> {
  const p = await benchPostgres({ pgbench, jobs: true });
  if (process.env.GOVERN_BENCH_PROFILE) {
    for (const r of p.pgbench) console.log(`profiled gateway, ${r.load.clients} clients -M ${r.load.mode}: ${r.tps.toFixed(0)} tps, ${r.proxyCpuUsPerTx?.toFixed(1)} µs CPU/tx`);
    for (const r of p.jobs) console.log(`profiled gateway, ${r.workload} round ${r.round}: ${r.statements} statements in ${r.seconds.toFixed(2)} s, ${((r.seconds * 1e6) / r.statements).toFixed(0)} µs each`);
    return;
  }
  if (pgbench) printPgbench(p);
  printJobs(p);
  if (p.big) printBig(p);
  const suite = p.peaks.some((x) => x.suiteGatewayMb !== undefined) ? "; in parentheses the client suite's rule-less gateway" : '';
  console.log(`\npostgres: gateway peak RSS by phase (VmHWM, reset before each)${suite}`);
  for (const x of p.peaks) console.log(`  ${x.phase.padEnd(22)} ${x.gatewayMb.toFixed(0).padStart(4)} MB${x.suiteGatewayMb === undefined ? '' : ` (${x.suiteGatewayMb.toFixed(0)} MB)`}`);
  console.log(`  max throughout         ${Math.max(...p.peaks.map((x) => x.gatewayMb)).toFixed(0).padStart(4)} MB`);
}

/** Job workloads: wall time per path, the time each statement adds over direct and over the pipe, and the gateway's ratios, round by round. */
function printJobs(p: PostgresFigures): void {
  const titles: Record<JobRun['workload'], string> = {
    seed: 'psql -f of a seed script, distinct statements with inline literals (INSERT/UPDATE/SELECT), one connection',
    loop: 'node-postgres, client.query(text, values) in a loop over 4 texts, one connection',
  };
  for (const workload of ['seed', 'loop'] as const) {
    const runs = p.jobs.filter((r) => r.workload === workload);
    if (!runs.length) continue;
    const statements = runs[0]!.statements;
    const rounds = Math.max(...runs.map((r) => r.round));
    const of = (path: PathName) => runs.filter((r) => r.path === path);
    const same = (r: JobRun, path: PathName) => of(path).find((o) => o.round === r.round)!;
    const addedUs = (r: JobRun, path: PathName) => ((r.seconds - same(r, path).seconds) * 1e6) / statements;
    const fmt = (xs: number[], digits: number) => `${median(xs).toFixed(digits)} (${spread(xs, digits)})`;
    const signed = (xs: number[]) => `${median(xs) < 0 ? '' : '+'}${fmt(xs, 0)}`;
    console.log(`\npostgres: ${titles[workload]}; ${statements.toLocaleString('en-US')} statements, ${rounds} interleaved rounds; medians (min–max)`);
    for (const path of PATH_NAMES) {
      const mine = of(path);
      const perStatement = mine.map((r) => (r.seconds * 1e6) / statements);
      console.log(
        `  ${path.padEnd(13)} ${fmt(mine.map((r) => r.seconds), 2).padStart(20)} s  ${median(perStatement).toFixed(0).padStart(4)} µs/statement` +
          (path === 'direct' ? '' : `  ${signed(mine.map((r) => addedUs(r, 'direct')))} µs over direct`) +
          (path === 'direct' || path === 'pgbouncer' || path === 'pipe' ? '' : `  ${signed(mine.map((r) => addedUs(r, 'pipe')))} µs over the pipe`),
      );
    }
    for (const governed of ['gateway', 'gateway-plain'] as const) {
      const ratio = (other: PathName) => fmt(of(governed).map((g) => g.seconds / same(g, other).seconds), 2);
      console.log(`  ${governed} wall time ${ratio('direct')}× direct, ${ratio('pipe')}× the pipe, ${ratio('pgbouncer')}× pgbouncer`);
    }
  }
  const s = p.suite;
  console.log(`\npostgres: node-postgres's own integration suite, file by file (scripts/pg-client-suites.sh), direct and through a rule-less gateway`);
  if ('skipped' in s) {
    console.log(`  skipped: ${s.skipped}`);
    return;
  }
  console.log(`  ${s.timed} of ${s.files} test files timed (those passing both ways); fail direct: ${s.failDirect.join(', ') || 'none'}; pass direct, fail through the gateway: ${s.failGateway.join(', ') || 'none'}`);
  const fmt = (xs: number[]) => `${median(xs).toFixed(1)} s (${spread(xs, 1)})`;
  const ratios = s.rounds.map((r) => r.gateway / r.direct);
  console.log(`  direct ${fmt(s.rounds.map((r) => r.direct))}  gateway ${fmt(s.rounds.map((r) => r.gateway))}  gateway/direct ${median(ratios).toFixed(2)} (${spread(ratios, 2)}), ${s.rounds.length} round${s.rounds.length > 1 ? 's' : ''}`);
}

function printBig(p: PostgresFigures): void {
  const memory = p.memory!;
  console.log(`\npostgres: gateway memory`);
  console.log(`  RSS ${memory.afterPgbenchMb.toFixed(0)} MB after the pgbench rounds`);
  console.log(`  RSS ${memory.afterDistinctMb.toFixed(0)} MB after ${memory.distinct.toLocaleString('en')} distinct statements (each its own text and shape; ${memory.distinctSeconds.toFixed(0)} s, ${(memory.distinct / memory.distinctSeconds).toFixed(0)}/s)`);
  const { direct, gateway, rssBeforeMb, rssPeakMb, maskedSample } = p.big!;
  console.log(`\npostgres: SELECT of 1,000,000 rows (${direct.megabytes.toFixed(0)} MB of values) with a masked column, read by psql`);
  console.log(`  direct   ${direct.seconds.toFixed(2)} s  ${(direct.megabytes / direct.seconds).toFixed(1)} MB/s`);
  console.log(`  gateway  ${gateway.seconds.toFixed(2)} s  ${(gateway.megabytes / gateway.seconds).toFixed(1)} MB/s  (${(direct.seconds / gateway.seconds).toFixed(2)}× direct), sample value "${maskedSample}"`);
  console.log(`  gateway RSS ${rssBeforeMb.toFixed(0)} MB before the SELECT, ${rssPeakMb.toFixed(0)} MB at its peak during it`);
}

function printPgbench(p: PostgresFigures): void {
  const rounds = Math.max(...p.pgbench.map((r) => r.round));
  console.log(`\npostgres: pgbench -S, scale 10, ${rounds} interleaved rounds (direct, pgbouncer in session mode, a bare Node pipe, the gateway's framing alone, govern with a masking and guardrail policy, the same gateway asked for no TLS); medians (min–max)`);
  for (const load of LOADS) {
    const runs = p.pgbench.filter((r) => r.load === load);
    const of = (path: PathName) => runs.filter((r) => r.path === path);
    /** Per-round figure of a governed (or framed) path against another path, so both sides share the round's load. */
    const perRound = (f: (gateway: PgbenchRun, other: PgbenchRun) => number, other: PathName, governed: PathName) =>
      of(governed).map((g) => f(g, of(other).find((o) => o.round === g.round)!));
    console.log(`  ${load.clients} client${load.clients > 1 ? 's' : ''}, -M ${load.mode}`);
    for (const path of PATH_NAMES) {
      const tps = of(path).map((r) => r.tps);
      const latency = median(of(path).map((r) => r.latencyMs));
      const cpu = of(path).flatMap((r) => (r.proxyCpuUsPerTx === undefined ? [] : [r.proxyCpuUsPerTx]));
      const added = median(of(path).map((r) => r.latencyMs - of('direct').find((d) => d.round === r.round)!.latencyMs));
      console.log(
        `    ${path.padEnd(13)} ${median(tps).toFixed(0).padStart(7)} tps (${spread(tps, 0)})  latency ${latency.toFixed(3)} ms` +
          (path === 'direct' ? '' : ` (+${(added * 1000).toFixed(0)} µs)`) +
          (cpu.length ? `  proxy CPU ${median(cpu).toFixed(1)} µs/tx (${spread(cpu, 1)})` : ''),
      );
    }
    const framedVsPipe = perRound((g, o) => g.tps / o.tps, 'pipe', 'framed');
    for (const governed of ['gateway', 'gateway-plain'] as const) {
      const tpsOver = (other: PathName) => perRound((g, o) => g.tps / o.tps, other, governed);
      const [vsPipe, vsBouncer, vsDirect] = [tpsOver('pipe'), tpsOver('pgbouncer'), tpsOver('direct')];
      const addedVsPipe = perRound((g, o) => (g.latencyMs - o.latencyMs) * 1000, 'pipe', governed);
      console.log(
        `    ${governed}/pipe ${median(vsPipe).toFixed(2)} (${spread(vsPipe, 2)})  ${governed}/pgbouncer ${median(vsBouncer).toFixed(2)} (${spread(vsBouncer, 2)})` +
          `  ${governed}/direct ${median(vsDirect).toFixed(2)}  latency over the pipe +${median(addedVsPipe).toFixed(0)} µs`,
      );
    }
    const vsFramed = perRound((g, o) => g.tps / o.tps, 'framed', 'gateway');
    console.log(`    framed/pipe ${median(framedVsPipe).toFixed(2)} (${spread(framedVsPipe, 2)})  gateway/framed ${median(vsFramed).toFixed(2)} (${spread(vsFramed, 2)}): what reading the protocol costs, and what governing it does`);
  }
}

async function printMysql(): Promise<void> {
  const m = await benchMysql();
  const rounds = Math.max(...m.runs.map((r) => r.round));
  const paths: MysqlPathName[] = ['direct', 'pipe', 'gateway'];
  const workloads = [
    ...CONNECTIONS.map((c) => [`point-${c}`, `point SELECT by primary key, mysql2 execute (prepared), ${c} connection${c > 1 ? 's' : ''}`, 'queries/s', 'µs/query'] as const),
    ['script', `mariadb CLI reading a script of ${m.statements.toLocaleString('en-US')} distinct SELECT/INSERT/UPDATE statements (text protocol, one connection)`, 'statements/s', 'µs/statement'] as const,
    ['big', `mariadb CLI --quick reading ${m.big.rows.toLocaleString('en-US')} rows (${m.big.megabytes.toFixed(1)} MB of values) with ssn masked`, 'rows/s', 'µs/row'] as const,
  ];
  console.log(`\nmysql: MariaDB ${m.version}, ${rounds} interleaved rounds (direct, a bare Node pipe, govern with a masking and guardrail policy); medians (min–max)`);
  for (const [workload, what, unit, cpuUnit] of workloads) {
    const runs = m.runs.filter((r) => r.workload === workload);
    const of = (path: MysqlPathName) => runs.filter((r) => r.path === path);
    /** Per-round figure of a governed (or framed) path against another path, so both sides share the round's load. */
    const ratio = (other: MysqlPathName) => of('gateway').map((g) => g.rate / of(other).find((o) => o.round === g.round)!.rate);
    console.log(`  ${what}`);
    for (const path of paths) {
      const rates = of(path).map((r) => r.rate);
      const seconds = of(path).map((r) => r.seconds);
      const cpu = of(path).flatMap((r) => (r.proxyCpuUs === undefined ? [] : [r.proxyCpuUs]));
      console.log(
        `    ${path.padEnd(8)} ${median(rates).toFixed(0).padStart(8)} ${unit} (${spread(rates, 0)})` +
          (workload === 'script' || workload === 'big' ? `  ${median(seconds).toFixed(2)} s` : '') +
          (cpu.length ? `  proxy CPU ${median(cpu).toFixed(workload === 'big' ? 2 : 1)} ${cpuUnit}` : ''),
      );
    }
    const vsPipe = ratio('pipe');
    const vsDirect = ratio('direct');
    console.log(`    gateway/pipe ${median(vsPipe).toFixed(2)} (${spread(vsPipe, 2)})  gateway/direct ${median(vsDirect).toFixed(2)} (${spread(vsDirect, 2)})`);
  }
  const { rssBeforeMb, rssPeakMb, maskedSample } = m.big;
  console.log(`  gateway RSS ${median(rssBeforeMb).toFixed(0)} MB before the large SELECT (${spread(rssBeforeMb, 0)}), peak ${median(rssPeakMb).toFixed(0)} MB during it (${spread(rssPeakMb, 0)}); sample value "${maskedSample}"`);
}

async function printRecording(): Promise<void> {
  const r = await benchRecording();
  console.log(`\npostgres: an operation's event written before the operation is forwarded (${r.events} pgbench-sized events, best of 3)`);
  console.log(`  queued, written in bulk   ${r.queuedUsPerEvent.toFixed(2)} µs/event`);
  console.log(`  written before forwarding ${r.writtenUsPerEvent.toFixed(2)} µs/event  (+${(r.writtenUsPerEvent - r.queuedUsPerEvent).toFixed(2)} µs per batch forwarded)`);
  console.log(
    `  a statement's whole record (its decision and event, its result riding on the next event, a group commit per 4 statements; ${r.statements.toLocaleString('en')} statements): ` +
      `${r.usPerStatement.toFixed(2)} µs and ${r.bytesPerStatement.toFixed(0)} bytes of events.jsonl per statement`,
  );
}

await main();
