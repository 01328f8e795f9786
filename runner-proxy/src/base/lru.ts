/**
 * A map of bounded size that forgets its least recently used entries first, in two generations: new
 * and used entries go to the current one; when it is full it becomes the previous one and the one
 * before is dropped whole. Nothing is ever iterated (evicting through a Map's iterator costs time in
 * proportion to the entries deleted before), so every call is O(1).
 */
export class LruCache<K, V> {
  #current = new Map<K, V>();
  #previous = new Map<K, V>();
  readonly #generation: number;

  /** Holds at most `capacity` entries, and always the `capacity / 2` most recently used. */
  constructor(capacity: number) {
    this.#generation = Math.max(1, Math.floor(capacity / 2));
  }

  get size(): number {
    return this.#current.size + this.#previous.size;
  }

  get(key: K): V | undefined {
    const value = this.#current.get(key);
    if (value !== undefined) return value;
    const old = this.#previous.get(key);
    if (old !== undefined) {
      this.#previous.delete(key);
      this.set(key, old);
    }
    return old;
  }

  set(key: K, value: V): void {
    this.#previous.delete(key);
    this.#current.set(key, value);
    if (this.#current.size >= this.#generation) {
      this.#previous = this.#current;
      this.#current = new Map();
    }
  }
}
