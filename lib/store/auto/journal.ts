/**
 * The outage journal: `<dir>/outage-journal.jsonl`, one operation per line, appended under the JSONL
 * directory lock with one write + fsync before the write it records is acknowledged. Appends open the
 * file by path each time, so a prune (atomic rename, also under the lock) never strands a writer on an
 * unlinked inode. Readers remember (file id, byte offset) of what they replayed: the next pass reads only
 * what was appended since, and a prune keeps exactly the bytes after that offset.
 *
 * The file id is the journal's first line, `{"journal":"<random>"}`, written when the file is made (first
 * append, or a prune keeping a tail). Not the inode: a removed journal's inode number comes straight back
 * for the next one (ext4 reuses it almost always), and a mark on the old file would then skip that many
 * bytes of the new one — which the next prune would delete unreplayed. A journal without the line (an
 * older version's, or a first append torn by a crash) is known by its inode, as before.
 *
 * Records replay cannot apply go to `<dir>/outage-journal.quarantine.jsonl` with the reason, and the
 * replay moves on (issue 14 case 4): one bad record never keeps the store on the fallback.
 */
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import { open, unlink } from "node:fs/promises";
import { join } from "node:path";
import { AppError, describeError } from "../../core/errors.ts";
import { replaceFile, syncDir } from "../../fs/atomic-write.ts";

export const JOURNAL_FILE = "outage-journal.jsonl";
export const QUARANTINE_FILE = "outage-journal.quarantine.jsonl";

/** Where a reader stopped: the file's id (its first line) and the end of the last complete line it consumed. */
export interface JournalMark {
  file: string;
  offset: number;
}

/** The first line of a journal file: a new id each time a file is made. */
const headerLine = () => JSON.stringify({ journal: randomBytes(9).toString("base64url") }) + "\n";

/** The file's id from its first line, or its inode for a file without one; and where its records start. */
function identify(buf: Buffer, ino: number): { file: string; body: number } {
  const nl = buf.indexOf(10);
  if (nl > 0) {
    try {
      const first = JSON.parse(buf.toString("utf8", 0, nl)) as { journal?: unknown; op_id?: unknown };
      if (first && typeof first.journal === "string" && first.op_id === undefined) return { file: first.journal, body: nl + 1 };
    } catch {
      // not a header: a journal of an older version, or a torn first append
    }
  }
  return { file: `ino:${ino}`, body: 0 };
}

export interface JournalRead<T> {
  records: T[];
  /** Lines that are not JSON (a torn append of a crashed writer: never acknowledged). */
  torn: number;
  mark: JournalMark;
}

/** `header` makes the first line of a file this append creates. */
async function appendSynced(path: string, text: string, header?: () => string): Promise<void> {
  const fh = await open(path, "a+");
  try {
    const { size } = await fh.stat();
    if (size === 0 && header) text = header() + text;
    else if (size > 0) {
      // After a torn append, start on a fresh line so this record is not glued to the fragment.
      const last = new Uint8Array(1);
      await fh.read(last, 0, 1, size - 1);
      if (last[0] !== 10) text = "\n" + text;
    }
    await fh.write(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export class OpJournal<T extends { op_id: string }> {
  readonly path: string;
  readonly quarantinePath: string;
  private quarantineCount: number | null = null;

  constructor(readonly dir: string, name = JOURNAL_FILE, quarantineName = QUARANTINE_FILE) {
    this.path = join(dir, name);
    this.quarantinePath = join(dir, quarantineName);
  }

  /** Caller holds the directory lock. Durable when it resolves. */
  async append(records: T[]): Promise<void> {
    if (!records.length) return;
    try {
      await appendSynced(this.path, records.map((r) => JSON.stringify(r) + "\n").join(""), headerLine);
    } catch (err) {
      throw new AppError("unavailable", `Cannot append to the outage journal ${this.path}: ${describeError(err)}. The write was not acknowledged; check disk space and permissions.`, { cause: err });
    }
  }

  /** Bytes in the journal now (0 when absent): a cheap "is there anything to replay" check. */
  size(): number {
    try {
      return statSync(this.path).size;
    } catch {
      return 0;
    }
  }

  /**
   * Complete lines after `from` (from the start when the file was replaced or shrank since). The
   * snapshot is the file as it was at this call: lines appended later are read by the next call.
   */
  read(from: JournalMark | null): JournalRead<T> {
    let st;
    let buf;
    try {
      st = statSync(this.path);
      buf = readFileSync(this.path);
    } catch {
      return { records: [], torn: 0, mark: { file: "", offset: 0 } };
    }
    const { file, body } = identify(buf, st.ino);
    const end = Math.min(buf.length, st.size);
    const start = from && from.file === file && from.offset <= end ? Math.max(from.offset, body) : body;
    const lastNl = buf.lastIndexOf(10, end - 1);
    const stop = lastNl < start ? start : lastNl + 1;
    const text = buf.toString("utf8", start, stop);
    const records: T[] = [];
    let torn = 0;
    for (const line of text.split("\n")) {
      if (!line) continue;
      try {
        const rec = JSON.parse(line) as T;
        if (rec && typeof rec === "object" && typeof rec.op_id === "string") records.push(rec);
        else torn++;
      } catch {
        torn++;
      }
    }
    return { records, torn, mark: { file, offset: stop } };
  }

  /**
   * Caller holds the directory lock. Drops what `mark` says was replayed: removes the file when nothing
   * was appended since, else keeps the bytes after the mark (temp file, fsync, rename). A file replaced
   * since the mark (another process pruned it) is left alone.
   */
  async prune(mark: JournalMark): Promise<"removed" | "kept_tail" | "untouched"> {
    let st;
    let buf;
    try {
      st = statSync(this.path);
      buf = readFileSync(this.path);
    } catch {
      return "untouched";
    }
    const { file, body } = identify(buf, st.ino);
    if (file !== mark.file || mark.offset <= body) return "untouched";
    if (buf.length <= mark.offset) {
      await unlink(this.path);
      syncDir(this.dir);
      return "removed";
    }
    await replaceFile(this.path, [headerLine(), buf.subarray(mark.offset)]);
    return "kept_tail";
  }

  /** Sets a record aside with the reason; durable when it resolves. */
  async quarantine(record: T, reason: string, at: Date): Promise<void> {
    this.quarantined(); // count the file as it was before this line
    await appendSynced(this.quarantinePath, JSON.stringify({ quarantined_at: at.toISOString(), reason, record }) + "\n");
    this.quarantineCount! += 1;
  }

  /** Records in the quarantine file (set aside by any process, ever, until an operator removes the file). */
  quarantined(): number {
    if (this.quarantineCount === null) {
      this.quarantineCount = existsSync(this.quarantinePath) ? readFileSync(this.quarantinePath, "utf8").split("\n").filter(Boolean).length : 0;
    }
    return this.quarantineCount;
  }
}
