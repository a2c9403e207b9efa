/**
 * Writes src/host/encoding-indexes.bin: the indexes of the WHATWG Encoding Standard
 * (https://encoding.spec.whatwg.org/#indexes, © WHATWG, CC BY 4.0) that the legacy
 * multi-byte decoders of TextDecoder need — gb18030, gb18030-ranges, big5, jis0208, jis0212
 * and euc-kr — in a compact binary form. The host reads the file once per process and hands
 * one table at a time to an isolate that constructs a decoder needing it (the
 * `encodingIndex` sync call, src/runtime/contract.ts); no isolate holds a table it did not ask for.
 *
 *   npm pack text-encoding@0.7.0   # in a scratch directory, then untar it
 *   node scripts/gen-encoding-indexes.ts <scratch>/package/lib/encoding-indexes.js
 *
 * The source is text-encoding 0.7.0's `lib/encoding-indexes.js`, a JSON copy of the
 * standard's index-*.txt files (checked by SHA-256 below, so a regenerated file is the
 * committed one byte for byte). It predates one change of the standard: in 2024 it adopted
 * GB18030-2022 (whatwg/encoding#336), which replaced 18 private-use code points of index
 * gb18030 with the characters Unicode since encoded; those 18 entries are patched here
 * (`gb18030Of2022`), the old values checked first. The other five indexes have not changed
 * since; web-platform-tests' copies of them (encoding/legacy-mb-*) agree entry for entry.
 *
 * File layout, every integer little-endian:
 *   bytes 0–7    "FLKENCIX"
 *   bytes 8–11   u32 format version, 1
 *   bytes 12–15  u32 table count N
 *   N entries of 24 bytes: the table's name (ASCII, NUL-padded to 16 bytes), u32 byte
 *                offset of the table in the file, u32 its byte length
 *   the tables, each at a 4-byte boundary.
 * Each table — exactly the bytes the guest receives — starts with u32 n, its number of
 * pointers (the index's length), then:
 *   gb18030, jis0208, jis0212, euc-kr: n × u16, the code point of pointers 0 … n−1, 0xFFFF
 *       where the index has no entry (no index maps to U+FFFF; checked);
 *   big5: n × u16, the low 16 bits of each code point (0xFFFF: no entry), then ⌈n/8⌉ bytes of
 *       flags, bit p%8 of byte p/8 set when pointer p's code point is U+20000 + those bits —
 *       the 1,713 entries above U+FFFF are all in plane 2 (checked), so 2 bytes and a bit an
 *       entry instead of a u32;
 *   gb18030-ranges: n × u32 pointers, ascending, then n × u32 code points (the ranges of
 *       four-byte gb18030 sequences, decoded by offset from the last pointer ≤ the pointer).
 * Altogether about 180 KB; the largest table (gb18030, euc-kr) is 47,884 bytes.
 */
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { runInNewContext } from "node:vm";

const sourceSha256 = "d0fd4fed32adb04570634ef4c50e2fd92b3c7f240b68e4403db1cf5df609663f";
const output = fileURLToPath(new URL("../src/host/encoding-indexes.bin", import.meta.url));

type Index = (number | null)[];
type Ranges = [pointer: number, codePoint: number][];

/** The lengths the standard gives (its index-*.txt files end at these pointers). */
const expectedLengths: Record<string, number> = {
  gb18030: 23940,
  "gb18030-ranges": 207,
  big5: 19782,
  jis0208: 11280,
  jis0212: 8836,
  "euc-kr": 23940,
};

/**
 * GB18030-2022's bidirectional mappings as the standard took them into index gb18030
 * (whatwg/encoding#336): [lead byte, trail byte, the old private-use code point, the new one].
 */
const gb18030Of2022: [number, number, number, number][] = [
  [0xa6, 0xd9, 0xe78d, 0xfe10],
  [0xa6, 0xda, 0xe78e, 0xfe12],
  [0xa6, 0xdb, 0xe78f, 0xfe11],
  [0xa6, 0xdc, 0xe790, 0xfe13],
  [0xa6, 0xdd, 0xe791, 0xfe14],
  [0xa6, 0xde, 0xe792, 0xfe15],
  [0xa6, 0xdf, 0xe793, 0xfe16],
  [0xa6, 0xec, 0xe794, 0xfe17],
  [0xa6, 0xed, 0xe795, 0xfe18],
  [0xa6, 0xf3, 0xe796, 0xfe19],
  [0xfe, 0x59, 0xe81e, 0x9fb4],
  [0xfe, 0x61, 0xe826, 0x9fb5],
  [0xfe, 0x66, 0xe82b, 0x9fb6],
  [0xfe, 0x67, 0xe82c, 0x9fb7],
  [0xfe, 0x6d, 0xe832, 0x9fb8],
  [0xfe, 0x7e, 0xe843, 0x9fb9],
  [0xfe, 0x90, 0xe854, 0x9fba],
  [0xfe, 0xa0, 0xe864, 0x9fbb],
];

function fail(message: string): never {
  console.error(`gen-encoding-indexes: ${message}`);
  process.exit(1);
}

