/**
 * What every text input must be before it reaches a store: no NUL (Postgres text cannot hold it) and no
 * lone UTF-16 surrogate (Postgres rejects it as invalid UTF-8; JSONL would store it). Pure functions,
 * shared by the valibot schemas and the generic walk over a whole request.
 */

// A high surrogate not followed by a low one, or a low one not preceded by a high one.
const BAD_TEXT = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export const SAFE_TEXT_RULE = "must not contain NUL characters (\\u0000) or unpaired UTF-16 surrogates";

export function isSafeText(text: string): boolean {
  return !BAD_TEXT.test(text);
}

/**
 * `text` cut to at most `max` UTF-16 units, ending in `…` when cut. Never between the two halves of a
 * pair: a lone surrogate would make the result text no store accepts (an emoji at the cut).
 */
export function clipText(text: string, max: number): string {
  if (text.length <= max) return text;
  const end = max - 1;
  const code = text.charCodeAt(end - 1);
  return `${text.slice(0, code >= 0xd800 && code <= 0xdbff ? end - 1 : end)}…`;
}

/** How deep `meta` (and any JSON value a caller stores) may nest: `{"a": {"b": 1}}` is depth 2. */
export const MAX_META_DEPTH = 32;
/** A whole request body / CLI JSON: the meta limit plus room for the envelope (tool call, params, item). */
export const MAX_BODY_DEPTH = MAX_META_DEPTH + 8;

const pathOf = (path: readonly (string | number)[]) => path.map((p) => (typeof p === "number" ? `[${p}]` : p)).join(".").replace(/\.\[/g, "[");
const at = (path: readonly (string | number)[], rule: string) => (path.length ? `${pathOf(path)}: ${rule}` : rule);

/** One value on the walk's stack; its path is rebuilt from the parent links only when it has a problem. */
interface Frame {
  value: unknown;
  parent: Frame | null;
  key: string | number | null;
  depth: number;
}

function pathOfFrame(frame: Frame, base: readonly (string | number)[]): (string | number)[] {
  const keys: (string | number)[] = [];
  for (let f: Frame | null = frame; f && f.key !== null; f = f.parent) keys.push(f.key);
  return [...base, ...keys.reverse()];
}

/**
 * The first problem in a parsed JSON value (depth beyond `maxDepth`, a text or key with NUL or a lone
 * surrogate), as `field.path: rule` (just `rule` for the value itself), or null. Iterative, so a hostile value cannot overflow the stack.
 * It runs on every line a JSONL load keeps and on every request: no path is built unless there is a problem.
 */
export function jsonValueProblem(value: unknown, maxDepth: number, base: readonly (string | number)[] = []): string | null {
  const stack: Frame[] = [{ value, parent: null, key: null, depth: 0 }];
  while (stack.length) {
    const frame = stack.pop()!;
    const cur = frame.value;
    if (typeof cur === "string") {
      if (!isSafeText(cur)) return at(pathOfFrame(frame, base), SAFE_TEXT_RULE);
      continue;
    }
    if (typeof cur === "number") {
      if (!Number.isFinite(cur)) return at(pathOfFrame(frame, base), "must be a finite number");
      continue;
    }
    if (cur === null || typeof cur !== "object") continue;
    const depth = frame.depth + 1;
    if (depth > maxDepth) return at(pathOfFrame(frame, base), `nests deeper than ${maxDepth} levels (the limit for stored JSON)`);
    if (Array.isArray(cur)) {
      for (let i = cur.length - 1; i >= 0; i--) stack.push({ value: cur[i], parent: frame, key: i, depth });
    } else {
      const obj = cur as Record<string, unknown>;
      for (const k of Object.keys(obj)) {
        if (!isSafeText(k)) return at(pathOfFrame(frame, base), `key ${JSON.stringify(k)} ${SAFE_TEXT_RULE}`);
        stack.push({ value: obj[k], parent: frame, key: k, depth });
      }
    }
  }
  return null;
}

/**
 * Deepest bracket nesting of raw JSON text, stopping as soon as it passes `limit`. JSON.parse recurses
 * per level, so this cheap scan runs first and a 40,000-level body is refused without parsing it.
 */
export function jsonTextDepthExceeds(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++; // backslash: skip the escaped char
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      if (++depth > limit) return true;
    } else if (c === 125 || c === 93) depth--;
  }
  return false;
}

/** JSON.parse behind the depth pre-scan; `what` names the input in the error (e.g. "Request body"). */
export function parseJsonBounded(text: string, what: string, maxDepth = MAX_BODY_DEPTH): { ok: true; value: unknown } | { ok: false; reason: "depth" | "syntax"; error: string } {
  if (jsonTextDepthExceeds(text, maxDepth)) return { ok: false, reason: "depth", error: `${what} nests deeper than ${maxDepth} levels; stored JSON (meta) may nest at most ${MAX_META_DEPTH}.` };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    return { ok: false, reason: "syntax", error: `${what} is not valid JSON: ${(err as Error).message}` };
  }
}
