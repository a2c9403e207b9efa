import assert from "node:assert/strict";
import { test } from "node:test";
import { EgressPolicy, embeddedIPv4 } from "./egress-policy.ts";

const policy = new EgressPolicy();

test("loopback, private, link-local, CGNAT, multicast, metadata and reserved ranges are denied", () => {
  const denied: [string, RegExp][] = [
    ["127.0.0.1", /loopback/], ["127.255.0.9", /loopback/], ["10.1.2.3", /private/], ["172.16.0.1", /private/], ["172.31.255.255", /private/],
    ["192.168.1.1", /private/], ["169.254.169.254", /metadata/], ["100.64.0.1", /carrier-grade/], ["224.0.0.1", /multicast/],
    ["255.255.255.255", /reserved/], ["0.0.0.0", /this network/], ["::1", /loopback/], ["::", /unspecified/], ["fe80::1", /link-local/],
    ["fd00:ec2::254", /metadata/], ["fc00::1", /unique local/], ["ff02::1", /multicast/], ["2001:db8::1", /documentation/],
    ["::ffff:127.0.0.1", /loopback.*inside IPv6/], ["::ffff:7f00:1", /loopback/], ["::ffff:a9fe:a9fe", /metadata/], ["64:ff9b::10.0.0.1", /private/],
    ["::127.0.0.1", /loopback/],
  ];
  for (const [address, reason] of denied) assert.match(policy.checkAddress("example.com", address) ?? "ALLOWED", reason, address);
});

test("public addresses are allowed", () => {
  for (const address of ["93.184.216.34", "1.1.1.1", "8.8.8.8", "2606:4700:4700::1111", "172.32.0.1", "100.128.0.1", "::ffff:8.8.8.8"]) {
    assert.equal(policy.checkAddress("example.com", address), undefined, address);
  }
});

test("only http and https", () => {
  assert.equal(policy.checkScheme("https:"), undefined);
  assert.match(policy.checkScheme("file:")!, /scheme file/);
  assert.match(policy.checkScheme("ftp:")!, /only http and https/);
});

test("an allow-list opens exact addresses, ranges and host names", () => {
  const open = new EgressPolicy(["127.0.0.1", "10.0.0.0/8", "internal.example"]);
  assert.equal(open.checkAddress("x", "127.0.0.1"), undefined);
  assert.match(open.checkAddress("x", "127.0.0.2")!, /loopback/);
  assert.equal(open.checkAddress("x", "10.9.9.9"), undefined);
  assert.equal(open.checkAddress("internal.example", "192.168.0.5"), undefined);
  assert.equal(open.checkAddress("x", "::ffff:127.0.0.1"), undefined, "the mapped form of an allowed v4 address");
  assert.throws(() => new EgressPolicy(["10.0.0.0/40"]), /prefix/);
  assert.throws(() => new EgressPolicy(["not a host!"]), /expected/);
});

test("IPv4 inside IPv6 is recognised in every spelling", () => {
  assert.equal(embeddedIPv4("::ffff:127.0.0.1"), "127.0.0.1");
  assert.equal(embeddedIPv4("::FFFF:7F00:0001"), "127.0.0.1");
  assert.equal(embeddedIPv4("64:ff9b::a9fe:a9fe"), "169.254.169.254");
  assert.equal(embeddedIPv4("2606:4700::1"), undefined);
});
