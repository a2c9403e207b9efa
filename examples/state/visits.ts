// A visit counter in a KV namespace: `flick kv create VISITS`, then
// `flick deploy examples/state/visits.ts --kv-binding VISITS=VISITS`.
interface Env {
  VISITS: {
    get(key: string): Promise<string | null>;
    put(key: string, value: string, options?: { metadata?: unknown }): Promise<void>;
  };
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const page = new URL(request.url).pathname;
    const visits = Number((await env.VISITS.get(page)) ?? "0") + 1;
    await env.VISITS.put(page, String(visits), { metadata: { last: new Date().toISOString() } });
    return Response.json({ page, visits });
  },
};
