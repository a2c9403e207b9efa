/** What a binding kind's target must look like in a deploy request (settings.ts `target`). */
import { functionNamePattern } from "../model/index.ts";

/** The target of a kind bound to a function of the tenant (service, queue). */
export const functionTarget = {
  pattern: functionNamePattern,
  rule: "function names are 1-63 lowercase letters, digits and dashes, starting and ending with a letter or digit",
} as const;
