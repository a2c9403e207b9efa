/**
 * The provisioned quotas' check, the same in every store: a change that took the tenant
 * past a quota is refused with `quota_exceeded`, naming the quota and how to fix it. A
 * change that does not add to an amount over its quota passes, so a tenant above a quota
 * the operator lowered can still come down.
 */
import { FlickError } from "../errors/index.ts";
import type { ProvisionedUsage } from "./store.ts";

export function checkProvisioned(tenant: string, before: ProvisionedUsage, after: ProvisionedUsage): void {
  const fix = `lower --min-instances of its functions, or ask the operator to raise it (flick tenants set ${tenant} …)`;
  if (after.instances > after.maxInstances && after.instances > before.instances) {
    throw new FlickError(
      "quota_exceeded",
      `tenant "${tenant}" would reserve ${after.instances} provisioned instances (sum of --min-instances), over its max-provisioned quota of ${after.maxInstances}; ${fix.replace("…", "--max-provisioned N")}`,
      { details: { quota: "max-provisioned", limit: after.maxInstances, requested: after.instances } },
    );
  }
  if (after.memoryMiB > after.maxMemoryMiB && after.memoryMiB > before.memoryMiB) {
    throw new FlickError(
      "quota_exceeded",
      `tenant "${tenant}" would reserve ${after.memoryMiB} MiB of provisioned memory (sum of --min-instances × --memory), over its max-provisioned-memory quota of ${after.maxMemoryMiB} MiB; ${fix.replace("…", "--max-provisioned-memory MIB")}`,
      { details: { quota: "max-provisioned-memory", limit: after.maxMemoryMiB, requested: after.memoryMiB } },
    );
  }
}
