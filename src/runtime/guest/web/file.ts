/**
 * File (File API §4): a Blob with a name and a last-modified time.
 */
import { Blob, blobInitArgs, convertBlobParts, prepareBlobInit, type BlobPart, type BlobPropertyBag } from "./blob.ts";
import { constructContext, defineInterface, dictGet, illegalInvocation, requireArgs, toLongLong, toUSVString } from "./idl.ts";
import { DateNow } from "./intrinsics.ts";

/** WebIDL FilePropertyBag. */
export interface FilePropertyBag extends BlobPropertyBag {
  lastModified?: number;
}

let hasSlots!: (v: object) => boolean;
const kInternal = Symbol("internal");

export class File extends Blob {
  #name: string;
  #lastModified: number;

  static {
    hasSlots = (v) => #name in v;
  }

  constructor(fileBits: BlobPart[], fileName: string, options: FilePropertyBag | undefined = undefined) {
    if ((fileBits as unknown) === kInternal) {
      const init = options as unknown as { bytes: Uint8Array<ArrayBuffer>; type: string; name: string; lastModified: number };
      super(...blobInitArgs(init.bytes, init.type));
      this.#name = init.name;
      this.#lastModified = init.lastModified;
      return;
    }
    const context = constructContext("File");
    requireArgs(arguments.length, 2, context);
    // WebIDL converts every argument before the constructor steps run.
    const parts = convertBlobParts(fileBits, context);
    const name = toUSVString(fileName);
    const { args: blobArgs, dict } = prepareBlobInit(parts, options, context, "FilePropertyBag");
    const rawLastModified = dictGet(dict, "lastModified");
    const lastModified = rawLastModified === undefined ? DateNow() : toLongLong(rawLastModified);
    super(...blobArgs);
    this.#name = name;
    this.#lastModified = lastModified;
  }

  get name(): string {
    if (!isFile(this)) throw illegalInvocation();
    return this.#name;
  }

  get lastModified(): number {
    if (!isFile(this)) throw illegalInvocation();
    return this.#lastModified;
  }
}
defineInterface(File, "File");

/** True for a real File. */
export function isFile(value: unknown): value is File {
  return typeof value === "object" && value !== null && hasSlots(value);
}

/** A File over `bytes` (ownership handed over), with an already-normalized type. */
export function createFile(bytes: Uint8Array<ArrayBuffer>, type: string, name: string, lastModified: number): File {
  return new File(kInternal as never, undefined as never, { bytes, type, name, lastModified } as never);
}
