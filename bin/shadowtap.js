#!/usr/bin/env node
// Thin shim: the CLI lives in the compiled TypeScript (run `npm run setup` first).
import('../dist/src/cli.js').catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND') {
    console.error('shadowtap: not built yet; run `npm run setup` (or `npm start`) in the checkout first');
    process.exit(1);
  }
  throw err;
});
