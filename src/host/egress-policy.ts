/**
 * Which addresses a function's outbound fetch may connect to. Denied by default:
 * loopback, private, link-local (cloud metadata lives there), CGNAT, multicast, reserved
 * and documentation ranges in IPv4 and IPv6 — including IPv4 hidden in IPv6 (mapped,
 * NAT64) — any address of this machine, and every scheme but http and https. An operator
 * opens hosts or ranges with an allow-list (`flick up --egress-allow`).
 *
 * The policy judges the address the host will actually connect to, after DNS, so a name
 * that resolves to 127.0.0.1 is as denied as the literal.
 */
import { BlockList, isIP } from "node:net";
import { networkInterfaces } from "node:os";

interface Rule {
  name: string;
  list: BlockList;
}

const v4Ranges: [string, number, string][] = [
  ["0.0.0.0", 8, "0.0.0.0/8 'this network'"],
  ["10.0.0.0", 8, "10.0.0.0/8 private"],
  ["100.64.0.0", 10, "100.64.0.0/10 carrier-grade NAT"],
  ["127.0.0.0", 8, "127.0.0.0/8 loopback"],
  ["169.254.0.0", 16, "169.254.0.0/16 link-local (cloud metadata)"],
  ["172.16.0.0", 12, "172.16.0.0/12 private"],
  ["192.0.0.0", 24, "192.0.0.0/24 IETF protocol assignments"],
  ["192.0.2.0", 24, "192.0.2.0/24 documentation"],
  ["192.88.99.0", 24, "192.88.99.0/24 6to4 relay"],
  ["192.168.0.0", 16, "192.168.0.0/16 private"],
  ["198.18.0.0", 15, "198.18.0.0/15 benchmarking"],
  ["198.51.100.0", 24, "198.51.100.0/24 documentation"],
  ["203.0.113.0", 24, "203.0.113.0/24 documentation"],
  ["224.0.0.0", 4, "224.0.0.0/4 multicast"],
  ["240.0.0.0", 4, "240.0.0.0/4 reserved (and broadcast)"],
];
const v6Ranges: [string, number, string][] = [
  ["::", 128, "::/128 unspecified"],
  ["::1", 128, "::1/128 loopback"],
  ["100::", 64, "100::/64 discard"],
  ["2001::", 32, "2001::/32 Teredo"],
  ["2001:db8::", 32, "2001:db8::/32 documentation"],
  ["2002::", 16, "2002::/16 6to4"],
  ["fc00::", 7, "fc00::/7 unique local (incl. fd00:ec2::254 metadata)"],
  ["fe80::", 10, "fe80::/10 link-local"],
  ["fec0::", 10, "fec0::/10 site-local"],
  ["ff00::", 8, "ff00::/8 multicast"],
];

function rule(name: string, add: (list: BlockList) => void): Rule {
  const list = new BlockList();
  add(list);
  return { name, list };
}

const defaultRules: Rule[] = [
  ...v4Ranges.map(([net, prefix, name]) => rule(name, (l) => l.addSubnet(net, prefix, "ipv4"))),
  ...v6Ranges.map(([net, prefix, name]) => rule(name, (l) => l.addSubnet(net, prefix, "ipv6"))),
];

/** The IPv4 address inside an IPv4-mapped (::ffff:a.b.c.d), compatible or NAT64 (64:ff9b::/96) IPv6 address. */
export function embeddedIPv4(address: string): string | undefined {
  const lower = address.toLowerCase();
  const dotted = /^(?:::ffff:(?:0:)?|::|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (dotted !== null) return dotted[1];
  const hex = /^(?:::ffff:(?:0:)?|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (hex === null) return undefined;
  const hi = parseInt(hex[1]!, 16);
  const lo = parseInt(hex[2]!, 16);
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

export interface AllowRule {
  /** A host name (exact, lowercase) or an address range. */
  host?: string;
  list?: BlockList;
  text: string;
}

/** Parses `--egress-allow` entries: `10.1.2.3`, `10.0.0.0/8`, `::1`, `fd00::/8`, `api.internal`. */
export function parseAllowList(entries: readonly string[]): AllowRule[] {
  return entries.map((text) => {
    const entry = text.trim();
    const [net, prefixText] = entry.split("/");
    const family = isIP(net ?? "");
    if (family === 0) {
      if (prefixText !== undefined || !/^[a-z0-9.-]+$/i.test(entry)) throw new Error(`egress allow rule "${text}": expected an address, a CIDR range or a host name`);
      return { host: entry.toLowerCase(), text: entry };
    }
    const max = family === 4 ? 32 : 128;
    const prefix = prefixText === undefined ? max : Number(prefixText);
    if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) throw new Error(`egress allow rule "${text}": prefix must be 0-${max}`);
    const list = new BlockList();
    list.addSubnet(net!, prefix, family === 4 ? "ipv4" : "ipv6");
    return { list, text: entry };
  });
}

function localAddresses(): Set<string> {
  const addresses = new Set<string>();
  for (const list of Object.values(networkInterfaces())) for (const i of list ?? []) addresses.add(i.address.toLowerCase());
  return addresses;
}

export class EgressPolicy {
  private readonly allow: AllowRule[];
  private readonly local = localAddresses();

  constructor(allow: readonly string[] = []) {
    this.allow = parseAllowList(allow);
  }

  /** Why a URL's scheme is refused, or undefined. */
  checkScheme(protocol: string): string | undefined {
    return protocol === "http:" || protocol === "https:" ? undefined : `scheme ${protocol.replace(/:$/, "")} (only http and https are allowed)`;
  }

  private allowed(host: string, address: string, family: 4 | 6): boolean {
    for (const rule of this.allow) {
      if (rule.host !== undefined && rule.host === host) return true;
      if (rule.list !== undefined && rule.list.check(address, family === 4 ? "ipv4" : "ipv6")) return true;
    }
    return false;
  }

  /**
   * Why connecting to `address` (what DNS gave for `host`) is refused — the rule's name —
   * or undefined when it is allowed.
   */
  checkAddress(host: string, address: string): string | undefined {
    const family = isIP(address);
    if (family === 0) return `${address} is not an IP address`;
    const lowerHost = host.toLowerCase().replace(/^\[|\]$/g, "");
    if (this.allowed(lowerHost, address, family as 4 | 6)) return undefined;
    const inner = family === 6 ? embeddedIPv4(address) : undefined;
    if (inner !== undefined) {
      const reason = this.checkAddress(lowerHost, inner);
      return reason === undefined ? undefined : `${reason} (inside IPv6 ${address})`;
    }
    for (const r of defaultRules) if (r.list.check(address, family === 4 ? "ipv4" : "ipv6")) return r.name;
    // A public address of this machine reaches the node's own admin (and NATS) ports.
    if (this.local.has(address.toLowerCase())) return `${address} is an address of this machine (the node's own ports)`;
    return undefined;
  }
}
