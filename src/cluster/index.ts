export { Membership, type MembershipEvent, type MembershipOptions, type NodeInfo } from "./membership.ts";
