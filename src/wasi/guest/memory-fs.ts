/**
 * The files a WASI program sees: the directories shipped with the deploy (`--dir`),
 * shared by every invocation and never changed, under a per-invocation overlay in memory.
 * A directory or file is copied into the overlay the first time this invocation changes
 * it (copy on write, one path at a time), so a request can write, rename and remove as it
 * likes and the next one starts from the shipped tree again.
 */

export interface FileNode {
  kind: "file";
  ino: number;
  /** The bytes; `size` of them are the file's (the rest is room to grow). */
  data: Uint8Array;
  size: number;
  mtimeNs: bigint;
  /** This invocation's copy (writable), or the shipped one (shared). */
  owned: boolean;
}

export interface DirNode {
  kind: "dir";
  ino: number;
  entries: Map<string, Node>;
  mtimeNs: bigint;
  owned: boolean;
}

export type Node = FileNode | DirNode;

/** What the deploy ships: file paths (relative, `/`-separated) to bytes, by guest directory. */
export type ShippedDirs = Record<string, Record<string, Uint8Array>>;

let nextIno = 1;

export function newDir(mtimeNs: bigint, owned: boolean): DirNode {
  return { kind: "dir", ino: nextIno++, entries: new Map(), mtimeNs, owned };
}

export function newFile(data: Uint8Array, mtimeNs: bigint, owned: boolean): FileNode {
  return { kind: "file", ino: nextIno++, data, size: data.length, mtimeNs, owned };
}

/** The shipped tree: one root holding every `--dir`'s guest path. Made once per instance. */
export function shippedTree(dirs: ShippedDirs, mtimeNs: bigint): DirNode {
  const root = newDir(mtimeNs, false);
  for (const [guest, files] of Object.entries(dirs)) {
    const top = mkdirs(root, split(guest), mtimeNs);
    for (const [name, bytes] of Object.entries(files)) {
      const parts = split(name);
      const leaf = parts.pop();
      if (leaf === undefined) continue;
      mkdirs(top, parts, mtimeNs).entries.set(leaf, newFile(bytes, mtimeNs, false));
    }
  }
  return root;
}

function mkdirs(from: DirNode, parts: string[], mtimeNs: bigint): DirNode {
  let dir = from;
  for (const part of parts) {
    let next = dir.entries.get(part);
    if (next === undefined || next.kind !== "dir") {
      next = newDir(mtimeNs, false);
      dir.entries.set(part, next);
    }
    dir = next;
  }
  return dir;
}

export function split(path: string): string[] {
  return path.split("/").filter((p) => p !== "" && p !== ".");
}

/** The invocation's view: the shipped root, copied on first change. */
export class Overlay {
  root: DirNode;

  constructor(shipped: DirNode) {
    this.root = shipped;
  }

  /** The node at `path` (absolute components), or undefined. */
  lookup(path: readonly string[]): Node | undefined {
    let node: Node = this.root;
    for (const part of path) {
      if (node.kind !== "dir") return undefined;
      const next = node.entries.get(part);
      if (next === undefined) return undefined;
      node = next;
    }
    return node;
  }

  /** The directory at `path`, made this invocation's own (and every directory above it). */
  ownDir(path: readonly string[]): DirNode | undefined {
    if (!this.root.owned) this.root = { ...this.root, entries: new Map(this.root.entries), owned: true };
    let dir = this.root;
    for (const part of path) {
      const next = dir.entries.get(part);
      if (next === undefined || next.kind !== "dir") return undefined;
      if (!next.owned) {
        const copy: DirNode = { ...next, entries: new Map(next.entries), owned: true };
        dir.entries.set(part, copy);
        dir = copy;
      } else dir = next;
    }
    return dir;
  }

  /** The file at `path`, made this invocation's own (its bytes copied the first time). */
  ownFile(path: readonly string[]): FileNode | undefined {
    const parent = this.ownDir(path.slice(0, -1));
    const name = path[path.length - 1];
    if (parent === undefined || name === undefined) return undefined;
    const node = parent.entries.get(name);
    if (node === undefined || node.kind !== "file") return undefined;
    if (node.owned) return node;
    const copy: FileNode = { ...node, data: node.data.slice(0, node.size), owned: true };
    parent.entries.set(name, copy);
    return copy;
  }
}

/** Makes room for `size` bytes in an owned file, growing by doubling. */
export function reserve(file: FileNode, size: number): void {
  if (size <= file.data.length) return;
  const grown = new Uint8Array(Math.max(size, file.data.length * 2, 64));
  grown.set(file.data.subarray(0, file.size));
  file.data = grown;
}
