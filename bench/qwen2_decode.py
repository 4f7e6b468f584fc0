#!/usr/bin/env python3
"""The same Qwen2-style decoder in python3-torch eager with a KV cache: greedy
decode of N tokens at a batch size. Prints 'tokens_per_s <value>'."""
import json
import sys
import time

import torch
import torch.nn.functional as F


def main(spec_path, batch, new_tokens):
    c = json.load(open(spec_path))
    torch.set_num_threads(c["threads"])
    torch.manual_seed(0)
    D, H, KV, L, FF, V = c["hidden_size"], c["num_attention_heads"], c["num_key_value_heads"], c["num_hidden_layers"], \
        c["intermediate_size"], c["vocab_size"]
    hd = D // H
    r = lambda *s: torch.randn(*s) * 0.02
    emb = r(V, D)
    layers = [dict(ln1=torch.ones(D), ln2=torch.ones(D), q=r(H * hd, D), qb=r(H * hd), k=r(KV * hd, D), kb=r(KV * hd),
                   v=r(KV * hd, D), vb=r(KV * hd), o=r(D, H * hd), g=r(FF, D), u=r(FF, D), d=r(D, FF)) for _ in range(L)]
    norm = torch.ones(D)
    inv = 1.0 / c["rope_theta"] ** (torch.arange(0, hd, 2).float() / hd)
    rms = lambda x, w: w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6))
    rot = lambda x: torch.cat([-x[..., hd // 2:], x[..., :hd // 2]], -1)

    def step(ids, pos, cache):
        b, t = ids.shape
        x = emb[ids]
        f = pos.float()[..., None] * inv
        e = torch.cat([f, f], -1)
        cos, sin = e.cos()[:, None], e.sin()[:, None]
        for i, ly in enumerate(layers):
            h = rms(x, ly["ln1"])
            q = F.linear(h, ly["q"], ly["qb"]).view(b, t, H, hd).transpose(1, 2)
            k = F.linear(h, ly["k"], ly["kb"]).view(b, t, KV, hd).transpose(1, 2)
            v = F.linear(h, ly["v"], ly["vb"]).view(b, t, KV, hd).transpose(1, 2)
            q, k = q * cos + rot(q) * sin, k * cos + rot(k) * sin
            if cache[i] is not None:
                k, v = torch.cat([cache[i][0], k], 2), torch.cat([cache[i][1], v], 2)
            cache[i] = (k, v)
            kr, vr = k.repeat_interleave(H // KV, 1), v.repeat_interleave(H // KV, 1)
            s = q @ kr.transpose(-1, -2) / hd ** 0.5
            if t > 1:
                s = s + torch.full((t, t), float("-inf")).triu(1)
            x = x + F.linear((s.softmax(-1) @ vr).transpose(1, 2).reshape(b, t, D), ly["o"])
            m = rms(x, ly["ln2"])
            x = x + F.linear(F.silu(F.linear(m, ly["g"])) * F.linear(m, ly["u"]), ly["d"])
        return F.linear(rms(x, norm), emb)[:, -1]

    with torch.no_grad():
        prompt = torch.randint(0, V, (batch, 16))
        cache = [None] * L
        logits = step(prompt, torch.arange(16).expand(batch, 16), cache)
        start = time.perf_counter()
        for n in range(new_tokens):
            nxt = logits.argmax(-1, keepdim=True)
            logits = step(nxt, torch.full((batch, 1), 16 + n), cache)
        secs = time.perf_counter() - start
    print(f"tokens_per_s {batch * new_tokens / secs:.2f}")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
