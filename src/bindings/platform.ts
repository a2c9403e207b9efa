/**
 * The platform side of every binding kind, by kind: what the node opens at start and hands
 * each binding call and each deploy's binding check. The guest side's list is guest.ts and
 * the host side's host.ts; the three name the same kinds (test/bindings-registry.test.ts).
 */
import { kvPlatform } from "./kv/platform.ts";
import type { BindingPlatformKind } from "./platform-types.ts";
import { queuePlatform } from "./queue/platform.ts";
import { servicePlatform } from "./service/platform.ts";
import { sqlPlatform } from "./sql/platform.ts";
import { doPlatform } from "./do/platform.ts";

export const platformBindings: readonly BindingPlatformKind[] = [servicePlatform, queuePlatform, kvPlatform, sqlPlatform, doPlatform];
export { KvPlatform, type KvBulkEntry, type KvNamespaceInfo } from "./kv/platform.ts";
export { defaultBindingOptions, type BindingOptions } from "./platform-types.ts";
export { SqlPlatform, type SqlDatabaseInfo, type SqlQueryResult } from "./sql/platform.ts";
export { DoPlatform } from "./do/platform.ts";
