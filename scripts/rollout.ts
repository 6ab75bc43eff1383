// `npm run rollout -- <stack> [options]`: rolls a change of the masters out one master at a time (scripts/lib/rollout.ts, or --help).
import { rolloutMain } from "./lib/rollout";
import { runCommand } from "./lib/smoke";

runCommand("rollout", rolloutMain);
