/**
 * WASI preview 1 (`wasi_snapshot_preview1`), implemented inside the isolate for one run of
 * a program: its arguments and environment, stdin from a byte array, stdout and stderr
 * collected, clocks from the guest's clock, randomness from `crypto.getRandomValues`, and
 * files in an in-memory overlay over the shipped directories (memory-fs.ts).
 *
 * Every call checks what the program passes (a bad pointer is EFAULT, an unknown fd EBADF)
 * and answers an errno; none throws into the program except `proc_exit`, which ends the
 * run. Calls Flick does not offer (sockets, symlinks, signals) answer ENOSYS or ENOTSUP;
 * an import the program asks for that this table does not name answers ENOSYS too.
 * docs/runtime.md lists each call and its status.
 *
 * Time: the guest clock stands still while the program runs (runtime/guest/clock.ts), so
 * a `poll_oneoff` sleep returns at once and moves this run's clocks on by the time slept.
 */
import { Overlay, newDir, newFile, reserve, split, type FileNode, type Node } from "./memory-fs.ts";
import { wasm, type WasmMemory, type WasmModule } from "./wasm-api.ts";

// errno
const SUCCESS = 0;
const EBADF = 8;
const EEXIST = 20;
const EFAULT = 21;
const EFBIG = 22;
const EINVAL = 28;
const EISDIR = 31;
const EMFILE = 33;
const ENOENT = 44;
const ENOSYS = 52;
const ENOTDIR = 54;
const ENOTEMPTY = 55;
const ENOTSUP = 58;
const ESPIPE = 70;
const ENOTCAPABLE = 76;

// filetype
const CHARACTER_DEVICE = 2;
const DIRECTORY = 3;
const REGULAR_FILE = 4;

// oflags, fdflags, whence, clocks, events
const O_CREAT = 1;
const O_DIRECTORY = 2;
const O_EXCL = 4;
const O_TRUNC = 8;
const FDFLAG_APPEND = 1;
const WHENCE_SET = 0;
const WHENCE_CUR = 1;
const WHENCE_END = 2;
const CLOCK_REALTIME = 0;
const EVENT_CLOCK = 0;
const SUBCLOCK_ABSTIME = 1;

const allRights = 0x1fffffffn;

/** Descriptors a run may hold open at once (stdio and preopens included); past it, EMFILE. */
export const maxOpenFds = 1024;
/** The largest file in the overlay (no function's memory holds more); past it, EFBIG. */
export const maxFileBytes = 2 ** 30;
/** What a run may write to stdout (it is buffered: the CGI response); past it, EFBIG. */
export const maxStdoutBytes = 32 * 2 ** 20;

/** A size or offset a file may not reach: the call answers EFBIG. */
class FileTooLarge {}

function fileEnd(offset: bigint | number, length: bigint | number = 0): number {
  const end = BigInt(offset) + BigInt(length);
  if (end < 0n || end > BigInt(maxFileBytes)) throw new FileTooLarge();
  return Number(end);
}

/** `proc_exit`: thrown through the program's frames to end the run. */
export class ProgramExit {
  readonly code: number;
  constructor(code: number) {
    this.code = code;
  }
}

type Fd =
  | { kind: "stdin" }
  | { kind: "stdout" }
  | { kind: "stderr" }
  | { kind: "dir"; path: string[]; preopen?: string }
  | { kind: "file"; path: string[]; node: FileNode; position: number; append: boolean };

