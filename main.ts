// The cdktf app: `cdktf synth` runs this (cdktf.json "app") to write the dev and ha stacks.
import { ClusterConfigError } from "./constructs/core/validation";
import { buildApp } from "./stacks/app";

try {
  buildApp().app.synth();
} catch (e) {
  if (e instanceof ClusterConfigError) {
    // A configuration mistake: the message says where, what and what is allowed; a stack trace adds nothing.
    console.error(`Error: ${e.summary}`);
    process.exit(1);
  }
  throw e;
}
