// A Hono app exactly as Hono documents it for Cloudflare Workers.
//   curl localhost:8080/fn/hono-app/
//   curl localhost:8080/fn/hono-app/posts/42
import { Hono } from "hono";

const app = new Hono();

app.get("/", (c) => c.text("Hello Hono on Flick!"));
app.get("/posts/:id", (c) => c.json({ id: c.req.param("id"), page: c.req.query("page") ?? "1" }));
app.post("/posts", async (c) => c.json(await c.req.json(), 201));

export default app;
