import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { domainToASCII } from "node:url";
import { hostCalls, installTestHostOps } from "../../../../test/support/guest-host-ops.ts";
import { URL, parseURL, serializeURL, urlRecordOf } from "./url.ts";
import { URLSearchParams } from "./url-search-params.ts";

installTestHostOps();

/** Node's own URL (Ada, spec-compliant): the reference for the differential tests. */
const NodeURL = globalThis.URL;

type Expected = string | null | { href: string; [component: string]: string };
type Case = readonly [input: string, base: string | null, expected: Expected];

const BASE = "http://example.org/foo/bar";
const FILE_BASE = "file:///tmp/mock/path";

// In the style of WPT's url/resources/urltestdata.json: input, base, and the href (or more
// components) the parser must produce, or null for failure.
const PARSING_CASES: readonly Case[] = [
  // Whitespace and control code points around and inside the input.
  ["http://example\t.\norg", BASE, "http://example.org/"],
  ["\t   :foo.com   \n", BASE, "http://example.org/foo/:foo.com"],
  [" foo.com  ", BASE, "http://example.org/foo/foo.com"],
  ["a:\t foo.com", BASE, "a: foo.com"],
  ["\u0000\u001f http://example.com/\u0001 ", null, "http://example.com/"],
  ["http://f:21/ b ? d # e ", BASE, "http://f:21/%20b%20?%20d%20#%20e"],
  ["lolscheme:x x#x x", null, "lolscheme:x x#x%20x"],
  // Everything at once.
  [
    "http://user:pass@foo:21/bar;par?b#c",
    BASE,
    {
      href: "http://user:pass@foo:21/bar;par?b#c",
      origin: "http://foo:21",
      protocol: "http:",
      username: "user",
      password: "pass",
      host: "foo:21",
      hostname: "foo",
      port: "21",
      pathname: "/bar;par",
      search: "?b",
      hash: "#c",
    },
  ],
  // Credentials.
  ["https://test:@test", null, "https://test@test/"],
  ["https://:@test", null, "https://test/"],
  ["non-special://test:@test/x", null, "non-special://test@test/x"],
  ["http://a:b@c:29/d", BASE, "http://a:b@c:29/d"],
  ["http::@c:29", BASE, "http://example.org/foo/:@c:29"],
  ["http://&a:foo(b]c@d:2/", BASE, "http://&a:foo(b%5Dc@d:2/"],
  ["http://::@c@d:2", BASE, "http://:%3A%40c@d:2/"],
  ["http://foo.com:b@d/", BASE, "http://foo.com:b@d/"],
  ["http://%25DOMAIN:foobar@foodomain.com/", null, "http://%25DOMAIN:foobar@foodomain.com/"],
  ["http://user:pass@/", null, null],
  ["http://a:b@", null, null],
  ["http://@/www.example.com", null, null],
  ["http://user@/www.example.com", null, null],
  ["http:/:@/www.example.com", null, null],
  // Ports.
  ["http://f:/c", BASE, "http://f/c"],
  ["http://f:00000000000000/c", BASE, "http://f:0/c"],
  ["http://f:00000000000000000000080/c", BASE, "http://f/c"],
  ["http://f:b/c", BASE, null],
  ["http://f: /c", BASE, null],
  ["http://f:\n/c", BASE, "http://f/c"],
  ["http://f:fifty-two/c", BASE, null],
  ["http://f:999999/c", BASE, null],
  ["non-special://f:999999/c", BASE, null],
  ["http://f: 21 / b ? d # e ", BASE, null],
  ["http://foo:80/", null, "http://foo/"],
  ["http://foo:81/", null, "http://foo:81/"],
  ["httpa://foo:80/", null, "httpa://foo:80/"],
  ["http://foo:-80/", null, null],
  ["https://foo:443/", null, "https://foo/"],
  ["https://foo:80/", null, "https://foo:80/"],
  ["ftp://foo:21/", null, "ftp://foo/"],
  ["ws://foo:80/", null, "ws://foo/"],
  ["wss://foo:443/", null, "wss://foo/"],
  ["http://example.com:65535/", null, "http://example.com:65535/"],
  ["http://example.com:65536/", null, null],
  ["https://example.com:0", null, "https://example.com:0/"],
  ["http://[1::2]:3:4", BASE, null],
  // Relative references.
  ["", BASE, "http://example.org/foo/bar"],
  ["  \t", BASE, "http://example.org/foo/bar"],
  [":foo.com/", BASE, "http://example.org/foo/:foo.com/"],
  [":", BASE, "http://example.org/foo/:"],
  [":#", BASE, "http://example.org/foo/:#"],
  ["#", BASE, "http://example.org/foo/bar#"],
  ["#/", BASE, "http://example.org/foo/bar#/"],
  ["#\\", BASE, "http://example.org/foo/bar#\\"],
  ["#;?", BASE, "http://example.org/foo/bar#;?"],
  ["?", BASE, "http://example.org/foo/bar?"],
  ["/", BASE, "http://example.org/"],
  [":23", BASE, "http://example.org/foo/:23"],
  ["/:23", BASE, "http://example.org/:23"],
  ["\\x", BASE, "http://example.org/x"],
  ["\\\\x\\hello", BASE, "http://x/hello"],
  ["::", BASE, "http://example.org/foo/::"],
  ["::23", BASE, "http://example.org/foo/::23"],
  ["//foo/bar", BASE, "http://foo/bar"],
  ["http:foo.com", BASE, "http://example.org/foo/foo.com"],
  ["http:/example.com/", BASE, "http://example.org/example.com/"],
  ["http:example.com/", BASE, "http://example.org/foo/example.com/"],
  ["ftp:/example.com/", BASE, "ftp://example.com/"],
  ["https:/example.com/", BASE, "https://example.com/"],
  ["ftp:example.com/", BASE, "ftp://example.com/"],
  ["ws:/example.com/", BASE, "ws://example.com/"],
  ["file:/example.com/", BASE, "file:///example.com/"],
  ["madeupscheme:/example.com/", BASE, "madeupscheme:/example.com/"],
  ["data:/example.com/", BASE, "data:/example.com/"],
  ["mailto:/example.com/", BASE, "mailto:/example.com/"],
  ["foo://", BASE, "foo://"],
  ["foo:/", BASE, "foo:/"],
  ["foo://///////bar.com/", BASE, "foo://///////bar.com/"],
  ["foo:////://///", BASE, "foo:////://///"],
  ["c:/foo", BASE, "c:/foo"],
  ["http://foo.com/\\@", BASE, "http://foo.com//@"],
  ["http:\\\\foo.com\\", BASE, "http://foo.com/"],
  ["http:\\\\a\\b:c\\d@foo.com\\", BASE, "http://a/b:c/d@foo.com/"],
  ["[61:24:74]:98", BASE, "http://example.org/foo/[61:24:74]:98"],
  ["http:[61:27]/:foo", BASE, "http://example.org/foo/[61:27]/:foo"],
  ["ssh://example.com/foo/bar.git", "http://example.org/", "ssh://example.com/foo/bar.git"],
  ["a", null, null],
  ["\\\\x\\hello", null, null],
  ["http://", null, null],
  ["test", "sc:opaque", null],
  ["#x", "sc:opaque", "sc:opaque#x"],
  ["#x", "data:,hello world", "data:,hello world#x"],
  // Queries and fragments.
  ["http://foo/path;a??e#f#g", BASE, "http://foo/path;a??e#f#g"],
  ["http://foo/abcd?efgh?ijkl", BASE, "http://foo/abcd?efgh?ijkl"],
  ["http://foo/abcd#foo?bar", BASE, "http://foo/abcd#foo?bar"],
  ["#β", BASE, "http://example.org/foo/bar#%CE%B2"],
  ["http://example.com/?'\"<>`", null, "http://example.com/?%27%22%3C%3E`"],
  ["sc://example.com/?'\"<>`", null, "sc://example.com/?'%22%3C%3E`"],
  ["http://example.com/#'\"<>` {}", null, "http://example.com/#'%22%3C%3E%60%20{}"],
  ["http://example.com/?%zz%41", null, "http://example.com/?%zz%41"],
  ["http://example.com/?💩", null, "http://example.com/?%F0%9F%92%A9"],
  // Paths: dot segments, percent-encoding.
  ["/a/b/c", BASE, "http://example.org/a/b/c"],
  ["/a/ /c", BASE, "http://example.org/a/%20/c"],
  ["/a%2fc", BASE, "http://example.org/a%2fc"],
  ["/a/%2f/c", BASE, "http://example.org/a/%2f/c"],
  ["http://example.com/foo/../ton/../../a", null, "http://example.com/a"],
  ["http://example.com/foo/%2e", null, "http://example.com/foo/"],
  ["http://example.com/foo/%2e%2", null, "http://example.com/foo/%2e%2"],
  ["http://example.com/foo/%2e./%2e%2e/.%2e/%2e.bar", null, "http://example.com/%2e.bar"],
  ["http://example.com////../..", null, "http://example.com//"],
  ["http://example.com/foo/bar//../..", null, "http://example.com/foo/"],
  ["http://example.com/foo/bar//..", null, "http://example.com/foo/bar/"],
  ["http://example.com/foo/%2E%2e", null, "http://example.com/"],
  ["http://example.com/usr/..", null, "http://example.com/"],
  ["http://example.com/foo%", null, "http://example.com/foo%"],
  ["http://example.com/foo%2zbar", null, "http://example.com/foo%2zbar"],
  ["http://example.com/foo%2Â©zbar", null, "http://example.com/foo%2%C3%82%C2%A9zbar"],
  ["http://example.com/foo%41%7a", null, "http://example.com/foo%41%7a"],
  ["http://example.com/foo\t\u0091%91", null, "http://example.com/foo%C2%91%91"],
  ["http://example.com/(%28:%3A%29)", null, "http://example.com/(%28:%3A%29)"],
  ["http://example.com/foo\tbar", null, "http://example.com/foobar"],
  ["http://example.com\\\\foo\\\\bar", null, "http://example.com//foo//bar"],
  ["http://example.com/%7Ffp3>*<mp!", null, "http://example.com/%7Ffp3%3E*%3Cmp!"],
  ["http://example.com/@asdf%40", null, "http://example.com/@asdf%40"],
  ["http://example.com/你好你好", null, "http://example.com/%E4%BD%A0%E5%A5%BD%E4%BD%A0%E5%A5%BD"],
  ["http://example.com/\ufeff/foo", null, "http://example.com/%EF%BB%BF/foo"],
  ["http://example.com/\u202e/foo/\u202d/bar", null, "http://example.com/%E2%80%AE/foo/%E2%80%AD/bar"],
  ["http://example.com/{}^`|", null, "http://example.com/%7B%7D%5E%60|"],
  ["sc://example.com/a\\b/../c", null, "sc://example.com/c"],
  // Non-special URLs: empty first segments keep a "/." so they cannot read as a host.
  ["non-spec:/.//", null, { href: "non-spec:/.//", pathname: "//" }],
  ["non-spec:/..//", null, "non-spec:/.//"],
  ["non-spec:/a/..//", null, "non-spec:/.//"],
  ["non-spec:/.//path", null, "non-spec:/.//path"],
  ["non-spec:/a/..//path", null, "non-spec:/.//path"],
  ["/.//path", "non-spec:/p", "non-spec:/.//path"],
  ["/..//path", "non-spec:/p/q", "non-spec:/.//path"],
  ["sc:/../", null, "sc:/"],
  ["sc:\\../", null, "sc:\\../"],
  ["sc::a@example.net", null, "sc::a@example.net"],
  // Opaque paths: a space right before "?" or "#" is encoded.
  ["data:space ?query", null, "data:space%20?query"],
  ["sc:space #fragment", null, "sc:space%20#fragment"],
  ["data:space  #fragment", null, "data:space %20#fragment"],
  ["data:space ", null, "data:space"],
  ["data:text/html,test#test", BASE, "data:text/html,test#test"],
  ["tel:1234567890", BASE, "tel:1234567890"],
  ["javascript:alert(1)\u0001\u007f", null, "javascript:alert(1)%01%7F"],
  // Hosts: domains.
  ["http://www.google.com", null, "http://www.google.com/"],
  ["http://EXAMPLE.COM/", null, "http://example.com/"],
  ["http://[www.google.com]/", null, null],
  ["http://www/foo%2Ehtml", null, "http://www/foo%2Ehtml"],
  ["http:\\\\www.google.com\\foo", null, "http://www.google.com/foo"],
  ["http://ex%41mple.com/", null, "http://example.com/"],
  ["http://exa%23mple.org", null, null],
  ["http://%25", null, null],
  ["http://hello%00", null, null],
  ["http://%zz%66%a.com", null, null],
  ["https://x x:12", null, null],
  ["http://./", null, "http://./"],
  ["http://../", null, "http://../"],
  ["http://a^b", null, null],
  ["http://a|b", null, null],
  ["http://a<b", null, null],
  ["http://xn--/", null, "http://xn--/"],
  ["http://XN--A.com/", null, "http://xn--a.com/"],
  // Hosts: IDNA through the host's ToASCII.
  ["http://faß.de/", null, "http://xn--fa-hia.de/"],
  ["http://ÄÖÜ.com/", null, "http://xn--4ca0bs.com/"],
  ["https://☕.example", null, "https://xn--53h.example/"],
  ["http://www.foo。bar.com", null, "http://www.foo.bar.com/"],
  ["http://ｇｏｏ.com", null, "http://goo.com/"],
  ["http://GOO\u200b\u2060\ufeffgoo.com", null, "http://googoo.com/"],
  ["http://\ufdd0zyx.com", null, null],
  ["http://%ef%b7%90zyx.com", null, null],
  ["https://\uff05\uff14\uff11.com", null, null],
  ["http://GOO 　goo.com", null, null],
  ["https://a%C2%ADb/", null, "https://ab/"],
  ["https://\u00ad/", null, null],
  ["https://%C2%AD/", null, null],
  ["http://xn--a.ß/", null, null],
  ["http://ß%41/", null, "http://xn--a-pfa/"],
  // Hosts: IPv4 in all its historical forms.
  ["http://0x7f000001/", null, "http://127.0.0.1/"],
  ["http://2130706433/", null, "http://127.0.0.1/"],
  ["http://127.1", null, "http://127.0.0.1/"],
  ["http://127.0.1", null, "http://127.0.0.1/"],
  ["http://0x7f.1", null, "http://127.0.0.1/"],
  ["http://0177.0.0.1", null, "http://127.0.0.1/"],
  ["http://0X7F.0.0.01", null, "http://127.0.0.1/"],
  ["http://192.0x00A80001", null, "http://192.168.0.1/"],
  ["http://０Ｘｃ０．０２５０．０１", null, "http://192.168.0.1/"],
  ["http://%30%78%63%30%2e%30%32%35%30.01", null, "http://192.168.0.1/"],
  ["http://%30%78%63%30%2e%30%32%35%30.01%2e", null, "http://192.168.0.1/"],
  ["http://4294967295", null, "http://255.255.255.255/"],
  ["http://4294967296", null, null],
  ["http://0xffffffff1", null, null],
  ["http://256.256.256.256", null, null],
  ["http://192.168.0.257", null, null],
  ["http://1.2.3.4.5", null, null],
  ["http://1.2.3.4.", null, "http://1.2.3.4/"],
  ["http://1.2.3.4..", null, "http://1.2.3.4../"],
  ["http://0x", null, "http://0.0.0.0/"],
  ["http://0x.0x.0", null, "http://0.0.0.0/"],
  ["http://09", null, null],
  ["http://1.2.3.08", null, null],
  ["http://foo.09", null, null],
  ["http://foo.0x4", null, null],
  ["http://09.com", null, "http://09.com/"],
  ["http://0..0x300/", null, null],
  ["http://0.0.0.0x100", null, null],
  ["http://0.0.0x10000", null, null],
  ["http://0.0x1000000", null, null],
  ["http://0.0xffffff", null, "http://0.255.255.255/"],
  ["http://999999999999999999999999", null, null],
  ["http://0x100000000000000000000/", null, null],
  ["http://%3g%78%63%30%2e%30%32%35%30%2E.06", null, null],
  ["http://192.168.0.1 hello", null, null],
  ["sc://0x7f000001/", null, "sc://0x7f000001/"],
  // Hosts: IPv6 parsing and canonical serialization (RFC 5952 compression).
  ["http://[2001::1]", BASE, "http://[2001::1]/"],
  ["http://[2001::1]:80", BASE, "http://[2001::1]/"],
  ["http://2001::1", BASE, null],
  ["http://2001::1]", BASE, null],
  ["http://[::127.0.0.1]", BASE, "http://[::7f00:1]/"],
  ["http://[0:0:0:0:0:0:13.1.68.3]", BASE, "http://[::d01:4403]/"],
  ["http://[::ffff:192.168.0.1]", null, "http://[::ffff:c0a8:1]/"],
  ["http://[1:0::]", null, "http://[1::]/"],
  ["http://[0:0:0:0:0:0:0:0]", null, "http://[::]/"],
  ["http://[0:1:0:1:0:1:0:1]", null, "http://[0:1:0:1:0:1:0:1]/"],
  ["http://[1:0:1:0:1:0:1:0]", null, "http://[1:0:1:0:1:0:1:0]/"],
  ["http://[0:0:1:0:0:0:1:0]", null, "http://[0:0:1::1:0]/"],
  ["http://[1:0:0:2:0:0:3:4]", null, "http://[1::2:0:0:3:4]/"],
  ["http://[1:0:2:3:4:5:6:7]", null, "http://[1:0:2:3:4:5:6:7]/"],
  ["http://[FFFF::]", null, "http://[ffff::]/"],
  ["http://[0001:0002::00ab]", null, "http://[1:2::ab]/"],
  ["http://[1:2:3:4:5:6:7:8:9]", null, null],
  ["http://[1::2::3]", null, null],
  ["http://[:1]", null, null],
  ["http://[1:]", null, null],
  ["http://[]", null, null],
  ["http://[:]", null, null],
  ["http://[::1.2.3.]", null, null],
  ["http://[::1.2.]", null, null],
  ["http://[::.1.2]", null, null],
  ["http://[::1.2.3.4x]", null, null],
  ["http://[::127.0.0.0.1]", null, null],
  ["http://[::127.00.0.1]", null, null],
  ["http://[::127.0.0.256]", null, null],
  ["http://[1:1:1:1:1:1:1:127.0.0.1]", null, null],
  ["http://[12345::]", null, null],
  ["http://[fe80::1%en0]", null, null],
  ["http://[::1", null, null],
  ["http://[::1%5D]", null, null],
  ["sc://[::1]/", null, "sc://[::1]/"],
  // Opaque hosts (non-special URLs).
  ["sc://ñ", null, "sc://%C3%B1"],
  ["sc://ñ.test/", null, "sc://%C3%B1.test/"],
  ["x", "sc://ñ", "sc://%C3%B1/x"],
  ["sc://EXAMPLE.com/", null, "sc://EXAMPLE.com/"],
  ["sc://%/", null, "sc://%/"],
  ["sc://\u0000/", null, null],
  ["sc:// /", null, null],
  ["sc://@/", null, null],
  ["sc://te@s:t@/", null, null],
  ["sc://:/", null, null],
  ["sc://:12/", null, null],
  ["sc://[/", null, null],
  ["sc://\\/", null, null],
  ["sc://]/", null, null],
  ["sc://a^b/", null, null],
  ["sc://a\u007fb/", null, "sc://a%7Fb/"],
  // file: URLs and the Windows drive letter quirks.
  ["file:c:\\foo\\bar.html", FILE_BASE, "file:///c:/foo/bar.html"],
  ["  File:c|////foo\\bar.html", FILE_BASE, "file:///c:////foo/bar.html"],
  ["C|/foo/bar", FILE_BASE, "file:///C:/foo/bar"],
  ["/C|\\foo\\bar", FILE_BASE, "file:///C:/foo/bar"],
  ["//C|/foo/bar", FILE_BASE, "file:///C:/foo/bar"],
  ["//server/file", FILE_BASE, "file://server/file"],
  ["\\\\server\\file", FILE_BASE, "file://server/file"],
  ["/\\server/file", FILE_BASE, "file://server/file"],
  ["file:///foo/bar.txt", FILE_BASE, "file:///foo/bar.txt"],
  ["//", FILE_BASE, "file:///"],
  ["///test", FILE_BASE, "file:///test"],
  ["file://test", FILE_BASE, "file://test/"],
  ["file://localhost", FILE_BASE, "file:///"],
  ["file://localhost/test", FILE_BASE, "file:///test"],
  ["file://loc%61lhost/", null, "file:///"],
  ["file://LOCALHOST/x", null, "file:///x"],
  ["test", FILE_BASE, "file:///tmp/mock/test"],
  ["file:test", FILE_BASE, "file:///tmp/mock/test"],
  ["file:..", "http://www.example.com/test", "file:///"],
  ["file:a", "http://www.example.com/test", "file:///a"],
  ["file:/C|/", null, "file:///C:/"],
  ["file://C|/", null, "file:///C:/"],
  ["/..", "file:///C:/", "file:///C:/"],
  ["..", "file:///C:/a", "file:///C:/"],
  ["file:///C:/../..", null, "file:///C:/"],
  ["file://example.net/C:/", null, "file://example.net/C:/"],
  ["file://1.2.3.4/C:/", null, "file://1.2.3.4/C:/"],
  ["file://[1::8]/C:/", null, "file://[1::8]/C:/"],
  ["/c:/foo/bar", "file://host/path", "file://host/c:/foo/bar"],
  ["C|", "file://host/dir/file", "file://host/C:"],
  ["C|#", "file://host/dir/file", "file://host/C:#"],
  ["C|a", "file://host/dir/file", "file://host/dir/C|a"],
  ["/c|/foo", "file:///c:/baz/qux", "file:///c:/foo"],
  ["file:///./y:", null, "file:///y:"],
  ["file://localhost//a//../..//", null, "file://///"],
  ["//d:", "file:///C:/a/b", "file:///d:"],
  ["//d:/..", "file:///C:/a/b", "file:///d:/"],
  ["/1:/..", "file:///C:/a/b", "file:///C:/"],
  ["file://localhost////foo", null, "file://////foo"],
  ["file://a%20b/", null, null],
  ["?x", "file:///C:/a/b?q", "file:///C:/a/b?x"],
  ["#x", "file:///C:/a/b?q", "file:///C:/a/b?q#x"],
  // Origins.
  ["blob:https://example.com:443/", null, { href: "blob:https://example.com:443/", origin: "https://example.com" }],
  ["blob:http://example.org:88/", null, { href: "blob:http://example.org:88/", origin: "http://example.org:88" }],
  ["blob:d3958f5c-0777-0845-9dcf-2cb28783acaf", null, { href: "blob:d3958f5c-0777-0845-9dcf-2cb28783acaf", origin: "null" }],
  ["blob:ftp://host/path", null, { href: "blob:ftp://host/path", origin: "null" }],
  ["blob:blob:https://example.org/", null, { href: "blob:blob:https://example.org/", origin: "null" }],
  ["file:///x", null, { href: "file:///x", origin: "null" }],
  ["ws://h:81/", null, { href: "ws://h:81/", origin: "ws://h:81" }],
  ["sc://h/", null, { href: "sc://h/", origin: "null" }],
];

