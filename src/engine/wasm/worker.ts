// A wasm kernel worker thread: instantiates the kernel on the shared memory and serves jobs (threads.ts).
import { workerData } from 'node:worker_threads';
import { type KernelArgs, kernelsOf, serveJobs, type WorkerSetup } from './threads.js';

const setup = workerData as WorkerSetup;
type Kernel = (...args: KernelArgs) => void;
const kernel = new WebAssembly.Instance(setup.module, { env: { memory: setup.memory } }).exports as {
  sgemm: Kernel;
  gemvF32: Kernel;
  gemvBf16: Kernel;
};
serveJobs(setup, kernelsOf(kernel));
