/**
 * Asserts a subprocess's exit code; on a mismatch the failure shows what the process said (stderr,
 * then the end of stdout), so a red test names the cause instead of "expected 0, received 1".
 */
export interface Exited {
  code: number | null;
  stdout?: string;
  stderr?: string;
  /** Combined output, for helpers that capture one stream (promtool). */
  out?: string;
  command?: string;
}

const tail = (s: string, n = 4000) => (s.length > n ? `…${s.slice(-n)}` : s);

export function expectExit(r: Exited, code = 0, what = r.command ?? "the process"): void {
  if (r.code === code) return;
  throw new Error(
    `${what} exited with ${r.code}, expected ${code}\n--- stderr ---\n${tail(r.stderr ?? r.out ?? "") || "(empty)"}\n--- stdout ---\n${tail(r.stdout ?? "") || "(empty)"}`,
  );
}