function check(url: URL, expected: Exclude<Expected, null>): void {
  if (typeof expected === "string") {
    assert.equal(url.href, expected);
    return;
  }
  for (const [key, value] of Object.entries(expected)) {
    assert.equal((url as unknown as Record<string, string>)[key], value, key);
  }
}

describe("the URL parser on urltestdata-style cases", () => {
  for (const [input, base, expected] of PARSING_CASES) {
    const name = `${JSON.stringify(input)}${base === null ? "" : ` against ${JSON.stringify(base)}`} ${expected === null ? "fails" : `parses to ${JSON.stringify(typeof expected === "string" ? expected : expected.href)}`}`;
    test(name, () => {
      if (expected === null) {
        assert.throws(() => (base === null ? new URL(input) : new URL(input, base)), TypeError);
        assert.equal(URL.canParse(input, base ?? undefined), false);
        assert.equal(URL.parse(input, base ?? undefined), null);
        return;
      }
      const url = base === null ? new URL(input) : new URL(input, base);
      check(url, expected);
      assert.equal(URL.canParse(input, base ?? undefined), true);
      // The serialization parses back to itself (URL Standard goal: idempotence).
      assert.equal(new URL(url.href).href, url.href);
    });
  }
});

type SetterCase = readonly [href: string, setter: string, value: string, expected: string];

