export { startNode, type NodeOptions, type RunningNode } from "./start-node.ts";
export { deployExamples, examplesDir } from "./deploy-examples.ts";
export { adminTokenFile } from "./tokens.ts";
export { defaultTenant } from "./platform.ts";
export { placementPolicies, type PlacementPolicy } from "../control/index.ts";
export { backupDataDir, restoreDataDir, type BackupSummary } from "./backup.ts";
