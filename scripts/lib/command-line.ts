/**
 * The operator commands' command lines (`npm run smoke`, `endpoints`,
 * `rollout`): `--flag value` or `--flag=value` for the flags that take one,
 * switches, and exactly one stack name. Each command says which flags it
 * knows and how it reports misuse.
 */

export interface CommandLine {
  /** Each value flag given, by flag (the last one given counts). */
  readonly values: Map<string, string>;
  readonly switches: Set<string>;
  /** The stack named; "" when a switch in `spec.alone` was given (e.g. --help). */
  readonly stack: string;
}

export interface CommandLineSpec {
  readonly values: ReadonlySet<string> | readonly string[];
  readonly switches: readonly string[];
  /** Switches that need no stack (`--help`). */
  readonly alone?: readonly string[];
  /** A stack to name in the "name the stack" message. */
  readonly example: string;
  /** The error a misuse throws (the command's own usage error). */
  readonly misuse: (message: string) => Error;
}

export function readCommandLine(argv: readonly string[], spec: CommandLineSpec): CommandLine {
  const valueFlags = new Set(spec.values);
  const values = new Map<string, string>();
  const switches = new Set<string>();
  const positional: string[] = [];
  // `--help` wins over whatever else the line holds, as it did in each command.
  const alone = (spec.alone ?? []).filter((s) => argv.includes(s));
  if (alone.length > 0) return { values, switches: new Set(alone), stack: "" };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
    const [flag, inline] = eq > 0 ? [arg.slice(0, eq), arg.slice(eq + 1)] : [arg, undefined];
    if (spec.switches.includes(flag)) {
      if (inline !== undefined) throw spec.misuse(`${flag} takes no value`);
      switches.add(flag);
    } else if (valueFlags.has(flag)) {
      const value = inline ?? argv[++i];
      if (value === undefined) throw spec.misuse(`${flag} needs a value`);
      values.set(flag, value);
    } else if (flag.startsWith("-")) throw spec.misuse(`unknown option ${flag}`);
    else positional.push(arg);
  }
  if (positional.length !== 1) throw spec.misuse(positional.length === 0 ? `name the stack, e.g. ${spec.example}` : `one stack at a time, not ${positional.join(" ")}`);
  return { values, switches, stack: positional[0] };
}