// In the style of WPT's url/resources/setters_tests.json.
const SETTER_CASES: readonly SetterCase[] = [
  // protocol
  ["a://example.net", "protocol", "", "a://example.net"],
  ["a://example.net", "protocol", "b", "b://example.net"],
  ["javascript:alert(1)", "protocol", "defuse", "defuse:alert(1)"],
  ["a://example.net", "protocol", "B", "b://example.net"],
  ["a://example.net", "protocol", "é", "a://example.net"],
  ["a://example.net", "protocol", "0b", "a://example.net"],
  ["a://example.net", "protocol", "+b", "a://example.net"],
  ["a://example.net", "protocol", "bC0+-.", "bc0+-.://example.net"],
  ["a://example.net", "protocol", "b,c", "a://example.net"],
  ["a://example.net", "protocol", "bé", "a://example.net"],
  ["http://example.net", "protocol", "b", "http://example.net/"],
  ["file://hi/path", "protocol", "s", "file://hi/path"],
  ["https://example.net:1234", "protocol", "file", "https://example.net:1234/"],
  ["wss://x:x@example.net:1234", "protocol", "file", "wss://x:x@example.net:1234/"],
  ["file://localhost/", "protocol", "http", "file:///"],
  ["file:///test", "protocol", "https", "file:///test"],
  ["file:", "protocol", "wss", "file:///"],
  ["http://example.net", "protocol", "https", "https://example.net/"],
  ["http://example.net:443", "protocol", "https", "https://example.net/"],
  ["ssh://me@example.net", "protocol", "http", "ssh://me@example.net"],
  ["ssh://me@example.net", "protocol", "https", "ssh://me@example.net"],
  ["nonsense:///test", "protocol", "https", "nonsense:///test"],
  ["http://example.net", "protocol", "https:foo : bar", "https://example.net/"],
  ["data:text/html,<p>Test", "protocol", "view-source+data:foo : bar", "view-source+data:text/html,<p>Test"],
  ["http://foo.com:443/", "protocol", "https", "https://foo.com/"],
  ["http://example.net", "protocol", "ftp\t", "ftp://example.net/"],
  // username
  ["file:///home/you/index.html", "username", "me", "file:///home/you/index.html"],
  ["unix:/run/foo.socket", "username", "me", "unix:/run/foo.socket"],
  ["mailto:you@example.net", "username", "me", "mailto:you@example.net"],
  ["javascript:alert(1)", "username", "wario", "javascript:alert(1)"],
  ["http://example.net", "username", "me", "http://me@example.net/"],
  ["http://:secret@example.net", "username", "me", "http://me:secret@example.net/"],
  ["http://me@example.net", "username", "", "http://example.net/"],
  ["http://me:secret@example.net", "username", "", "http://:secret@example.net/"],
  [
    "http://example.net",
    "username",
    "\u0000\u0001\t\n\r\u001f !\"#$%&'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~\u007f\u0080\u0081Éé",
    "http://%00%01%09%0A%0D%1F%20!%22%23$%&'()*+,-.%2F09%3A%3B%3C%3D%3E%3F%40AZ%5B%5C%5D%5E_%60az%7B%7C%7D~%7F%C2%80%C2%81%C3%89%C3%A9@example.net/",
  ],
  ["http://example.net", "username", "%c3%89té", "http://%c3%89t%C3%A9@example.net/"],
  ["sc:///", "username", "x", "sc:///"],
  ["javascript://x/", "username", "wario", "javascript://wario@x/"],
  ["file://test/", "username", "test", "file://test/"],
  // password
  ["file:///home/me/index.html", "password", "secret", "file:///home/me/index.html"],
  ["http://example.net", "password", "secret", "http://:secret@example.net/"],
  ["http://me@example.net", "password", "secret", "http://me:secret@example.net/"],
  ["http://:secret@example.net", "password", "", "http://example.net/"],
  ["http://me:secret@example.net", "password", "", "http://me@example.net/"],
  ["http://example.net", "password", "%c3%89té", "http://:%c3%89t%C3%A9@example.net/"],
  ["sc:///", "password", "x", "sc:///"],
  ["javascript://x/", "password", "bowser", "javascript://:bowser@x/"],
  // host
  ["sc://x/", "host", "\u0000", "sc://x/"],
  ["sc://x/", "host", "\t", "sc:///"],
  ["sc://x/", "host", "\n", "sc:///"],
  ["sc://x/", "host", " ", "sc://x/"],
  ["sc://x/", "host", "#", "sc:///"],
  ["sc://x/", "host", "/", "sc:///"],
  ["sc://x/", "host", "?", "sc:///"],
  ["sc://x/", "host", "@", "sc://x/"],
  ["sc://x/", "host", "ß", "sc://%C3%9F/"],
  ["https://x/", "host", "ß", "https://xn--zca/"],
  ["mailto:me@example.net", "host", "example.com", "mailto:me@example.net"],
  ["data:text/plain,Stuff", "host", "example.net", "data:text/plain,Stuff"],
  ["http://example.net", "host", "example.com:8080", "http://example.com:8080/"],
  ["http://example.net:8080", "host", "example.com", "http://example.com:8080/"],
  ["http://example.net:8080", "host", "example.com:", "http://example.com:8080/"],
  ["http://example.net", "host", "example.com:80", "http://example.com/"],
  ["http://example.net", "host", "[::0:01]:2", "http://[::1]:2/"],
  ["http://example.net", "host", "example.com:8080stuff2", "http://example.com:8080/"],
  ["http://example.net/path", "host", "example.com/stuff", "http://example.com/path"],
  ["http://example.net/path", "host", "example.com?stuff", "http://example.com/path"],
  ["http://example.net/path", "host", "example.com#stuff", "http://example.com/path"],
  ["http://example.net/path", "host", "example.com\\stuff", "http://example.com/path"],
  ["view-source+http://example.net/path", "host", "example.com\\stuff", "view-source+http://example.net/path"],
  ["http://example.net/path", "host", "example.com:8080/stuff", "http://example.com:8080/path"],
  ["http://example.net/path", "host", "example.com:65536", "http://example.com/path"],
  ["http://example.net/", "host", "[google.com]", "http://example.net/"],
  ["http://example.net/", "host", "0x7f000001:8080", "http://127.0.0.1:8080/"],
  ["file://y/", "host", "x:123", "file://y/"],
  ["file://y/", "host", "loc%41lhost", "file:///"],
  ["file://hi/x", "host", "", "file:///x"],
  ["sc://test@test/", "host", "", "sc://test@test/"],
  ["sc://test:12/", "host", "", "sc://test:12/"],
  ["http://example.com/", "host", "///bad.com", "http://example.com/"],
  ["sc://example.com/", "host", "///bad.com", "sc:///"],
  ["https://example.com/", "host", "a%C2%ADb", "https://ab/"],
  ["https://example.com/", "host", "\u00AD", "https://example.com/"],
  ["https://example.com/", "host", "%C2%AD", "https://example.com/"],
  // hostname
  ["http://example.net:8080", "hostname", "example.com:", "http://example.net:8080/"],
  ["http://example.net/path", "hostname", "example.com:8080", "http://example.net/path"],
  ["http://example.net/path", "hostname", "example.com/stuff", "http://example.com/path"],
  ["http://example.net:8080", "hostname", "example.com", "http://example.com:8080/"],
  ["http://example.net", "hostname", "[::0:01]", "http://[::1]/"],
  ["mailto:me@example.net", "hostname", "example.com", "mailto:me@example.net"],
  ["file://y/", "hostname", "localhost", "file:///"],
  ["sc://x/", "hostname", "", "sc:///"],
  ["http://example.com/", "hostname", "", "http://example.com/"],
  // port
  ["http://example.net", "port", "8080", "http://example.net:8080/"],
  ["http://example.net:8080", "port", "", "http://example.net/"],
  ["http://example.net:8080", "port", "80", "http://example.net/"],
  ["https://example.net:4433", "port", "443", "https://example.net/"],
  ["https://example.net", "port", "8080/stuff", "https://example.net:8080/"],
  ["https://example.net", "port", "8080?stuff", "https://example.net:8080/"],
  ["https://example.net", "port", "8080stuff2", "https://example.net:8080/"],
  ["http://example.net:8080", "port", "65536", "http://example.net:8080/"],
  ["http://example.net:8080", "port", "randomstring", "http://example.net:8080/"],
  ["non-special://example.net:8080", "port", "65536", "non-special://example.net:8080"],
  ["file://test/", "port", "12", "file://test/"],
  ["file://localhost/", "port", "12", "file:///"],
  ["sc:///", "port", "12", "sc:///"],
  ["sc://x/", "port", "12", "sc://x:12/"],
  ["javascript://x/", "port", "12", "javascript://x:12/"],
  ["https://domain.com:443", "port", "\n", "https://domain.com/"],
  ["https://domain.com:3000", "port", "\n", "https://domain.com:3000/"],
  ["http://example.net:8080", "port", "0x10", "http://example.net:0/"],
  // pathname
  ["mailto:me@example.net", "pathname", "/foo", "mailto:me@example.net"],
  ["unix:/run/foo.socket?timeout=10", "pathname", "/var/log/../run/bar.socket", "unix:/var/run/bar.socket?timeout=10"],
  ["https://example.net#nav", "pathname", "home", "https://example.net/home#nav"],
  ["https://example.net#nav", "pathname", "../home", "https://example.net/home#nav"],
  ["http://example.net/home?lang=fr#nav", "pathname", "\\a\\%2E\\b\\%2e.\\c", "http://example.net/a/c?lang=fr#nav"],
  [
    "view-source+http://example.net/home?lang=fr#nav",
    "pathname",
    "\\a\\%2E\\b\\%2e.\\c",
    "view-source+http://example.net/\\a\\%2E\\b\\%2e.\\c?lang=fr#nav",
  ],
  ["http://example.net", "pathname", "%2e%2E%c3%89té", "http://example.net/%2e%2E%c3%89t%C3%A9"],
  ["http://example.net", "pathname", "?", "http://example.net/%3F"],
  ["http://example.net", "pathname", "#", "http://example.net/%23"],
  ["sc://example.net", "pathname", "?", "sc://example.net/%3F"],
  ["file://monkey/", "pathname", "\\\\", "file://monkey//"],
  ["file:///unicorn", "pathname", "//\\/", "file://////"],
  ["file:///unicorn", "pathname", "//monkey/..//", "file://///"],
  ["non-spec:/", "pathname", "/.//p", "non-spec:/.//p"],
  ["non-spec:/", "pathname", "/..//p", "non-spec:/.//p"],
  ["non-spec:/", "pathname", "//p", "non-spec:/.//p"],
  ["non-spec:/.//", "pathname", "p", "non-spec:/p"],
  ["data:/nospace", "pathname", "space ", "data:/space%20"],
  ["sc:/nospace", "pathname", "space ", "sc:/space%20"],
  ["http://example.net", "pathname", " ", "http://example.net/%20"],
  ["sc://x", "pathname", "", "sc://x"],
  ["sc:///", "pathname", "", "sc://"],
  // search
  ["https://example.net#nav", "search", "lang=fr", "https://example.net/?lang=fr#nav"],
  ["https://example.net?lang=en-US#nav", "search", "lang=fr", "https://example.net/?lang=fr#nav"],
  ["https://example.net?lang=en-US#nav", "search", "?lang=fr", "https://example.net/?lang=fr#nav"],
  ["https://example.net?lang=en-US#nav", "search", "??lang=fr", "https://example.net/??lang=fr#nav"],
  ["https://example.net?lang=en-US#nav", "search", "?", "https://example.net/?#nav"],
  ["https://example.net?lang=en-US#nav", "search", "", "https://example.net/#nav"],
  ["https://example.net?lang=en-US", "search", "", "https://example.net/"],
  [
    "a:/",
    "search",
    "\u0000\u0001\t\n\r\u001f !\"#$%&'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~\u007f\u0080\u0081Éé",
    "a:/?%00%01%1F%20!%22%23$%&'()*+,-./09:;%3C=%3E?@AZ[\\]^_`az{|}~%7F%C2%80%C2%81%C3%89%C3%A9",
  ],
  ["http://example.net", "search", "%c3%89té", "http://example.net/?%c3%89t%C3%A9"],
  ["http://example.net", "search", "'", "http://example.net/?%27"],
  ["sc://example.net", "search", "'", "sc://example.net?'"],
  ["data:space ?query", "search", "", "data:space%20"],
  ["sc:space ?query", "search", "", "sc:space%20"],
  // hash
  ["https://example.net", "hash", "main", "https://example.net/#main"],
  ["https://example.net#nav", "hash", "main", "https://example.net/#main"],
  ["https://example.net?lang=en-US", "hash", "##nav", "https://example.net/?lang=en-US##nav"],
  ["https://example.net?lang=en-US#nav", "hash", "#main", "https://example.net/?lang=en-US#main"],
  ["https://example.net?lang=en-US#nav", "hash", "#", "https://example.net/?lang=en-US#"],
  ["https://example.net?lang=en-US#nav", "hash", "", "https://example.net/?lang=en-US"],
  ["http://example.net", "hash", "#foo bar", "http://example.net/#foo%20bar"],
  ["http://example.net", "hash", '#foo"bar', "http://example.net/#foo%22bar"],
  ["http://example.net", "hash", "#foo<bar", "http://example.net/#foo%3Cbar"],
  ["http://example.net", "hash", "#foo>bar", "http://example.net/#foo%3Ebar"],
  ["http://example.net", "hash", "#foo`bar", "http://example.net/#foo%60bar"],
  [
    "a:/",
    "hash",
    "\u0000\u0001\t\n\r\u001f !\"#$%&'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~\u007f\u0080\u0081Éé",
    "a:/#%00%01%1F%20!%22#$%&'()*+,-./09:;%3C=%3E?@AZ[\\]^_%60az{|}~%7F%C2%80%C2%81%C3%89%C3%A9",
  ],
  ["http://example.net", "hash", "a\u0000b", "http://example.net/#a%00b"],
  ["javascript:alert(1)", "hash", "castle", "javascript:alert(1)#castle"],
  ["data:space #fragment", "hash", "", "data:space%20"],
  // href
  ["http://example.net/", "href", "ftp://x/y?z#w", "ftp://x/y?z#w"],
  ["http://example.net/", "href", " sc:opaque\t", "sc:opaque"],
];

