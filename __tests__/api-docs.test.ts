/**
 * The API reference is the TSDoc in the .d.ts files a consumer's editor
 * shows: every export of the package entry point has a doc comment, and so
 * does every property of every props interface (`*Props`).
 */
import { join } from "path";
import * as ts from "typescript";

const ENTRY = join(__dirname, "..", "constructs", "index.ts");

test("every export and every props property is documented", () => {
  const program = ts.createProgram([ENTRY], { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS, strict: true, skipLibCheck: true, noResolve: false });
  const checker = program.getTypeChecker();
  const entry = checker.getSymbolAtLocation(program.getSourceFile(ENTRY)!)!;
  const documented = (symbol: ts.Symbol) => ts.displayPartsToString(symbol.getDocumentationComment(checker)).trim() !== "";
  const undocumented: string[] = [];
  const exports = checker.getExportsOfModule(entry);
  expect(exports.length).toBeGreaterThan(50);
  for (const exported of exports) {
    const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    const where = symbol.declarations?.[0]?.getSourceFile().fileName.replace(`${join(__dirname, "..")}/`, "") ?? "?";
    if (!documented(symbol)) undocumented.push(`${where}: ${exported.name}`);
    if (!exported.name.endsWith("Props")) continue;
    for (const declaration of symbol.declarations ?? []) {
      if (!ts.isInterfaceDeclaration(declaration)) continue;
      for (const member of declaration.members) {
        const property = member.name && checker.getSymbolAtLocation(member.name);
        if (property && !documented(property)) undocumented.push(`${where}: ${exported.name}.${property.name}`);
      }
    }
  }
  expect(undocumented).toEqual([]);
});
