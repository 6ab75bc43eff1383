// Jest runtime (jest.config.js `runtime`): cdktf, constructs and the prebuilt
// providers, and our library's TypeScript (constructs/, stacks/, scripts/lib/),
// are loaded once per jest worker, by node's own require (.ts through
// run-ts.js's sucrase hook, the same transform `cdktf synth` uses), and shared
// by the test files that worker runs. The test files and their helpers
// (__tests__/) and the cluster client's plain JavaScript are loaded per test
// file in jest's module registry, as usual.
//
// Why: jest gives every test file a fresh module registry and compiles each
// module it loads in that file's context. cdktf alone is 373 modules; under
// jest, loading it with the providers our stacks import cost about 0.9 CPU
// seconds per test file (a test that only imports the stack module took 1.9 s
// against 1.0 s for an empty test), a quarter of jest's whole CPU time for the
// suite's 40-odd files. Node's require loads them once per worker instead.
//
// Our library's modules cost another 0.25 s per file the same way (12 files:
// 16.5 CPU seconds with the libraries shared, 13.5 with ours too).
//
// What sharing changes, and why it is safe here:
//   - State inside these libraries (cdktf's token map, constructs' counters)
//     lives as long as the worker. None of it reaches a synthesized document:
//     logical ids come from construct paths, and tokens are resolved within
//     their own stack. Our modules keep state only in WeakMaps keyed by a
//     construct or an app (each test builds its own) and in caches of facts
//     that do not change during a run (VM size tables, which tools exist);
//     none reads the environment when it loads. No test mocks these modules
//     (jest.mock would not reach a shared module: the runtime refuses it,
//     below), and no test uses fake timers (a shared module's timers are
//     node's).
//   - Their objects come from node's realm, not the test file's: an array
//     cdktf makes is not `instanceof` the test's Array, an error our code
//     throws not `instanceof` the test's Error (Array.isArray, toEqual and
//     toThrow do not care; toStrictEqual would, and no test uses it). Our
//     error classes are the shared ones on both sides, so `instanceof
//     ClusterConfigError` holds.
//   - jest-setup.js patches cdktf's stack-trace capture: on the shared module,
//     so once per worker in effect.
// The package test installs the library into a consumer and runs it with node,
// outside jest: what a user's program loads is tested there as it is.
"use strict";
const path = require("path");
const Runtime = require("jest-runtime").default;

const SHARED = /^(cdktf|constructs|@cdktf\/provider-[a-z]+|typescript)(\/|$)/;
const ROOT = path.join(__dirname, "..");
/** Our library's TypeScript, shared the same way (see OWN_SHARED below). */
const OWN = ["constructs", "stacks", path.join("scripts", "lib")].map((dir) => path.join(ROOT, dir) + path.sep);
require("./run-ts").register();

class SharedLibrariesRuntime extends Runtime {
  requireModuleOrMock(from, moduleName) {
    if (SHARED.test(moduleName)) {
      this.refuseMock(from, moduleName);
      return require(require.resolve(moduleName, { paths: [path.dirname(from)] }));
    }
    if (moduleName.startsWith(".")) {
      const resolved = this._resolver.resolveModule(from, moduleName, { conditions: this.cjsConditions });
      if (resolved.endsWith(".ts") && OWN.some((dir) => resolved.startsWith(dir))) {
        this.refuseMock(from, moduleName);
        return require(resolved);
      }
    }
    return super.requireModuleOrMock(from, moduleName);
  }

  refuseMock(from, moduleName) {
    if (this._explicitShouldMock.get(this._resolver.getModuleID(this._virtualMocks, from, moduleName, { conditions: this.cjsConditions })) === true) {
      throw new Error(`jest.mock("${moduleName}"): ${moduleName} is shared by the test files of a worker (scripts/jest-runtime.js) and cannot be mocked`);
    }
  }
}

module.exports = SharedLibrariesRuntime;