describe("URL setters on setters_tests-style cases", () => {
  for (const [href, setter, value, expected] of SETTER_CASES) {
    test(`setting ${setter} to ${JSON.stringify(value)} on ${JSON.stringify(href)} gives ${JSON.stringify(expected)}`, () => {
      const url = new URL(href);
      (url as unknown as Record<string, string>)[setter] = value;
      assert.equal(url.href, expected);
      // Whatever the setters do, the result must survive a round trip.
      assert.equal(new URL(url.href).href, url.href);
    });
  }

  test("setting href to an invalid URL throws a TypeError and leaves the URL alone", () => {
    const url = new URL("http://example.net/");
    assert.throws(
      () => {
        url.href = "not a url";
      },
      { name: "TypeError", message: "Failed to set the 'href' property on 'URL': Invalid URL" },
    );
    assert.equal(url.href, "http://example.net/");
  });

  test("a setter called without an argument throws like a browser", () => {
    const setter = Object.getOwnPropertyDescriptor(URL.prototype, "hash")!.set!;
    assert.throws(() => (setter as (this: URL) => void).call(new URL("http://x/")), /1 argument required/);
  });
});

describe("the URL class surface", () => {
  test("the constructor rejects an invalid URL with the browser's message", () => {
    assert.throws(() => new URL("nope"), { name: "TypeError", message: "Failed to construct 'URL': Invalid URL" });
    assert.throws(() => new URL("/x", "also nope"), { name: "TypeError", message: "Failed to construct 'URL': Invalid URL" });
  });

  test("the constructor requires an argument and new", () => {
    assert.throws(() => new (URL as unknown as new () => URL)(), /1 argument required, but only 0 present/);
    assert.throws(() => (URL as unknown as () => URL)(), TypeError);
  });

  test("an undefined base is no base, but a null base is the string 'null'", () => {
    assert.equal(new URL("http://x/", undefined).href, "http://x/");
    assert.throws(() => new URL("/x", null as unknown as string), TypeError);
    assert.equal(new URL("x", new URL("http://a/b/c") as unknown as string).href, "http://a/b/x");
  });

  test("arguments are converted with ToString and lone surrogates become U+FFFD", () => {
    assert.equal(new URL({ toString: () => "http://obj/" } as unknown as string).href, "http://obj/");
    assert.equal(new URL("http://x/\ud800").pathname, "/%EF%BF%BD");
    assert.throws(() => new URL(Symbol() as unknown as string), TypeError);
  });

  test("URL.parse returns a URL or null, and URL.canParse a boolean", () => {
    const parsed = URL.parse("/p?q", "https://h/");
    assert.ok(parsed instanceof URL);
    assert.equal(parsed.href, "https://h/p?q");
    assert.equal(URL.parse("::"), null);
    assert.equal(URL.canParse("https://h/"), true);
    assert.equal(URL.canParse("x", "::"), false);
    assert.equal(URL.parse.length, 1);
    assert.equal(URL.canParse.length, 1);
    assert.equal(URL.length, 1);
  });

  test("toString and toJSON return href, and JSON.stringify uses it", () => {
    const url = new URL("https://h/ä");
    assert.equal(url.toString(), "https://h/%C3%A4");
    assert.equal(url.toJSON(), url.href);
    assert.equal(JSON.stringify({ url }), '{"url":"https://h/%C3%A4"}');
    assert.equal(`${url}`, url.href);
  });

  test("members live on the prototype as enumerable accessors, with the URL toStringTag", () => {
    assert.deepEqual(Object.keys(new URL("http://x/")), []);
    const desc = Object.getOwnPropertyDescriptor(URL.prototype, "href")!;
    assert.equal(desc.enumerable, true);
    assert.equal(typeof desc.get, "function");
    assert.equal(Object.getOwnPropertyDescriptor(URL.prototype, "origin")!.set, undefined);
    assert.equal(Object.prototype.toString.call(new URL("http://x/")), "[object URL]");
  });

  test("getters and methods throw Illegal invocation on other receivers", () => {
    const getter = Object.getOwnPropertyDescriptor(URL.prototype, "href")!.get!;
    assert.throws(() => getter.call({}), { name: "TypeError", message: "Illegal invocation" });
    assert.throws(() => URL.prototype.toString.call(Object.create(URL.prototype)), /Illegal invocation/);
  });

  test("searchParams is the same object every time", () => {
    const url = new URL("http://x/?a=1");
    assert.equal(url.searchParams, url.searchParams);
    assert.ok(url.searchParams instanceof URLSearchParams);
  });

  test("search and hash getters hide an empty query or fragment", () => {
    const url = new URL("http://x/?#");
    assert.equal(url.search, "");
    assert.equal(url.hash, "");
    assert.equal(url.href, "http://x/?#");
  });
});

