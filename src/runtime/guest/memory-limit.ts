/**
 * The instance's memory limit as the guest runtime sees it, and the way out for the
 * runtime's allocation guards.
 *
 * isolated-vm enforces the limit on V8's heap and on ArrayBuffers made through its
 * allocator, but some allocations escape it (resizable ArrayBuffers, Wasm memories) and
 * some builtins loop in C++ without the interrupt checks that let the limit stop them
 * (`new Array(1e9).fill(0)` grows a dictionary past any limit). The guards that cover
 * them (array-buffer-guards.ts, wasm-memory-guards.ts over memory-reservations.ts, and
 * array-guards.ts) call `memoryLimitReached`, which tells the host to stop this
 * instance with `memory_limit` — whatever user code does with the error afterwards, the
 * instance goes — and throws a RangeError to end the current operation; the check at the
 * end of each entry (`checkCommittedMemory`) calls `memoryLimitExceeded`, which only tells.
 */
const MiB = 1024 * 1024;
let limitBytes = 128 * MiB;
let report: ((what: string) => void) | undefined;

/** Set when the host connects the isolate: the function's `--memory`, and how to tell the host. */
export function setInstanceMemoryLimit(bytes: number, onReached: (what: string) => void): void {
  if (typeof bytes === "number" && bytes > 0) limitBytes = bytes;
  report = onReached;
}

/** The function's memory limit in bytes (`--memory`, 128 MiB by default). */
export function instanceMemoryLimitBytes(): number {
  return limitBytes;
}

/**
 * The instance holds more than it may: the host stops it (`memory_limit`) once the
 * current entry ends. For checks with no operation to fail (the end of an entry).
 */
export function memoryLimitExceeded(what: string): void {
  report?.(what);
}

/**
 * An operation would need more memory than the instance may hold: the host stops the
 * instance (`memory_limit`) once the current entry ends, and the operation throws.
 */
export function memoryLimitReached(what: string): never {
  report?.(what);
  throw new RangeError(`${what} would go over this function's memory limit of ${Math.round(limitBytes / MiB)} MiB; the instance is being stopped`);
}

/**
 * An operation would reserve more address space than one instance may hold
 * (memory-reservations.ts `addressSpaceBudgetBytes`): stopped like a memory limit, since
 * what it holds is kept from every other instance on the host.
 */
export function addressSpaceLimitReached(what: string, heldBytes: number, budgetBytes: number): never {
  report?.(`${what}, with ${Math.round(heldBytes / MiB / 1024)} GiB of address space held already`);
  throw new RangeError(
    `${what} would reserve more than the ${Math.round(budgetBytes / MiB / 1024)} GiB of address space a function instance may hold ` +
      `(${Math.round(heldBytes / MiB / 1024)} GiB in live WebAssembly memories and resizable ArrayBuffers); the instance is being stopped. ` +
      `Keep fewer of them alive at once: reuse one memory, or drop references to those no longer used.`,
  );
}
