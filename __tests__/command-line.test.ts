/** The operator commands' command-line scanner (scripts/lib/command-line.ts), as smoke, endpoints and rollout use it. */
import { readCommandLine } from "../scripts/lib/command-line";
import { parseRolloutArgs } from "../scripts/lib/rollout";

class Misuse extends Error {}
const SPEC = { values: ["--outputs", "--via"], switches: ["--help", "--dry-run"], alone: ["--help"], example: "ha", misuse: (m: string) => new Misuse(m) };
const read = (...argv: string[]) => readCommandLine(argv, SPEC);
const refusal = (...argv: string[]) => {
  try {
    read(...argv);
  } catch (e) {
    expect(e).toBeInstanceOf(Misuse);
    return (e as Error).message;
  }
  throw new Error(`accepted: ${argv.join(" ")}`);
};

test("values as --flag value and --flag=value (the last one given counts), switches, one stack", () => {
  const line = read("--outputs", "o.json", "ha", "--via=private", "--dry-run", "--via", "public");
  expect([...line.values]).toEqual([["--outputs", "o.json"], ["--via", "public"]]);
  expect([...line.switches]).toEqual(["--dry-run"]);
  expect(line.stack).toBe("ha");
  expect(read("ha", "--outputs=a=b").values.get("--outputs")).toBe("a=b");
});

test("misuse says what is wrong", () => {
  expect(refusal("ha", "--outputs")).toBe("--outputs needs a value");
  expect(refusal("ha", "--dry-run=yes")).toBe("--dry-run takes no value");
  expect(refusal("ha", "--bogus")).toBe("unknown option --bogus");
  expect(refusal()).toBe("name the stack, e.g. ha");
  expect(refusal("dev", "ha")).toBe("one stack at a time, not dev ha");
});

test("--help wins over everything else on the line, rollout's -h too", () => {
  // (Spread: the scanner is loaded once per jest worker, in another realm than this file's Map and Set.)
  const help = read("--bogus", "--help", "a", "b");
  expect([[...help.values], [...help.switches], help.stack]).toEqual([[], ["--help"], ""]);
  let thrown: unknown;
  try {
    parseRolloutArgs(["-h", "--base"]);
  } catch (e) {
    thrown = e;
  }
  expect((thrown as Error).constructor.name).toBe("HelpRequested");
});