describe("URL and its searchParams stay in sync", () => {
  test("mutating searchParams rewrites the query with form encoding", () => {
    const url = new URL("https://example.com/?a=b ~");
    assert.equal(url.href, "https://example.com/?a=b%20~");
    url.searchParams.sort();
    assert.equal(url.href, "https://example.com/?a=b+%7E");
  });

  test("emptying searchParams removes the query entirely", () => {
    const url = new URL("http://x/?a=1#f");
    url.searchParams.delete("a");
    assert.equal(url.href, "http://x/#f");
    assert.equal(url.search, "");
  });

  test("setting search or href replaces the list", () => {
    const url = new URL("http://x/?a=1");
    const params = url.searchParams;
    url.search = "?b=2&c=3";
    assert.deepEqual([...params], [["b", "2"], ["c", "3"]]);
    url.href = "http://y/?d=4";
    assert.deepEqual([...params], [["d", "4"]]);
    url.search = "";
    assert.equal(params.size, 0);
    url.href = "http://y/";
    assert.equal(params.size, 0);
  });

  test("searchParams reflects the query as it was when first read, however late", () => {
    const url = new URL("http://x/?a=1");
    url.search = "q=%F0%9F%92%A9";
    assert.equal(url.searchParams.get("q"), "💩");
  });

  test("an opaque path keeps its encoded trailing space when the query goes away", () => {
    const url = new URL("data:space ?query");
    url.searchParams.delete("query");
    assert.equal(url.href, "data:space%20");
  });

  test("appending to an opaque-path URL's searchParams adds a query", () => {
    const url = new URL("mailto:me@example.net");
    url.searchParams.append("subject", "hi there");
    assert.equal(url.href, "mailto:me@example.net?subject=hi+there");
  });
});

