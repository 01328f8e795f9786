/** An environment as the process has it: the CLI reads it once and passes it down. */
export type Env = Readonly<Record<string, string | undefined>>;
