# TRL's KTO loss in PyTorch (float64), written from the formulas of TRL's trl/trainer/kto_trainer.py
# (KTOTrainer._compute_loss: the KL term, its clamp and detach, the desirable and undesirable losses of
# loss_type "kto" and "apo_zero_unpaired", their weights, nanmean; its logged metrics), read, not imported.
# Used by src/objectives/kto.test.ts (skipped where PyTorch is not installed).
#
# stdin: {"cases": [{"loss_type", "beta", "desirable_weight", "undesirable_weight", "labels": [bool],
#          "policy_logps", "ref_logps", "policy_kl_logps", "ref_kl_logps": [float]}]}
# stdout: {"cases": [{"loss", "kl", "grad_policy_logps", "grad_policy_kl_logps", "metrics": {...}}]}
#
# Run: echo '{"cases": [...]}' | /usr/bin/python3 tests/interop/torch_kto.py
import json
import sys

import torch

torch.set_num_threads(1)


def kto_case(c):
    f64 = lambda k: torch.tensor(c[k], dtype=torch.float64)  # noqa: E731
    policy_logps = f64("policy_logps").requires_grad_(True)
    policy_kl_logps = f64("policy_kl_logps").requires_grad_(True)
    ref_logps, ref_kl_logps = f64("ref_logps"), f64("ref_kl_logps")
    labels = torch.tensor(c["labels"], dtype=torch.bool)
    beta, loss_type = c["beta"], c["loss_type"]

    # KL term: every loss type but apo_zero_unpaired estimates it from the mismatched pairs.
    if loss_type != "apo_zero_unpaired":
        kl = (policy_kl_logps - ref_kl_logps).mean().detach().clamp(min=0)
    else:
        kl = torch.zeros(1, dtype=torch.float64)

    chosen_idx = torch.nonzero(labels, as_tuple=False).view(-1)
    rejected_idx = torch.nonzero(~labels, as_tuple=False).view(-1)
    chosen_logps = policy_logps.index_select(0, chosen_idx)
    rejected_logps = policy_logps.index_select(0, rejected_idx)
    ref_chosen = ref_logps.index_select(0, chosen_idx)
    ref_rejected = ref_logps.index_select(0, rejected_idx)

    chosen_logratios = chosen_logps - ref_chosen
    rejected_logratios = rejected_logps - ref_rejected
    if loss_type == "kto":
        chosen_losses = 1 - torch.sigmoid(beta * (chosen_logratios - kl))
        rejected_losses = 1 - torch.sigmoid(beta * (kl - rejected_logratios))
    elif loss_type == "apo_zero_unpaired":
        chosen_losses = 1 - torch.sigmoid(beta * chosen_logratios)
        rejected_losses = torch.sigmoid(beta * rejected_logratios)
    else:
        raise ValueError(loss_type)
    losses = torch.cat((c["desirable_weight"] * chosen_losses, c["undesirable_weight"] * rejected_losses), 0)
    loss = losses.nanmean()
    loss.backward()

    metrics = {"kl": kl.item()}
    n_chosen, n_rejected = len(chosen_idx), len(rejected_idx)
    if n_chosen:
        metrics["rewards/chosen"] = (beta * chosen_logratios.detach()).sum().item() / n_chosen
        metrics["logps/chosen"] = chosen_logps.detach().sum().item() / n_chosen
    if n_rejected:
        metrics["rewards/rejected"] = (beta * rejected_logratios.detach()).sum().item() / n_rejected
        metrics["logps/rejected"] = rejected_logps.detach().sum().item() / n_rejected
    if n_chosen and n_rejected:
        metrics["rewards/margins"] = metrics["rewards/chosen"] - metrics["rewards/rejected"]
    grad_kl = policy_kl_logps.grad
    return {
        "loss": loss.item(),
        "kl": kl.item(),
        "grad_policy_logps": policy_logps.grad.tolist(),
        # The KL term is detached: no gradient reaches the mismatched pairs' log-probs.
        "grad_policy_kl_logps": (grad_kl if grad_kl is not None else torch.zeros_like(policy_kl_logps)).tolist(),
        "metrics": metrics,
    }


if __name__ == "__main__":
    cases = json.load(sys.stdin)["cases"]
    json.dump({"cases": [kto_case(c) for c in cases]}, sys.stdout)