describe("hosts", () => {
  test("pure-ASCII hosts are handled without calling the host", () => {
    const before = hostCalls.domainToASCII;
    new URL("https://API.Example.COM/x");
    new URL("http://xn--fa-hia.de/");
    new URL("http://0x7f.1/");
    new URL("http://[::1]/");
    new URL("sc://ñ/");
    assert.equal(hostCalls.domainToASCII, before);
  });

  test("a non-ASCII domain goes through the host's domainToASCII once", () => {
    const before = hostCalls.domainToASCII;
    assert.equal(new URL("https://bücher.example/").host, "xn--bcher-kva.example");
    assert.equal(hostCalls.domainToASCII, before + 1);
  });

  test("a non-ASCII domain with a forbidden code point fails without a host call", () => {
    const before = hostCalls.domainToASCII;
    assert.equal(URL.canParse("https://bü%25cher/"), false);
    assert.equal(URL.canParse("https://bü cher/"), false);
    assert.equal(hostCalls.domainToASCII, before);
  });

  test("IPv4 numbers in every radix serialize to dotted decimal", () => {
    assert.equal(new URL("http://0x7f000001/").hostname, "127.0.0.1");
    assert.equal(new URL("http://2130706433/").hostname, "127.0.0.1");
    assert.equal(new URL("http://017700000001/").hostname, "127.0.0.1");
    assert.equal(new URL("http://127.0.0x1/").hostname, "127.0.0.1");
    assert.equal(new URL("http://1.0x10000/").hostname, "1.1.0.0");
    assert.equal(new URL("http://1.0xffffff/").hostname, "1.255.255.255");
    assert.equal(URL.canParse("http://1.0x1000000/"), false);
  });

  test("IPv6 addresses compress the first longest run of zeros only when it is two or more", () => {
    assert.equal(new URL("http://[2001:db8:0:0:1:0:0:1]/").hostname, "[2001:db8::1:0:0:1]");
    assert.equal(new URL("http://[2001:db8:0:1:1:1:1:1]/").hostname, "[2001:db8:0:1:1:1:1:1]");
    assert.equal(new URL("http://[0:0:0:0:0:0:0:1]/").hostname, "[::1]");
    assert.equal(new URL("http://[1:0:0:0:0:0:0:0]/").hostname, "[1::]");
    assert.equal(new URL("http://[::ffff:0:0]/").hostname, "[::ffff:0:0]");
  });
});

