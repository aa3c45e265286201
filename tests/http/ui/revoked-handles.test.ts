/** A sign-out store over JSONL keeps no file handle between calls: one left to the garbage collector is an uncaught error in Bun. */
import { expect, test } from "bun:test";
import { readdirSync, readlinkSync, realpathSync } from "node:fs";
import { JsonlRevokedSessions } from "../../../lib/http/ui/revoked-sessions.ts";
import { tempDir } from "../../helpers/tmp.ts";

/**
 * This process' open descriptors on files under `dir`. Not all descriptors: the whole suite runs in one
 * process, and sockets or pipes that earlier files' servers and children close meanwhile would change that count.
 */
const openFdsUnder = (dir: string) => {
  const under = realpathSync(dir) + "/";
  return readdirSync("/proc/self/fd").filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`).startsWith(under);
    } catch {
      return false; // closed since the listing (the listing's own descriptor among them)
    }
  }).length;
};

test("JSONL sign-outs hold no open file after a call returns, so dropping the object leaks nothing", async () => {
  const dir = tempDir("bb-ui-revoked-");
  for (let i = 0; i < 5; i++) {
    const s = new JsonlRevokedSessions(dir);
    await s.revoke(`nonce-${i}`, Date.now() + 60_000, Date.now());
    expect(await s.isRevoked(`nonce-${i}`, Date.now())).toBe(true);
    expect(await s.isRevoked("other", Date.now())).toBe(false);
  }
  expect(openFdsUnder(dir)).toBe(0);
  Bun.gc(true);
  await Bun.sleep(10);
});
