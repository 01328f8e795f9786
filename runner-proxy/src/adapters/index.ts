import type { AdapterRegistry } from './adapter.js';

/** The protocol adapters this build serves; each protocol's issue adds its own. */
export function builtInAdapters(): AdapterRegistry {
  return new Map();
}
