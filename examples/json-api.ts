// A small JSON API with routes, query and body parsing — no framework.
//   curl localhost:8080/fn/json-api/greet?name=Ada
//   curl -X POST localhost:8080/fn/json-api/sum -d '{"numbers":[1,2,3]}'
//   curl localhost:8080/fn/json-api/echo -H 'x-demo: 1'
interface Env {
  GREETING?: string;
}

const json = (data: unknown, status = 200): Response => Response.json(data, { status });

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    const route = `${request.method} ${url.pathname}`;
    switch (route) {
      case "GET /greet": {
        const name = url.searchParams.get("name") ?? "world";
        return json({ message: `${env.GREETING ?? "Hello"}, ${name}!` });
      }
      case "POST /sum": {
        let body: unknown;
        try {
          body = await request.json();
        } catch {
          return json({ error: "send a JSON body like {\"numbers\": [1, 2, 3]}" }, 400);
        }
        const numbers = (body as { numbers?: unknown }).numbers;
        if (!Array.isArray(numbers) || !numbers.every((n) => typeof n === "number")) {
          return json({ error: "numbers must be an array of numbers" }, 400);
        }
        return json({ sum: numbers.reduce((a: number, b: number) => a + b, 0), count: numbers.length });
      }
      case "GET /echo":
        return json({ method: request.method, path: url.pathname, query: Object.fromEntries(url.searchParams), headers: Object.fromEntries(request.headers) });
      default:
        return json({ error: `no route ${route}`, routes: ["GET /greet?name=", "POST /sum", "GET /echo"] }, 404);
    }
  },
};
