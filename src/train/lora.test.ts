// Every trainer with --lora-rank: only the adapters (and a head) train, the base stays bit-identical,
// the run is saved in PEFT's layout naming --init as the base, and a resumed run equals an
// uninterrupted one. DPO's, KTO's, online DPO's, PPO's, GRPO's and RLOO's reference is the base model with
// the adapters off.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { Comparison } from '../data/comparison.js';
import { RNG } from '../engine/rng.js';
import { loadCheckpoint } from '../model/checkpoint.js';
import { rewardHead } from '../model/heads.js';
import { attachLora, loraOf, loraParams } from '../model/lora.js';
import { RewardModel } from '../model/reward-model.js';
import { completionLogProbs } from '../runtime/logprobs.js';
import { defaultDPOConfig, referenceLogProbs, trainDPO } from './dpo.js';
import { defaultHindsightConfig, trainHindsight } from './hindsight.js';
import { defaultKTOConfig, trainKTO } from './kto.js';
import { defaultOnlineDPOConfig, trainOnlineDPO } from './online-dpo.js';
import { frozenReference } from './reference.js';
import { type LoraOptions, loraOptions } from './lora-options.js';
import { defaultGRPOConfig, trainGRPO } from './grpo.js';
import { defaultPPOConfig, trainPPO } from './ppo.js';
import { defaultReSTConfig, trainReST } from './rest.js';
import { defaultRewardConfig } from './reward-config.js';
import { trainRewardModel } from './reward.js';
import { singleRewardSet } from './reward-fn.js';
import { defaultRLOOConfig, trainRLOO } from './rloo.js';
import { defaultSFTConfig } from './sft-config.js';
import { trainSFT } from './sft.js';
import { countA, letterPolicy } from './test-fixtures.js';

const base = letterPolicy(30);
const quiet = () => {};
const tmp = (name: string) => mkdtempSync(join(tmpdir(), `rlhf-lora-${name}-`));
const lora: LoraOptions = { loraRank: 4, loraAlpha: 8, loraDropout: 0, loraTargets: ['c_attn', 'c_fc'] };
/** A fresh copy of the base policy, loaded from its directory (LoRA names it as the base). */
const policy = () => loadCheckpoint(base.dir).model;
const jsonFile = (path: string) => JSON.parse(readFileSync(path, 'utf8'));
/** Each step's loss and gradient norm (timings and evaluations aside). */
const losses = (dir: string) =>
  readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .map((m) => [m.step, m['train/loss'], m['train/grad_norm']]);

function comparisons(n: number): Comparison[] {
  const rng = new RNG(5);
  const letters = (pA: number) =>
    Array.from({ length: 3 }, () => ' ' + (rng.uniform() < pA ? 'a' : 'bcde'[rng.int(4)])).join('');
  return Array.from({ length: n }, (_, i) => ({
    prompt: [' b', ' c', ' d'][i % 3],
    completions: [letters(0.9), letters(0)],
    ranking: [0, 1],
  }));
}

/** The adapter run in dir, loaded with its adapters kept: its base must be the untouched base policy. */
function assertAdapterRun(dir: string, taskType = 'CAUSAL_LM') {
  assert.ok(!existsSync(join(dir, 'model.safetensors')), 'an adapter, not a whole model');
  const cfg = jsonFile(join(dir, 'adapter_config.json'));
  assert.equal(cfg.base_model_name_or_path, resolve(base.dir));
  assert.equal(cfg.task_type, taskType);
  assert.deepEqual(cfg.target_modules, ['c_attn', 'c_fc']);
  const ck = loadCheckpoint(dir, { adapters: 'keep' });
  const want = policy();
  ck.model.params.forEach((p, i) => assert.deepEqual(p.data, want.params[i].data, `${p.name} is the base's`));
  const B = loraParams(ck.model).filter((p) => p.name.endsWith('lora_B.weight'));
  assert.ok(
    B.every((p) => p.data.some((v) => v !== 0)),
    'every lora_B trained away from 0',
  );
  return ck;
}

