// WASI preview 1 programs as functions, the CGI way (src/wasi/): a C program built here
// from test/wasi/prog.c with Debian's clang and wasi-libc, deployed through the CLI to a
// real node, then called over HTTP. What it does is chosen by the request's path.
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { after, before, test } from "node:test";
import { flick } from "./support/cli.ts";
import { repoRoot, startTestNode, tempDir, type TestNode } from "./support/node-process.ts";
import { buildAssemblyScript, buildC, buildRust } from "./support/wasi-build.ts";

let node: TestNode;
let prog: string;
let dataDir: string;

before(async () => {
  prog = buildC(path.join(repoRoot, "test", "wasi", "prog.c"));
  dataDir = tempDir("flick-wasi-data-");
  writeFileSync(path.join(dataDir, "greeting.txt"), "hello from a shipped file\n");
  mkdirSync(path.join(dataDir, "sub"));
  writeFileSync(path.join(dataDir, "sub", "inner.txt"), "inner\n");
  node = await startTestNode({ hosts: 1 });
  const deployed = await flick(["deploy", prog, "--name", "cprog", "--arg", "first", "--arg", "second arg", "--dir", `${dataDir}:/data`, "--env", "GREETING=hi there", "--timeout", "5s", "--memory", "64", "--data-dir", node.dataDir]);
  assert.equal(deployed.code, 0, deployed.stderr);
});
after(() => node?.kill());

test("stdout without a header block is a 200 text/plain body; the exit code rides along", { timeout: 60_000 }, async () => {
  const res = await fetch(`${node.url}/fn/cprog/hello`);
  assert.equal(res.status, 200);
  assert.equal(await res.text(), "hello from C\n");
  assert.match(res.headers.get("content-type") ?? "", /^text\/plain/);
  assert.equal(res.headers.get("x-flick-exit-code"), "0");
});

test("a CGI response sets status and headers; args, CGI variables, --env and stdin reach the program", { timeout: 60_000 }, async () => {
  const res = await fetch(`${node.url}/fn/cprog/cgi?a=1&b=two`, { method: "POST", headers: { "x-test": "header value" }, body: "x".repeat(1000) });
  assert.equal(res.status, 201, await res.clone().text());
  assert.equal(res.headers.get("content-type"), "application/json");
  assert.equal(res.headers.get("x-prog"), "c");
  assert.deepEqual(await res.json(), { argc: 3, argv1: "first", argv2: "second arg", method: "POST", path: "/cgi", query: "a=1&b=two", header: "header value", var: "hi there", stdin: 1000 });
});

test("a large body goes through stdin and comes back on stdout, byte for byte", { timeout: 60_000 }, async () => {
  const body = new Uint8Array(3 * 1024 * 1024 + 17);
  for (let i = 0; i < body.length; i++) body[i] = (i * 7 + (i >> 11)) & 255;
  const res = await fetch(`${node.url}/fn/cprog/echo`, { method: "POST", body });
  assert.equal(res.status, 200);
  const got = new Uint8Array(await res.arrayBuffer());
  assert.equal(got.length, body.length);
  assert.ok(Buffer.from(got).equals(Buffer.from(body)), "the echoed bytes differ");
});

test("files: shipped ones read, the overlay takes writes, renames and removals, and the next request starts clean", { timeout: 60_000 }, async () => {
  for (let i = 0; i < 2; i++) {
    const res = await fetch(`${node.url}/fn/cprog/files`);
    const text = await res.text();
    assert.equal(res.status, 200, text);
    assert.equal(
      text,
      [
        "read: hello from a shipped file",
        "out.txt before: absent",
        "read back: written by this request",
        "listing: . .. made sub",
        "escape: Capabilities insufficient",
        "",
      ].join("\n"),
      `request ${i + 1}`,
    );
  }
});

test("clocks come from the guest clock and move by what the program slept; random bytes differ per run", { timeout: 60_000 }, async () => {
  const runs: Record<string, string>[] = [];
  for (let i = 0; i < 2; i++) {
    const res = await fetch(`${node.url}/fn/cprog/clocks`);
    const text = await res.text();
    assert.equal(res.status, 200, text);
    runs.push(Object.fromEntries(text.trim().split("\n").map((l) => l.split(" ") as [string, string])));
  }
  const now = Date.now() / 1000;
  assert.ok(Math.abs(Number(runs[0]!["realtime"]) - now) < 300, `realtime ${runs[0]!["realtime"]} is today`);
  assert.equal(runs[0]!["slept_ms"], "2000");
  assert.match(runs[0]!["random"]!, /^[0-9a-f]{32}$/);
  assert.notEqual(runs[0]!["random"], runs[1]!["random"]);
});

