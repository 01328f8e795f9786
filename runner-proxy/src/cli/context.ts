import { ErrorCode, GovernError } from '../core/errors.js';
import type { Logger } from '../gateway/logger.js';

/** An environment as the process has it: the CLI reads it once and passes it down. */
export type Env = Readonly<Record<string, string | undefined>>;

export interface Io {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** The script this CLI runs from, so `start` can launch the same program detached. */
  entry: string;
}

export interface CommandContext {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
  env: Env;
  io: Io;
  log: Logger;
}

export function usage(message: string): GovernError {
  return new GovernError(ErrorCode.Usage, message);
}
