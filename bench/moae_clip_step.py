#!/usr/bin/env python3
"""The same MoAE-CLIP train step in python3-torch (eager): ViT with MoAE
branches, text encoder, CE + DM + CDM, backward, AdamW. Parameter names and
shapes come from the JSON that bench_train_step writes, so both sides train
the identical architecture. Prints 'samples_per_s <value>'."""
import json
import math
import sys
import time

import torch
import torch.nn.functional as F


def build(spec):
    torch.manual_seed(0)
    return {n: (torch.randn(s) * 0.02).requires_grad_(True) for n, s in spec["shapes"].items()}


def lin(x, p, n, bias=True):
    return F.linear(x, p[n + ".weight"], p.get(n + ".bias") if bias else None)


def mlp(x, p, n):
    h = lin(x, p, n + ".fc1")
    return lin(h * torch.sigmoid(1.702 * h), p, n + ".fc2")


def attn(x, p, n, heads, mask=None):
    b, t, d = x.shape
    q, k, v = (lin(x, p, f"{n}.{w}_proj").view(b, t, heads, d // heads).transpose(1, 2) for w in "qkv")
    s = q @ k.transpose(-1, -2) / math.sqrt(d // heads)
    if mask is not None:
        s = s + mask
    return lin((s.softmax(-1) @ v).transpose(1, 2).reshape(b, t, d), p, n + ".out_proj")


def moae(x, p, n, heads, experts):
    b, m, d = x.shape
    sub = lin(x, p, n + ".head_proj").reshape(b, m * heads, d // heads)
    phi = p[n + ".soft_moe.phi"]
    slots = phi.shape[1] // experts
    xn = sub * torch.rsqrt((sub * sub).sum(-1, keepdim=True) + 1e-6)
    logits = p[n + ".soft_moe.scale"] * (xn @ (phi / phi.norm(dim=0, keepdim=True)))
    s = logits.softmax(1).transpose(1, 2) @ sub
    outs = [mlp(s[:, e * slots:(e + 1) * slots], p, f"{n}.soft_moe.experts.{e}") for e in range(experts)]
    return lin((logits.softmax(2) @ torch.cat(outs, 1)).reshape(b, m, d), p, n + ".merge_proj")


def ln(x, p, n):
    return F.layer_norm(x, x.shape[-1:], p[n + ".weight"], p[n + ".bias"], 1e-5)


def encoder(x, p, prefix, layers, heads, mask=None, moae_cfg=None):
    for i in range(layers):
        n = f"{prefix}.encoder.layers.{i}"
        x = x + attn(ln(x, p, n + ".layer_norm1"), p, n + ".self_attn", heads, mask)
        h = ln(x, p, n + ".layer_norm2")
        br = mlp(h, p, n + ".mlp")
        if moae_cfg:
            br = br + moae(h, p, n + ".moae", *moae_cfg)
        x = x + br
    return x


def step(p, spec, images, labels, ids, eot):
    v = spec["vision"]
    e = "vision_model.embeddings"
    x = F.conv2d(images, p[e + ".patch_embedding.weight"], stride=v["patch"]).flatten(2).transpose(1, 2)
    x = torch.cat([p[e + ".class_embedding"].expand(x.shape[0], 1, -1), x], 1) + p[e + ".position_embedding.weight"]
    x = encoder(ln(x, p, "vision_model.pre_layrnorm"), p, "vision_model", v["layers"], v["heads"], None,
                (v["moae_heads"], v["experts"]))
    img = F.linear(ln(x[:, 0], p, "vision_model.post_layernorm"), p["visual_projection.weight"])
    t = spec["text"]
    te = "text_model.embeddings"
    tt = ids.shape[1]
    y = p[te + ".token_embedding.weight"][ids] + p[te + ".position_embedding.weight"][:tt]
    mask = torch.full((tt, tt), float("-inf")).triu(1)
    y = ln(encoder(y, p, "text_model", t["layers"], t["heads"], mask), p, "text_model.final_layer_norm")
    text = F.linear(y[torch.arange(2), eot], p["text_projection.weight"])
    fn = F.normalize(img, dim=1)
    ce = F.cross_entropy(p["logit_scale"].exp() * fn @ F.normalize(text, dim=1).T, labels)
    c = torch.stack([fn[labels == k].mean(0) for k in (0, 1)])
    q = torch.relu(c @ c.T * (1 - torch.eye(2)) - 0.5)
    dm = q[0, 1].pow(2) * 0.5 + q[1, 0].pow(2) * 0.5
    r1 = (fn - c[labels]).abs()
    att = (torch.logsumexp(r1, 1) - math.log(fn.shape[1])).pow(2).mean()
    r2 = (fn @ c.T).softmax(1)
    rep = r2.gather(1, (1 - labels)[:, None]).squeeze(1).pow(2).mean()
    return ce + dm + att + rep


def main(spec_path, steps):
    spec = json.load(open(spec_path))
    torch.set_num_threads(spec["threads"])
    p = build(spec)
    opt = torch.optim.AdamW(p.values(), lr=1e-6, weight_decay=5e-4)
    b, v = spec["batch"], spec["vision"]
    images = torch.randn(b, v["channels"], v["image"], v["image"])
    labels = torch.arange(b) % 2
    ids = torch.tensor(spec["ids"])
    eot = torch.tensor(spec["eot"])
    times = []
    for i in range(steps + 1):
        t0 = time.perf_counter()
        opt.zero_grad()
        step(p, spec, images, labels, ids, eot).backward()
        torch.nn.utils.clip_grad_norm_(p.values(), 1.0)
        opt.step()
        if i > 0:  # first step is warm-up
            times.append(time.perf_counter() - t0)
    print(f"samples_per_s {b / min(times):.3f}")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
