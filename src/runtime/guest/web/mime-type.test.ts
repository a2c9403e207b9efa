import { test } from "node:test";
import assert from "node:assert/strict";
import { extractMimeType, parseMimeType, serializeMimeType } from "./mime-type.ts";
import { HeaderList } from "./header-list.ts";

const roundTrip = (s: string): string | null => {
  const m = parseMimeType(s);
  return m === null ? null : serializeMimeType(m);
};

test("MIME types are lowercased, parameters keep their value and first wins", () => {
  assert.equal(roundTrip(" Text/HTML ; Charset=UTF-8 ; charset=x"), "text/html;charset=UTF-8");
  assert.equal(roundTrip('text/plain;a="b\\"c";d=""'), 'text/plain;a="b\\"c";d=""');
  assert.equal(roundTrip("text/plain;x"), "text/plain");
});

test("invalid MIME types fail to parse", () => {
  for (const bad of ["", "text", "text/", "/plain", "te xt/plain", "text/pl ain x"]) assert.equal(parseMimeType(bad), null, bad);
});

test("extract a MIME type combines Content-Type values like Fetch says", () => {
  const list = new HeaderList();
  list.append("content-type", "text/plain;charset=gbk, text/plain");
  assert.equal(serializeMimeType(extractMimeType(list)!), "text/plain;charset=gbk");
  const list2 = new HeaderList();
  list2.append("content-type", "text/html;charset=gbk, */*, text/plain");
  assert.equal(serializeMimeType(extractMimeType(list2)!), "text/plain");
  const list3 = new HeaderList();
  list3.append("content-type", 'text/plain;charset="a,b"');
  assert.equal(serializeMimeType(extractMimeType(list3)!), 'text/plain;charset="a,b"');
  assert.equal(extractMimeType(new HeaderList()), null);
});
