#!/usr/bin/env python3
"""Independent PyTorch GRPO objective (TRL / DAPO style) and R1-V group
advantages, checked against what dump_grpo wrote (float64)."""
import os
import subprocess
import sys
import tempfile

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python"))
import safetensors_np  # noqa: E402

# name: (clip_low, clip_high, beta, kl, loss_agg_mode, clip_ratio_c or None, tis cap or None)
CASES = {"sym_k3_token": (0.2, 0.2, 0.04, "k3", "token-mean", None, None),
         "asym_k1_seq": (0.2, 0.28, 0.1, "k1", "seq-mean-token-mean", None, None),
         "nokl_token": (0.1, 0.3, 0.0, "k3", "token-mean", None, None),
         "dual_token": (0.2, 0.2, 0.0, "k3", "token-mean", 1.3, None),
         "tis_seqsum": (0.2, 0.28, 0.05, "k3", "seq-mean-token-sum", None, 1.2),
         "dual_tis_seqmean": (0.1, 0.1, 0.0, "k3", "seq-mean-token-mean", 1.2, 1.5)}


def agg_loss(per, mask, mode):
    """veRL's agg_loss."""
    if mode == "token-mean":
        return (per * mask).sum() / mask.sum()
    seq = (per * mask).sum(-1)
    if mode == "seq-mean-token-sum":
        return seq.mean()
    return (seq / mask.sum(-1)).mean()


def grpo(logp, rollout, ref, adv, mask, low, high, beta, kl, agg, clip_c, tis_cap):
    """veRL compute_policy_loss (dual-clip) with TIS: when tis_cap is set the
    old policy is the learner's own detached log-probs."""
    old = logp.detach() if tis_cap else rollout
    a = adv[:, None]
    ratio = torch.exp(logp - old)
    pg1 = -a * ratio
    pg2 = -a * torch.clamp(ratio, 1 - low, 1 + high)
    clip_pg1 = torch.maximum(pg1, pg2)
    dual = torch.zeros_like(mask, dtype=torch.bool)
    if clip_c:
        pg3 = -a * clip_c
        clip_pg2 = torch.minimum(pg3, clip_pg1)
        dual = (a < 0) & (pg3 < clip_pg1)
        pg = torch.where(a < 0, clip_pg2, clip_pg1)
    else:
        pg = clip_pg1
    w = torch.ones_like(pg)
    if tis_cap:
        w = torch.exp(old - rollout).clamp(max=tis_cap)
        pg = pg * w
    per = pg
    if beta > 0:
        per_kl = (torch.exp(ref - logp) - (ref - logp) - 1) if kl == "k3" else (logp - ref)
        per = per + beta * per_kl
    clipped = ((ratio < 1 - low) & (a < 0)) | ((ratio > 1 + high) & (a > 0))
    frac = lambda x: ((x.double() * mask).sum() / mask.sum()).item()  # noqa: E731
    return agg_loss(per, mask, agg), frac(clipped), frac(dual), frac(w)


def main(dumper):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "g.safetensors")
        subprocess.run([dumper, path], check=True)
        t = {k: torch.from_numpy(v.copy()) for k, v in safetensors_np.load(path).items()}
    for name, (low, high, beta, kl, agg, clip_c, tis_cap) in CASES.items():
        logp = t["in/logp"].clone().requires_grad_(True)
        loss, clip, dual, w = grpo(logp, t["in/behaviour"], t["in/reference"], t["in/adv"], t["in/mask"], low, high, beta,
                                   kl, agg, clip_c, tis_cap)
        loss.backward()
        assert abs(loss.item() - t[f"out/{name}/loss"].item()) < 1e-12, (name, loss.item(), t[f"out/{name}/loss"].item())
        g = (logp.grad - t[f"out/{name}/grad"]).abs().max().item()
        assert g < 1e-12, (name, g)
        assert abs(clip - t[f"out/{name}/clip_fraction"].item()) < 1e-12, (name, clip)
        assert abs(dual - t[f"out/{name}/dual_clip_fraction"].item()) < 1e-12, (name, dual)
        assert abs(w - t[f"out/{name}/tis_weight"].item()) < 1e-12, (name, w)
        if tis_cap:  # the case exercises the cap: some weights truncated, some not
            ratios = torch.exp(t["in/logp"] - t["in/behaviour"])[t["in/mask"] > 0]
            assert (ratios > tis_cap).any() and (ratios < tis_cap).any(), name
        else:
            assert 0 < clip < 1, (name, clip)  # the case exercises clipping
        if clip_c and not tis_cap:  # (under TIS the ratio is 1 at the step's start: nothing to cap)
            assert 0 < dual < 1, (name, dual)  # the case exercises the dual clip
    r = t["in/rewards"].view(-1, 4)
    mean, std = r.mean(1, keepdim=True), r.std(1, keepdim=True)  # unbiased, as TRL / R1-V
    scaled = ((r - mean) / (std + 1e-4)).reshape(-1)
    assert (scaled - t["out/adv_scaled"]).abs().max() < 1e-12
    assert ((r - mean).reshape(-1) - t["out/adv_unscaled"]).abs().max() < 1e-12
    print(f"grpo reference: {len(CASES)} loss settings (loss, d loss/d logp, clip and dual-clip fractions, TIS weight) "
          "and group advantages match PyTorch")


if __name__ == "__main__":
    main(sys.argv[1])
