import { errorCodes, isErrorCode, type ErrorCode } from "./codes.ts";

/** What an error looks like when it crosses a boundary (process, isolate, HTTP). */
export interface ErrorData {
  code: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
}

/**
 * The one error type Flick throws on purpose. `status < 500` means the caller can fix it
 * and the message tells how; `status >= 500` is ours (or the function's) and is logged.
 */
export class FlickError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options?: { details?: Record<string, unknown>; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "FlickError";
    this.code = code;
    this.details = options?.details;
  }

  get status(): number {
    return errorCodes[this.code];
  }

  toData(): ErrorData {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }

  /** Rebuilds an error that crossed a boundary as data; unknown shapes become `internal`. */
  static fromData(data: unknown): FlickError {
    if (typeof data === "object" && data !== null) {
      const { code, message, details } = data as Record<string, unknown>;
      if (isErrorCode(code) && typeof message === "string") {
        const d = typeof details === "object" && details !== null ? (details as Record<string, unknown>) : undefined;
        return new FlickError(code, message, d === undefined ? undefined : { details: d });
      }
    }
    return new FlickError("internal", "malformed error data crossed a boundary", { details: { data: String(data) } });
  }

  /** Renders the platform error contract: JSON body and `x-flick-error`, so it never passes for a function's answer. */
  toResponse(extraHeaders?: Record<string, string>): Response {
    return Response.json(
      { error: this.toData() },
      { status: this.status, headers: { "x-flick-error": this.code, ...extraHeaders } },
    );
  }
}

/** Any thrown value as a FlickError: ours pass through, anything else is `internal` with the cause kept. */
export function asFlickError(err: unknown): FlickError {
  if (err instanceof FlickError) return err;
  return new FlickError("internal", "internal error", { cause: err });
}
