// A wasm sgemm worker thread: instantiates the kernel on the shared memory and serves jobs (threads.ts).
import { workerData } from 'node:worker_threads';
import { type KernelArgs, serveJobs, type WorkerSetup } from './threads.js';

const setup = workerData as WorkerSetup;
const kernel = new WebAssembly.Instance(setup.module, { env: { memory: setup.memory } }).exports as {
  sgemm(...args: KernelArgs): void;
};
serveJobs(setup, kernel.sgemm);
