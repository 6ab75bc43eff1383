/** Tests run TypeScript through sucrase (types stripped, not checked): `npm test` type-checks once with tsc first. */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/__tests__"],
  testMatch: ["**/*.test.ts"],
  transform: { "^.+\\.ts$": "<rootDir>/scripts/jest-sucrase.js" },
  moduleFileExtensions: ["ts", "js", "json"],
  testTimeout: 60000,
};
