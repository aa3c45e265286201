/** A sign-out store over JSONL keeps no file handle between calls: one left to the garbage collector is an uncaught error in Bun. */
import { expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { JsonlRevokedSessions } from "../../../lib/http/ui/revoked-sessions.ts";
import { tempDir } from "../../helpers/tmp.ts";

const openFds = () => readdirSync("/proc/self/fd").length;

test("JSONL sign-outs hold no open file after a call returns, so dropping the object leaks nothing", async () => {
  const dir = tempDir("bb-ui-revoked-");
  const before = openFds();
  for (let i = 0; i < 5; i++) {
    const s = new JsonlRevokedSessions(dir);
    await s.revoke(`nonce-${i}`, Date.now() + 60_000, Date.now());
    expect(await s.isRevoked(`nonce-${i}`, Date.now())).toBe(true);
    expect(await s.isRevoked("other", Date.now())).toBe(false);
  }
  expect(openFds()).toBe(before);
  Bun.gc(true);
  await Bun.sleep(10);
});
