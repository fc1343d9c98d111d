# Regenerate: /usr/bin/python3 tests/interop/torch_policy_gradient.py   (from the repo root; needs only torch)
#             /usr/bin/python3 tests/interop/torch_policy_gradient.py --stdout   (print, write nothing)
#
# Reference numbers for src/objectives/grpo.ts and rloo.ts: GRPO's and RLOO's advantages, losses and the
# gradients of the losses with respect to the policy's per-token log-probs, computed in PyTorch with the
# formulas as TRL writes them (written out below, not imported). Output: tests/fixtures/policy-gradient.json
# (committed, so the tests need no Python; src/objectives/policy-gradient-interop.test.ts also runs this
# script where torch is installed and checks that the committed file is what it prints).
#
# Sources of the formulas (read, not copied), TRL at f2cd577 (2026-07):
#   trl/trainer/grpo_trainer.py _generate_and_score_completions: group mean, nanstd (Bessel), the advantage
#     (r − mean) / (std + 1e-4) for scale_rewards "group" / "batch", no division for "none"; is_std_zero by
#     torch.isclose. _compute_loss: coef_1 = exp(logp − old) (old = logp.detach() when not given), coef_2 =
#     clamp(coef_1, 1 − ε_low, 1 + ε_high), per_token_loss = −min(coef_1·A, coef_2·A) + β·k3 with
#     k3 = exp(ref − logp) − (ref − logp) − 1; aggregation "grpo" (per-sequence mean, then mean), "bnpo" and
#     "dapo" (over all tokens, one micro-batch = the whole batch), "dr_grpo" (sum / (B · max_completion_length));
#     clip_ratio/{low,high,region}_mean as masked token means.
#   trl/trainer/rloo_trainer.py: the leave-one-out baseline, normalize_advantages, the KL in the reward
#     (r − β·Σ_t (old − ref)), and the sequence-level clipped ratio exp(Σ logp − Σ old) with loss mean over
#     sequences; clip ratios as means over sequences. The KL in the loss (β·Σ_t k3 per sequence, averaged over
#     sequences) is this project's option, not TRL's: written here as docs/training.md defines it.
#
# Inputs are drawn in float32 (exactly representable in the TypeScript side's Float32Array) and every
# reference is computed in float64. Ratios within MARGIN of a clipping boundary are moved away from it.

import json
import os
import sys

import torch

torch.set_num_threads(1)

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "policy-gradient.json")
MARGIN = 1e-3
JUNK = 3.0  # what padded positions of the old and reference grids hold: must be ignored

gen = torch.Generator().manual_seed(20260724)


def randn(*shape, std=1.0, mean=0.0):
    """float32 draws, returned as float64."""
    return (torch.randn(*shape, generator=gen, dtype=torch.float32) * std + mean).double()


def f32(x):
    return x.float().double()


def lst(t):
    return [float(v) for v in t.detach().reshape(-1)]


def nanstd(x, dim=None, keepdim=False):
    """TRL's nanstd: Bessel-corrected."""
    if dim is None:
        return x.std()
    return x.std(dim=dim, keepdim=keepdim)


def length_mask(B, T, lengths):
    """(B, T): 1 on the first lengths[b] tokens of row b (completion tokens), 0 on padding."""
    m = torch.zeros(B, T)
    for b, n in enumerate(lengths):
        m[b, :n] = 1
    return m


def away_from(log_ratio, edges):
    """Moves log-ratios whose ratio is within MARGIN of an edge to edge ± 2·MARGIN (in ratio space)."""
    r = torch.exp(log_ratio)
    for e in edges:
        near = (r - e).abs() < MARGIN
        r[near] = e + torch.where(r[near] >= e, torch.tensor(2 * MARGIN), torch.tensor(-2 * MARGIN))
    return torch.log(r)


# ---- GRPO ----

def grpo_advantages(rewards, G, scale):
    grouped = rewards.view(-1, G)
    mean = grouped.mean(dim=1).repeat_interleave(G)
    if scale in ("group", "none"):
        std = nanstd(grouped, dim=1).repeat_interleave(G)
    else:
        std = nanstd(rewards).expand_as(rewards)
    adv = rewards - mean
    if scale != "none":
        adv = adv / (std + 1e-4)
    zero = torch.isclose(std, torch.zeros_like(std))
    return adv, zero.double().mean().item()


