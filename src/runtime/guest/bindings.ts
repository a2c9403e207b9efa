/**
 * Bindings in `env`: objects that reach other functions of the same tenant through the
 * host, never the network (`env.API.fetch(request)`, `env.JOBS.send(body)`). Each kind is
 * made by its folder under src/bindings/ and speaks the binding channel
 * (binding-channel.ts). The guest names only its binding; the host knows what it points at.
 */
import { guestBindings, objectState } from "../../bindings/guest.ts";

/** The env object of a binding, by kind (`Binding.kind`). */
export function bindingObject(name: string, kind: string): object {
  const make = guestBindings[kind];
  if (make === undefined) throw new Error(`internal error in the Flick runtime: no binding kind ${kind}`);
  return make(name);
}

/** The `state` a durable object's class is constructed with (bindings/do/guest.ts). */
export function objectStateFor(id: string, name: string): object {
  return objectState(id, name);
}
