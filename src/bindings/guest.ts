/**
 * The guest side of every binding kind: how `env.NAME` is made, by kind (`Binding.kind`).
 * Bundled into the runtime, so it imports only guest code; its Node-side twin is host.ts
 * (test/bindings-registry.test.ts checks they name the same kinds).
 */
import { durableObjectNamespace, objectState } from "./do/guest.ts";
import { kvBinding } from "./kv/guest.ts";
import { queueBinding } from "./queue/guest.ts";
import { serviceBinding } from "./service/guest.ts";
import { sqlBinding } from "./sql/guest.ts";

const kinds: Record<string, (name: string) => object> = Object.create(null) as Record<string, (name: string) => object>;
kinds["service"] = serviceBinding;
kinds["queue"] = queueBinding;
kinds["kv"] = kvBinding;
kinds["sql"] = sqlBinding;
kinds["do"] = durableObjectNamespace;

export const guestBindings: Readonly<Record<string, (name: string) => object>> = kinds;

/** A durable object's `state`, for the instance that holds it (runtime/guest/dispatcher.ts). */
export { objectState };
