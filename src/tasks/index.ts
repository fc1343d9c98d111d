// Built-in tasks with gold judges and simulated labelers (see docs/tasks.md).

export type { GoldJudge, LoadTaskOptions, TaskExample, TaskName, TaskSpec, TaskStats } from './types.js';
export { TASK_NAMES, TASK_SIZES, loadTask } from './registry.js';
export { defaultLabelers, labelAgreement, simulateLabels } from './labelers.js';
export type { LabelAgreement, SimulateOptions, SimulatedLabeler } from './labelers.js';
export { buildCorpusStats, fluencyGate } from './fluency.js';
export type { CorpusStats, FluencyParts } from './fluency.js';
export { positiveGold, vaderCompound } from './positive.js';
export { passageOf, tldrGold, tldrPrompt, TLDR_SUFFIX } from './tldr.js';
