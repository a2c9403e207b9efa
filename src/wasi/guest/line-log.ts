/** Lines a program writes to stdout or stderr, logged as each ends (the rest when the run does). */
export class LineLog {
  private pending = "";
  private readonly decoder = new TextDecoder();
  private readonly log: (line: string) => void;

  constructor(log: (line: string) => void) {
    this.log = log;
  }

  write(bytes: Uint8Array): void {
    this.pending += this.decoder.decode(bytes, { stream: true });
    let nl: number;
    while ((nl = this.pending.indexOf("\n")) >= 0) {
      this.log(this.pending.slice(0, nl));
      this.pending = this.pending.slice(nl + 1);
    }
  }

  /** Logs what is left, and returns it. */
  end(): string {
    const rest = this.pending + this.decoder.decode();
    if (rest !== "") this.log(rest);
    this.pending = "";
    return rest;
  }
}
