// docs/errors.md and src/errors/codes.ts list the same codes with the same statuses.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { errorCodes } from "../src/errors/index.ts";

test("every error code is documented with its status, and nothing else is", () => {
  const doc = readFileSync(new URL("../docs/errors.md", import.meta.url), "utf8");
  const documented = Object.fromEntries([...doc.matchAll(/^\| `([a-z_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1], Number(m[2])]));
  assert.deepEqual(documented, { ...errorCodes });
});
