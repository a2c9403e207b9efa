export { Membership, type MembershipEvent, type MembershipOptions, type NodeInfo } from "./membership.ts";
export { KvRegistry, type KvRegistryOptions } from "./kv-registry.ts";
