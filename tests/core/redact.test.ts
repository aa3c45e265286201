/** The one DSN redactor, as data: every shape a user types keeps user/host/db and loses the password. */
import { describe, expect, test } from "bun:test";
import { dsnPasswordProblem, redactFields, redactText } from "../../lib/core/redact.ts";

const PW = "Sekr3t";
const shapes = [
  `postgresql://u:${PW}@db.example:5432/app`,
  `postgres://u:${PW}@10.0.0.1/app?sslmode=require`,
  `postgresql:/u:${PW}@host/db`,
  `postgresql:u:${PW}@host/db`,
  `u:${PW}@host:5432/db`,
  `u:${PW}@[::1]:5432/db`,
  `postgresql://u:p@${PW}@host/db`,
  `postgresql://u:${PW}@x@host/db`,
  `postgresql://u:${PW}:x/y@host/db`,
  `postgresql://u:a/${PW}?#@host/db`,
  `postgresql://host/db?user=u&password=${PW}`,
  `postgresql://host/db?sslpassword=${PW}&password=${PW}`,
  `host=h user=u password=${PW} dbname=d`,
  `PASSWORD=${PW}`,
];

describe("redactText", () => {
  for (const dsn of shapes) {
    test(dsn, () => {
      for (const wrap of [(s: string) => s, (s: string) => `Cannot connect to Postgres at ${s}: refused`, (s: string) => JSON.stringify({ e: `got "${s}"` }), (s: string) => `(${s})`]) {
        const out = redactText(wrap(dsn));
        expect(out).not.toContain(PW);
        expect(out).toContain("***");
      }
    });
  }

  test("keeps the readable parts", () => {
    expect(redactText("postgresql://u:pw@db:5432/app")).toBe("postgresql://u:***@db:5432/app");
    expect(redactText("u:p@ss@host:5432/db")).toBe("u:***@host:5432/db");
    expect(redactText("postgresql:/u:pw@host/db")).toBe("postgresql:/u:***@host/db");
    expect(redactText("postgresql://host/db?user=u&password=pw&sslmode=require")).toBe("postgresql://host/db?user=u&password=***&sslmode=require");
    expect(redactText("no secrets at 10:30 here")).toBe("no secrets at 10:30 here");
  });

  test("secret-named query parameters of any URL are masked, the rest stays", () => {
    const url = `http://ps.example/api?token=${PW}&access_token=${PW}&api_key=${PW}&apikey=${PW}&client_secret=${PW}&sig=${PW}&X-Amz-Signature=${PW}&key=${PW}&page=2#top`;
    const out = redactText(`project_service_url ${url}`);
    expect(out).not.toContain(PW);
    expect(out).toBe("project_service_url http://ps.example/api?token=***&access_token=***&api_key=***&apikey=***&client_secret=***&sig=***&X-Amz-Signature=***&key=***&page=2#top");
    expect(JSON.stringify(redactFields({ project_service_url: `https://h/x?token=${PW}` }))).not.toContain(PW);
    // names that only end in one of those words by accident, and plain text, are left alone
    expect(redactText("GET /v1/backlog/items?monkey=1&dedupe_key=k1&q=token")).toBe("GET /v1/backlog/items?monkey=1&dedupe_key=k1&q=token");
  });

  test("long tokens (alert text) keep their content, and a password among or after them is still found", () => {
    const long = "v".repeat(20_000);
    expect(redactText(long)).toBe(long);
    expect(redactText(`${long} https://u:${PW}@h/x ${"http://".repeat(3000)}`)).toBe(`${long} https://u:***@h/x ${"http://".repeat(3000)}`);
    expect(redactText(`${"=a:".repeat(5000)}@! see postgresql://u:${PW}@db/app`)).not.toContain(PW);
    expect(redactText(`@${"v1".repeat(5000)} 1https://u:${PW}@h`)).toBe(`@${"v1".repeat(5000)} 1https://u:***@h`);
  });

  test("fields named like secrets are masked, deep values too", () => {
    const deep: Record<string, unknown> = { dsn: `postgresql://u:${PW}@h/d` };
    let cur = deep;
    for (let i = 0; i < 20; i++) cur = (cur.next = { msg: `at u:${PW}@h/d` }) as Record<string, unknown>;
    expect(JSON.stringify(redactFields({ password: PW, api_key: PW, nested: deep }))).not.toContain(PW);
  });
});

describe("dsnPasswordProblem", () => {
  test("unencoded reserved characters get the URL-encoding hint", () => {
    for (const dsn of ["postgresql://u:p@ss@host/db", "postgresql://u:p:ss@host/db", "postgresql://u:p/ss@host/db", "postgresql://u:p#ss@host/db"]) {
      expect(dsnPasswordProblem(dsn)).toContain("%40");
    }
    for (const dsn of ["postgresql://u:p%40ss@host/db", "postgresql://u@host/db", "postgresql://host/db", "postgresql://u:pw@host/db?sslmode=require"]) {
      expect(dsnPasswordProblem(dsn)).toBeNull();
    }
  });
});
