// `npm run smoke -- <stack> [options]`: checks a deployed cluster (see scripts/lib/smoke.ts, or --help).
import { smokeMain } from "./lib/smoke";

smokeMain(
  process.argv.slice(2),
  process.env,
  (line) => process.stdout.write(`${line}\n`),
  (line) => process.stderr.write(`${line}\n`),
).then(
  (code) => {
    process.exitCode = code;
  },
  (e: Error) => {
    process.stderr.write(`smoke: ${e.stack ?? e.message}\n`);
    process.exitCode = 1;
  },
);
