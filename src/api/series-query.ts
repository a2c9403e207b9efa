/**
 * The query of `GET /metrics/series`, checked at the edge: each parameter at most once, no
 * unknown ones (a typo such as `fn=` would otherwise widen the answer to every function
 * silently), and values the route understands.
 */
import { FlickError } from "../errors/index.ts";
import { functionName, seriesRanges, tenantName, type SeriesRange, type SeriesRequest } from "./schemas.ts";

const known = ["range", "function", "tenant"];

export function seriesQuery(url: URL): SeriesRequest {
  for (const key of new Set(url.searchParams.keys())) {
    if (!known.includes(key)) throw new FlickError("validation_failed", `unknown query parameter "${key}"; /metrics/series takes range, function and tenant`);
    if (url.searchParams.getAll(key).length > 1) throw new FlickError("validation_failed", `query parameter "${key}" is given more than once; give it once`);
  }
  const range = url.searchParams.get("range") ?? "1h";
  if (!(seriesRanges as readonly string[]).includes(range)) {
    throw new FlickError("validation_failed", `range=${range} is not a range this API keeps; use one of ${seriesRanges.join(", ")}`);
  }
  const query: SeriesRequest = { range: range as SeriesRange };
  const fn = url.searchParams.get("function");
  if (fn !== null) {
    const checked = functionName.safeParse(fn);
    if (!checked.success) throw new FlickError("validation_failed", `function=${fn} is not a function name: ${checked.error.issues.map((i) => i.message).join("; ")}`);
    query.function = fn;
  }
  const tenant = url.searchParams.get("tenant");
  if (tenant !== null) {
    if (!tenantName.safeParse(tenant).success) throw new FlickError("validation_failed", `tenant=${tenant} is not a tenant name (\`flick tenants ls\` lists them)`);
    query.tenant = tenant;
  }
  return query;
}
