// A Rust WASI program for test/wasi-programs.test.ts: a CGI answer naming what it was given,
// or exit code 3 on /fail. Built with Debian's rustc and libstd-rust-dev-wasm32.
use std::io::{Read, Write};
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let path = std::env::var("PATH_INFO").unwrap_or_default();
    let mut body = Vec::new();
    std::io::stdin().read_to_end(&mut body).unwrap();
    if path == "/fail" {
        eprintln!("failing on purpose");
        std::process::exit(3);
    }
    let out = std::io::stdout();
    let mut out = out.lock();
    write!(out, "Content-Type: text/plain\r\nX-Lang: rust\r\n\r\n").unwrap();
    writeln!(out, "rust args={:?} method={} path={} body={}", &args[1..], std::env::var("REQUEST_METHOD").unwrap_or_default(), path, body.len()).unwrap();
}