describe("internal entry points for fetch", () => {
  test("parseURL parses against a string or record base and returns null on failure", () => {
    const base = parseURL("https://h/a/b")!;
    assert.equal(serializeURL(parseURL("c", base)!), "https://h/a/c");
    assert.equal(serializeURL(parseURL("c", "https://h/a/b")!), "https://h/a/c");
    assert.equal(parseURL("::"), null);
    assert.equal(parseURL("x", "::"), null);
    assert.equal(serializeURL(parseURL("https://h/#f")!, true), "https://h/");
  });

  test("urlRecordOf exposes the record behind a URL object", () => {
    const record = urlRecordOf(new URL("https://u:p@h:8/p?q#f"));
    assert.equal(record.host, "h");
    assert.equal(record.port, 8);
    assert.equal(record.username, "u");
  });
});

// ---- Differential testing against Node's URL (Ada) ----

/** Deterministic PRNG (mulberry32) so failures reproduce. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(next: () => number, items: readonly T[]): T {
  return items[Math.floor(next() * items.length)]!;
}

const SCHEMES = ["http", "HTTPS", "file", "ws", "wss", "ftp", "sc", "data", "javascript", "blob", "non-spec", "a1+-.", "h\ttp", "1x", ""];
const AFTER_SCHEME = [":", "://", ":/", ":\\\\", ":///", ":////", ":\\/", "://\\", ""];
const USERINFO = ["", "", "", "user@", "user:pass@", ":@", "@", "a@b@", "us%20er:p@ss@", "ü:ß@", "a:b:c@", "x y@"];
const HOSTS = [
  "example.com", "EXAMPLE.COM", "localhost", "127.0.0.1", "0x7f000001", "2130706433", "0x7F.1", "0177.0.0.1", "1.2.3",
  "1.2.3.4.", "1.2.3.4.5", "256.0.0.1", "4294967296", "1.2.3.09", "09", "0x", "foo.09", "foo.0x4", "[::1]", "[::]",
  "[1:0::]", "[1:2:3:4:5:6:7:8]", "[::ffff:1.2.3.4]", "[1::2::3]", "[:1]", "[::127.0.0.01]", "[0:0:1:0:0:0:1:0]", "[::1",
  "faß.de", "ÄÖÜ.com", "xn--a.com", "ex%41mple.com", "%30", "exa mple.com", "a^b", "", "a%", "☕.example", "a..b", ".",
  "\u00ad", "０Ｘｃ０．０２５０．０１", "a\u3002b", "@", "a:b", "$&'()*+,;=",
];
const PORTS = ["", "", "", ":", ":80", ":443", ":8080", ":0", ":65535", ":65536", ":00080", ":x", ": 1"];
const SEGMENTS = [
  "a", "b", ".", "..", "%2e", "%2E", ".%2e", "%2e%2E", "...", "c:", "C|", "x y", "ü", "%zz", "%41", "a\\b", "\\", "",
  "?", "😀", "a#b", "[]", "{}", "^", "`", "'", '"', "<>", "%", "~", "%00", "\u0001", "\u007f",
];
const QUERIES = ["", "", "?", "?a=b", "?a b", "?'\"<>`", "?ü", "?#", "?%zz", "?q=%F0%9F%92%A9"];
const FRAGMENTS = ["", "", "#", "#f", "#f g", "#'\"<>`", "#ü", "##", "#?x", "#\u0000"];
const WRAPPING = ["", "", "", " ", "\t", "\n", "\u0000", "  \u001f"];
const BASES = [
  "http://example.org/foo/bar", "https://user:pw@h.example:8443/a/b/c?q#f", "file:///C:/dir/file", "file:///dir/file",
  "file://host/share/file", "sc://h/a/b", "sc:/a/b", "sc:opaque", "data:text/plain,hi", "non-spec:/.//x", "http://[::1]/",
];

function randomURL(next: () => number): string {
  let s = pick(next, SCHEMES) + pick(next, AFTER_SCHEME) + pick(next, USERINFO) + pick(next, HOSTS) + pick(next, PORTS);
  const segments = Math.floor(next() * 4);
  for (let i = 0; i < segments; i++) s += pick(next, ["/", "/", "\\", "//"]) + pick(next, SEGMENTS);
  s += pick(next, QUERIES) + pick(next, FRAGMENTS);
  if (next() < 0.1) {
    const i = Math.floor(next() * s.length);
    s = s.slice(0, i) + pick(next, ["\t", "\n", "\r"]) + s.slice(i);
  }
  return pick(next, WRAPPING) + s + pick(next, WRAPPING);
}

function randomRelative(next: () => number): string {
  const forms = [
    () => `${pick(next, SEGMENTS)}/${pick(next, SEGMENTS)}`,
    () => `/${pick(next, SEGMENTS)}/${pick(next, SEGMENTS)}`,
    () => `//${pick(next, USERINFO)}${pick(next, HOSTS)}${pick(next, PORTS)}/${pick(next, SEGMENTS)}`,
    () => `\\\\${pick(next, HOSTS)}\\${pick(next, SEGMENTS)}`,
    () => pick(next, ["C|", "c:", "C:/x", "/C|/y", "..", "../..", "./x", "?x#y", "file:x", "http:x", "http:/x", "sc:x"]),
    () => randomURL(next),
  ];
  return pick(next, forms)() + pick(next, QUERIES) + pick(next, FRAGMENTS);
}

const COMPONENTS = ["href", "protocol", "username", "password", "host", "hostname", "port", "pathname", "search", "hash", "origin"];

function snapshot(url: object): string {
  return COMPONENTS.map((key) => `${key}=${(url as Record<string, string>)[key]}`).join(" | ");
}

function parseBoth(input: string, base: string | undefined): [string, string] {
  const ours = URL.parse(input, base);
  const theirs = NodeURL.parse(input, base);
  return [ours === null ? "failure" : snapshot(ours), theirs === null ? "failure" : snapshot(theirs)];
}

describe("differential testing against Node's URL (Ada)", () => {
  test("5000 generated absolute and relative inputs parse identically", () => {
    const next = random(20260101);
    for (let i = 0; i < 5000; i++) {
      const relative = next() < 0.5;
      const input = relative ? randomRelative(next) : randomURL(next);
      const base = relative ? pick(next, BASES) : undefined;
      const [ours, theirs] = parseBoth(input, base);
      assert.equal(ours, theirs, `input ${JSON.stringify(input)} base ${JSON.stringify(base)}`);
    }
  });

  test("3000 generated setter sequences leave identical URLs", () => {
    const next = random(424242);
    const setters = ["href", "protocol", "username", "password", "host", "hostname", "port", "pathname", "search", "hash"];
    const values = [
      "", "http", "https:", "file", "sc", "javascript", "a b", "x:y", "ü", "p@ss", "EXAMPLE.org:8080", "host:99999",
      "[::1]:3", "0x7f.1", "a/b", "a?b", "a#b", "a\\b", "localhost", "8080", "443", "65536", "12ab", "/x/y", "../..",
      "./%2e/z", "?q=1", "#frag", "%zz", "\t\n", " x ", "C|", "ß.de", "//x", "@", "a:b@c",
    ];
    let compared = 0;
    while (compared < 3000) {
      const input = next() < 0.3 ? pick(next, BASES) : randomURL(next);
      const ours = URL.parse(input);
      const theirs = NodeURL.parse(input);
      if (ours === null || theirs === null) continue;
      compared++;
      const steps: string[] = [];
      for (let k = 0; k < 3; k++) {
        const setter = pick(next, setters);
        const value = pick(next, values);
        steps.push(`${setter}=${JSON.stringify(value)}`);
        let oursThrew = false;
        let theirsThrew = false;
        try {
          (ours as unknown as Record<string, string>)[setter] = value;
        } catch {
          oursThrew = true;
        }
        try {
          (theirs as unknown as Record<string, string>)[setter] = value;
        } catch {
          theirsThrew = true;
        }
        assert.equal(oursThrew, theirsThrew, `${input} ${steps.join(" ")}`);
        assert.equal(snapshot(ours), snapshot(theirs), `${input} ${steps.join(" ")}`);
      }
    }
  });
});
