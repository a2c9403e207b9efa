/**
 * CompressionStream/DecompressionStream's engine: Node zlib streams kept by the host per
 * invocation. A write is asynchronous; its output (what zlib produced for it) comes back
 * through `deliver`. Output waiting for the guest is capped, so a decompression bomb
 * errors the stream instead of filling the host's memory.
 */
import { createDeflate, createDeflateRaw, createGunzip, createGzip, createInflate, createInflateRaw, type Gzip } from "node:zlib";

export const compressionLimits = { streamsPerInvocation: 16, pendingOutputBytes: 64 * 1024 * 1024 } as const;

type Format = "gzip" | "deflate" | "deflate-raw";
const makers: Record<Format, [() => Gzip, () => Gzip]> = {
  gzip: [createGzip as () => Gzip, createGunzip as () => Gzip],
  deflate: [createDeflate as () => Gzip, createInflate as () => Gzip],
  "deflate-raw": [createDeflateRaw as () => Gzip, createInflateRaw as () => Gzip],
};

export class ZlibStream {
  private readonly stream: Gzip;
  private output: Buffer[] = [];
  private size = 0;
  private failure: Error | undefined;
  private ended = false;
  private readonly endWaiters: (() => void)[] = [];

  constructor(format: string, compress: boolean) {
    const maker = Object.hasOwn(makers, format) ? makers[format as Format] : undefined;
    if (maker === undefined) throw new TypeError(`TypeError: unsupported compression format "${format}" (gzip, deflate and deflate-raw are)`);
    this.stream = (compress ? maker[0] : maker[1])();
    this.stream.on("data", (chunk: Buffer) => {
      this.size += chunk.length;
      this.output.push(chunk);
      if (this.size > compressionLimits.pendingOutputBytes) {
        this.stream.destroy(new Error(`the output is over ${compressionLimits.pendingOutputBytes} bytes (a decompression bomb?)`));
      }
    });
    this.stream.on("error", (err) => {
      this.failure = err;
      for (const w of this.endWaiters.splice(0)) w();
    });
    this.stream.on("end", () => {
      this.ended = true;
      for (const w of this.endWaiters.splice(0)) w();
    });
  }

  private take(): Uint8Array {
    const out = Buffer.concat(this.output, this.size);
    this.output = [];
    this.size = 0;
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  }

  /** Writes a chunk (or ends the stream when `final`) and settles with what came out. */
  write(bytes: Uint8Array, final: boolean): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      let settled = false;
      const settle = () => {
        if (settled) return;
        settled = true;
        const i = this.endWaiters.indexOf(settle);
        if (i >= 0) this.endWaiters.splice(i, 1);
        if (this.failure !== undefined) reject(this.failure);
        else resolve(this.take());
      };
      if (this.failure !== undefined) return settle();
      // An error may end the stream without calling the write callback: settle on either.
      this.endWaiters.push(settle);
      if (!final) {
        this.stream.write(bytes, (err) => {
          if (err && this.failure === undefined) this.failure = err;
          settle();
        });
        return;
      }
      if (this.ended) return settle();
      this.stream.end(bytes.byteLength > 0 ? bytes : undefined);
    });
  }

  destroy(): void {
    this.stream.destroy();
  }
}
