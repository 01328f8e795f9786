import { ErrorCode, GovernError } from '../base/errors.js';
import type { Env } from '../base/env.js';
import type { Logger } from '../base/logger.js';

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
