/**
 * CompressionStream/DecompressionStream's engine: Node zlib streams kept by the host per
 * invocation. A write is asynchronous; its output (what zlib produced for it) comes back
 * through `deliver`. Output waiting for the guest is capped, so a decompression bomb
 * errors the stream instead of filling the host's memory.
 */
import {
  createBrotliCompress, createBrotliDecompress, createDeflate, createDeflateRaw, createGunzip, createGzip, createInflate, createInflateRaw, type Gzip,
} from "node:zlib";

export const compressionLimits = { streamsPerInvocation: 16, pendingOutputBytes: 64 * 1024 * 1024 } as const;

type Format = "gzip" | "deflate" | "deflate-raw" | "brotli";
const makers: Record<Format, [() => Gzip, () => Gzip]> = {
  gzip: [createGzip as () => Gzip, createGunzip as () => Gzip],
  deflate: [createDeflate as () => Gzip, createInflate as () => Gzip],
  "deflate-raw": [createDeflateRaw as () => Gzip, createInflateRaw as () => Gzip],
  brotli: [createBrotliCompress as unknown as () => Gzip, createBrotliDecompress as unknown as () => Gzip],
};

export class ZlibStream {
  private readonly stream: Gzip;
  private output: Buffer[] = [];
  private size = 0;
  private failure: Error | undefined;
  private ended = false;
  private readonly endWaiters: (() => void)[] = [];
  private readonly compress: boolean;
  /** Input bytes handed to zlib; a decompressor that ended having consumed fewer saw junk after the data. */
  private input = 0;

  constructor(format: string, compress: boolean) {
    const maker = Object.hasOwn(makers, format) ? makers[format as Format] : undefined;
    if (maker === undefined) throw new TypeError(`TypeError: unsupported compression format "${format}" (gzip, deflate, deflate-raw and brotli are)`);
    this.compress = compress;
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

  /**
   * Writes a chunk (or ends the stream when `final`) and settles with what came out and,
   * when the stream failed, why: output made before a failure still reaches the reader.
   */
  write(bytes: Uint8Array, final: boolean): Promise<{ output: Uint8Array; error: Error | undefined }> {
    return new Promise((resolve) => {
      let settled = false;
      const settle = () => {
        if (settled) return;
        settled = true;
        const i = this.endWaiters.indexOf(settle);
        if (i >= 0) this.endWaiters.splice(i, 1);
        this.checkTrailing();
        resolve({ output: this.take(), error: this.failure });
      };
      if (this.failure !== undefined) return settle();
      // An error may end the stream without calling the write callback: settle on either.
      this.endWaiters.push(settle);
      if (!final) {
        // Compression Streams: input after the end of the compressed data is an error.
        if (this.ended && !this.compress && bytes.byteLength > 0) this.failure = new Error("there is data after the end of the compressed stream");
        if (this.failure !== undefined) return settle();
        this.input += bytes.byteLength;
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

  private checkTrailing(): void {
    if (!this.compress && this.ended && this.failure === undefined && this.stream.bytesWritten < this.input) {
      this.failure = new Error("there is data after the end of the compressed stream");
    }
  }

  destroy(): void {
    this.stream.destroy();
  }
}
