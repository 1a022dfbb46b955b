/**
 * shadowtap's command-line entry (bin/shadowtap.js imports this module; so
 * does `node dist/src/cli.js`). Runs the command and exits with its status.
 */
import { main } from './cli/main.js';

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`shadowtap: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