test("a non-zero exit is a 502 function_error carrying the code, stdout and stderr; stderr is in the logs", { timeout: 60_000 }, async () => {
  const res = await fetch(`${node.url}/fn/cprog/exit/7`);
  assert.equal(res.status, 502);
  assert.equal(res.headers.get("x-flick-exit-code"), "7");
  const body = (await res.json()) as { error: { code: string; message: string; stdout: string; stderr: string } };
  assert.equal(body.error.code, "function_error");
  assert.match(body.error.message, /exited with code 7/);
  assert.equal(body.error.stdout, "partial output\n");
  assert.equal(body.error.stderr, "exiting with 7\n");
  const logs = await flick(["logs", "cprog", "--data-dir", node.dataDir]);
  assert.match(logs.stdout, /exiting with 7/);
});

test("a trap is a 502 with the trap's message and exit code `trap`; the function keeps serving", { timeout: 60_000 }, async () => {
  const res = await fetch(`${node.url}/fn/cprog/trap`);
  assert.equal(res.status, 502);
  assert.equal(res.headers.get("x-flick-exit-code"), "trap");
  assert.match(((await res.json()) as { error: { message: string } }).error.message, /the program trapped: unreachable/);
  const again = await fetch(`${node.url}/fn/cprog/hello`);
  assert.equal(again.status, 200);
});

test("no run sees what the one before it left in memory: static data and the heap start zeroed", { timeout: 60_000 }, async () => {
  for (const mark of ["first", "second", "third"]) {
    const res = await fetch(`${node.url}/fn/cprog/leftover?${mark}`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), "found 0 non-zero bytes\n", `run ${mark}`);
  }
});

test("a burst of 48 requests at once on one instance all answer: runs reuse one memory, not 8 GiB of address space each", { timeout: 60_000 }, async () => {
  const answers = await Promise.all(Array.from({ length: 48 }, async (_, i) => {
    const res = await fetch(`${node.url}/fn/cprog/leftover?burst${i}`);
    return `${res.status} ${await res.text()}`;
  }));
  assert.deepEqual(answers.filter((a) => a !== "200 found 0 non-zero bytes\n"), []);
});

test("a program that loops is stopped at its timeout; one that allocates without end meets its memory limit", { timeout: 60_000 }, async () => {
  const loop = await fetch(`${node.url}/fn/cprog/loop`);
  assert.equal(loop.status, 504, await loop.clone().text());
  assert.equal(((await loop.json()) as { error: { code: string } }).error.code, "timeout");
  const oom = await fetch(`${node.url}/fn/cprog/oom`);
  const text = await oom.text();
  // Past the 64 MiB limit, memory.grow answers -1 and malloc returns NULL, which this program reports.
  assert.equal(oom.status, 200, text);
  assert.match(text, /^malloc failed after \d+ MiB\n$/);
  assert.ok(Number(/after (\d+)/.exec(text)![1]) < 64, text);
  const again = await fetch(`${node.url}/fn/cprog/hello`);
  assert.equal(again.status, 200);
});

test("a config file's [wasi] table gives the arguments and directories; flags replace its lists", { timeout: 60_000 }, async () => {
  const project = tempDir("flick-wasi-project-");
  mkdirSync(path.join(project, "files"));
  writeFileSync(path.join(project, "files", "greeting.txt"), "from the project\n");
  writeFileSync(path.join(project, "prog.wasm"), readFileSync(prog));
  writeFileSync(path.join(project, "flick.toml"), ['name = "cfgprog"', 'entry = "prog.wasm"', "[wasi]", 'args = ["from-config", "two"]', 'dirs = ["files:/data"]', ""].join("\n"));
  const deployed = await flick(["deploy", "--config", path.join(project, "flick.toml"), "--data-dir", node.dataDir]);
  assert.equal(deployed.code, 0, deployed.stderr);
  const cgi = (await (await fetch(`${node.url}/fn/cfgprog/cgi`)).json()) as { argv1: string; argv2: string };
  assert.deepEqual([cgi.argv1, cgi.argv2], ["from-config", "two"]);
  assert.match(await (await fetch(`${node.url}/fn/cfgprog/files`)).text(), /^read: from the project\n/);
  const flagged = await flick(["deploy", "--config", path.join(project, "flick.toml"), "--arg", "from-flag", "--data-dir", node.dataDir]);
  assert.equal(flagged.code, 0, flagged.stderr);
  const again = (await (await fetch(`${node.url}/fn/cfgprog/cgi`)).json()) as { argc: number; argv1: string };
  assert.deepEqual([again.argc, again.argv1], [2, "from-flag"]);
});

