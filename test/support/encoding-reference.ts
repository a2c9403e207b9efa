/**
 * The legacy multi-byte decoders of the Encoding Standard (§10–13) transcribed literally,
 * step by step, with a real I/O queue that bytes are restored to — slow and plain, as a
 * reference for the runtime's decoders (src/runtime/guest/web/*-decoder.ts), which take
 * shortcuts (no queue, restores folded into the state) that this does not. Also a reader of
 * src/host/encoding-indexes.bin of its own, independent of the guest's.
 */
import { readFileSync } from "node:fs";

/** An index: pointer → code point or null. */
export type Index = (number | null)[];

export interface Indexes {
  gb18030: Index;
  /** [pointer, code point], ascending. */
  gb18030Ranges: [number, number][];
  big5: Index;
  jis0208: Index;
  jis0212: Index;
  eucKr: Index;
}

/** Reads the index file the host serves (layout in scripts/gen-encoding-indexes.ts). */
export function readIndexes(file: URL = new URL("../../src/host/encoding-indexes.bin", import.meta.url)): Indexes {
  const data = readFileSync(file);
  const tables = new Map<string, Buffer>();
  for (let i = 0; i < data.readUInt32LE(12); i++) {
    const entry = 16 + i * 24;
    const offset = data.readUInt32LE(entry + 16);
    tables.set(data.toString("ascii", entry, entry + 16).replace(/\0+$/, ""), data.subarray(offset, offset + data.readUInt32LE(entry + 20)));
  }
  const u16 = (name: string, plane2 = false): Index => {
    const t = tables.get(name)!;
    const n = t.readUInt32LE(0);
    const index: Index = [];
    for (let p = 0; p < n; p++) {
      const v = t.readUInt16LE(4 + 2 * p);
      const high = plane2 && (t[4 + 2 * n + (p >> 3)]! >> (p & 7)) & 1 ? 0x20000 : 0;
      index.push(v === 0xffff ? null : high + v);
    }
    return index;
  };
  const r = tables.get("gb18030-ranges")!;
  const n = r.readUInt32LE(0);
  const ranges: [number, number][] = [];
  for (let k = 0; k < n; k++) ranges.push([r.readUInt32LE(4 + 4 * k), r.readUInt32LE(4 + 4 * n + 4 * k)]);
  return { gb18030: u16("gb18030"), gb18030Ranges: ranges, big5: u16("big5", true), jis0208: u16("jis0208"), jis0212: u16("jis0212"), eucKr: u16("euc-kr") };
}

const END = -1;
const CONTINUE = "continue";
const ERROR = "error";
const FINISHED = "finished";
type Result = number[] | typeof CONTINUE | typeof ERROR | typeof FINISHED;
/** A decoder's handler (Encoding §4.1): the queue to restore to, and a byte or END. */
type Handler = (queue: number[], byte: number) => Result;

const ascii = (b: number) => b >= 0 && b <= 0x7f;
const within = (b: number, lo: number, hi: number) => b >= lo && b <= hi;

/** index gb18030 ranges code point (Encoding §5). */
function rangesCodePoint(ix: Indexes, pointer: number): number | null {
  if ((pointer > 39419 && pointer < 189000) || pointer > 1237575) return null;
  if (pointer === 7457) return 0xe7c7;
  let last = ix.gb18030Ranges[0]!;
  for (const range of ix.gb18030Ranges) if (range[0] <= pointer) last = range;
  return last[1] + pointer - last[0];
}

function gb18030(ix: Indexes): Handler {
  let first = 0, second = 0, third = 0;
  return (q, byte) => {
    if (byte === END && first === 0 && second === 0 && third === 0) return FINISHED;
    if (byte === END) {
      first = second = third = 0;
      return ERROR;
    }
    if (third !== 0) {
      if (!within(byte, 0x30, 0x39)) {
        q.unshift(second, third, byte);
        first = second = third = 0;
        return ERROR;
      }
      const cp = rangesCodePoint(ix, (first - 0x81) * (10 * 126 * 10) + (second - 0x30) * (10 * 126) + (third - 0x81) * 10 + byte - 0x30);
      first = second = third = 0;
      return cp === null ? ERROR : [cp];
    }
    if (second !== 0) {
      if (within(byte, 0x81, 0xfe)) {
        third = byte;
        return CONTINUE;
      }
      q.unshift(second, byte);
      first = second = 0;
      return ERROR;
    }
    if (first !== 0) {
      if (within(byte, 0x30, 0x39)) {
        second = byte;
        return CONTINUE;
      }
      const leading = first;
      first = 0;
      let pointer: number | null = null;
      const offset = byte < 0x7f ? 0x40 : 0x41;
      if (within(byte, 0x40, 0x7e) || within(byte, 0x80, 0xfe)) pointer = (leading - 0x81) * 190 + (byte - offset);
      const cp = pointer === null ? null : ix.gb18030[pointer] ?? null;
      if (cp !== null) return [cp];
      if (ascii(byte)) q.unshift(byte);
      return ERROR;
    }
    if (ascii(byte)) return [byte];
    if (byte === 0x80) return [0x20ac];
    if (within(byte, 0x81, 0xfe)) {
      first = byte;
      return CONTINUE;
    }
    return ERROR;
  };
}

