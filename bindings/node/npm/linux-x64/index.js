'use strict';
// The path of the library this package carries, for codomyrmex-keys to load.
module.exports = require('node:path').join(__dirname, 'libcodomyrmex_keys.so.1');
