#!/usr/bin/env python3
"""Independent PyTorch Qwen2.5-VL written from the published architecture
(float64), checked against what dump_qwen_vl wrote: M-RoPE positions, logits,
loss and every gradient.

Written differently from fasrl on purpose: the vision tower runs image by image
with explicit attention masks (same window / same image) on the patches in
their natural order, instead of permuting tokens into windows; the decoder
uses a dense block-causal mask; the positions walk each sequence in Python."""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
import decoder_reference as dec  # noqa: E402

IMAGE, MERGE, PATCH, WINDOW_PX = 60, 2, 2, 8
V_DEPTH, V_HEADS, V_FULL = 3, 2, {1}
H, D, THETA, EPS, MROPE = 4, 32, 10000.0, 1e-6, (1, 1, 2)  # decoder sizes as decoder_reference's


def rms(x, w):
    return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + EPS))


def vision_image(p, pix, h, w):
    """pix [h*w, 24] in the processor's order -> merged tokens [h*w/4, 32]."""
    n = h * w
    k = torch.arange(n)
    block, inner = k // 4, k % 4
    row = (block // (w // MERGE)) * MERGE + inner // MERGE
    col = (block % (w // MERGE)) * MERGE + inner % MERGE
    x = pix @ p["visual.patch_embed.proj.weight"].reshape(p["visual.patch_embed.proj.weight"].shape[0], -1).T
    dv = x.shape[1]
    hd = dv // V_HEADS
    inv = 1.0 / 10000.0 ** (torch.arange(0, hd // 2, 2, dtype=torch.float64) / (hd // 2))
    f = torch.cat([row[:, None] * inv, col[:, None] * inv], -1)
    cos, sin = torch.cat([f, f], -1).cos(), torch.cat([f, f], -1).sin()
    win = WINDOW_PX // PATCH  # window side in patches
    wid = (row // win) * 1000 + col // win
    same_window = wid[:, None] == wid[None, :]
    for i in range(V_DEPTH):
        b = f"visual.blocks.{i}"
        allowed = torch.ones(n, n, dtype=torch.bool) if i in V_FULL else same_window
        mask = torch.zeros(n, n, dtype=torch.float64).masked_fill(~allowed, float("-inf"))
        qkv = F.linear(rms(x, p[b + ".norm1.weight"]), p[b + ".attn.qkv.weight"], p[b + ".attn.qkv.bias"])
        q, kk, v = qkv.view(n, 3, V_HEADS, hd).permute(1, 2, 0, 3)  # each [heads, n, hd]
        q, kk = q * cos + dec.rot(q) * sin, kk * cos + dec.rot(kk) * sin
        a = ((q @ kk.transpose(-1, -2)) / hd ** 0.5 + mask).softmax(-1) @ v
        x = x + F.linear(a.transpose(0, 1).reshape(n, dv), p[b + ".attn.proj.weight"], p[b + ".attn.proj.bias"])
        m = rms(x, p[b + ".norm2.weight"])
        gate = F.linear(m, p[b + ".mlp.gate_proj.weight"], p[b + ".mlp.gate_proj.bias"])
        up = F.linear(m, p[b + ".mlp.up_proj.weight"], p[b + ".mlp.up_proj.bias"])
        x = x + F.linear(F.silu(gate) * up, p[b + ".mlp.down_proj.weight"], p[b + ".mlp.down_proj.bias"])
    y = rms(x, p["visual.merger.ln_q.weight"]).reshape(n // 4, 4 * dv)
    y = F.gelu(F.linear(y, p["visual.merger.mlp.0.weight"], p["visual.merger.mlp.0.bias"]))
    return F.linear(y, p["visual.merger.mlp.2.weight"], p["visual.merger.mlp.2.bias"])


def positions(ids, segments, grids):
    """[3, B, T]: text counts up; an image's tokens take p + (0, row, col); text resumes at p + max(rows, cols)."""
    b, t = ids.shape
    pos = torch.ones(3, b, t, dtype=torch.int64)
    images = iter(grids.tolist())
    for r in range(b):
        i, p, seg = 0, 0, 0
        while i < t:
            s = segments[r, i].item()
            if s == 0:
                i += 1
                continue
            if s != seg:
                p, seg = 0, s
            if ids[r, i].item() != IMAGE:
                pos[:, r, i] = p
                p, i = p + 1, i + 1
                continue
            _, gh, gw = next(images)
            mh, mw = gh // MERGE, gw // MERGE
            for k in range(mh * mw):
                pos[0, r, i + k], pos[1, r, i + k], pos[2, r, i + k] = p, p + k // mw, p + k % mw
            p, i = p + max(mh, mw), i + mh * mw
    return pos


def decoder(p, x, segments, pos):
    b, t = x.shape[:2]
    hd = D // H
    inv = 1.0 / THETA ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd)
    row_of_freq = torch.tensor([0] * MROPE[0] + [1] * MROPE[1] + [2] * MROPE[2])
    f = pos.double()[..., None] * inv  # [3, B, T, hd/2]
    f = f.gather(0, row_of_freq.view(1, 1, 1, -1).expand(1, b, t, -1))[0]
    emb = torch.cat([f, f], -1)
    cos, sin = emb.cos()[:, None], emb.sin()[:, None]
    same = (segments[:, :, None] == segments[:, None, :]) & (segments[:, None, :] != 0)
    allowed = (torch.tril(torch.ones(t, t, dtype=torch.bool))[None] & same) | torch.eye(t, dtype=torch.bool)[None]
    mask = torch.zeros(b, 1, t, t, dtype=torch.float64).masked_fill(~allowed[:, None], float("-inf"))
    return dec.layers_and_head(p, x, cos, sin, mask)


def forward(p, t):
    ids, segments, grids, pix = t["in/ids"], t["in/segments"], t["in/grids"], t["in/patches"]
    feats, start = [], 0
    for gt, gh, gw in grids.tolist():
        feats.append(vision_image(p, pix[start:start + gt * gh * gw], gh, gw))
        start += gt * gh * gw
    x = p["model.embed_tokens.weight"][ids].clone()
    x[ids == IMAGE] = torch.cat(feats)
    pos = positions(ids, segments, grids)
    real = segments != 0
    assert torch.equal(pos[:, real], t["out/positions"][:, real]), "M-RoPE positions differ"
    return decoder(p, x, segments, pos)


def main(dumper):
    t, p = dec.load_dump(dumper)
    err = dec.check_lm(forward(p, t), t, p)
    vision = sum(name.startswith("visual.") for name in p)
    print(f"qwen2.5-vl reference: positions, logits (max err {err:.1e}), loss and {len(p)} gradients "
          f"({vision} in the vision tower) match PyTorch")


if __name__ == "__main__":
    main(sys.argv[1])
