/**
 * A valibot strict object whose unknown-key error names the key and the allowed ones, so a typo in a
 * config file or a tool call reads `categories.security.prio: unknown key "prio" (allowed: priority,
 * due_days, title)` instead of valibot's `expected never`.
 */
import * as v from "valibot";

export function strictObject<E extends v.ObjectEntries>(entries: E, noun = "key") {
  const allowed = Object.keys(entries).join(", ");
  return v.strictObject(entries, (issue) =>
    issue.expected === "never"
      ? `unknown ${noun} ${issue.received} (allowed: ${allowed || "none"})`
      : issue.expected === "Object"
        ? `expected a mapping of ${allowed || "nothing"}, got ${issue.received}`
        : "is required", // a missing key: the path already names it
  );
}
