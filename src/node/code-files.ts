/**
 * Where this node's hosts read a version's code from. Hosts run files: they find a source
 * map beside the file they run and keep a V8 code cache there (`codeFileName`). A store
 * whose code already is local files (the embedded one) says where they are; from any other
 * store, the bytes are fetched and written under `<data dir>/code/` the first time this node
 * places an instance of the version, or checks a deploy. Those files are a cache: deleting
 * the folder while the node is stopped loses nothing.
 */
import { existsSync, mkdirSync } from "node:fs";
import * as path from "node:path";
import type { VersionRecord } from "../model/index.ts";
import { codeFileName, writeFileDurably, type CodeKind, type Store } from "../store/index.ts";

/** A version's code as files: the module, its script form when there is one, its wasm modules by hash. */
export interface VersionFiles {
  bundlePath: string;
  scriptPath: string | undefined;
  wasm: Record<string, string>;
}

/** What this needs of a store. */
export type CodeSource = Pick<Store, "getCode" | "localCodePath">;

export class CodeFiles {
  private readonly store: CodeSource;
  private readonly dir: string;

  constructor(store: CodeSource, dataDir: string) {
    this.store = store;
    this.dir = path.join(dataDir, "code");
    if (store.localCodePath === undefined) mkdirSync(this.dir, { recursive: true, mode: 0o700 });
  }

  /** Where `kind` of `hash` is read from on this node, whether or not it is there yet. */
  pathOf(kind: CodeKind, hash: string): string {
    return this.store.localCodePath?.(kind, hash) ?? path.join(this.dir, codeFileName(kind, hash));
  }

  /** The version's files, made local first when they are not (fetched from the store). */
  async of(version: VersionRecord): Promise<VersionFiles> {
    const hash = version.bundleHash;
    if (this.store.localCodePath === undefined) {
      await this.fetch("bundle", hash, true);
      await Promise.all([this.fetch("bundle-map", hash), this.fetch("script", hash), this.fetch("script-map", hash), ...version.wasm.map((w) => this.fetch("wasm", w, true))]);
    }
    const script = this.pathOf("script", hash);
    return {
      bundlePath: this.pathOf("bundle", hash),
      scriptPath: existsSync(script) ? script : undefined,
      wasm: Object.fromEntries(version.wasm.map((w) => [w, this.pathOf("wasm", w)])),
    };
  }

  /** Copies one piece from the store unless it is here already; `needed`: its absence is an error. */
  private async fetch(kind: CodeKind, hash: string, needed = false): Promise<void> {
    const file = this.pathOf(kind, hash);
    if (existsSync(file)) return;
    const bytes = await this.store.getCode(kind, hash);
    if (bytes === undefined) {
      if (needed) throw new Error(`the store has no ${kind} ${hash}, which a stored version names`);
      return;
    }
    // Whole or not at all: a host never reads half a file.
    writeFileDurably(file, bytes);
  }
}
