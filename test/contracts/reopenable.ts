/**
 * A store for a contract test, and its restart: `open` makes a store on some data, and a
 * reopen closes the current one and opens the same data again.
 */
export async function reopenable<T extends { close(): Promise<void> }>(open: () => T | Promise<T>): Promise<{ store: T; reopen(): Promise<T> }> {
  let current = await open();
  return {
    store: current,
    async reopen() {
      await current.close();
      current = await open();
      return current;
    },
  };
}
