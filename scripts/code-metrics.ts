/**
 * `node bin/run-script.mjs scripts/code-metrics.ts [dir]`: figures about the code under src/ (or dir) for a closing
 * note or a review, not a gate: functions by positional parameter count and by length, and lines over 140 characters.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import ts from 'typescript';

const root = resolve(process.argv[2] ?? 'src');
const top = Number(process.argv[3] ?? 12);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

interface FunctionFigure {
  where: string;
  name: string;
  parameters: number;
  lines: number;
}

function nameOf(node: ts.FunctionLikeDeclaration): string {
  if (node.name && (ts.isIdentifier(node.name) || ts.isStringLiteral(node.name))) return node.name.text;
  const parent = node.parent;
  if (parent && ts.isVariableDeclaration(parent) && ts.isIdentifier(parent.name)) return parent.name.text;
  if (parent && ts.isPropertyAssignment(parent) && ts.isIdentifier(parent.name)) return parent.name.text;
  return '(anonymous)';
}

const functions: FunctionFigure[] = [];
let longLines = 0;
let files = 0;
for (const file of sourceFiles(root)) {
  files++;
  const text = readFileSync(file, 'utf8');
  longLines += text.split('\n').filter((line) => line.length > 140).length;
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const fn = node as ts.FunctionLikeDeclaration;
      const start = source.getLineAndCharacterOfPosition(fn.getStart(source)).line;
      const end = source.getLineAndCharacterOfPosition(fn.getEnd()).line;
      const parameters = fn.parameters.filter((p) => !(ts.isIdentifier(p.name) && p.name.text === 'this')).length;
      functions.push({ where: `${relative(root, file)}:${start + 1}`, name: nameOf(fn), parameters, lines: end - start + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
}

const byParameters = [...functions].sort((a, b) => b.parameters - a.parameters);
const byLines = [...functions].sort((a, b) => b.lines - a.lines);
const show = (f: FunctionFigure) => `  ${f.name} (${f.where}): ${f.parameters} parameter(s), ${f.lines} line(s)`;
console.log(`${files} files, ${functions.length} functions under ${relative(process.cwd(), root) || '.'}.`);
console.log(`Functions with 5 or more positional parameters: ${functions.filter((f) => f.parameters >= 5).length}`);
byParameters.slice(0, top).forEach((f) => console.log(show(f)));
console.log(
  `Functions over 60 lines: ${functions.filter((f) => f.lines > 60).length}; over 100: ${functions.filter((f) => f.lines > 100).length}`,
);
byLines.slice(0, top).forEach((f) => console.log(show(f)));
console.log(`Lines over 140 characters: ${longLines}`);
