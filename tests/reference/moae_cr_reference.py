#!/usr/bin/env python3
"""Independent PyTorch implementation of CLIP-ViT + MoAE (multi-head SoftMoE),
the CLIP text encoder and the MoAE-CR losses (CE, DM, CDM) plus the metric
learning baselines. Loads what tests/reference/dump_moae_cr wrote and checks
outputs, losses and every parameter gradient (float64)."""
import math
import os
import subprocess
import sys
import tempfile

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python"))
import safetensors_np  # noqa: E402


def load_safetensors(path):
    return {k: torch.from_numpy(v.copy()) for k, v in safetensors_np.load(path).items()}


def linear(x, p, name, bias=True):
    return F.linear(x, p[name + ".weight"], p.get(name + ".bias") if bias else None)


def quick_gelu(x):
    return x * torch.sigmoid(1.702 * x)


def mlp(x, p, name):
    return linear(quick_gelu(linear(x, p, name + ".fc1")), p, name + ".fc2")


def attention(x, p, name, heads, mask=None):
    b, t, d = x.shape
    hd = d // heads
    q, k, v = (linear(x, p, f"{name}.{w}_proj").view(b, t, heads, hd).transpose(1, 2) for w in "qkv")
    s = q @ k.transpose(-1, -2) / math.sqrt(hd)
    if mask is not None:
        s = s + mask
    o = (s.softmax(-1) @ v).transpose(1, 2).reshape(b, t, d)
    return linear(o, p, name + ".out_proj")


def soft_moe(x, p, name, experts):
    """Puigcerver et al.: normalised logits with learnable scale; dispatch softmax
    over tokens, combine softmax over all slots, slots from un-normalised x."""
    phi, scale = p[name + ".phi"], p[name + ".scale"]
    slots = phi.shape[1] // experts
    xn = x * torch.rsqrt((x * x).sum(-1, keepdim=True) + 1e-6)
    phin = phi / phi.norm(dim=0, keepdim=True)
    logits = scale * torch.einsum("bmd,ds->bms", xn, phin)
    dispatch, combine = logits.softmax(1), logits.softmax(2)
    s = torch.einsum("bms,bmd->bsd", dispatch, x)
    outs = [mlp(s[:, e * slots:(e + 1) * slots], p, f"{name}.experts.{e}") for e in range(experts)]
    return torch.einsum("bms,bsd->bmd", combine, torch.cat(outs, 1))


