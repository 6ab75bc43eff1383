// Jest transformer: strips TypeScript types with sucrase (no type-checking; `npm run typecheck` does that once).
"use strict";
const { transform } = require("sucrase");
const { createHash } = require("crypto");

module.exports = {
  process(source, filename) {
    const result = transform(source, {
      transforms: ["typescript", "imports", "jest"],
      filePath: filename,
      sourceMapOptions: { compiledFilename: filename },
    });
    return { code: result.code, map: result.sourceMap };
  },
  getCacheKey(source, filename) {
    return createHash("sha1").update(source).update(filename).update("sucrase-1").digest("hex");
  },
};
