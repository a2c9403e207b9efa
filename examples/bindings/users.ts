// A function other functions call through a service binding (see front.ts).
export default {
  fetch(request: Request): Response {
    const id = new URL(request.url).searchParams.get("id") ?? "1";
    return Response.json({ id, name: id === "1" ? "Ada" : "Grace" });
  },
};