def moae(x, p, name, heads, experts):
    b, m, d = x.shape
    sub = linear(x, p, name + ".head_proj").reshape(b, m * heads, d // heads)
    return linear(soft_moe(sub, p, name + ".soft_moe", experts).reshape(b, m, d), p, name + ".merge_proj")


def layer_norm(x, p, name):
    return F.layer_norm(x, x.shape[-1:], p[name + ".weight"], p[name + ".bias"], 1e-5)


def encoder(x, p, prefix, layers, heads, mask=None, moae_heads=0, experts=0):
    for i in range(layers):
        n = f"{prefix}.encoder.layers.{i}"
        x = x + attention(layer_norm(x, p, n + ".layer_norm1"), p, n + ".self_attn", heads, mask)
        h = layer_norm(x, p, n + ".layer_norm2")
        branch = mlp(h, p, n + ".mlp")
        if moae_heads:
            branch = branch + moae(h, p, n + ".moae", moae_heads, experts)
        x = x + branch
    return x


def encode_image(images, p):
    e = "vision_model.embeddings"
    patches = F.conv2d(images, p[e + ".patch_embedding.weight"], stride=8).flatten(2).transpose(1, 2)
    cls = p[e + ".class_embedding"].expand(images.shape[0], 1, -1)
    x = torch.cat([cls, patches], 1) + p[e + ".position_embedding.weight"]
    x = layer_norm(x, p, "vision_model.pre_layrnorm")
    x = encoder(x, p, "vision_model", 2, 4, None, moae_heads=2, experts=4)
    return F.linear(layer_norm(x[:, 0], p, "vision_model.post_layernorm"), p["visual_projection.weight"])


def encode_text(ids, eot, p):
    e = "text_model.embeddings"
    t = ids.shape[1]
    x = p[e + ".token_embedding.weight"][ids] + p[e + ".position_embedding.weight"][:t]
    mask = torch.full((t, t), float("-inf"), dtype=x.dtype).triu(1)
    x = layer_norm(encoder(x, p, "text_model", 1, 2, mask), p, "text_model.final_layer_norm")
    return F.linear(x[torch.arange(ids.shape[0]), eot], p["text_projection.weight"])


def centres(fn, y):
    cls = torch.unique(y)
    return torch.stack([fn[y == c].mean(0) for c in cls]), cls


def dm(f, y, t):
    c, _ = centres(F.normalize(f, dim=1), y)
    rc = c @ c.T
    off = ~torch.eye(len(c), dtype=torch.bool)
    q = torch.relu(rc * off - t)
    return torch.logsumexp(q.masked_fill(~off, float("-inf")), 1).pow(2).mean()


def cdm(f, y):
    fn = F.normalize(f, dim=1)
    c, cls = centres(fn, y)
    own = y[:, None] == cls[None, :]
    r1 = (fn - c[own.long().argmax(1)]).abs()
    att = (torch.logsumexp(r1, 1) - math.log(fn.shape[1])).pow(2).mean()
    r2 = (fn @ c.T).softmax(1)
    rep = torch.logsumexp(r2.masked_fill(own, float("-inf")), 1).pow(2).mean()
    return att + rep


def baselines(f, y):
    fn = F.normalize(f, dim=1)
    n = len(y)
    d = (2 - 2 * fn @ fn.T).clamp_min(0)
    same = (y[:, None] == y[None, :]) & ~torch.eye(n, dtype=torch.bool)
    diff = y[:, None] != y[None, :]
    out = {}
    # batch-all triplet: mean over active valid triplets
    vals = []
    for a in range(n):
        for pos in range(n):
            for neg in range(n):
                if same[a, pos] and diff[a, neg]:
                    vals.append(torch.relu(d[a, pos] - d[a, neg] + 0.3))
    v = torch.stack(vals)
    out["triplet"] = v.sum() / max(int((v > 1e-12).sum()), 1)
    hp = torch.stack([d[a][same[a]].max() for a in range(n)])
    hn = torch.stack([d[a][diff[a]].min() for a in range(n)])
    out["hard_triplet"] = torch.relu(hp - hn + 0.3).mean()
    sim = fn @ fn.T
    per = []
    for a in range(n):
        pos = int(torch.nonzero(same[a])[0])
        per.append(torch.log1p(torch.exp(sim[a][diff[a]] - sim[a, pos]).sum()))
    out["npair"] = torch.stack(per).mean()
    logits = (sim / 0.1).masked_fill(torch.eye(n, dtype=torch.bool), -1e9)
    lp = logits - torch.logsumexp(logits, 1, keepdim=True)
    out["supcon"] = (-(lp * same).sum(1) / same.sum(1)).mean()
    return out


def close(name, got, want, tol=1e-9):
    err = (got - want).abs().max().item() if got.numel() else 0.0
    scale = max(1.0, want.abs().max().item() if want.numel() else 0.0)
    assert err <= tol * scale, f"{name}: max abs error {err:.3e} (scale {scale:.3e})"


def main(dumper):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "dump.safetensors")
        subprocess.run([dumper, path], check=True)
        t = load_safetensors(path)
    params = {k[6:]: v.clone().requires_grad_(True) for k, v in t.items() if k.startswith("param/")}
    images, labels = t["in/images"], t["in/labels"]
    img = encode_image(images, params)
    text = encode_text(t["in/ids"], t["in/eot"], params)
    close("image embeddings", img, t["out/img"])
    close("text embeddings", text, t["out/text"])
    s = params["logit_scale"].exp() * F.normalize(img, dim=1) @ F.normalize(text, dim=1).T
    ce = F.cross_entropy(s, labels)
    dml, cdml = dm(img, labels, 0.0), cdm(img, labels)
    close("CE", ce, t["out/ce"])
    close("DM", dml, t["out/dm"])
    close("CDM", cdml, t["out/cdm"])
    assert dml.item() > 1e-6 and cdml.item() > 1e-6, "losses must be active for the gradient check to mean anything"
    (ce + dml + cdml).backward()
    moae_grads = 0
    for name, p in params.items():
        close("grad " + name, p.grad if p.grad is not None else torch.zeros_like(p), t["grad/" + name], 1e-8)
        moae_grads += ".moae." in name and p.grad.abs().max().item() > 0
    assert moae_grads >= 8, moae_grads

    f, y = t["feat/f"].clone().requires_grad_(True), t["feat/labels"]
    fns = {"dm": lambda: dm(f, y, 0.1), "cdm": lambda: cdm(f, y)}
    for k in ("triplet", "hard_triplet", "npair", "supcon"):
        fns[k] = (lambda k=k: baselines(f, y)[k])
    for name, fn in fns.items():
        f.grad = None
        loss = fn()
        loss.backward()
        close(name, loss, t["feat/" + name])
        close(name + " grad", f.grad, t["feat/" + name + "_grad"], 1e-8)
    print(f"reference: {len(params)} parameter gradients, embeddings and 8 losses match PyTorch (float64)")


if __name__ == "__main__":
    main(sys.argv[1])