def grpo_advantage_cases():
    G = 4
    rewards = torch.cat([randn(4), f32(torch.tensor([0.0, 1.0, 1.0, 0.0])), torch.full((4,), 0.5), randn(4, std=3)])
    out = {"G": G, "rewards": lst(rewards), "cases": []}
    for scale in ("group", "batch", "none"):
        adv, frac = grpo_advantages(rewards, G, scale)
        out["cases"].append({"scale_rewards": scale, "advantages": lst(adv), "frac_reward_zero_std": frac})
    return out


def grpo_loss(logp, old, ref, adv, mask, beta, eps_low, eps_high, loss_type, max_len):
    """TRL's _compute_loss, token-level importance sampling; old None = logp.detach()."""
    old = logp.detach() if old is None else old
    coef_1 = torch.exp(logp - old)
    A = adv.unsqueeze(1)
    coef_2 = torch.clamp(coef_1, 1 - eps_low, 1 + eps_high)
    per_token_loss = -torch.min(coef_1 * A, coef_2 * A)
    kl = None
    if ref is not None:
        kl = torch.exp(ref - logp) - (ref - logp) - 1
    if beta != 0.0:
        per_token_loss = per_token_loss + beta * kl
    if loss_type == "grpo":
        loss = ((per_token_loss * mask).sum(-1) / mask.sum(-1).clamp(min=1.0)).mean()
    elif loss_type in ("bnpo", "dapo"):
        loss = (per_token_loss * mask).sum() / mask.sum().clamp(min=1.0)
    elif loss_type == "dr_grpo":
        loss = (per_token_loss * mask).sum() / (per_token_loss.size(0) * max_len)
    else:
        raise ValueError(loss_type)

    def gmean(x):
        return ((x * mask).sum() / mask.sum()).item()

    low = (coef_1 < 1 - eps_low) & (A < 0)
    high = (coef_1 > 1 + eps_high) & (A > 0)
    stats = {
        "kl": gmean(kl) if kl is not None else 0.0,
        "clip_ratio/low_mean": gmean(low.double()),
        "clip_ratio/high_mean": gmean(high.double()),
        "clip_ratio/region_mean": gmean((low | high).double()),
    }
    return loss, stats


def grpo_loss_cases():
    B, T = 6, 7
    lengths = [7, 3, 5, 1, 6, 4]
    mask = length_mask(B, T, lengths)
    eps_low, eps_high, max_len = 0.2, 0.28, 8
    logp = f32(-randn(B, T, std=1.2).abs() - 0.05)
    old = f32(logp - away_from(randn(B, T, std=0.3), [1 - eps_low, 1 + eps_high]))
    ref = f32(logp + randn(B, T, std=0.5))
    adv = randn(B)
    # Padding as junk: a masked-out position must not reach the loss, its gradient or a statistic.
    old = torch.where(mask > 0, old, torch.full_like(old, JUNK))
    ref = torch.where(mask > 0, ref, torch.full_like(ref, JUNK))
    logp = torch.where(mask > 0, logp, torch.zeros_like(logp))
    inputs = {"B": B, "T": T, "lengths": lengths, "mask": lst(mask), "logp": lst(logp), "old_logp": lst(old),
              "ref_logp": lst(ref), "advantages": lst(adv), "epsilon_low": eps_low, "epsilon_high": eps_high,
              "max_completion_length": max_len}
    cases = []
    variants = [(t, True, True, 0.04) for t in ("grpo", "bnpo", "dr_grpo", "dapo")]
    variants += [("dapo", False, False, 0.0), ("grpo", False, True, 0.1), ("dr_grpo", True, False, 0.0)]
    for loss_type, with_old, with_ref, beta in variants:
        x = logp.clone().requires_grad_(True)
        loss, stats = grpo_loss(x, old if with_old else None, ref if with_ref else None, adv, mask, beta,
                                eps_low, eps_high, loss_type, max_len)
        loss.backward()
        cases.append({"loss_type": loss_type, "with_old": with_old, "with_ref": with_ref, "beta": beta,
                      "loss": loss.item(), "grad_logp": lst(x.grad), **stats})
    clipped = [c["clip_ratio/region_mean"] for c in cases if c["with_old"]]
    assert all(0 < c < 0.7 for c in clipped), clipped
    return {**inputs, "cases": cases}