function big5(ix: Indexes): Handler {
  let lead = 0;
  return (q, byte) => {
    if (byte === END && lead !== 0) {
      lead = 0;
      return ERROR;
    }
    if (byte === END) return FINISHED;
    if (lead !== 0) {
      const leading = lead;
      lead = 0;
      let pointer: number | null = null;
      const offset = byte < 0x7f ? 0x40 : 0x62;
      if (within(byte, 0x40, 0x7e) || within(byte, 0xa1, 0xfe)) pointer = (leading - 0x81) * 157 + (byte - offset);
      if (pointer === 1133) return [0xca, 0x304];
      if (pointer === 1135) return [0xca, 0x30c];
      if (pointer === 1164) return [0xea, 0x304];
      if (pointer === 1166) return [0xea, 0x30c];
      const cp = pointer === null ? null : ix.big5[pointer] ?? null;
      if (cp !== null) return [cp];
      if (ascii(byte)) q.unshift(byte);
      return ERROR;
    }
    if (ascii(byte)) return [byte];
    if (within(byte, 0x81, 0xfe)) {
      lead = byte;
      return CONTINUE;
    }
    return ERROR;
  };
}

function eucJp(ix: Indexes): Handler {
  let jis0212 = false, lead = 0;
  return (q, byte) => {
    if (byte === END && lead !== 0) {
      lead = 0;
      return ERROR;
    }
    if (byte === END) return FINISHED;
    if (lead === 0x8e && within(byte, 0xa1, 0xdf)) {
      lead = 0;
      return [0xff61 - 0xa1 + byte];
    }
    if (lead === 0x8f && within(byte, 0xa1, 0xfe)) {
      jis0212 = true;
      lead = byte;
      return CONTINUE;
    }
    if (lead !== 0) {
      const leading = lead;
      lead = 0;
      let cp: number | null = null;
      if (within(leading, 0xa1, 0xfe) && within(byte, 0xa1, 0xfe)) {
        cp = (jis0212 ? ix.jis0212 : ix.jis0208)[(leading - 0xa1) * 94 + byte - 0xa1] ?? null;
      }
      jis0212 = false;
      if (cp !== null) return [cp];
      if (ascii(byte)) q.unshift(byte);
      return ERROR;
    }
    if (ascii(byte)) return [byte];
    if (byte === 0x8e || byte === 0x8f || within(byte, 0xa1, 0xfe)) {
      lead = byte;
      return CONTINUE;
    }
    return ERROR;
  };
}

function iso2022Jp(ix: Indexes): Handler {
  type State = "ascii" | "roman" | "katakana" | "lead" | "trail" | "escape start" | "escape";
  let state: State = "ascii", outputState: State = "ascii", lead = 0, output = false;
  return (q, byte) => {
    switch (state) {
      case "ascii":
        if (byte === 0x1b) {
          state = "escape start";
          return CONTINUE;
        }
        if (within(byte, 0, 0x7f) && byte !== 0x0e && byte !== 0x0f) {
          output = false;
          return [byte];
        }
        if (byte === END) return FINISHED;
        output = false;
        return ERROR;
      case "roman":
        if (byte === 0x1b) {
          state = "escape start";
          return CONTINUE;
        }
        if (byte === 0x5c) {
          output = false;
          return [0xa5];
        }
        if (byte === 0x7e) {
          output = false;
          return [0x203e];
        }
        if (within(byte, 0, 0x7f) && byte !== 0x0e && byte !== 0x0f) {
          output = false;
          return [byte];
        }
        if (byte === END) return FINISHED;
        output = false;
        return ERROR;
      case "katakana":
        if (byte === 0x1b) {
          state = "escape start";
          return CONTINUE;
        }
        if (within(byte, 0x21, 0x5f)) {
          output = false;
          return [0xff61 - 0x21 + byte];
        }
        if (byte === END) return FINISHED;
        output = false;
        return ERROR;
      case "lead":
        if (byte === 0x1b) {
          state = "escape start";
          return CONTINUE;
        }
        if (within(byte, 0x21, 0x7e)) {
          output = false;
          lead = byte;
          state = "trail";
          return CONTINUE;
        }
        if (byte === END) return FINISHED;
        output = false;
        return ERROR;
      case "trail":
        if (byte === 0x1b) {
          state = "escape start";
          return ERROR;
        }
        if (within(byte, 0x21, 0x7e)) {
          state = "lead";
          const cp = ix.jis0208[(lead - 0x21) * 94 + byte - 0x21] ?? null;
          return cp === null ? ERROR : [cp];
        }
        state = "lead";
        return ERROR;
      case "escape start":
        if (byte === 0x24 || byte === 0x28) {
          lead = byte;
          state = "escape";
          return CONTINUE;
        }
        if (byte !== END) q.unshift(byte);
        output = false;
        state = outputState;
        return ERROR;
      case "escape": {
        const leading = lead;
        lead = 0;
        let next: State | null = null;
        if (leading === 0x28 && byte === 0x42) next = "ascii";
        if (leading === 0x28 && byte === 0x4a) next = "roman";
        if (leading === 0x28 && byte === 0x49) next = "katakana";
        if (leading === 0x24 && (byte === 0x40 || byte === 0x42)) next = "lead";
        if (next !== null) {
          state = outputState = next;
          const had = output;
          output = true;
          return had ? ERROR : CONTINUE;
        }
        if (byte === END) q.unshift(leading);
        else q.unshift(leading, byte);
        output = false;
        state = outputState;
        return ERROR;
      }
    }
  };
}

