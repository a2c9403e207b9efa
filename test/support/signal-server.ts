/**
 * A tiny HTTP server on 127.0.0.1 that functions call to say "I am here now"
 * (`await fetch(SIGNAL + "/spinning-1")`), so hostile-code tests wait on that event instead
 * of sleeping. A request to `/hold/<name>` is also recorded, but its answer waits until the
 * test calls `release(name)`: a function can be kept in flight exactly as long as a test
 * needs. Start the node with `--egress-allow 127.0.0.1` so functions may reach it.
 */
import { createServer, type ServerResponse } from "node:http";

export interface SignalServer {
  /** http://127.0.0.1:<port> */
  url: string;
  /** The names that came (the path without its leading slash and query), in order of arrival. */
  hits: string[];
  /** How many requests for `name` came so far. */
  count(name: string): number;
  /** Resolves once `n` requests for `name` have come (at once if they already have). */
  arrived(name: string, n?: number): Promise<void>;
  /** Answers every request held at `/hold/<name>`, and those that come later. */
  release(name: string): void;
  close(): Promise<void>;
}

export async function startSignalServer(): Promise<SignalServer> {
  const hits: string[] = [];
  const held = new Map<string, ServerResponse[]>();
  const released = new Set<string>();
  const waiters: { name: string; n: number; resolve: () => void }[] = [];
  const count = (name: string) => hits.reduce((n, hit) => (hit === name ? n + 1 : n), 0);
  const server = createServer((req, res) => {
    const name = decodeURIComponent((req.url ?? "/").split("?")[0]!.slice(1));
    hits.push(name);
    for (const w of waiters.filter((w) => count(w.name) >= w.n)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
    const hold = name.startsWith("hold/") ? name.slice("hold/".length) : undefined;
    if (hold === undefined || released.has(hold)) return res.end("ok");
    const list = held.get(hold) ?? [];
    list.push(res);
    held.set(hold, list);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    hits,
    count,
    arrived: (name, n = 1) => (count(name) >= n ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ name, n, resolve }))),
    release(name) {
      released.add(name);
      for (const res of held.get(name) ?? []) res.end("ok");
      held.delete(name);
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const list of held.values()) for (const res of list) res.end("closing");
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
