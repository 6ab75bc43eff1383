// `npm run endpoints -- <stack> [options]`: each Marathon app's instances, Mesos-DNS names and marathon-lb address (see scripts/lib/endpoints.ts, or --help).
import { endpointsMain } from "./lib/endpoints";
import { runCommand } from "./lib/smoke";

runCommand("endpoints", endpointsMain);
