// Writes the policy's JSON Schema, built from the protocols the adapters declare, to the file editors
// read (runner-proxy/src/policy/policy.schema.json). Run through `npm run schema`, which builds first;
// test/unit/policy-schema.test.ts fails when the file is stale.
import { writeFileSync } from 'node:fs';
import { builtInProtocols } from '../build/runner-proxy/src/adapters/index.js';
import { policySchemaText } from '../build/runner-proxy/src/policy/schema.js';

const file = new URL('../runner-proxy/src/policy/policy.schema.json', import.meta.url);
writeFileSync(file, policySchemaText(builtInProtocols()));
console.log(`wrote ${file.pathname}`);