export interface RunIO {
  args: string[];
  env: string[];
  stdin: Uint8Array;
  /** Called with each write to stdout / stderr (the bytes are the program's memory: copy them). */
  stdout(bytes: Uint8Array): void;
  stderr(bytes: Uint8Array): void;
  /** Guest directories offered to the program, by their absolute guest path. */
  preopens: string[];
  files: Overlay;
  /** Now, as the guest clock says, in ns since the epoch / since the isolate started. */
  realtimeNs(): bigint;
  monotonicNs(): bigint;
  random(into: Uint8Array): void;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class Preview1 {
  private memory: WasmMemory | undefined;
  private readonly io: RunIO;
  private readonly fds = new Map<number, Fd>();
  private nextFd: number;
  private stdoutBytes = 0;
  private stdinAt = 0;
  /** Time the program slept (poll_oneoff): added to every clock reading. */
  private sleptNs = 0n;
  private readonly argBytes: Uint8Array[];
  private readonly envBytes: Uint8Array[];

  constructor(io: RunIO) {
    this.io = io;
    this.fds.set(0, { kind: "stdin" });
    this.fds.set(1, { kind: "stdout" });
    this.fds.set(2, { kind: "stderr" });
    let fd = 3;
    for (const dir of io.preopens) this.fds.set(fd++, { kind: "dir", path: split(dir), preopen: dir });
    this.nextFd = fd;
    this.argBytes = io.args.map((a) => encoder.encode(`${a}\0`));
    this.envBytes = io.env.map((e) => encoder.encode(`${e}\0`));
  }

  /** The instance's memory, once instantiated (the calls read and write it). */
  bind(memory: WasmMemory): void {
    this.memory = memory;
  }

  private view(): DataView {
    if (this.memory === undefined) throw new RangeError("no memory");
    return new DataView(this.memory.buffer);
  }

  private bytes(ptr: number, len: number): Uint8Array {
    if (this.memory === undefined) throw new RangeError("no memory");
    if (ptr < 0 || len < 0 || ptr + len > this.memory.buffer.byteLength) throw new RangeError("out of bounds");
    return new Uint8Array(this.memory.buffer, ptr, len);
  }

  private text(ptr: number, len: number): string {
    return decoder.decode(this.bytes(ptr, len));
  }

  /** The iovecs at `ptr` as views of memory. */
  private iovecs(ptr: number, count: number): Uint8Array[] {
    const v = this.view();
    const out: Uint8Array[] = [];
    for (let i = 0; i < count; i++) out.push(this.bytes(v.getUint32(ptr + 8 * i, true), v.getUint32(ptr + 8 * i + 4, true)));
    return out;
  }

  private strings(list: Uint8Array[], ptrs: number, buf: number): number {
    const v = this.view();
    let at = buf;
    list.forEach((s, i) => {
      v.setUint32(ptrs + 4 * i, at, true);
      this.bytes(at, s.length).set(s);
      at += s.length;
    });
    return SUCCESS;
  }

  private sizes(list: Uint8Array[], countPtr: number, sizePtr: number): number {
    const v = this.view();
    v.setUint32(countPtr, list.length, true);
    v.setUint32(sizePtr, list.reduce((n, s) => n + s.length, 0), true);
    return SUCCESS;
  }

  private clockNs(id: number): bigint | undefined {
    if (id === CLOCK_REALTIME) return this.io.realtimeNs() + this.sleptNs;
    if (id >= 1 && id <= 3) return this.io.monotonicNs() + this.sleptNs;
    return undefined;
  }

  /** A path relative to a directory fd, as absolute components; undefined when it would leave the directory. */
  private resolve(dirFd: number, path: string): { dir: Extract<Fd, { kind: "dir" }>; path: string[] } | number {
    const fd = this.fds.get(dirFd);
    if (fd === undefined) return EBADF;
    if (fd.kind !== "dir") return ENOTDIR;
    if (path.startsWith("/")) return ENOTCAPABLE;
    const out = [...fd.path];
    const floor = fd.path.length;
    for (const part of path.split("/")) {
      if (part === "" || part === ".") continue;
      if (part === "..") {
        if (out.length <= floor) return ENOTCAPABLE;
        out.pop();
      } else out.push(part);
    }
    return { dir: fd, path: out };
  }

  private filestat(ptr: number, node: Node | "char"): void {
    const v = this.view();
    const ino = node === "char" ? 0n : BigInt(node.ino);
    v.setBigUint64(ptr, 0n, true); // dev
    v.setBigUint64(ptr + 8, ino, true);
    v.setUint8(ptr + 16, node === "char" ? CHARACTER_DEVICE : node.kind === "dir" ? DIRECTORY : REGULAR_FILE);
    v.setBigUint64(ptr + 24, 1n, true); // nlink
    v.setBigUint64(ptr + 32, node === "char" ? 0n : BigInt(node.kind === "file" ? node.size : 0), true);
    const time = node === "char" ? 0n : node.mtimeNs;
    v.setBigUint64(ptr + 40, time, true);
    v.setBigUint64(ptr + 48, time, true);
    v.setBigUint64(ptr + 56, time, true);
  }

  private nowNs(): bigint {
    return this.io.realtimeNs() + this.sleptNs;
  }

  /** The table the program imports as `wasi_snapshot_preview1`. */
  imports(): Record<string, (...args: never[]) => number> {
    const calls: Record<string, (...args: never[]) => number> = {
      args_get: (argv: number, buf: number) => this.strings(this.argBytes, argv, buf),
      args_sizes_get: (count: number, size: number) => this.sizes(this.argBytes, count, size),
      environ_get: (envp: number, buf: number) => this.strings(this.envBytes, envp, buf),
      environ_sizes_get: (count: number, size: number) => this.sizes(this.envBytes, count, size),

      clock_res_get: (id: number, ptr: number) => {
        if (this.clockNs(id) === undefined) return EINVAL;
        this.view().setBigUint64(ptr, 1_000_000n, true); // the guest clock moves in whole ms
        return SUCCESS;
      },
      clock_time_get: (id: number, _precision: bigint, ptr: number) => {
        const ns = this.clockNs(id);
        if (ns === undefined) return EINVAL;
        this.view().setBigUint64(ptr, ns, true);
        return SUCCESS;
      },
      random_get: (ptr: number, len: number) => {
        const out = this.bytes(ptr, len);
        // getRandomValues takes at most 65,536 bytes at a time.
        for (let at = 0; at < len; at += 65536) this.io.random(out.subarray(at, Math.min(len, at + 65536)));
        return SUCCESS;
      },

      fd_write: (fd: number, iovs: number, count: number, written: number) => {
        const f = this.fds.get(fd);
        if (f === undefined) return EBADF;
        let n = 0;
        for (const chunk of this.iovecs(iovs, count)) {
          if (f.kind === "stdout") {
            if (this.stdoutBytes + chunk.length > maxStdoutBytes) return n > 0 ? this.wrote(written, n) : EFBIG;
            this.stdoutBytes += chunk.length;
            this.io.stdout(chunk);
          }
          else if (f.kind === "stderr") this.io.stderr(chunk);
          else if (f.kind === "file") {
            const at = f.append ? f.node.size : f.position;
            fileEnd(at, chunk.length);
            f.position = this.writeAt(this.writable(f), at, [chunk]);
          }
          else return f.kind === "dir" ? EISDIR : EBADF;
          n += chunk.length;
        }
        this.view().setUint32(written, n, true);
        return SUCCESS;
      },
      fd_pwrite: (fd: number, iovs: number, count: number, offset: bigint, written: number) => {
        const f = this.fds.get(fd);
        if (f === undefined) return EBADF;
        if (f.kind !== "file") return f.kind === "dir" ? EISDIR : ESPIPE;
        const chunks = this.iovecs(iovs, count);
        const at = fileEnd(offset);
        fileEnd(at, chunks.reduce((sum, c) => sum + c.length, 0));
        this.view().setUint32(written, this.writeAt(this.writable(f), at, chunks) - at, true);
        return SUCCESS;
      },
      fd_read: (fd: number, iovs: number, count: number, read: number) => {
        const f = this.fds.get(fd);
        if (f === undefined) return EBADF;
        let n = 0;
        for (const into of this.iovecs(iovs, count)) {
          let got: Uint8Array;
          if (f.kind === "stdin") {
            got = this.io.stdin.subarray(this.stdinAt, this.stdinAt + into.length);
            this.stdinAt += got.length;
          } else if (f.kind === "file") {
            got = this.readAt(f.node, f.position, into.length);
            f.position += got.length;
          } else return f.kind === "dir" ? EISDIR : EBADF;
          into.set(got);
          n += got.length;
          if (got.length < into.length) break;
        }
        this.view().setUint32(read, n, true);
        return SUCCESS;
      },
      fd_pread: (fd: number, iovs: number, count: number, offset: bigint, read: number) => {
        const f = this.fds.get(fd);
        if (f === undefined) return EBADF;
        if (f.kind !== "file") return f.kind === "dir" ? EISDIR : ESPIPE;
        let at = Number(offset);
        let n = 0;
        for (const into of this.iovecs(iovs, count)) {
          const got = this.readAt(f.node, at, into.length);
          into.set(got);
          at += got.length;
          n += got.length;
          if (got.length < into.length) break;
        }
        this.view().setUint32(read, n, true);
        return SUCCESS;
      },
      fd_seek: (fd: number, offset: bigint, whence: number, out: number) => {
        const f = this.fds.get(fd);
        if (f === undefined) return EBADF;
        if (f.kind !== "file") return f.kind === "dir" ? EISDIR : ESPIPE;
        const base = whence === WHENCE_SET ? 0 : whence === WHENCE_CUR ? f.position : whence === WHENCE_END ? f.node.size : -1;
        if (base < 0) return EINVAL;
        const to = base + Number(offset);
        if (to < 0) return EINVAL;
        f.position = to;
        this.view().setBigUint64(out, BigInt(to), true);
        return SUCCESS;
      },
      fd_tell: (fd: number, out: number) => {
        const f = this.fds.get(fd);
        if (f === undefined) return EBADF;
        if (f.kind !== "file") return ESPIPE;
        this.view().setBigUint64(out, BigInt(f.position), true);
        return SUCCESS;
      },
      fd_close: (fd: number) => (this.fds.delete(fd) ? SUCCESS : EBADF),
      fd_sync: (fd: number) => (this.fds.has(fd) ? SUCCESS : EBADF),
      fd_datasync: (fd: number) => (this.fds.has(fd) ? SUCCESS : EBADF),
      fd_advise: (fd: number) => (this.fds.has(fd) ? SUCCESS : EBADF),
      fd_allocate: (fd: number, offset: bigint, len: bigint) => {
        const f = this.fds.get(fd);
        if (f === undefined) return EBADF;
        if (f.kind !== "file") return EBADF;
        const end = fileEnd(offset, len);
        const file = this.writable(f);
        reserve(file, end);
        if (end > file.size) {
          file.data.fill(0, file.size, end);
          file.size = end;
        }
        return SUCCESS;
      },
      fd_fdstat_get: (fd: number, ptr: number) => {
        const f = this.fds.get(fd);
        if (f === undefined) return EBADF;
        const v = this.view();
        v.setUint8(ptr, f.kind === "dir" ? DIRECTORY : f.kind === "file" ? REGULAR_FILE : CHARACTER_DEVICE);
        v.setUint16(ptr + 2, f.kind === "file" && f.append ? FDFLAG_APPEND : 0, true);
        v.setBigUint64(ptr + 8, allRights, true);
        v.setBigUint64(ptr + 16, allRights, true);
        return SUCCESS;
      },
      fd_fdstat_set_flags: (fd: number, flags: number) => {
        const f = this.fds.get(fd);
        if (f === undefined) return EBADF;
        if (f.kind === "file") f.append = (flags & FDFLAG_APPEND) !== 0;
        return SUCCESS;
      },
      fd_fdstat_set_rights: (fd: number) => (this.fds.has(fd) ? SUCCESS : EBADF),
      fd_filestat_get: (fd: number, ptr: number) => {
        const f = this.fds.get(fd);
        if (f === undefined) return EBADF;
        if (f.kind === "file") this.filestat(ptr, f.node);
        else if (f.kind === "dir") {
          const node = this.io.files.lookup(f.path);
          if (node === undefined) return ENOENT;
          this.filestat(ptr, node);
        } else this.filestat(ptr, "char");
        return SUCCESS;
      },
      fd_filestat_set_size: (fd: number, size: bigint) => {
        const f = this.fds.get(fd);
        if (f === undefined) return EBADF;
        if (f.kind !== "file") return EINVAL;
        const n = fileEnd(size);
        const file = this.writable(f);
        reserve(file, n);
        if (n > file.size) file.data.fill(0, file.size, n);
        file.size = n;
        return SUCCESS;
      },
      fd_filestat_set_times: (fd: number) => (this.fds.has(fd) ? SUCCESS : EBADF),
      fd_prestat_get: (fd: number, ptr: number) => {
        const f = this.fds.get(fd);
        if (f === undefined || f.kind !== "dir" || f.preopen === undefined) return EBADF;
        const v = this.view();
        v.setUint8(ptr, 0); // a directory
        v.setUint32(ptr + 4, encoder.encode(f.preopen).length, true);
        return SUCCESS;
      },
      fd_prestat_dir_name: (fd: number, ptr: number, len: number) => {
        const f = this.fds.get(fd);
        if (f === undefined || f.kind !== "dir" || f.preopen === undefined) return EBADF;
        const name = encoder.encode(f.preopen);
        this.bytes(ptr, Math.min(len, name.length)).set(name.subarray(0, len));
        return SUCCESS;
      },
      fd_readdir: (fd: number, buf: number, len: number, cookie: bigint, used: number) => {
        const f = this.fds.get(fd);
        if (f === undefined) return EBADF;
        if (f.kind !== "dir") return ENOTDIR;
        const dir = this.io.files.lookup(f.path);
        if (dir === undefined || dir.kind !== "dir") return ENOENT;
        const names: [string, Node | undefined][] = [[".", dir], ["..", undefined], ...[...dir.entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))];
        const out = this.bytes(buf, len);
        const v = this.view();
        let at = 0;
        for (let i = Number(cookie); i < names.length && at < len; i++) {
          const [name, node] = names[i]!;
          const nameBytes = encoder.encode(name);
          // A dirent: next cookie, inode, name length, type; then the name. What does not fit is cut (the caller asks again).
          const entry = new Uint8Array(24 + nameBytes.length);
          const ev = new DataView(entry.buffer);
          ev.setBigUint64(0, BigInt(i + 1), true);
          ev.setBigUint64(8, BigInt(node?.ino ?? 0), true);
          ev.setUint32(16, nameBytes.length, true);
          ev.setUint8(20, node === undefined || node.kind === "dir" ? DIRECTORY : REGULAR_FILE);
          entry.set(nameBytes, 24);
          const n = Math.min(entry.length, len - at);
          out.set(entry.subarray(0, n), at);
          at += n;
        }
        v.setUint32(used, at, true);
        return SUCCESS;
      },
      fd_renumber: (from: number, to: number) => {
        const f = this.fds.get(from);
        if (f === undefined || !this.fds.has(to)) return EBADF;
        this.fds.set(to, f);
        this.fds.delete(from);
        return SUCCESS;
      },

      path_open: (dirFd: number, _lookup: number, pathPtr: number, pathLen: number, oflags: number, _base: bigint, _inheriting: bigint, fdflags: number, out: number) => {
        const r = this.resolve(dirFd, this.text(pathPtr, pathLen));
        if (typeof r === "number") return r;
        let node = this.io.files.lookup(r.path);
        if (node !== undefined && (oflags & O_CREAT) !== 0 && (oflags & O_EXCL) !== 0) return EEXIST;
        if (node === undefined) {
          if ((oflags & O_CREAT) === 0) return ENOENT;
          const parent = this.io.files.ownDir(r.path.slice(0, -1));
          const name = r.path[r.path.length - 1];
          if (parent === undefined || name === undefined) return ENOENT;
          node = newFile(new Uint8Array(0), this.nowNs(), true);
          parent.entries.set(name, node);
          parent.mtimeNs = this.nowNs();
        }
        if (node.kind === "dir") {
          if ((oflags & (O_CREAT | O_TRUNC)) !== 0 && (oflags & O_DIRECTORY) === 0) return EISDIR;
          return this.open({ kind: "dir", path: r.path }, out);
        }
        if ((oflags & O_DIRECTORY) !== 0) return ENOTDIR;
        const fd: Extract<Fd, { kind: "file" }> = { kind: "file", path: r.path, node, position: 0, append: (fdflags & FDFLAG_APPEND) !== 0 };
        if ((oflags & O_TRUNC) !== 0) this.writable(fd).size = 0;
        return this.open(fd, out);
      },
      path_filestat_get: (dirFd: number, _flags: number, pathPtr: number, pathLen: number, ptr: number) => {
        const r = this.resolve(dirFd, this.text(pathPtr, pathLen));
        if (typeof r === "number") return r;
        const node = this.io.files.lookup(r.path);
        if (node === undefined) return ENOENT;
        this.filestat(ptr, node);
        return SUCCESS;
      },
      path_filestat_set_times: (dirFd: number, _flags: number, pathPtr: number, pathLen: number) => {
        const r = this.resolve(dirFd, this.text(pathPtr, pathLen));
        if (typeof r === "number") return r;
        return this.io.files.lookup(r.path) === undefined ? ENOENT : SUCCESS;
      },
      path_create_directory: (dirFd: number, pathPtr: number, pathLen: number) => {
        const r = this.resolve(dirFd, this.text(pathPtr, pathLen));
        if (typeof r === "number") return r;
        if (this.io.files.lookup(r.path) !== undefined) return EEXIST;
        const parent = this.io.files.ownDir(r.path.slice(0, -1));
        const name = r.path[r.path.length - 1];
        if (parent === undefined || name === undefined) return ENOENT;
        parent.entries.set(name, newDir(this.nowNs(), true));
        return SUCCESS;
      },
      path_remove_directory: (dirFd: number, pathPtr: number, pathLen: number) => this.remove(dirFd, this.text(pathPtr, pathLen), "dir"),
      path_unlink_file: (dirFd: number, pathPtr: number, pathLen: number) => this.remove(dirFd, this.text(pathPtr, pathLen), "file"),
      path_rename: (fromFd: number, fromPtr: number, fromLen: number, toFd: number, toPtr: number, toLen: number) => {
        const from = this.resolve(fromFd, this.text(fromPtr, fromLen));
        if (typeof from === "number") return from;
        const to = this.resolve(toFd, this.text(toPtr, toLen));
        if (typeof to === "number") return to;
        const node = this.io.files.lookup(from.path);
        if (node === undefined) return ENOENT;
        if (from.path.length === 0 || to.path.length === 0) return EINVAL;
        // Into itself: a directory cannot become its own descendant.
        if (node.kind === "dir" && to.path.length > from.path.length && from.path.every((p, i) => to.path[i] === p)) return EINVAL;
        const target = this.io.files.lookup(to.path);
        if (target !== undefined) {
          if (target.kind === "dir" && node.kind !== "dir") return EISDIR;
          if (target.kind !== "dir" && node.kind === "dir") return ENOTDIR;
          if (target.kind === "dir" && target.entries.size > 0) return ENOTEMPTY;
        }
        const fromParent = this.io.files.ownDir(from.path.slice(0, -1));
        const toParent = this.io.files.ownDir(to.path.slice(0, -1));
        if (fromParent === undefined || toParent === undefined) return ENOENT;
        const moving = fromParent.entries.get(from.path[from.path.length - 1]!);
        if (moving === undefined) return ENOENT;
        fromParent.entries.delete(from.path[from.path.length - 1]!);
        toParent.entries.set(to.path[to.path.length - 1]!, moving);
        return SUCCESS;
      },
      path_link: () => ENOTSUP,
      path_symlink: () => ENOTSUP,
      path_readlink: (dirFd: number, pathPtr: number, pathLen: number) => {
        const r = this.resolve(dirFd, this.text(pathPtr, pathLen));
        if (typeof r === "number") return r;
        return this.io.files.lookup(r.path) === undefined ? ENOENT : EINVAL; // nothing here is a link
      },

      poll_oneoff: (inPtr: number, outPtr: number, count: number, eventsPtr: number) => {
        if (count === 0) return EINVAL;
        const v = this.view();
        // Clocks: the earliest deadline is reached at once (the guest clock stands still
        // while the program runs); the time slept is added to this run's clocks.
        let soonest: bigint | undefined;
        let events = 0;
        for (let i = 0; i < count; i++) {
          const sub = inPtr + 48 * i;
          const tag = v.getUint8(sub + 8);
          if (tag !== EVENT_CLOCK) continue;
          const id = v.getUint32(sub + 16, true);
          const timeout = v.getBigUint64(sub + 24, true);
          const flags = v.getUint16(sub + 40, true);
          const now = this.clockNs(id);
          if (now === undefined) continue;
          const wait = (flags & SUBCLOCK_ABSTIME) !== 0 ? (timeout > now ? timeout - now : 0n) : timeout;
          if (soonest === undefined || wait < soonest) soonest = wait;
        }
        if (soonest !== undefined) this.sleptNs += soonest;
        for (let i = 0; i < count; i++) {
          const sub = inPtr + 48 * i;
          const tag = v.getUint8(sub + 8);
          const ev = outPtr + 32 * events;
          v.setBigUint64(ev, v.getBigUint64(sub, true), true); // userdata
          v.setUint8(ev + 10, tag);
          v.setBigUint64(ev + 16, 0n, true);
          v.setUint16(ev + 24, 0, true);
          if (tag === EVENT_CLOCK) {
            const id = v.getUint32(sub + 16, true);
            if (this.clockNs(id) === undefined) {
              v.setUint16(ev + 8, EINVAL, true);
              events++;
              continue;
            }
            v.setUint16(ev + 8, SUCCESS, true);
            events++;
          } else {
            // fd_read / fd_write: stdin, stdout and files are always ready; nothing else here.
            const fd = v.getUint32(sub + 16, true);
            v.setUint16(ev + 8, this.fds.has(fd) ? SUCCESS : EBADF, true);
            events++;
          }
        }
        v.setUint32(eventsPtr, events, true);
        return SUCCESS;
      },
      proc_exit: (code: number) => {
        throw new ProgramExit(code >>> 0);
      },
      proc_raise: () => ENOSYS,
      sched_yield: () => SUCCESS,

      sock_accept: () => ENOSYS,
      sock_recv: () => ENOSYS,
      sock_send: () => ENOSYS,
      sock_shutdown: () => ENOSYS,
    };
    // A bad pointer from the program is EFAULT, not an exception in its frames.
    const guarded: Record<string, (...args: never[]) => number> = {};
    for (const [name, call] of Object.entries(calls)) {
      guarded[name] = (...args: never[]) => {
        try {
          return call(...args);
        } catch (err) {
          if (err instanceof ProgramExit) throw err;
          if (err instanceof FileTooLarge) return EFBIG;
          if (err instanceof RangeError) return EFAULT;
          throw err;
        }
      };
    }
    return guarded;
  }