test("a Rust program built with rustc for wasm32-wasi answers the CGI way and exits with its code", { timeout: 120_000 }, async () => {
  const rust = buildRust(path.join(repoRoot, "test", "wasi", "hello.rs"));
  const deployed = await flick(["deploy", rust, "--name", "rsprog", "--arg", "one", "--arg", "two words", "--data-dir", node.dataDir]);
  assert.equal(deployed.code, 0, deployed.stderr);
  const res = await fetch(`${node.url}/fn/rsprog/x`, { method: "POST", body: "hello" });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("x-lang"), "rust");
  assert.equal(res.headers.get("x-flick-exit-code"), "0");
  assert.equal(await res.text(), 'rust args=["one", "two words"] method=POST path=/x body=5\n');
  const failed = await fetch(`${node.url}/fn/rsprog/fail`);
  assert.equal(failed.status, 502);
  assert.equal(failed.headers.get("x-flick-exit-code"), "3");
  assert.equal(((await failed.json()) as { error: { stderr: string } }).error.stderr, "failing on purpose\n");
});

test("an AssemblyScript program built with asc and its WASI shim: CGI head, args, env, stdin, clocks, random, exit codes and a trap", { timeout: 180_000 }, async () => {
  const as = buildAssemblyScript(path.join(repoRoot, "test", "wasi", "prog-as.ts"));
  const deployed = await flick(["deploy", as, "--name", "asprog", "--arg", "one", "--arg", "two", "--env", "GREETING=hey", "--data-dir", node.dataDir]);
  assert.equal(deployed.code, 0, deployed.stderr);
  const res = await fetch(`${node.url}/fn/asprog/cgi?q=1`, { method: "PUT", body: "y".repeat(10_000) });
  assert.equal(res.status, 202);
  assert.equal(res.headers.get("x-prog"), "assemblyscript");
  assert.equal(await res.text(), "args one,two\nmethod PUT\nquery q=1\ngreeting hey\nstdin 10000\n");
  assert.equal(await (await fetch(`${node.url}/fn/asprog/clocks`)).text(), "random differs\nafter 2020 yes\n");
  const hello = await fetch(`${node.url}/fn/asprog/`);
  assert.deepEqual([hello.status, await hello.text()], [200, "hello from AssemblyScript\n"]);
  const exited = await fetch(`${node.url}/fn/asprog/exit/7`);
  assert.deepEqual([exited.status, exited.headers.get("x-flick-exit-code")], [502, "7"]);
  assert.equal(((await exited.json()) as { error: { stderr: string } }).error.stderr, "exiting with 7\n");
  const trapped = await fetch(`${node.url}/fn/asprog/trap`);
  assert.deepEqual([trapped.status, trapped.headers.get("x-flick-exit-code")], [502, "trap"]);
  await trapped.arrayBuffer();
});

test("deploying what is not a WASI command says what to do", { timeout: 60_000 }, async () => {
  const dir = tempDir("flick-wasi-bad-");
  const notWasm = path.join(dir, "not.wasm");
  writeFileSync(notWasm, "hello");
  const a = await flick(["deploy", notWasm, "--data-dir", node.dataDir]);
  assert.notEqual(a.code, 0);
  assert.match(a.stderr, /not a WebAssembly binary/);
  // A library: exports add, no _start, no memory.
  const lib = path.join(dir, "lib.wasm");
  writeFileSync(lib, new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 7, 1, 0x60, 2, 0x7f, 0x7f, 1, 0x7f, 3, 2, 1, 0, 7, 7, 1, 3, 0x61, 0x64, 0x64, 0, 0, 0x0a, 9, 1, 7, 0, 0x20, 0, 0x20, 1, 0x6a, 0x0b]));
  const b = await flick(["deploy", lib, "--data-dir", node.dataDir]);
  assert.notEqual(b.code, 0);
  assert.match(b.stderr, /exports no _start function: build it as a WASI command/);
  const c = await flick(["deploy", prog, "--dir", `${path.join(dir, "nope")}:/x`, "--data-dir", node.dataDir]);
  assert.notEqual(c.code, 0);
  assert.match(c.stderr, /--dir .*nope:\/x: .* is not a directory/);
  const d = await flick(["deploy", path.join(repoRoot, "examples", "hello.ts"), "--arg", "x", "--data-dir", node.dataDir]);
  assert.notEqual(d.code, 0);
  assert.match(d.stderr, /--arg and --dir \(or \[wasi\] in flick.toml\) are for WebAssembly programs/);
});
