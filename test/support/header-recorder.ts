/** A real HTTP server on 127.0.0.1 that answers "ok" and keeps the headers of each request it got (what a function's fetch sent). */
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";

export interface HeaderRecorder {
  /** Its base URL (`http://127.0.0.1:<port>`). */
  url: string;
  /** The requests' headers, in order; tests clear it between calls. */
  seen: IncomingHttpHeaders[];
  close(): void;
}

export async function startHeaderRecorder(): Promise<HeaderRecorder> {
  const seen: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    seen.push(req.headers);
    req.resume();
    req.on("end", () => res.end("ok"));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, close: () => server.close() };
}