function shiftJis(ix: Indexes): Handler {
  let lead = 0;
  return (q, byte) => {
    if (byte === END && lead !== 0) {
      lead = 0;
      return ERROR;
    }
    if (byte === END) return FINISHED;
    if (lead !== 0) {
      const leading = lead;
      lead = 0;
      let pointer: number | null = null;
      const offset = byte < 0x7f ? 0x40 : 0x41;
      const leadOffset = leading < 0xa0 ? 0x81 : 0xc1;
      if (within(byte, 0x40, 0x7e) || within(byte, 0x80, 0xfc)) pointer = (leading - leadOffset) * 188 + byte - offset;
      if (pointer !== null && within(pointer, 8836, 10715)) return [0xe000 - 8836 + pointer];
      const cp = pointer === null ? null : ix.jis0208[pointer] ?? null;
      if (cp !== null) return [cp];
      if (ascii(byte)) q.unshift(byte);
      return ERROR;
    }
    if (ascii(byte) || byte === 0x80) return [byte];
    if (within(byte, 0xa1, 0xdf)) return [0xff61 - 0xa1 + byte];
    if (within(byte, 0x81, 0x9f) || within(byte, 0xe0, 0xfc)) {
      lead = byte;
      return CONTINUE;
    }
    return ERROR;
  };
}

function eucKr(ix: Indexes): Handler {
  let lead = 0;
  return (q, byte) => {
    if (byte === END && lead !== 0) {
      lead = 0;
      return ERROR;
    }
    if (byte === END) return FINISHED;
    if (lead !== 0) {
      const leading = lead;
      lead = 0;
      let pointer: number | null = null;
      if (within(byte, 0x41, 0xfe)) pointer = (leading - 0x81) * 190 + (byte - 0x41);
      const cp = pointer === null ? null : ix.eucKr[pointer] ?? null;
      if (cp !== null) return [cp];
      if (ascii(byte)) q.unshift(byte);
      return ERROR;
    }
    if (ascii(byte)) return [byte];
    if (within(byte, 0x81, 0xfe)) {
      lead = byte;
      return CONTINUE;
    }
    return ERROR;
  };
}

const handlers: Record<string, (ix: Indexes) => Handler> = {
  gbk: gb18030,
  gb18030,
  big5,
  "euc-jp": eucJp,
  "iso-2022-jp": iso2022Jp,
  shift_jis: shiftJis,
  "euc-kr": eucKr,
};

/**
 * TextDecoder's decode steps (Encoding §7.2) over `chunks`, all but the last with
 * `stream: true`: the concatenated output, or null where a fatal decoder would throw.
 */
export function referenceDecode(ix: Indexes, encoding: string, chunks: Uint8Array[], fatal: boolean): string | null {
  const handler = handlers[encoding]!(ix);
  const queue: number[] = [];
  let out = "";
  for (let c = 0; c < chunks.length; c++) {
    queue.push(...chunks[c]!);
    const last = c === chunks.length - 1;
    for (;;) {
      if (queue.length === 0 && !last) break;
      const byte = queue.length === 0 ? END : queue.shift()!;
      const result = handler(queue, byte);
      if (result === FINISHED) break;
      if (result === CONTINUE) continue;
      if (result === ERROR) {
        if (fatal) return null;
        out += "\ufffd";
        continue;
      }
      out += String.fromCodePoint(...result);
    }
  }
  return out;
}