  /** A write that took `n` bytes: says so at `written`. */
  private wrote(written: number, n: number): number {
    this.view().setUint32(written, n, true);
    return SUCCESS;
  }

  private open(fd: Fd, out: number): number {
    if (this.fds.size >= maxOpenFds) return EMFILE;
    const n = this.nextFd++;
    this.fds.set(n, fd);
    this.view().setUint32(out, n, true);
    return SUCCESS;
  }

  /** Writes `chunks` into `file` from `at` (growing it); returns where the writing ended. */
  private writeAt(file: FileNode, at: number, chunks: Uint8Array[]): number {
    for (const chunk of chunks) {
      reserve(file, at + chunk.length);
      file.data.set(chunk, at);
      at += chunk.length;
    }
    file.size = Math.max(file.size, at);
    file.mtimeNs = this.nowNs();
    return at;
  }

  /** Up to `length` of a file's bytes from `at` (fewer at its end). */
  private readAt(file: FileNode, at: number, length: number): Uint8Array {
    return file.data.subarray(Math.min(at, file.size), Math.min(at + length, file.size));
  }

  /** The open file, made this invocation's own before it changes. */
  private writable(fd: Extract<Fd, { kind: "file" }>): FileNode {
    if (!fd.node.owned) {
      const own = this.io.files.ownFile(fd.path);
      if (own !== undefined) fd.node = own;
      else fd.node = { ...fd.node, data: fd.node.data.slice(0, fd.node.size), owned: true };
    }
    return fd.node;
  }

