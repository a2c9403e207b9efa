/**
 * A ledger of executions kept outside the node: a function under test calls it (real HTTP
 * on 127.0.0.1) with its invocation id and attempt before it answers, so a test can count
 * how often each invocation really ran and when — whatever the node says or forgot.
 */
import { createServer, type Server } from "node:http";

export interface Hit {
  id: string;
  attempt: number;
  atMs: number;
}

export interface Ledger {
  url: string;
  hits: Hit[];
  /** Executions per invocation id. */
  counts(): Map<string, number>;
  close(): Promise<void>;
}

export async function startLedger(): Promise<Ledger> {
  const hits: Hit[] = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://ledger");
    hits.push({ id: url.searchParams.get("id") ?? "", attempt: Number(url.searchParams.get("attempt")), atMs: performance.now() });
    res.end("noted");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    hits,
    counts() {
      const counts = new Map<string, number>();
      for (const h of hits) counts.set(h.id, (counts.get(h.id) ?? 0) + 1);
      return counts;
    },
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/**
 * The function the async tests deploy: reports each execution to the ledger (env.LEDGER),
 * then does what its body says: "fail" throws, "5xx" answers 503, "sleep:N" waits N ms,
 * anything else completes with "ok <body>".
 */
export const ledgerFunction = `
export default {
  async fetch(request, env) {
    const id = request.headers.get("x-flick-invocation-id");
    const attempt = request.headers.get("x-flick-attempt");
    const body = await request.text();
    await fetch(env.LEDGER + "/hit?id=" + id + "&attempt=" + attempt);
    if (body === "fail") throw new Error("asked to fail");
    if (body === "5xx") return new Response("not now", { status: 503 });
    if (body.startsWith("sleep:")) await new Promise((r) => setTimeout(r, Number(body.slice(6))));
    return new Response("ok " + body);
  },
};
`;
