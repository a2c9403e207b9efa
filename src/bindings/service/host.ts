/**
 * A service binding's host side: `fetch` on the binding channel runs the request on the
 * bound function (no HTTP hop) and answers in the shape of an outbound fetch, so the guest
 * builds the same Response. It is an outbound request in every way the caller is charged
 * for (forward-fetch.ts), and the callee continues the call's trace.
 */
import { answer, type BindingAnswer, type BindingHost } from "../host-types.ts";
import { serviceContract } from "./contract.ts";
import { forwardFetch } from "./forward-fetch.ts";

export const serviceHost: BindingHost = {
  kind: serviceContract.kind,
  async call(ctx, binding, target, method, strings, buffers): Promise<BindingAnswer> {
    if (method !== serviceContract.fetch) return answer(`env.${binding}.${method.slice(0, 64)}() is not a method of a service binding`, "TypeError");
    // The platform side (./platform.ts) gets method, URL and headers, and the body.
    return forwardFetch(ctx, {
      what: `env.${binding}.fetch`, span: `flick.service ${binding}`, attributes: { "flick.target": target.slice(target.indexOf("/") + 1) },
      leading: [], strings, buffers, errorName: "TypeError",
    });
  },
};