  private remove(dirFd: number, path: string, kind: "dir" | "file"): number {
    const r = this.resolve(dirFd, path);
    if (typeof r === "number") return r;
    const node = this.io.files.lookup(r.path);
    if (node === undefined) return ENOENT;
    if (r.path.length === r.dir.path.length) return EINVAL; // the directory itself
    if (kind === "dir" && node.kind !== "dir") return ENOTDIR;
    if (kind === "file" && node.kind === "dir") return EISDIR;
    if (node.kind === "dir" && node.entries.size > 0) return ENOTEMPTY;
    const parent = this.io.files.ownDir(r.path.slice(0, -1));
    if (parent === undefined) return ENOENT;
    parent.entries.delete(r.path[r.path.length - 1]!);
    return SUCCESS;
  }
}

/** The preview 1 functions a module imports: read once per module, not per run. */
export function importedCalls(module: WasmModule): string[] {
  return wasm.Module.imports(module).filter((imp) => imp.module === "wasi_snapshot_preview1" && imp.kind === "function").map((imp) => imp.name);
}

/** Every preview 1 import the program names (`importedCalls`) that the table lacks answers ENOSYS. */
export function completeImports(names: readonly string[], table: Record<string, (...args: never[]) => number>): Record<string, (...args: never[]) => number> {
  for (const name of names) if (!(name in table)) table[name] = () => ENOSYS;
  return table;
}

