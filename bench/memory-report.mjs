// Preloaded into a process the footprint benchmark runs (`node --import`): writes its memory, split
// the way V8 and Node account for it, to TNTH_MEMORY_REPORT every second.
import { writeFileSync } from 'node:fs';

const file = process.env.TNTH_MEMORY_REPORT;
if (file) {
  setInterval(() => {
    const m = process.memoryUsage();
    writeFileSync(file, JSON.stringify({ at: Date.now(), ...m }));
  }, 1_000).unref();
}
