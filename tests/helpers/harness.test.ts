/** The harness itself: the throwaway Postgres the preload starts, and its missing-binary message. */
import { describe, expect, test } from "bun:test";
import { findPgBin } from "./pg-cluster.ts";

describe("test harness", () => {
  test("missing Postgres binaries fail loudly with the install command", () => {
    expect(() => findPgBin(["/nonexistent/bin"])).toThrow(/apt-get install -y postgresql/);
  });
  test("the preload started (or was given) a real server", () => {
    expect(process.env.TEST_POSTGRES_DSN).toMatch(/^postgresql:\/\//);
  });
});
