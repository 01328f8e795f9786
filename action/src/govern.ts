#!/usr/bin/env node
// The bundled govern CLI that the action starts as the gateway. Bundled code runs as an ES module,
// where CommonJS dependencies (libpg-query's WebAssembly loader) find no __dirname: give them this
// file's directory, where the build copies the .wasm, before anything else is loaded.
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(import.meta.url);
(globalThis as { __dirname?: string }).__dirname ??= dirname(here);
const { main } = await import('../../runner-proxy/src/cli/main.js');
process.exitCode = await main(process.argv.slice(2), process.env, { stdout: process.stdout, stderr: process.stderr, entry: here });
