/**
 * The one way config YAML is parsed (policy, access, registry): every error names the file and line.
 * The yaml library's own duplicate-key check (`uniqueKeys`) compares each key with every earlier one
 * (quadratic: 20k ownership overrides took 2.5 s, 200k more than 30 s), so it is off and a linear
 * Set-per-mapping check runs instead. Alias bombs stop at the library's alias limit and are reported
 * with the file name.
 */
import YAML, { isMap, isNode, isScalar, LineCounter, type Document } from "yaml";
import { AppError } from "./errors.ts";

export interface ParsedYaml {
  value: unknown;
  doc: Document;
  lines: LineCounter;
}

export function parseYamlText(text: string, source: string): ParsedYaml {
  const lines = new LineCounter();
  const doc = YAML.parseDocument(text, { lineCounter: lines, uniqueKeys: false });
  const syntax = doc.errors[0];
  if (syntax) {
    const at = syntax.linePos?.[0];
    const what = (syntax.message.split("\n")[0] ?? "").replace(/ at line \d+, column \d+:?$/, "");
    throw new AppError("config", `${source}: invalid YAML${at ? ` at line ${at.line}, column ${at.col}` : ""}: ${what}`, { cause: syntax });
  }
  const dup = firstDuplicateKey(doc);
  if (dup) {
    throw new AppError("config", `${source}: duplicate key ${JSON.stringify(dup.key)}${dup.offset === undefined ? "" : ` at line ${lines.linePos(dup.offset).line}, column ${lines.linePos(dup.offset).col}`}; each key may appear once in a mapping.`);
  }
  let value: unknown;
  try {
    value = doc.toJS();
  } catch (err) {
    throw new AppError("config", `${source}: cannot be loaded: ${(err as Error).message} (YAML aliases expand too far; write the values out).`, { cause: err });
  }
  return { value, doc, lines };
}

/** Walks every mapping once (iteratively), one Set of scalar keys per mapping. */
function firstDuplicateKey(doc: Document): { key: string; offset?: number } | null {
  const stack: unknown[] = [doc.contents];
  while (stack.length) {
    const node = stack.pop();
    if (isMap(node)) {
      const seen = new Set<unknown>();
      for (const pair of node.items) {
        const k = isScalar(pair.key) ? pair.key.value : pair.key;
        if (isScalar(pair.key) && seen.has(k)) return { key: String(k), offset: pair.key.range?.[0] };
        seen.add(k);
        stack.push(pair.value);
      }
    } else if (node && typeof node === "object" && "items" in node && Array.isArray((node as { items: unknown[] }).items)) {
      for (const item of (node as { items: unknown[] }).items) stack.push(item);
    }
  }
  return null;
}

/** Appends the line of the key (or list item) the path points at; a missing key points at its parent. */
export function withLine(message: string, dotPath: string | null, yaml?: { doc: Document; lines: LineCounter }): string {
  if (!yaml || !dotPath) return message;
  const path = dotPath.split(".");
  for (let n = path.length; n > 0; n--) {
    const parent = n === 1 ? yaml.doc.contents : yaml.doc.getIn(path.slice(0, n - 1), true);
    const step = path[n - 1]!;
    let node: unknown = null;
    if (YAML.isMap(parent)) node = parent.items.find((it) => YAML.isScalar(it.key) && String(it.key.value) === step)?.key;
    else if (YAML.isSeq(parent)) node = parent.items[Number(step)];
    if (isNode(node) && node.range) return `${message} (line ${yaml.lines.linePos(node.range[0]).line})`;
  }
  return message;
}