describe('LoRA on every trainer', () => {
  it('declares its flags once: --lora-rank 0 is full fine-tuning, the others need it', () => {
    assert.deepEqual(loraOptions.defaults(), { loraRank: 0, loraAlpha: 8, loraDropout: 0, loraTargets: [] });
    assert.throws(() => loraOptions.validate({ ...loraOptions.defaults(), loraAlpha: 16 }), /give --lora-rank too/);
  });

  it('sft: trains the adapters only; resumed after 2 steps, the same adapters as 4 in one go', () => {
    const root = tmp('sft');
    const rng = new RNG(3);
    writeFileSync(join(root, 'd.txt'), Array.from({ length: 400 }, () => 'abcde'[rng.int(5)]).join(' '));
    const cfg = (outDir: string) => ({
      ...defaultSFTConfig,
      ...lora,
      loraDropout: 0.1,
      data: join(root, 'd.txt'),
      outDir,
      init: base.dir,
      contextLength: 16,
      batchSize: 4,
      steps: 4,
      lr: 1e-2,
      warmupSteps: 1,
      evalEvery: 0,
      quiet: true,
    });
    assert.throws(() => trainSFT({ ...cfg(join(root, 'x')), init: undefined }, quiet), /give --init/);
    const whole = join(root, 'whole'),
      split = join(root, 'split');
    trainSFT(cfg(whole), quiet);
    trainSFT({ ...cfg(split), stopAfter: 2 }, quiet);
    trainSFT({ ...cfg(split), resume: true }, quiet);
    const a = assertAdapterRun(whole);
    const b = loadCheckpoint(split, { adapters: 'keep' });
    loraParams(a.model).forEach((p, i) => assert.deepEqual(loraParams(b.model)[i].data, p.data, p.name));
    assert.deepEqual(losses(split), losses(whole));
    assert.ok(existsSync(join(whole, 'tokenizer.json')));
  });

  it('reward: the score head trains whole beside the adapters, saved as modules_to_save', () => {
    const out = tmp('reward');
    const head0 = rewardHead(base.model.config.nEmbd, defaultRewardConfig.seed);
    const { rm } = trainRewardModel(
      comparisons(24),
      [],
      {
        ...defaultRewardConfig,
        ...lora,
        outDir: out,
        init: base.dir,
        batchSize: 8,
        steps: 3,
        lr: 1e-2,
        evalEvery: 0,
        quiet: true,
      },
      quiet,
    );
    assert.ok(loraOf(rm.model));
    assertAdapterRun(out, 'SEQ_CLS');
    assert.deepEqual(jsonFile(join(out, 'adapter_config.json')).modules_to_save, ['score']);
    const loaded = RewardModel.load(out);
    assert.deepEqual(loaded.head.weight.data, rm.head.weight.data);
    assert.notDeepEqual(loaded.head.weight.data, head0.weight.data);
  });

  it("dpo: the reference log-probs are the base model's; a LoRA run resumes to the same adapters", () => {
    // The reference, with trained-looking adapters on: the base model's log-probs.
    const m = policy();
    attachLora(m, { rank: 2, alpha: 4, dropout: 0, targets: [] });
    for (const p of loraParams(m)) p.data.fill(0.2);
    const pairs = [
      { prompt: base.tok.encode(' b'), completion: base.tok.encode(' a a') },
      { prompt: base.tok.encode(' c d'), completion: base.tok.encode(' e') },
    ];
    const want = completionLogProbs(policy(), pairs, base.tok.eosId, { vocabSize: base.tok.vocabSize });
    assert.deepEqual(referenceLogProbs(m, base.tok, pairs), want);
    assert.notDeepEqual(completionLogProbs(m, pairs, base.tok.eosId, { vocabSize: base.tok.vocabSize }), want);

    const comps = comparisons(24);
    const cfg = (outDir: string) => ({
      ...defaultDPOConfig,
      ...lora,
      outDir,
      beta: 0.5,
      steps: 4,
      batchSize: 6,
      lr: 1e-2,
      warmupSteps: 1,
      evalEvery: 0,
      quiet: true,
    });
    assert.throws(
      () =>
        trainDPO(
          policy(),
          base.tok,
          comps,
          [],
          { ...cfg(tmp('x')), loraRank: 0, loraTargets: [], resume: true },
          quiet,
        ),
      /continues a LoRA run only/,
    );
    const whole = tmp('dpo-whole'),
      split = tmp('dpo-split');
    const a = trainDPO(policy(), base.tok, comps, [], cfg(whole), quiet);
    assert.ok(Math.abs(a.firstLoss - Math.LN2) < 1e-6, 'the first step starts at the reference: loss log 2');
    trainDPO(policy(), base.tok, comps, [], { ...cfg(split), stopAfter: 2 }, quiet);
    trainDPO(policy(), base.tok, comps, [], { ...cfg(split), resume: true }, quiet);
    const ca = assertAdapterRun(whole),
      cb = loadCheckpoint(split, { adapters: 'keep' });
    loraParams(ca.model).forEach((p, i) => assert.deepEqual(loraParams(cb.model)[i].data, p.data, p.name));
    assert.deepEqual(losses(split), losses(whole));
  });

  it('kto, online-dpo: the reference is the base (adapters off); LoRA runs resume to the same adapters', async () => {
    const m = policy();
    attachLora(m, { rank: 2, alpha: 4, dropout: 0, targets: [] });
    for (const p of loraParams(m)) p.data.fill(0.2);
    const pairs = [{ prompt: base.tok.encode(' b'), completion: base.tok.encode(' a a') }];
    const want = completionLogProbs(policy(), pairs, base.tok.eosId, { vocabSize: base.tok.vocabSize });
    assert.deepEqual(frozenReference(m, base.tok).logProbs(pairs), want);

    const rows = comparisons(12).flatMap((c) => [
      { prompt: c.prompt, completion: c.completions[0], label: true },
      { prompt: c.prompt, completion: c.completions[1], label: false },
    ]);
    const kto = (outDir: string, o = {}) =>
      trainKTO(
        policy(),
        base.tok,
        rows,
        [],
        {
          ...defaultKTOConfig,
          ...lora,
          outDir,
          beta: 0.5,
          steps: 4,
          batchSize: 6,
          lr: 1e-2,
          warmupSteps: 1,
          quiet: true,
          ...o,
        },
        quiet,
      );
    const odpo = (outDir: string, o = {}) =>
      trainOnlineDPO(
        policy(),
        base.tok,
        [' b', ' c', ' d'],
        countA,
        {
          ...defaultOnlineDPOConfig,
          ...lora,
          outDir,
          steps: 4,
          batchSize: 3,
          maxNewTokens: 4,
          lr: 1e-2,
          warmupSteps: 1,
          quiet: true,
          ...o,
        },
        quiet,
      );
    for (const [name, train, first] of [
      ['kto', kto, 0.5],
      ['online-dpo', odpo, Math.LN2],
    ] as const) {
      const whole = tmp(`${name}-whole`),
        split = tmp(`${name}-split`);
      const a = await train(whole);
      assert.ok(Math.abs(a.firstLoss - first) < 1e-5, `${name}: the first step starts at the reference`);
      await train(split, { stopAfter: 2 });
      await train(split, { resume: true });
      const ca = assertAdapterRun(whole),
        cb = loadCheckpoint(split, { adapters: 'keep' });
      loraParams(ca.model).forEach((p, i) =>
        assert.deepEqual(loraParams(cb.model)[i].data, p.data, `${name} ${p.name}`),
      );
      assert.deepEqual(losses(split), losses(whole), name);
    }
  });

  it('ppo: the reference is the base (adapters off); resumed after 1 iteration, equal to 2 in one go', async () => {
    const cfg = (outDir: string) => ({
      ...defaultPPOConfig,
      ...lora,
      outDir,
      iterations: 2,
      rolloutBatch: 8,
      minibatch: 4,
      ppoEpochs: 1,
      maxNewTokens: 4,
      lr: 1e-2,
      saveEvery: 1,
      quiet: true,
    });
    const prompts = [' b', ' c', ' d e', ' e'];
    const whole = tmp('ppo-whole'),
      split = tmp('ppo-split');
    const a = await trainPPO(policy(), base.tok, prompts, countA, cfg(whole), quiet);
    assert.ok(Math.abs(a.kl[0]) < 1e-6, `the first rollouts' KL to the reference is 0: ${a.kl[0]}`);
    assert.ok(a.kl[1] !== 0, 'the second is not');
    await trainPPO(policy(), base.tok, prompts, countA, { ...cfg(split), stopAfter: 1 }, quiet);
    const b = await trainPPO(policy(), base.tok, prompts, countA, { ...cfg(split), resume: true }, quiet);
    assert.deepEqual(b.kl, a.kl);
    assert.deepEqual(b.scores, a.scores);
    const ca = assertAdapterRun(whole),
      cb = loadCheckpoint(split, { adapters: 'keep' });
    loraParams(ca.model).forEach((p, i) => assert.deepEqual(loraParams(cb.model)[i].data, p.data, p.name));
    assert.ok(existsSync(join(whole, 'value_head.safetensors')));
    assert.deepEqual(cb.heads.get('v_head.summary')!.weight.data, ca.heads.get('v_head.summary')!.weight.data);
  });

  it('grpo and rloo: the reference is the base (adapters off); resumed after 1 step, as 2 in one go', async () => {
    const rewards = singleRewardSet(countA, 'count_a');
    const prompts = [' b', ' c', ' d e', ' e'];
    for (const name of ['grpo', 'rloo'] as const) {
      const o = { ...lora, steps: 2, batchSize: 2, numGenerations: 4, beta: 0.1, maxCompletionLength: 4 };
      const run = (outDir: string, more: { stopAfter?: number; resume?: boolean } = {}) => {
        const cfg = { ...o, outDir, lr: 1e-2, saveEvery: 1, quiet: true, ...more };
        return name === 'grpo'
          ? trainGRPO(policy(), base.tok, prompts, rewards, { ...defaultGRPOConfig, ...cfg }, quiet)
          : trainRLOO(policy(), base.tok, prompts, rewards, { ...defaultRLOOConfig, ...cfg }, quiet);
      };
      const whole = tmp(`${name}-whole`),
        split = tmp(`${name}-split`);
      const a = await run(whole);
      assert.ok(Math.abs(a.kl[0]) < 1e-6, `${name}: the first batch's KL to the reference is 0: ${a.kl[0]}`);
      assert.ok(a.kl[1] !== 0, `${name}: the second's is not`);
      await run(split, { stopAfter: 1 });
      const b = await run(split, { resume: true });
      assert.deepEqual(b.kl, a.kl);
      assert.deepEqual(b.rewards, a.rewards);
      const ca = assertAdapterRun(whole),
        cb = loadCheckpoint(split, { adapters: 'keep' });
      loraParams(ca.model).forEach((p, i) => assert.deepEqual(loraParams(cb.model)[i].data, p.data, p.name));
    }
  });

  it('rest and hindsight: the adapters train, the base does not', async () => {
    const out = tmp('rest');
    await trainReST(
      policy(),
      base.tok,
      [' b', ' c', ' d', ' e'],
      countA,
      {
        ...defaultReSTConfig,
        ...lora,
        outDir: out,
        grows: 1,
        percentiles: [50],
        samplesPerPrompt: 4,
        maxNewTokens: 4,
        batchSize: 8,
        lr: 1e-2,
        quiet: true,
      },
      quiet,
    );
    assertAdapterRun(out);
    const hout = tmp('hindsight');
    trainHindsight(
      policy(),
      base.tok,
      comparisons(12),
      [],
      { ...defaultHindsightConfig, ...lora, outDir: hout, steps: 3, batchSize: 4, lr: 1e-2, evalEvery: 0, quiet: true },
      quiet,
    );
    assertAdapterRun(hout);
  });
});
