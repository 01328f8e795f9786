#!/usr/bin/env node
import { fileURLToPath } from 'node:url';
import { main } from '../../build/runner-proxy/src/cli/main.js';

process.exitCode = await main(process.argv.slice(2), process.env, {
  stdout: process.stdout,
  stderr: process.stderr,
  entry: fileURLToPath(import.meta.url),
});
