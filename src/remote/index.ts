// Generation and scoring beyond one machine: clients and servers of the OpenAI completions API and
// of the reward-scoring API (docs/remote.md).

export { RemoteGenerator, type RemoteGeneratorOptions } from './generator-client.js';
export { buildModelServer, type ModelServerOptions } from './model-server.js';
export { buildRewardServer, parseScoreRequest, type RewardServerOptions, type ScoreEntry } from './reward-server.js';
export { probeRewardServer, remoteRewardFn, type RemoteRewardOptions } from './reward-client.js';
export { loadRewardSet, rewardSetOf, withPromptColumns, type RewardSetOptions } from './reward-set.js';
export { importRewardModule, moduleRewardFn, type RewardModuleFn, type RewardModuleInput } from './reward-module.js';
export { GenerationCache } from './cache.js';
export { RemoteError, httpOptionsFromEnv, requestJson, runPool, serverRoot, type HttpOptions } from './http.js';
export { loadWeightsInto, weightsFingerprint, weightsToSafetensors } from './weights.js';
