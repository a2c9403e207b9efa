// Notes in a SQL database (D1's API): `flick db create notes`, `flick db query notes
// "CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)"`, then
// `flick deploy examples/state/notes.ts --sql-binding DB=notes`. POST a note, GET them all.
interface Env {
  DB: {
    prepare(sql: string): {
      bind(...values: unknown[]): { run(): Promise<{ meta: { last_row_id: number } }> };
      all<T>(): Promise<{ results: T[] }>;
    };
  };
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    if (request.method === "POST") {
      const { meta } = await env.DB.prepare("INSERT INTO notes (text) VALUES (?)").bind(await request.text()).run();
      return Response.json({ id: meta.last_row_id }, { status: 201 });
    }
    const { results } = await env.DB.prepare("SELECT id, text FROM notes ORDER BY id").all<{ id: number; text: string }>();
    return Response.json(results);
  },
};
