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

CASES = {"sym_k3_token": (0.2, 0.2, 0.04, "k3", "token_mean"),
         "asym_k1_seq": (0.2, 0.28, 0.1, "k1", "sequence_mean"),
         "nokl_token": (0.1, 0.3, 0.0, "k3", "token_mean")}


def grpo(logp, old, ref, adv, mask, low, high, beta, kl, agg):
    ratio = torch.exp(logp - old)
    a = adv[:, None]
    per = -torch.min(ratio * a, torch.clamp(ratio, 1 - low, 1 + high) * a)
    if beta > 0:
        per_kl = (torch.exp(ref - logp) - (ref - logp) - 1) if kl == "k3" else (logp - ref)
        per = per + beta * per_kl
    if agg == "token_mean":
        loss = (per * mask).sum() / mask.sum()
    else:
        loss = ((per * mask).sum(1) / mask.sum(1)).mean()
    clipped = ((ratio < 1 - low) & (a < 0)) | ((ratio > 1 + high) & (a > 0))
    return loss, ((clipped.double() * mask).sum() / mask.sum()).item()


def main(dumper):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "g.safetensors")
        subprocess.run([dumper, path], check=True)
        t = {k: torch.from_numpy(v.copy()) for k, v in safetensors_np.load(path).items()}
    for name, (low, high, beta, kl, agg) in CASES.items():
        logp = t["in/logp"].clone().requires_grad_(True)
        loss, clip = grpo(logp, t["in/behaviour"], t["in/reference"], t["in/adv"], t["in/mask"], low, high, beta, kl, agg)
        loss.backward()
        assert abs(loss.item() - t[f"out/{name}/loss"].item()) < 1e-12, (name, loss.item(), t[f"out/{name}/loss"].item())
        g = (logp.grad - t[f"out/{name}/grad"]).abs().max().item()
        assert g < 1e-12, (name, g)
        assert abs(clip - t[f"out/{name}/clip_fraction"].item()) < 1e-12, (name, clip)
        assert 0 < clip < 1, (name, clip)  # the case exercises clipping
    r = t["in/rewards"].view(-1, 4)
    mean, std = r.mean(1, keepdim=True), r.std(1, keepdim=True)  # unbiased, as TRL / R1-V
    scaled = ((r - mean) / (std + 1e-4)).reshape(-1)
    assert (scaled - t["out/adv_scaled"]).abs().max() < 1e-12
    assert ((r - mean).reshape(-1) - t["out/adv_unscaled"]).abs().max() < 1e-12
    print(f"grpo reference: {len(CASES)} loss settings (loss, d loss/d logp, clip fraction) and group advantages match PyTorch")


if __name__ == "__main__":
    main(sys.argv[1])
