// Preloaded by the benchmark (NODE_OPTIONS=--require): appends this node
// process's peak resident memory, in KiB, to $BENCH_RSS_FILE at exit.
"use strict";
const file = process.env.BENCH_RSS_FILE;
if (file) {
  process.on("exit", () => {
    require("fs").appendFileSync(file, `${process.resourceUsage().maxRSS}\n`);
  });
}
