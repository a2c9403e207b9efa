// Functions calling functions, without leaving the node:
//   flick deploy examples/bindings/front.ts --service-binding USERS=users --queue-binding JOBS=resize
// env.USERS.fetch() runs the `users` function; env.JOBS.send() queues work for `resize`
// and resolves once it is on disk. Bindings reach functions of the same tenant only.
interface Env {
  USERS: { fetch(input: string): Promise<Response> };
  JOBS: { send(body: unknown): Promise<void> };
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const id = new URL(request.url).searchParams.get("user") ?? "1";
    const user = (await (await env.USERS.fetch(`http://users/?id=${id}`)).json()) as { name: string };
    await env.JOBS.send({ user: id, photo: "avatar.jpg" });
    return Response.json({ hello: user.name, queued: "resize" });
  },
};
