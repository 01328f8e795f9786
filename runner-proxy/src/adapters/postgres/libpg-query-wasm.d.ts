/** libpg-query's Emscripten module: the factory its own wrapper keeps private, and what an instance offers. */
declare module 'libpg-query/wasm/libpg-query.js' {
  export interface PgQueryInstance {
    HEAPU8: Uint8Array;
    _malloc(size: number): number;
    _free(ptr: number): void;
    _wasm_parse_query_raw(ptr: number): number;
    _wasm_free_parse_result(ptr: number): void;
    _wasm_normalize_query(ptr: number): number;
    _wasm_parse_plpgsql(ptr: number): number;
    _wasm_scan(ptr: number): number;
    _wasm_free_string(ptr: number): void;
    getValue(ptr: number, type: 'i32'): number;
    UTF8ToString(ptr: number): string;
    stringToUTF8(text: string, ptr: number, maxBytes: number): void;
    lengthBytesUTF8(text: string): number;
  }
  export interface PgQueryOptions {
    locateFile?(file: string, directory: string): string;
    instantiateWasm?(imports: object, receive: (instance: object) => void): object;
  }
  const PgQueryModule: (options?: PgQueryOptions) => Promise<PgQueryInstance>;
  export default PgQueryModule;
}
