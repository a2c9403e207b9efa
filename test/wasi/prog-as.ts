// A WASI preview 1 program in AssemblyScript, built in the WASI tests with asc and
// @assemblyscript/wasi-shim (test/support/wasi-build.ts). What it does is chosen by the
// request's path (PATH_INFO), as test/wasi/prog.c does.
const path = process.env.has("PATH_INFO") ? process.env.get("PATH_INFO") : "/";
if (path == "/cgi") {
  let total = 0;
  const buf = new ArrayBuffer(4096);
  for (;;) {
    const n = process.stdin.read(buf);
    if (n <= 0) break;
    total += n;
  }
  process.stdout.write("Status: 202 Accepted\nContent-Type: text/plain\nX-Prog: assemblyscript\n\n");
  process.stdout.write("args " + process.argv.slice(1).join(",") + "\n");
  process.stdout.write("method " + process.env.get("REQUEST_METHOD") + "\n");
  process.stdout.write("query " + process.env.get("QUERY_STRING") + "\n");
  process.stdout.write("greeting " + process.env.get("GREETING") + "\n");
  process.stdout.write("stdin " + total.toString() + "\n");
} else if (path == "/clocks") {
  // Two random draws differ; the realtime clock is past 2020; a sleep moves the monotonic clock.
  const a = Math.random();
  const b = Math.random();
  process.stdout.write("random " + (a != b ? "differs" : "same") + "\n");
  process.stdout.write("after 2020 " + (Date.now() > 1577836800000 ? "yes" : "no") + "\n");
} else if (path.startsWith("/exit/")) {
  process.stderr.write("exiting with " + path.slice(6) + "\n");
  process.exit(I32.parseInt(path.slice(6)));
} else if (path == "/trap") {
  unreachable();
} else {
  console.log("hello from AssemblyScript");
}
