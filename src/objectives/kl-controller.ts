// The KL coefficient β of RLHF's reward r − β·KL, fixed or adapted toward a target KL
// (Ziegler et al., 2019, "Fine-Tuning Language Models from Human Preferences"; lm-human-preferences):
//   e = clip(KL / KL_target − 1, −0.2, 0.2);   β ← β·(1 + e·n_steps / horizon)
// n_steps is the number of samples (episodes) since the last update, horizon how many samples it
// takes to close the gap (10,000 in the paper).

export interface KLController {
  /** The current coefficient β. */
  readonly value: number;
  /** Reports the KL measured over the last nSteps samples. */
  update(currentKL: number, nSteps: number): void;
}

/** β stays as given. */
export class FixedKLController implements KLController {
  constructor(readonly value: number) {
    if (!(value >= 0)) throw new Error(`FixedKLController: the KL coefficient must be ≥ 0, got ${value}`);
  }

  update(_currentKL: number, _nSteps: number): void {}
}

/** β moves proportionally toward the target KL, at most ±20% of nSteps/horizon per update. */
export class AdaptiveKLController implements KLController {
  value: number;

  constructor(
    initKL: number,
    readonly target: number,
    readonly horizon: number,
  ) {
    if (!(initKL >= 0)) throw new Error(`AdaptiveKLController: initKL must be ≥ 0, got ${initKL}`);
    if (!(target > 0)) throw new Error(`AdaptiveKLController: target must be > 0 (nats), got ${target}`);
    if (!(horizon > 0)) throw new Error(`AdaptiveKLController: horizon must be > 0 (samples), got ${horizon}`);
    this.value = initKL;
  }

  update(currentKL: number, nSteps: number): void {
    if (!Number.isFinite(currentKL))
      throw new Error(`AdaptiveKLController.update: currentKL is ${currentKL}; the policy's KL diverged`);
    const error = Math.min(0.2, Math.max(-0.2, currentKL / this.target - 1));
    this.value *= 1 + (error * nSteps) / this.horizon;
  }
}