function load(file: string): Record<string, unknown> {
  const source = readFileSync(file);
  const sha = createHash("sha256").update(source).digest("hex");
  if (sha !== sourceSha256) fail(`${file} is not text-encoding 0.7.0's lib/encoding-indexes.js (SHA-256 ${sha})`);
  // The file is a UMD wrapper that stores the indexes on the global it is given as `this`.
  const sandbox: Record<string, unknown> = {};
  runInNewContext(source.toString("utf8"), sandbox, { filename: file });
  const indexes = sandbox["encoding-indexes"];
  if (typeof indexes !== "object" || indexes === null) fail(`${file} did not define "encoding-indexes"`);
  return indexes as Record<string, unknown>;
}

function indexOf(indexes: Record<string, unknown>, name: string): Index {
  const index = indexes[name];
  if (!Array.isArray(index) || index.length !== expectedLengths[name]) fail(`index ${name}: expected ${expectedLengths[name]} pointers`);
  for (const value of index as unknown[]) {
    if (value !== null && (!Number.isInteger(value) || (value as number) <= 0 || (value as number) > 0x10ffff)) fail(`index ${name}: ${String(value)} is not a code point`);
  }
  return index as Index;
}

/** n × u16, 0xFFFF for null; `low` keeps only the low 16 bits (big5, whose flags say the rest). */
function u16Table(name: string, index: Index, low = false): Buffer {
  const table = Buffer.alloc(4 + index.length * 2);
  table.writeUInt32LE(index.length, 0);
  index.forEach((cp, p) => {
    if (cp !== null && (cp & 0xffff) === 0xffff) fail(`index ${name}: pointer ${p} maps to U+${cp.toString(16)}, which collides with "no entry"`);
    if (cp !== null && cp > 0xffff && !low) fail(`index ${name}: pointer ${p} is above U+FFFF`);
    table.writeUInt16LE(cp === null ? 0xffff : cp & 0xffff, 4 + p * 2);
  });
  return table;
}

function big5Table(index: Index): Buffer {
  const flags = Buffer.alloc(Math.ceil(index.length / 8));
  index.forEach((cp, p) => {
    if (cp === null || cp <= 0xffff) return;
    if (cp >> 16 !== 2) fail(`index big5: pointer ${p} maps to U+${cp.toString(16)}, outside planes 0 and 2`);
    flags[p >> 3]! |= 1 << (p & 7);
  });
  return Buffer.concat([u16Table("big5", index, true), flags]);
}

function rangesTable(indexes: Record<string, unknown>): Buffer {
  const ranges = indexes["gb18030-ranges"] as Ranges;
  if (!Array.isArray(ranges) || ranges.length !== expectedLengths["gb18030-ranges"]) fail("index gb18030-ranges: unexpected length");
  const table = Buffer.alloc(4 + ranges.length * 8);
  table.writeUInt32LE(ranges.length, 0);
  ranges.forEach(([pointer, cp], i) => {
    if (i > 0 && pointer <= ranges[i - 1]![0]) fail("index gb18030-ranges: pointers are not ascending");
    table.writeUInt32LE(pointer, 4 + i * 4);
    table.writeUInt32LE(cp, 4 + ranges.length * 4 + i * 4);
  });
  return table;
}

function patchGb18030(index: Index): void {
  for (const [lead, trail, old, now] of gb18030Of2022) {
    const pointer = (lead - 0x81) * 190 + trail - (trail < 0x7f ? 0x40 : 0x41);
    if (index[pointer] !== old) fail(`index gb18030: pointer ${pointer} is U+${index[pointer]?.toString(16)}, expected U+${old.toString(16)} before GB18030-2022`);
    index[pointer] = now;
  }
}

const input = process.argv[2];
if (input === undefined) fail("usage: node scripts/gen-encoding-indexes.ts <text-encoding 0.7.0>/lib/encoding-indexes.js");
const indexes = load(input);

const gb18030 = indexOf(indexes, "gb18030");
patchGb18030(gb18030);
const jis0208 = indexOf(indexes, "jis0208");
// Anchors from the standard's files: the first entries of index jis0208 and index gb18030.
if (jis0208[0] !== 0x3000 || gb18030[0] !== 0x4e02) fail("jis0208 pointer 0 should be U+3000 and gb18030 pointer 0 U+4E02");

const tables: [string, Buffer][] = [
  ["gb18030", u16Table("gb18030", gb18030)],
  ["gb18030-ranges", rangesTable(indexes)],
  ["big5", big5Table(indexOf(indexes, "big5"))],
  ["jis0208", u16Table("jis0208", jis0208)],
  ["jis0212", u16Table("jis0212", indexOf(indexes, "jis0212"))],
  ["euc-kr", u16Table("euc-kr", indexOf(indexes, "euc-kr"))],
];

const header = Buffer.alloc(16 + tables.length * 24);
header.write("FLKENCIX", 0, "ascii");
header.writeUInt32LE(1, 8);
header.writeUInt32LE(tables.length, 12);
const parts: Buffer[] = [header];
let offset = header.length;
tables.forEach(([name, table], i) => {
  const entry = 16 + i * 24;
  header.write(name, entry, 16, "ascii");
  header.writeUInt32LE(offset, entry + 16);
  header.writeUInt32LE(table.length, entry + 20);
  const padded = Buffer.alloc(Math.ceil(table.length / 4) * 4);
  table.copy(padded);
  parts.push(padded);
  offset += padded.length;
});
const file = Buffer.concat(parts);
writeFileSync(output, file);
console.log(`wrote ${output}: ${file.length} bytes, ${tables.map(([name, t]) => `${name} ${t.length}`).join(", ")}`);
