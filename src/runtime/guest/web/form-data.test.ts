import { test } from "node:test";
import assert from "node:assert/strict";
import { FormData, formDataFromMultipart, serializeMultipart } from "./form-data.ts";
import { Blob } from "./blob.ts";
import { File } from "./file.ts";
import { utf8Decode, utf8Encode } from "./utf8.ts";

test("append keeps every value in order and get returns the first", () => {
  const fd = new FormData();
  fd.append("a", "1");
  fd.append("b", "2");
  fd.append("a", "3");
  assert.equal(fd.get("a"), "1");
  assert.deepEqual(fd.getAll("a"), ["1", "3"]);
  assert.equal(fd.has("b"), true);
  assert.equal(fd.get("missing"), null);
  assert.deepEqual([...fd], [["a", "1"], ["b", "2"], ["a", "3"]]);
});

test("set replaces the first entry in place and drops the rest", () => {
  const fd = new FormData();
  fd.append("a", "1");
  fd.append("b", "2");
  fd.append("a", "3");
  fd.set("a", "4");
  assert.deepEqual([...fd.entries()], [["a", "4"], ["b", "2"]]);
  fd.delete("a");
  assert.deepEqual([...fd.keys()], ["b"]);
});

test("a Blob value becomes a File named blob, and a filename renames a File", () => {
  const fd = new FormData();
  fd.append("b", new Blob(["x"], { type: "text/plain" }));
  const f = fd.get("b") as File;
  assert.ok(f instanceof File);
  assert.equal(f.name, "blob");
  assert.equal(f.type, "text/plain");
  fd.set("c", new File(["y"], "orig.txt", { lastModified: 5 }), "renamed.txt");
  const g = fd.get("c") as File;
  assert.equal(g.name, "renamed.txt");
  assert.equal(g.lastModified, 5);
});

test("values are USVStrings and a third argument requires a Blob", () => {
  const fd = new FormData();
  fd.append("n", 1 as never);
  fd.append("s", "\ud800");
  assert.equal(fd.get("n"), "1");
  assert.equal(fd.get("s"), "\ufffd");
  assert.throws(() => fd.append("x", "y", "z"), TypeError);
  assert.throws(() => (fd.append as (n: string) => void)("x"), TypeError);
  assert.throws(() => new FormData({} as never), TypeError);
});

test("forEach visits entries with value, name and the FormData", () => {
  const fd = new FormData();
  fd.append("a", "1");
  const seen: unknown[] = [];
  fd.forEach((value, key, parent) => seen.push([value, key, parent === fd]));
  assert.deepEqual(seen, [["1", "a", true]]);
});

test("multipart serialization escapes names and normalizes newlines in names and values", () => {
  const fd = new FormData();
  fd.append('na"me\n', "a\rb\nc");
  const { bytes, boundary } = serializeMultipart(fd);
  const text = utf8Decode(bytes);
  assert.equal(
    text,
    `--${boundary}\r\nContent-Disposition: form-data; name="na%22me%0D%0A"\r\n\r\na\r\nb\r\nc\r\n--${boundary}--\r\n`,
  );
});

test("file parts without a type are sent as application/octet-stream", () => {
  const fd = new FormData();
  fd.append("f", new Blob(["z"]), "z.bin");
  assert.match(utf8Decode(serializeMultipart(fd).bytes), /filename="z.bin"\r\nContent-Type: application\/octet-stream\r\n\r\nz\r\n/);
});

test("the multipart parser reads fields and files and rejects malformed bodies", async () => {
  const body = utf8Encode(
    "preamble\r\n--XX\r\nContent-Disposition: form-data; name=\"field\"\r\n\r\nvalue\r\n" +
      "--XX\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nfile body\r\n--XX--\r\n",
  );
  const fd = formDataFromMultipart(body, "XX")!;
  assert.equal(fd.get("field"), "value");
  const file = fd.get("file") as File;
  assert.equal(file.name, "a.txt");
  assert.equal(await file.text(), "file body");
  assert.equal(formDataFromMultipart(utf8Encode("no boundary here"), "XX"), null);
  assert.equal(formDataFromMultipart(utf8Encode("--XX\r\nContent-Disposition: form-data\r\n\r\nx\r\n--XX--"), "XX"), null);
});
