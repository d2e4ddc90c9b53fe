import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * The public API of constructs/ is documented the way aws-cdk-lib's is: every exported symbol has a doc comment,
 * so does every property and public member of an exported interface, class or type, and every optional property
 * says what happens without it in a `@default` tag. This reads the sources with the TypeScript parser (no type
 * checking) and lists what is missing, by file, line and name.
 */
const ROOT = join(__dirname, '..', '..');
const DIR = join(ROOT, 'constructs');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    // Lambda handlers are deployed code, not API.
    return name.endsWith('.ts') && !name.endsWith('.handler.ts') ? [path] : [];
  });
}

const hasDoc = (node: ts.Node): boolean => ts.getJSDocCommentsAndTags(node).some((d) => ts.isJSDoc(d) && (d.comment !== undefined || (d.tags?.length ?? 0) > 0));
const defaultTag = (node: ts.Node): ts.JSDocTag | undefined => ts.getJSDocTags(node).find((t) => t.tagName.text === 'default');
/** The text of a tag's comment (`@default - none` → `- none`). */
const tagText = (t: ts.JSDocTag): string => (typeof t.comment === 'string' ? t.comment : ts.getTextOfJSDocComment(t.comment) ?? '').trim();
const isExported = (node: ts.Node): boolean => ts.canHaveModifiers(node) && (ts.getModifiers(node) ?? []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
const isPrivate = (node: ts.Node): boolean => ts.canHaveModifiers(node) && (ts.getModifiers(node) ?? []).some((m) => m.kind === ts.SyntaxKind.PrivateKeyword || m.kind === ts.SyntaxKind.ProtectedKeyword);

/** The API documentation problems of one file, as `file:line name: what`. */
export function apiDocProblems(file: string, text: string): string[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
  const out: string[] = [];
  const where = (node: ts.Node, name: string, what: string) => {
    const { line } = sf.getLineAndCharacterOfPosition(node.getStart(sf));
    out.push(`${relative(ROOT, file)}:${line + 1} ${name}: ${what}`);
  };
  const members = (owner: string, list: ts.NodeArray<ts.TypeElement> | ts.NodeArray<ts.ClassElement>) => {
    for (const m of list) {
      if (isPrivate(m) || ts.isConstructorDeclaration(m) || ts.isIndexSignatureDeclaration(m) || ts.isClassStaticBlockDeclaration(m)) continue;
      const name = m.name && (ts.isIdentifier(m.name) || ts.isStringLiteral(m.name)) ? m.name.text : undefined;
      if (name === undefined || name.startsWith('_') || (ts.isIdentifier(m.name!) && ts.isPrivateIdentifier(m.name!))) continue;
      if (!hasDoc(m)) where(m, `${owner}.${name}`, 'no doc comment');
      const optional = (ts.isPropertySignature(m) && m.questionToken !== undefined) || (ts.isMethodSignature(m) && m.questionToken !== undefined);
      const tag = defaultTag(m);
      if (optional && !tag) where(m, `${owner}.${name}`, 'optional without @default');
      // aws-cdk-lib's rule: a default states the behaviour, never just "undefined".
      if (tag && /^(undefined)?$/.test(tagText(tag))) where(m, `${owner}.${name}`, '@default states no behaviour');
      if (ts.isPropertySignature(m) && m.type) typeLiterals(`${owner}.${name}`, m.type);
    }
  };
  const typeLiterals = (owner: string, type: ts.TypeNode) => {
    const visit = (t: ts.Node): void => {
      if (ts.isTypeLiteralNode(t)) members(owner, t.members);
      else t.forEachChild(visit);
    };
    visit(type);
  };
  for (const stmt of sf.statements) {
    if (!isExported(stmt)) continue;
    if (ts.isExportDeclaration(stmt)) continue;
    const names = ts.isVariableStatement(stmt)
      ? stmt.declarationList.declarations.map((d) => d.name.getText(sf))
      : [((stmt as ts.DeclarationStatement).name?.getText(sf)) ?? '(anonymous)'];
    for (const name of names) if (!hasDoc(stmt)) where(stmt, name, 'no doc comment');
    if (ts.isInterfaceDeclaration(stmt)) members(stmt.name.text, stmt.members);
    else if (ts.isClassDeclaration(stmt) && stmt.name) {
      members(stmt.name.text, stmt.members);
      for (const ctor of stmt.members.filter(ts.isConstructorDeclaration)) {
        for (const p of ctor.parameters) {
          if (isPrivate(p) || !ts.canHaveModifiers(p) || !(ts.getModifiers(p) ?? []).some((mod) => mod.kind === ts.SyntaxKind.PublicKeyword || mod.kind === ts.SyntaxKind.ReadonlyKeyword)) continue;
          if (!hasDoc(p)) where(p, `${stmt.name.text}.${p.name.getText(sf)}`, 'no doc comment');
        }
      }
    } else if (ts.isTypeAliasDeclaration(stmt)) typeLiterals(stmt.name.text, stmt.type);
    else if (ts.isEnumDeclaration(stmt)) {
      for (const m of stmt.members) if (!hasDoc(m)) where(m, `${stmt.name.text}.${m.name.getText(sf)}`, 'no doc comment');
    }
  }
  return out;
}

describe('the API of constructs/ is documented', () => {
  it('has a doc comment on every export and member, and @default on every optional property', () => {
    const problems = sourceFiles(DIR).flatMap((f) => apiDocProblems(f, readFileSync(f, 'utf8')));
    expect(problems).toEqual([]);
  });

  it.each([
    ['an export without a comment', 'export const X = 1;', ['X: no doc comment']],
    ['an optional prop without @default', '/** P. */\nexport interface P {\n  /** A thing. */\n  readonly a?: number;\n}', ['P.a: optional without @default']],
    ['an undocumented member', '/** P. */\nexport interface P {\n  readonly a: number;\n}', ['P.a: no doc comment']],
    ['an undocumented public field of a class', '/** C. */\nexport class C {\n  public readonly x = 1;\n  private readonly y = 2;\n}', ['C.x: no doc comment']],
    ['an optional prop of a nested type', '/** P. */\nexport interface P {\n  /** D. @default - none */\n  readonly d?: { readonly n?: number };\n}', ['P.d.n: no doc comment', 'P.d.n: optional without @default']],
    ['a @default that states no behaviour', '/** P. */\nexport interface P {\n  /** A. @default undefined */\n  readonly a?: number;\n}', ['P.a: @default states no behaviour']],
    ['an undocumented enum member', '/** E. */\nexport enum E {\n  A = 1,\n}', ['E.A: no doc comment']],
  ])('finds %s', (_, source, expected) => {
    expect(apiDocProblems(join(DIR, 'x.ts'), source).map((p) => p.replace(/^constructs\/x\.ts:\d+ /, ''))).toEqual(expected);
  });
});
