import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';

/**
 * Loaded with `NODE_OPTIONS=--import` (where `--cpu-prof` is not allowed): profiles the process from
 * start to exit and writes GOVERN_BENCH_PROFILE/PID.cpuprofile, for Chrome DevTools or `cpu-top.ts`.
 */
const dir = process.env.GOVERN_BENCH_PROFILE!;
const session = new Session();
session.connect();
session.post('Profiler.enable');
session.post('Profiler.setSamplingInterval', { interval: 200 });
session.post('Profiler.start');
process.on('exit', () => {
  // The in-process inspector answers synchronously, so this runs before the process is gone.
  session.post('Profiler.stop', (error, result) => {
    if (!error) writeFileSync(join(dir, `${process.pid}.cpuprofile`), JSON.stringify(result.profile));
  });
});
