/** lib/scheduler/deferred-fires.ts as data: which fire waits for which. */
import { expect, test } from "bun:test";
import { DeferredFires } from "../../lib/scheduler/deferred-fires.ts";

const t = (hhmm: string) => new Date(`2026-11-23T${hhmm}:00Z`);

test("a fire waits for an earlier deferred fire of another job until that one is settled", () => {
  const d = new DeferredFires();
  d.defer("digest", t("06:00"));
  expect(d.waitingFor("generate", t("06:20"))).toBe("digest");
  expect(d.waitingFor("digest", t("06:00"))).toBeUndefined(); // not for itself
  expect(d.waitingFor("risk", t("05:00"))).toBeUndefined(); // nor an earlier fire
  d.settled("digest", t("07:00")); // another fire of the job: the owed one stays
  expect(d.waitingFor("generate", t("06:20"))).toBe("digest");
  d.settled("digest", t("06:00"));
  expect(d.waitingFor("generate", t("06:20"))).toBeUndefined();
});

test("a job may owe several fires; each is settled on its own", () => {
  const d = new DeferredFires();
  d.defer("snapshot", t("06:00"));
  d.defer("snapshot", t("07:00"));
  expect(d.waitingFor("generate", t("06:20"))).toBe("snapshot");
  d.settled("snapshot", t("06:00"));
  expect(d.waitingFor("generate", t("06:20"))).toBeUndefined(); // 07:00 is later than 06:20
  expect(d.waitingFor("generate", t("07:20"))).toBe("snapshot");
  d.settled("snapshot", t("07:00"));
  expect(d.waitingFor("generate", t("07:20"))).toBeUndefined();
});