# ---- RLOO ----

def rloo_advantages(rewards, k, normalize):
    grouped = rewards.view(-1, k)
    baselines = ((grouped.sum(dim=1, keepdim=True) - grouped) / (k - 1)).view(-1)
    adv = rewards - baselines
    if normalize:
        adv = (adv - adv.mean()) / (nanstd(adv) + 1e-4)
    return adv


def rloo_cases():
    B, T, k = 8, 6, 4
    lengths = [6, 2, 4, 1, 5, 6, 3, 2]
    mask = length_mask(B, T, lengths)
    eps_low, eps_high = 0.2, 0.28
    logp = f32(-randn(B, T, std=1.0).abs() - 0.05)
    logp = torch.where(mask > 0, logp, torch.zeros_like(logp))
    old = f32(logp - randn(B, T, std=0.12))
    # The sequence ratios away from the clip edges.
    seq_lr = ((logp - old) * mask).sum(-1)
    fixed = away_from(seq_lr.clone(), [1 - eps_low, 1 + eps_high])
    old[:, 0] = f32(old[:, 0] - (fixed - seq_lr))
    ref = f32(logp + randn(B, T, std=0.4))
    old = torch.where(mask > 0, old, torch.full_like(old, JUNK))
    ref = torch.where(mask > 0, ref, torch.full_like(ref, JUNK))
    rewards = f32(torch.cat([randn(4), torch.tensor([1.0, 0.0, 0.0, 1.0])]))
    beta = 0.05
    kl_seq = ((old - ref) * mask).sum(-1)
    out = {"B": B, "T": T, "k": k, "lengths": lengths, "mask": lst(mask), "logp": lst(logp), "old_logp": lst(old),
           "ref_logp": lst(ref), "rewards": lst(rewards), "beta": beta, "epsilon_low": eps_low,
           "epsilon_high": eps_high, "sequence_kl": lst(kl_seq), "penalized_rewards": lst(rewards - beta * kl_seq),
           "advantages": {}, "cases": []}
    for normalize in (False, True):
        out["advantages"]["normalized" if normalize else "plain"] = lst(rloo_advantages(rewards, k, normalize))
    adv = rloo_advantages(rewards - beta * kl_seq, k, False)
    out["advantages"]["kl_in_reward"] = lst(adv)
    for with_old, kl_coef in ((True, 0.0), (False, 0.0), (True, beta)):
        x = logp.clone().requires_grad_(True)
        logps = (x * mask).sum(1)
        old_logps = (old * mask).sum(1) if with_old else logps.detach()
        coef_1 = torch.exp(logps - old_logps)
        coef_2 = torch.clamp(coef_1, 1 - eps_low, 1 + eps_high)
        per_seq = -torch.min(coef_1 * adv, coef_2 * adv)
        k3 = torch.exp(ref - x) - (ref - x) - 1
        if kl_coef:
            per_seq = per_seq + kl_coef * (k3 * mask).sum(-1)
        loss = per_seq.mean()
        loss.backward()
        low = (coef_1 < 1 - eps_low) & (adv < 0)
        high = (coef_1 > 1 + eps_high) & (adv > 0)
        out["cases"].append({
            "with_old": with_old, "kl_loss_coef": kl_coef, "loss": loss.item(), "grad_logp": lst(x.grad),
            "kl": ((k3 * mask).sum() / mask.sum()).item(),
            "clip_ratio/low_mean": low.double().mean().item(), "clip_ratio/high_mean": high.double().mean().item(),
            "clip_ratio/region_mean": (low | high).double().mean().item(),
        })
    assert 0 < out["cases"][0]["clip_ratio/region_mean"] < 0.8, out["cases"][0]
    return out


def main():
    torch.set_default_dtype(torch.float64)
    fixture = {
        "generator": "tests/interop/torch_policy_gradient.py",
        "grpo_advantages": grpo_advantage_cases(),
        "grpo_loss": grpo_loss_cases(),
        "rloo": rloo_cases(),
    }
    text = json.dumps(fixture, indent=1, allow_nan=False) + "\n"
    if "--stdout" in sys.argv:
        sys.stdout.write(text)
        return
    with open(OUT, "w") as f:
        f.write(text)
    print(f"wrote {os.path.normpath(OUT)} ({len(text)} bytes)")


if __name__ == "__main__":
    main()
