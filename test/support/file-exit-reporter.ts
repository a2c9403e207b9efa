// A node:test reporter that says how a test file's process ended when it ended badly.
//
// When a file's process exits non-zero after its tests passed (a crash, an exception
// thrown after a test ended, a stray process.exitCode), the spec reporter prints only
// "'test failed'" for the file. This reporter, run beside it, prints at the end of the
// run each such file with its exit code or the signal that killed it, and the last lines
// it wrote to stderr, so one failing CI run is enough to tell a native crash from a late
// exception.
import { relative, resolve } from "node:path";
import type { TestEvent } from "node:test/reporters";

interface FileEnd {
  file: string;
  exitCode: unknown;
  signal: unknown;
}

const keptStderrLines = 40;

export default async function* fileExitReporter(source: AsyncIterable<TestEvent>): AsyncGenerator<string> {
  const stderr = new Map<string, string[]>();
  const ended: FileEnd[] = [];
  for await (const event of source) {
    if (event.type === "test:stderr") {
      // Stderr events name the file relative to the working directory, failures absolutely.
      const file = resolve(event.data.file ?? "?");
      const lines = stderr.get(file) ?? [];
      lines.push(...event.data.message.split("\n").filter((l) => l.length > 0));
      stderr.set(file, lines.slice(-keptStderrLines));
    } else if (event.type === "test:fail") {
      // A file's own failure is the only one whose error carries how its process ended.
      const error = event.data.details.error as Error & { exitCode?: unknown; signal?: unknown; failureType?: unknown };
      if (error.exitCode === undefined && error.signal === undefined) continue;
      ended.push({ file: resolve(event.data.file ?? event.data.name), exitCode: error.exitCode, signal: error.signal });
    }
  }
  if (ended.length === 0) return;
  let out = "\nTest files whose process ended badly:\n";
  for (const end of ended) {
    const how = end.signal ? `killed by ${String(end.signal)}` : `exit code ${String(end.exitCode)}`;
    out += `  ${relative(process.cwd(), end.file)}: ${how}\n`;
    const lines = stderr.get(end.file) ?? [];
    out += lines.length === 0 ? "    (nothing on stderr)\n" : lines.map((l) => `    stderr| ${l}\n`).join("");
  }
  yield out;
}
