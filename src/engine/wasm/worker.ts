// A wasm sgemm worker (see threads.ts): waits for a job in its control slots, runs the kernel on the shared
// memory, reports completion, and waits again. It never returns to its event loop.
import { workerData } from 'node:worker_threads';
import { type KernelArgs, SLOTS, Slot, type WorkerSetup } from './threads.js';

const { module, memory, control, index } = workerData as WorkerSetup;
const kernel = new WebAssembly.Instance(module, { env: { memory } }).exports as {
  sgemm(...args: KernelArgs): void;
};
const ctl = new Int32Array(control, index * SLOTS * 4, SLOTS);
const floats = new Float32Array(control, index * SLOTS * 4, SLOTS);
const at = (i: number) => ctl[Slot.args + i];

Atomics.store(ctl, Slot.ready, 1);
for (let seen = 0; ;) {
  Atomics.wait(ctl, Slot.job, seen);
  seen = Atomics.load(ctl, Slot.job);
  if (seen < 0) break;
  try {
    kernel.sgemm(at(0), at(1), at(2), at(3), at(4), floats[Slot.args + 5], at(6), at(7), at(8), at(9),
      floats[Slot.args + 10], at(11), at(12), at(13));
  } catch {
    Atomics.store(ctl, Slot.failed, 1);
  }
  Atomics.store(ctl, Slot.done, seen);
  Atomics.notify(ctl, Slot.done);
}
