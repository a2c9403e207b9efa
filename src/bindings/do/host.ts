/**
 * A durable-object binding's host side. A stub's `fetch` is an outbound request in every
 * way the caller is charged for, as a service call is (fetch()'s limits, a subrequest, one
 * of the connections, a log line, the trace context) and goes to the node, which runs it on
 * the object's one instance. An object's storage calls come only through the storage
 * binding its own instance was given (`$storage`), never through env; they count against
 * the invocation's 10,000 storage operations.
 */
import { answer, type BindingHost } from "../host-types.ts";
import { forwardFetch } from "../service/forward-fetch.ts";
import { doContract, objectProblem } from "./contract.ts";

export const doHost: BindingHost = {
  kind: doContract.kind,
  async call(ctx, binding, target, method, strings, buffers) {
    if (binding === doContract.storageBinding) {
      if (!doContract.storageMethods.includes(method)) return answer(`storage.${method.slice(0, 64)}() is not a method of durable object storage`, "TypeError");
      if (!ctx.count(doContract.kind, doContract.operationsPerInvocation)) {
        return answer(`too many storage operations: one request may make at most ${doContract.operationsPerInvocation}`);
      }
      const span = { name: `flick.do.storage.${method}`, kind: "client" as const, attributes: () => ({ "flick.class": target.slice(0, target.indexOf("\n")) }) };
      return ctx.call(span, method, strings, buffers, (r) => r.error || undefined);
    }
    if (method !== doContract.fetch) return answer(`env.${binding}: ${method.slice(0, 64)}() is not a method of a durable object stub`, "TypeError");
    const [id, name] = strings;
    const bad = objectProblem(id, name);
    if (bad !== null) return answer(`env.${binding}: ${bad}`, "TypeError");
    return forwardFetch(ctx, {
      what: `env.${binding}.get(…).fetch`, span: `flick.do ${binding}`, attributes: { "flick.class": target, "flick.object": id! },
      leading: [id!, name!], strings: strings.slice(2), buffers, note: `object ${target} ${id!.slice(0, 12)}…`, errorName: "Error",
    });
  },
};
