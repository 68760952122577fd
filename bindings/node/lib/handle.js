'use strict';
// Ownership of a native handle that must be closed (key managers, keyrings).

const { Status, NullPointerError } = require('./errors');

/**
 * A registry for objects whose handle must be closed: one garbage-collected
 * unclosed has its handle freed with `free`, and a process warning
 * (ResourceWarning, code CODOMYRMEX_KEYS_UNCLOSED) says `message(name)`,
 * since relying on the collector runs a busy process out of resources
 * long before it collects.
 */
function unclosedRegistry(free, message) {
  return new FinalizationRegistry(({ ptr, name }) => {
    free(ptr);
    process.emitWarning(message(name), { type: 'ResourceWarning', code: 'CODOMYRMEX_KEYS_UNCLOSED' });
  });
}

/**
 * The native pointer of `owner`: `live()` lends it for a call, `close()`
 * frees it exactly once (and spares it the registry's warning).
 */
class Handle {
  #ptr;
  #free;
  #registry;
  #what;
  #token = {};

  /** `what` names the object in errors ('key manager'), `name` the instance in the unclosed warning. */
  constructor(owner, ptr, { free, registry, what, name }) {
    this.#ptr = ptr;
    this.#free = free;
    this.#registry = registry;
    this.#what = what;
    registry.register(owner, { ptr, name }, this.#token);
  }

  /** The pointer; NullPointerError once closed. */
  live() {
    if (this.#ptr === null) throw new NullPointerError(Status.NULL_POINTER, `the ${this.#what} is closed`);
    return this.#ptr;
  }

  get closed() {
    return this.#ptr === null;
  }

  close() {
    if (this.#ptr === null) return;
    this.#registry.unregister(this.#token);
    const ptr = this.#ptr;
    this.#ptr = null;
    this.#free(ptr);
  }
}

module.exports = { Handle, unclosedRegistry };
