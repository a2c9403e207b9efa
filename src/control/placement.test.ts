// Best-fit's ordered index against a brute-force scan, over random placements and removals.
import assert from "node:assert/strict";
import { test } from "node:test";
import { HostTable } from "./placement.ts";

function bruteBestFit(t: HostTable, memoryMiB: number): number {
  let best = -1;
  let bestLeft = Infinity;
  for (let h = 0; h < t.size; h++) {
    if (t.instances[h]! >= t.slots[h]! || t.up[h] === 0) continue;
    const left = t.capacityMiB[h]! - t.usedMiB[h]! - memoryMiB;
    if (left >= 0 && left < bestLeft) {
      best = h;
      bestLeft = left;
    }
  }
  return best;
}

test("best-fit through the ordered index picks what a full scan picks, through 5,000 random changes", () => {
  let seed = 42;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const t = new HostTable(Array.from({ length: 50 }, (_, i) => ({ memoryMiB: 100 + (i % 7) * 10, slots: 3 + (i % 4), labels: {} })));
  const placed: { host: number; mem: number }[] = [];
  for (let step = 0; step < 5_000; step++) {
    const mem = 1 + Math.floor(random() * 40);
    if (random() < 0.6 || placed.length === 0) {
      const chosen = t.choose({ tenant: "t", memoryMiB: mem }, "best-fit", false);
      const brute = bruteBestFit(t, mem);
      // Equal free memory may tie: the same amount left is what matters.
      if (brute === -1) assert.equal(chosen, -1, `step ${step}`);
      else assert.equal(t.capacityMiB[chosen]! - t.usedMiB[chosen]!, t.capacityMiB[brute]! - t.usedMiB[brute]!, `step ${step}`);
      if (chosen >= 0) {
        t.add(chosen, "t", mem);
        placed.push({ host: chosen, mem });
      }
    } else if (random() < 0.5) {
      const [gone] = placed.splice(Math.floor(random() * placed.length), 1);
      t.remove(gone!.host, "t", gone!.mem);
    } else {
      // A host measured an instance: its use changes in place.
      const p = placed[Math.floor(random() * placed.length)]!;
      const measured = 1 + Math.floor(random() * 40);
      t.setUsed(p.host, t.usedMiB[p.host]! + measured - p.mem);
      p.mem = measured;
    }
  }
});
