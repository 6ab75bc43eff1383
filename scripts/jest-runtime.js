// Jest runtime (jest.config.js `runtime`): cdktf, constructs and the prebuilt
// providers are loaded once per jest worker, by node's own require, and shared
// by the test files that worker runs. Everything else, our code included, is
// loaded per test file in jest's module registry, as usual.
//
// Why: jest gives every test file a fresh module registry and compiles each
// module it loads in that file's context. cdktf alone is 373 modules; under
// jest, loading it with the providers our stacks import cost about 0.9 CPU
// seconds per test file (a test that only imports the stack module took 1.9 s
// against 1.0 s for an empty test), a quarter of jest's whole CPU time for the
// suite's 40-odd files. Node's require loads them once per worker instead.
//
// What sharing changes, and why it is safe here:
//   - State inside these libraries (cdktf's token map, constructs' counters)
//     lives as long as the worker. None of it reaches a synthesized document:
//     logical ids come from construct paths, and tokens are resolved within
//     their own stack. No test mocks these libraries (jest.mock would not
//     reach a shared module: the runtime refuses it, below).
//   - Their objects come from node's realm, not the test file's: an array
//     cdktf makes is not `instanceof` the test's Array (Array.isArray and
//     jest's matchers do not care). Our code and tests use no such check on
//     values from these libraries.
//   - jest-setup.js patches cdktf's stack-trace capture: on the shared module,
//     so once per worker in effect.
// The package test installs the library into a consumer and runs it with node,
// outside jest: what a user's program loads is tested there as it is.
"use strict";
const path = require("path");
const Runtime = require("jest-runtime").default;

const SHARED = /^(cdktf|constructs|@cdktf\/provider-[a-z]+)(\/|$)/;

class SharedLibrariesRuntime extends Runtime {
  requireModuleOrMock(from, moduleName) {
    if (SHARED.test(moduleName)) {
      if (this._explicitShouldMock.get(this._resolver.getModuleID(this._virtualMocks, from, moduleName, { conditions: this.cjsConditions })) === true) {
        throw new Error(`jest.mock("${moduleName}"): ${moduleName} is shared by the test files of a worker (scripts/jest-runtime.js) and cannot be mocked`);
      }
      return require(require.resolve(moduleName, { paths: [path.dirname(from)] }));
    }
    return super.requireModuleOrMock(from, moduleName);
  }
}

module.exports = SharedLibrariesRuntime;
