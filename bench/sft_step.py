#!/usr/bin/env python3
"""The SFT step of bench_sft_step in python3-torch eager: CLIP-style vision
tower -> projector -> image features in the image-pad slots -> Qwen2 decoder
over packed rows (dense attention, block-diagonal causal mask from the segment
ids, as HF's eager attention does with a 4-D mask), CE over the assistant
tokens, backward, AdamW. Parameter names and shapes, architecture numbers and
the batch come from what bench_sft_step wrote. Prints 'tokens_per_s <value>'."""
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "python"))
import safetensors_np  # noqa: E402

VT = "vision_tower.vision_model"
LM = "language_model."


def lin(x, p, n, bias=True):
    return F.linear(x, p[n + ".weight"], p.get(n + ".bias") if bias else None)


def layer_norm(x, p, n):
    return F.layer_norm(x, x.shape[-1:], p[n + ".weight"], p[n + ".bias"], 1e-5)


def vision(images, p, v):
    e = VT + ".embeddings"
    x = F.conv2d(images, p[e + ".patch_embedding.weight"], stride=v["patch"]).flatten(2).transpose(1, 2)
    x = torch.cat([p[e + ".class_embedding"].expand(x.shape[0], 1, -1), x], 1) + p[e + ".position_embedding.weight"]
    x = layer_norm(x, p, VT + ".pre_layrnorm")
    k, t, d = x.shape
    h = v["heads"]
    for i in range(v["layers"]):
        n = f"{VT}.encoder.layers.{i}"
        y = layer_norm(x, p, n + ".layer_norm1")
        q, kk, vv = (lin(y, p, f"{n}.self_attn.{m}").view(k, t, h, d // h).transpose(1, 2) for m in ("q_proj", "k_proj", "v_proj"))
        a = ((q @ kk.transpose(-1, -2)) / (d // h) ** 0.5).softmax(-1) @ vv
        x = x + lin(a.transpose(1, 2).reshape(k, t, d), p, n + ".self_attn.out_proj")
        y = lin(layer_norm(x, p, n + ".layer_norm2"), p, n + ".mlp.fc1")
        x = x + lin(y * torch.sigmoid(1.702 * y), p, n + ".mlp.fc2")
    return layer_norm(x, p, VT + ".post_layernorm")[:, 1:]


def rms(x, w, eps):
    return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def rot(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], -1)


def decoder(x, p, c, segments, positions):
    b, t, d = x.shape
    h, kv, eps = c["heads"], c["kv_heads"], c["eps"]
    hd = d // h
    inv = 1.0 / c["theta"] ** (torch.arange(0, hd, 2, dtype=torch.float32) / hd)
    f = positions.float()[..., None] * inv
    emb = torch.cat([f, f], -1)
    cos, sin = emb.cos()[:, None], emb.sin()[:, None]
    same = (segments[:, :, None] == segments[:, None, :]) & (segments[:, :, None] != 0)
    allowed = (same & torch.ones(t, t, dtype=torch.bool).tril()) | torch.eye(t, dtype=torch.bool)
    mask = torch.zeros(b, 1, t, t).masked_fill(~allowed[:, None], float("-inf"))
    for i in range(c["layers"]):
        n = f"{LM}model.layers.{i}"
        y = rms(x, p[n + ".input_layernorm.weight"], eps)
        q = lin(y, p, n + ".self_attn.q_proj").view(b, t, h, hd).transpose(1, 2)
        k = lin(y, p, n + ".self_attn.k_proj").view(b, t, kv, hd).transpose(1, 2)
        v = lin(y, p, n + ".self_attn.v_proj").view(b, t, kv, hd).transpose(1, 2)
        q, k = q * cos + rot(q) * sin, k * cos + rot(k) * sin
        k, v = k.repeat_interleave(h // kv, 1), v.repeat_interleave(h // kv, 1)
        a = ((q @ k.transpose(-1, -2)) / hd ** 0.5 + mask).softmax(-1) @ v
        x = x + lin(a.transpose(1, 2).reshape(b, t, d), p, n + ".self_attn.o_proj", bias=False)
        m = rms(x, p[n + ".post_attention_layernorm.weight"], eps)
        x = x + lin(F.silu(lin(m, p, n + ".mlp.gate_proj", False)) * lin(m, p, n + ".mlp.up_proj", False), p,
                    n + ".mlp.down_proj", False)
    x = rms(x, p[LM + "model.norm.weight"], eps)
    return F.linear(x, p[LM + "model.embed_tokens.weight"] if c["tied"] else p[LM + "lm_head.weight"])


def main(folder):
    spec = json.load(open(os.path.join(folder, "spec.json")))
    torch.set_num_threads(spec["threads"])
    torch.manual_seed(0)
    batch = {k: torch.from_numpy(np.array(v)) for k, v in safetensors_np.load(os.path.join(folder, "batch.safetensors")).items()}
    p = {n: (torch.randn(s) * 0.02).requires_grad_(True) for n, s in spec["shapes"].items()}
    opt = torch.optim.AdamW(list(p.values()), lr=1e-4, weight_decay=0.01)
    ids, targets = batch["ids"], batch["targets"]
    tokens = int((targets != -100).sum())

    def step():
        opt.zero_grad()
        feats = vision(batch["images"], p, spec["vision"])
        proj = lin(F.gelu(lin(feats, p, "multi_modal_projector.linear_1")), p, "multi_modal_projector.linear_2")
        x = p[LM + "model.embed_tokens.weight"][ids]
        x = x.masked_scatter((ids == spec["image_pad_id"])[..., None], proj.reshape(-1, proj.shape[-1]))
        logits = decoder(x, p, spec["decoder"], batch["segments"], batch["positions"])
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-100,
                               reduction="sum") / tokens
        loss.backward()
        opt.step()

    step()  # warm-up
    start = time.perf_counter()
    for _ in range(spec["steps"]):
        step()
    print(f"tokens_per_s {tokens * spec['steps'] / (time.perf_counter() - start):.2f}")


if __name__ == "__main__":
    main(sys.argv[1])
