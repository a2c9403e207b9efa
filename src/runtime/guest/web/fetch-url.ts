/**
 * The URL and URLSearchParams operations Request, Response and Body need, in one place,
 * on top of the runtime's URL parser and URLSearchParams.
 */
import { parseURL as parseURLRecord, serializeURL } from "./url.ts";
import { isURLSearchParams as isURLSearchParamsImpl, serializeURLSearchParams as serializeImpl } from "./url-search-params.ts";

/** The parts of a parsed URL record the Fetch API reads. */
export interface ParsedURL {
  href: string;
  hasCredentials: boolean;
}

/**
 * The URL parser. There is no document in this runtime, hence no "API base URL":
 * only absolute URLs parse (as in Cloudflare Workers). Null on failure.
 */
export function parseURL(input: string): ParsedURL | null {
  const record = parseURLRecord(input);
  if (record === null) return null;
  return { href: serializeURL(record), hasCredentials: record.username !== "" || record.password !== "" };
}

/** Brand check for URLSearchParams. */
export function isURLSearchParams(value: unknown): boolean {
  return isURLSearchParamsImpl(value);
}

/** The application/x-www-form-urlencoded serialization of a URLSearchParams. */
export function serializeURLSearchParams(value: unknown): string {
  return serializeImpl(value as never);
}
