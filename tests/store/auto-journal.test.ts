/**
 * The outage journal's marks (lib/store/auto/journal.ts): a reader's (file, offset) must never point
 * into another file. The file is known by the id on its first line, not its inode, which ext4 hands
 * straight back to the next journal after a prune removed the old one.
 */
import { describe, expect, test } from "bun:test";
import { appendFileSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { OpJournal } from "../../lib/store/auto/journal.ts";
import { tempDir } from "../helpers/tmp.ts";

interface Rec {
  op_id: string;
  pad: string;
}
const rec = (id: string, pad = 40): Rec => ({ op_id: id, pad: "x".repeat(pad) });
const ids = (rs: Rec[]) => rs.map((r) => r.op_id);

const journal = () => new OpJournal<Rec>(tempDir("bb-journal-"));

describe("outage journal marks", () => {
  test("a journal removed by a prune and made again is read whole, even when it got the old inode number", async () => {
    const j = journal();
    await j.append([rec("a1"), rec("a2")]);
    const first = j.read(null);
    expect(ids(first.records)).toEqual(["a1", "a2"]);
    const oldIno = statSync(j.path).ino;
    // Another process replays and prunes (file removed); then writes go on into a new file.
    expect(await j.prune(first.mark)).toBe("removed");
    let reused = false;
    for (let n = 0; n < 20 && !reused; n++) {
      await j.append([rec(`b${n}`, 200)]); // the new file soon holds more bytes than the stale mark's offset
      reused = statSync(j.path).ino === oldIno;
    }
    const again = j.read(first.mark);
    // Every record of the new file: with the inode as the file's identity, a reused inode skipped the
    // first `first.mark.offset` bytes here, and the next prune deleted them unreplayed.
    expect(again.records.length).toBeGreaterThan(0);
    expect(again.records[0]!.op_id).toBe("b0");
    expect(again.torn).toBe(0);
    // The stale mark cannot prune the new file either.
    expect(await j.prune(first.mark)).toBe("untouched");
    expect(j.read(null).records.length).toBe(again.records.length);
  });

  test("a prune that keeps a tail makes a new file: a mark on the old one reads the new one from its start", async () => {
    const j = journal();
    await j.append([rec("a1"), rec("a2")]);
    const mine = j.read(null); // this reader stopped after a2
    await j.append([rec("a3")]);
    const other = j.read(null);
    await j.append([rec("a4")]);
    expect(await j.prune(other.mark)).toBe("kept_tail"); // another process replayed a1..a3
    expect(ids(j.read(mine.mark).records)).toEqual(["a4"]);
    expect(ids(j.read(other.mark).records)).toEqual(["a4"]);
    // The id line is no record and no torn line.
    expect(j.read(null)).toMatchObject({ torn: 0 });
    expect(readFileSync(j.path, "utf8").split("\n")[0]).toMatch(/^\{"journal":"[A-Za-z0-9_-]+"\}$/);
  });

  test("a mark at the end of the journal reads nothing; a prune with it removes the file", async () => {
    const j = journal();
    await j.append([rec("a1")]);
    const m = j.read(null);
    expect(j.read(m.mark).records).toEqual([]);
    expect(j.size()).toBe(m.mark.offset);
    expect(await j.prune(m.mark)).toBe("removed");
    expect(j.read(null)).toMatchObject({ records: [], torn: 0 });
  });

  test("a journal without the id line (an older version's) is read and pruned as before", async () => {
    const j = journal();
    writeFileSync(j.path, JSON.stringify(rec("old1")) + "\n" + JSON.stringify(rec("old2")) + "\n");
    const m = j.read(null);
    expect(ids(m.records)).toEqual(["old1", "old2"]);
    appendFileSync(j.path, JSON.stringify(rec("old3")) + "\n");
    expect(ids(j.read(m.mark).records)).toEqual(["old3"]);
    expect(await j.prune(m.mark)).toBe("kept_tail");
    // The kept tail is a new file with an id line; every record in it is read.
    expect(ids(j.read(m.mark).records)).toEqual(["old3"]);
    expect(j.read(null).torn).toBe(0);
  });
});
