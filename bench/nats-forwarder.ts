/**
 * The NATS request-reply side of the forwarding measurement (bench/cluster-forward.ts), in
 * its own process as a node's would be: it answers requests on `<subject>` by running
 * them against a Flick node over loopback HTTP and replying with the answer. A request is
 * a message whose header `flick-head` holds the method, path and headers as JSON and whose
 * data is the body; the reply carries the status and headers the same way. Not part of
 * Flick: it measures what a hop over NATS costs, next to the direct HTTP hop Flick uses.
 *
 *   node bench/nats-forwarder.ts <nats urls, comma-separated> <subject> <node url>
 */
import { connect, headers as natsHeaders } from "@nats-io/transport-node";

const [servers, subject, nodeUrl] = process.argv.slice(2);
if (servers === undefined || subject === undefined || nodeUrl === undefined) throw new Error("usage: nats-forwarder.ts <servers> <subject> <node url>");
const nc = await connect({ servers: servers.split(",") });
const sub = nc.subscribe(subject, { queue: "forward" });
process.stdout.write("ready\n");
for await (const msg of sub) {
  void (async () => {
    const head = JSON.parse(msg.headers?.get("flick-head") ?? "{}") as { method: string; path: string; headers: [string, string][] };
    const res = await fetch(new URL(head.path, nodeUrl), { method: head.method, headers: head.headers, ...(msg.data.length > 0 ? { body: msg.data } : {}) });
    const body = new Uint8Array(await res.arrayBuffer());
    const reply = natsHeaders();
    reply.set("flick-head", JSON.stringify({ status: res.status, headers: [...res.headers] }));
    msg.respond(body, { headers: reply });
  })();
}
