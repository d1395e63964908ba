/**
 * `npm run lint` (part): the imports among the modules under src/ go one way, type imports included.
 * - No cycle, as madge counts them: every relative `import`, `import type`, `export ... from` and `import()` is an
 *   edge; a strongly connected group of more than one module (or a module importing itself) is a cycle.
 * - No import up the layers (ARCHITECTURE.md): a module imports from its own folder, a lower layer, or a contract,
 *   one of the few modules that hold shapes every layer shares (the plan's data, a check's result, the part and
 *   source interfaces).
 * Prints each cycle and each upward import, and exits 1 if there is any.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

const root = resolve(process.argv[2] ?? 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** The modules one file imports, by absolute path: relative specifiers only (packages cannot close a cycle here). */
function importsOf(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
  const specifiers: string[] = [];
  const visit = (node: ts.Node): void => {
    if (
      (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) &&
      node.moduleSpecifier &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      specifiers.push(node.moduleSpecifier.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [argument] = node.arguments;
      if (argument && ts.isStringLiteral(argument)) specifiers.push(argument.text);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      specifiers.push(node.argument.literal.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return specifiers.filter((s) => s.startsWith('.')).map((s) => resolve(dirname(file), s));
}

/** Tarjan's strongly connected components. */
function cycles(graph: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  let next = 0;
  const connect = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) !== index.get(v)) return;
    const group: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      group.push(w);
    } while (w !== v);
    if (group.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(group.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) connect(v);
  return found;
}

/** The layers, top first: a folder's modules may import from their own folder and the folders of lower layers. */
const layers: ReadonlyArray<readonly string[]> = [
  ['.', 'cli'],
  ['run'],
  ['plan', 'verify', 'export'],
  ['parts'],
  ['sources', 'csv', 'lookup'],
  ['engine'],
  ['mapping'],
  ['backup'],
  ['db'],
];
/** Modules any layer may import: shapes shared across the layers (their own imports are checked like any other). */
const contracts = new Set([
  'errors.ts',
  'format.ts',
  'plan/plan-data.ts',
  'csv/csv-plan.ts',
  'csv/declaration.ts',
  'lookup/lookup-plan.ts',
  'mapping/types.ts',
  'verify/check-result.ts',
  'verify/escape-xml.ts',
  'export/patch-file.ts',
  'parts/part.ts',
  'sources/source.ts',
]);
const layerOf = (module: string) => {
  const folder = dirname(module);
  const layer = layers.findIndex((folders) => folders.includes(folder));
  if (layer < 0) throw new Error(`src/${folder} is in no layer of scripts/check-imports.ts: add it where it belongs.`);
  return layer;
};

const graph = new Map(sourceFiles(root).map((file) => [file, importsOf(file)] as const));
const found = cycles(graph);
const upward = [...graph].flatMap(([file, imported]) => {
  const from = relative(root, file);
  return imported
    .map((target) => relative(root, target))
    .filter((to) => !contracts.has(to) && layerOf(to) < layerOf(from))
    .map((to) => `${from} imports ${to}`);
});
const where = relative(process.cwd(), root) || '.';
if (found.length === 0) {
  console.log(`Imports: ${graph.size} modules under ${where}, no cycle (type imports included).`);
} else {
  console.log(`Imports: ${found.length} group(s) of modules import each other (type imports included):`);
  for (const group of found) console.log(`  ${group.map((f) => relative(root, f)).join(', ')}`);
  process.exitCode = 1;
}
if (upward.length === 0) {
  console.log(`Layers: every import goes down the ${layers.length} layers or to one of ${contracts.size} contracts.`);
} else {
  console.log(`Layers: ${upward.length} import(s) go up (move the module, or the shared shape into a contract):`);
  for (const line of upward) console.log(`  ${line}`);
  process.exitCode = 1;
}
