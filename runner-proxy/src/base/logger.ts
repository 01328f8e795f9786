/** Lines for the gateway log (or the job's stderr). Callers pass only masked or credential-free text. */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
}

export interface LoggerOptions {
  /** A log file wants timestamps; a terminal does not. */
  timestamps: boolean;
  now?: () => number;
}

export function streamLogger(stream: NodeJS.WritableStream, { timestamps, now = Date.now }: LoggerOptions): Logger {
  const prefix = () => (timestamps ? `${new Date(now()).toISOString()} govern` : 'govern');
  return {
    info: (m) => stream.write(`${prefix()}: ${m}\n`),
    warn: (m) => stream.write(`${prefix()}: warning: ${m}\n`),
  };
}
