// `npm run smoke -- <stack> [options]`: checks a deployed cluster (see scripts/lib/smoke.ts, or --help).
import { runCommand, smokeMain } from "./lib/smoke";

runCommand("smoke", smokeMain);
