import { App } from "cdktf";
import { setValueSources } from "../constructs/core/validation";
import { AppConfig, loadAppConfig, LoadOptions, valueSources } from "./config";
import { MesosClusterStack } from "./mesos-cluster-stack";

/** Options of {@link buildApp}. */
export interface BuildAppOptions extends LoadOptions {
  /** Synth output folder. @default "cdktf.out" (or what the cdktf CLI passes) */
  readonly outdir?: string;
  /** A configuration already loaded (skips reading env and files). */
  readonly config?: AppConfig;
}

/** The `dev` and `ha` stacks on the configured cloud. */
export function buildApp(options: BuildAppOptions = {}): { app: App; config: AppConfig; stacks: MesosClusterStack[] } {
  const config = options.config ?? loadAppConfig(options);
  const app = new App({ outdir: options.outdir, skipValidation: false });
  // Errors and warnings about a configured value name the variable or file key that set it.
  setValueSources(app, valueSources(config));
  const stacks = (["dev", "ha"] as const).map((name) => new MesosClusterStack(app, name, config.stacks[name]));
  return { app, config, stacks };
}
