import { readFile } from 'node:fs/promises';
import PgQueryModule, { type PgQueryInstance } from 'libpg-query/wasm/libpg-query.js';

/** The part of the WebAssembly API used here (the project's TypeScript libs do not declare it). */
interface WebAssemblyApi {
  compile(bytes: Uint8Array): Promise<CompiledModule>;
  instantiate(module: CompiledModule, imports: object): Promise<object>;
}
type CompiledModule = object;
const wasm = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;

/**
 * Past this heap size the parser's WebAssembly instance is replaced by a fresh one. The heap starts at
 * 128 MB (reserved, resident only where touched) and grows only when one statement needs more.
 */
const DEFAULT_MAX_HEAP_BYTES = 160 << 20;
/**
 * libpg-query's WebAssembly build keeps a few KB of its heap with every normalization, even of the same
 * statement (18.1.5: 20,000 normalizations add 80 MB of resident memory; parse and scan keep none), and
 * the heap's size does not show it. After this many the instance is replaced, which bounds that part.
 */
const DEFAULT_NORMALIZATIONS_PER_INSTANCE = 2_000;

/**
 * PostgreSQL's own parser (libpg-query, WebAssembly), in an instance this object owns. A WebAssembly
 * heap never shrinks: once a huge statement has grown it past a bound, a fresh instance is made from
 * the compiled module in the background and takes over, and the old one is left to the garbage
 * collector. Calls stay synchronous: until the new instance is ready, the old one keeps answering.
 *
 * V8 compiles the module as it always does (baseline code first, hot functions optimised later).
 * Compiling with the optimising compiler only (`--no-liftoff`) kept the process 50–100 MB smaller
 * and parsed three times faster once warm, but compiles each function on its first call on the main
 * thread: the first statement waited 1.9 s, and every session with it.
 */
export class SqlParser {
  /** Where the module found its WebAssembly file (beside the bundle, or in node_modules). */
  readonly #wasmPath: string;
  #compiled: Promise<CompiledModule> | undefined;
  readonly #maxHeapBytes: number;
  readonly #maxNormalizations: number;
  /** Normalizations by the current instance. */
  #normalizations = 0;
  #instance: PgQueryInstance;
  #replacing: Promise<void> | undefined;
  #recycled = 0;

  private constructor(wasmPath: string, instance: PgQueryInstance, options: { maxHeapBytes?: number; maxNormalizations?: number }) {
    this.#wasmPath = wasmPath;
    this.#instance = instance;
    this.#maxHeapBytes = options.maxHeapBytes ?? DEFAULT_MAX_HEAP_BYTES;
    this.#maxNormalizations = options.maxNormalizations ?? DEFAULT_NORMALIZATIONS_PER_INSTANCE;
  }

  static async load(options: { maxHeapBytes?: number; maxNormalizations?: number } = {}): Promise<SqlParser> {
    let wasmPath = '';
    const instance = await PgQueryModule({
      locateFile: (file: string, directory: string) => (wasmPath = directory + file),
    });
    return new SqlParser(wasmPath, instance, options);
  }

  /** The current instance's heap (reserved whole at start, 128 MB; it grows only for huge statements). */
  get heapBytes(): number {
    return this.#instance.HEAPU8.length;
  }

  /** How many times the instance was replaced. */
  get recycled(): number {
    return this.#recycled;
  }

  /** The parse tree, as libpg-query's JSON; throws the parser's message on a syntax error. */
  parse(sql: string): unknown {
    return this.#call(sql, (m, ptr) => {
      const result = m._wasm_parse_query_raw(ptr);
      if (!result) throw new Error('the SQL parser could not allocate memory');
      try {
        const error = m.getValue(result + 8, 'i32');
        if (error) throw new Error(m.UTF8ToString(m.getValue(error, 'i32')) || 'syntax error');
        return JSON.parse(m.UTF8ToString(m.getValue(result, 'i32'))) as unknown;
      } finally {
        m._wasm_free_parse_result(result);
      }
    });
  }

  /** The text with its constants replaced by `$n`, by PostgreSQL's own lexer. */
  normalize(sql: string): string {
    this.#normalizations++;
    return this.#call(sql, (m, ptr) => stringResult(m, m._wasm_normalize_query(ptr)));
  }

  parsePlPgSQL(sql: string): unknown {
    return this.#call(sql, (m, ptr) => {
      const text = stringResult(m, m._wasm_parse_plpgsql(ptr), /^(?!\{)/);
      return JSON.parse(text) as unknown;
    });
  }

  scan(sql: string): { tokens: { start: number; end: number; text: string; tokenName: string; keywordKind: string }[] } {
    return this.#call(sql, (m, ptr) => JSON.parse(stringResult(m, m._wasm_scan(ptr))) as ReturnType<SqlParser['scan']>);
  }

  /** Replaces the instance now; resolves once the new one answers. */
  recycle(): Promise<void> {
    this.#compiled ??= readFile(this.#wasmPath).then((bytes) => wasm.compile(bytes));
    this.#replacing ??= this.#compiled.then(instantiate).then(
      (fresh) => {
        this.#instance = fresh;
        this.#normalizations = 0;
        this.#recycled++;
        this.#replacing = undefined;
      },
      () => {
        // The old instance keeps answering; the next call past the bound tries again.
        this.#compiled = undefined;
        this.#replacing = undefined;
      },
    );
    return this.#replacing;
  }

  #call<T>(sql: string, use: (m: PgQueryInstance, ptr: number) => T): T {
    const m = this.#instance;
    const length = m.lengthBytesUTF8(sql) + 1;
    const ptr = m._malloc(length);
    try {
      m.stringToUTF8(sql, ptr, length);
      return use(m, ptr);
    } finally {
      m._free(ptr);
      if ((m.HEAPU8.length > this.#maxHeapBytes || this.#normalizations >= this.#maxNormalizations) && m === this.#instance) void this.recycle();
    }
  }
}

/** Reads and frees a string result; results matching `failure` (libpg-query's error texts) are thrown. */
function stringResult(m: PgQueryInstance, ptr: number, failure = /^(syntax error|deparse error|ERROR)/): string {
  try {
    const text = m.UTF8ToString(ptr);
    if (failure.test(text)) throw new Error(text);
    return text;
  } finally {
    if (ptr) m._wasm_free_string(ptr);
  }
}

function instantiate(compiled: CompiledModule): Promise<PgQueryInstance> {
  return PgQueryModule({
    instantiateWasm(imports, receive) {
      void wasm.instantiate(compiled, imports).then(receive);
      return {};
    },
  });
}
