// Type declarations of the ES module entry point (index.mjs): the same
// names as the CommonJS module, plus the default export.
export * from './index.js';
import * as keys from './index.js';
export default keys;
