import type { Counts } from '../recording/bundle.js';
import { usage } from './context.js';

export type FailOn = 'blocked' | 'denied' | 'never';
const FAIL_ON: readonly FailOn[] = ['blocked', 'denied', 'never'];

export function parseFailOn(value: unknown): FailOn {
  if (!FAIL_ON.includes(value as FailOn)) throw usage(`--fail-on must be one of ${FAIL_ON.join(', ')}, not "${String(value)}"`);
  return value as FailOn;
}

/** Why the run should fail although the command succeeded, if it should. */
export function failOnReason(failOn: FailOn, counts: Counts): string | undefined {
  if (failOn === 'never') return undefined;
  if (failOn === 'blocked' && counts.blocked + counts.denied > 0) return `${counts.blocked} blocked and ${counts.denied} denied operations (--fail-on blocked)`;
  if (failOn === 'denied' && counts.denied > 0) return `${counts.denied} denied operations (--fail-on denied)`;
  return undefined;
}
