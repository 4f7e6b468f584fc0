#!/usr/bin/env python3
"""Independent PyTorch Qwen2 decoder (HF math: RMSNorm, rotate-half RoPE with
theta, GQA, q/k/v bias, SwiGLU, untied lm_head) on the weights
dump_decoder wrote; checks logits, loss and every gradient (float64)."""
import os
import subprocess
import sys
import tempfile

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python"))
import safetensors_np  # noqa: E402

H, KV, D, THETA, EPS, LAYERS = 4, 2, 32, 10000.0, 1e-6, 2


def rms(x, w):
    return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + EPS))


def rot(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], -1)


def forward(p, ids, pad, pos, prefix=""):
    return forward_embeds(p, p[prefix + "model.embed_tokens.weight"][ids], pad, pos, prefix)


def forward_embeds(p, x, pad, pos, prefix=""):
    """x [B, T, D] -> logits; parameter names under `prefix` (e.g. "language_model.")."""
    p = {k[len(prefix):]: v for k, v in p.items() if k.startswith(prefix)}
    b, t = x.shape[:2]
    hd = D // H
    inv = 1.0 / THETA ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd)
    f = pos.double()[..., None] * inv
    emb = torch.cat([f, f], -1)
    cos, sin = emb.cos()[:, None], emb.sin()[:, None]
    allowed = torch.tril(torch.ones(t, t, dtype=torch.bool))[None] & pad.bool()[:, None, :]
    allowed = allowed | torch.eye(t, dtype=torch.bool)[None]
    mask = torch.zeros(b, 1, t, t, dtype=torch.float64).masked_fill(~allowed[:, None], float("-inf"))
    return layers_and_head(p, x, cos, sin, mask)


def layers_and_head(p, x, cos, sin, mask):
    """The decoder layers and lm_head on x [B, T, D] with rotary tables cos/sin [B, 1, T, hd]
    and an additive mask [B, 1, T, T] (shared by the Qwen2.5-VL reference)."""
    b, t = x.shape[:2]
    hd = D // H
    for i in range(LAYERS):
        n = f"model.layers.{i}"
        h = rms(x, p[n + ".input_layernorm.weight"])
        def proj(name, heads):
            y = F.linear(h, p[f"{n}.self_attn.{name}.weight"], p[f"{n}.self_attn.{name}.bias"])
            return y.view(b, t, heads, hd).transpose(1, 2)
        q, k, v = proj("q_proj", H), proj("k_proj", KV), proj("v_proj", KV)
        q, k = q * cos + rot(q) * sin, k * cos + rot(k) * sin
        k, v = k.repeat_interleave(H // KV, 1), v.repeat_interleave(H // KV, 1)
        a = ((q @ k.transpose(-1, -2)) / hd ** 0.5 + mask).softmax(-1) @ v
        x = x + F.linear(a.transpose(1, 2).reshape(b, t, D), p[n + ".self_attn.o_proj.weight"])
        m = rms(x, p[n + ".post_attention_layernorm.weight"])
        x = x + F.linear(F.silu(F.linear(m, p[n + ".mlp.gate_proj.weight"])) * F.linear(m, p[n + ".mlp.up_proj.weight"]),
                         p[n + ".mlp.down_proj.weight"])
    return F.linear(rms(x, p["model.norm.weight"]), p["lm_head.weight"])


def load_dump(dumper):
    """Runs a dump_* program; returns its tensors and its parameters as leaves."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "d.safetensors")
        subprocess.run([dumper, path], check=True)
        t = {k: torch.from_numpy(v.copy()) for k, v in safetensors_np.load(path).items()}
    return t, {k[6:]: v.clone().requires_grad_(True) for k, v in t.items() if k.startswith("param/")}


def check_lm(logits, t, p):
    """Logits at real tokens, the padding-masked token CE and every parameter gradient
    against the dump (float64, 1e-10). Returns the largest logit error. (What a padding
    position outputs is unspecified: fasrl's attention skips padding queries.)"""
    real = t["in/pad"].bool()
    err = (logits - t["out/logits"])[real].abs().max().item()
    assert err < 1e-10, f"logits differ by {err}"
    nll = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), t["in/targets"].reshape(-1), reduction="none")
    loss = (nll * t["in/pad"].reshape(-1)).sum() / t["in/pad"].sum()
    assert abs(loss.item() - t["out/loss"].item()) < 1e-10
    loss.backward()
    for name, v in p.items():
        assert v.grad is not None, f"no gradient reaches {name}"
        g = (v.grad - t["grad/" + name]).abs().max().item()
        assert g < 1e-10, f"grad {name} differs by {g}"
    return err


def main(dumper):
    t, p = load_dump(dumper)
    err = check_lm(forward(p, t["in/ids"], t["in/pad"], t["in/positions"]), t, p)
    print(f"decoder reference: logits (max err {err:.1e}), loss and {len(p)} gradients match PyTorch")


if __name__ == "__main__":
    main(sys.argv[1])
