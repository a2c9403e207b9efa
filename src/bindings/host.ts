/**
 * The host side of every binding kind, by kind (`Binding.kind`): what the worker host calls
 * for a "binding" op. The guest side's list is guest.ts; the two name the same kinds
 * (test/bindings-registry.test.ts).
 */
import type { BindingHost } from "./host-types.ts";
import { doHost } from "./do/host.ts";
import { kvHost } from "./kv/host.ts";
import { queueHost } from "./queue/host.ts";
import { serviceHost } from "./service/host.ts";
import { sqlHost } from "./sql/host.ts";

export const hostBindings: ReadonlyMap<string, BindingHost> = new Map([
  [serviceHost.kind, serviceHost],
  [queueHost.kind, queueHost],
  [kvHost.kind, kvHost],
  [sqlHost.kind, sqlHost],
  [doHost.kind, doHost],
]);
