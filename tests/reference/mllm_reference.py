#!/usr/bin/env python3
"""Independent PyTorch MLLM: CLIP-style vision tower (patch tokens of the last
layer, post-LN) -> projector (Linear, exact GELU, Linear) -> image features
scattered into the image-pad slots -> Qwen2 decoder. Loads what dump_mllm
wrote and checks logits, loss and every gradient (float64)."""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
import decoder_reference as dec  # noqa: E402
import moae_cr_reference as clip  # noqa: E402

PAD_ID = 49


def vision_features(images, p):
    e = "vision_tower.vision_model.embeddings"
    patches = F.conv2d(images, p[e + ".patch_embedding.weight"], stride=8).flatten(2).transpose(1, 2)
    cls = p[e + ".class_embedding"].expand(images.shape[0], 1, -1)
    x = torch.cat([cls, patches], 1) + p[e + ".position_embedding.weight"]
    x = clip.layer_norm(x, p, "vision_tower.vision_model.pre_layrnorm")
    x = clip.encoder(x, p, "vision_tower.vision_model", 1, 2)
    return clip.layer_norm(x[:, 1:], p, "vision_tower.vision_model.post_layernorm")


def forward(p, ids, images, pad):
    feats = vision_features(images, p)
    proj = clip.linear(F.gelu(clip.linear(feats, p, "multi_modal_projector.linear_1")), p, "multi_modal_projector.linear_2")
    x = p["language_model.model.embed_tokens.weight"][ids].clone()
    x[ids == PAD_ID] = proj.reshape(-1, proj.shape[-1])
    pos = (pad.cumsum(1) - 1).clamp_min(0)
    return dec.forward_embeds(p, x, pad, pos, prefix="language_model.")


def main(dumper):
    t, p = dec.load_dump(dumper)
    err = dec.check_lm(forward(p, t["in/ids"], t["in/images"], t["in/pad"]), t, p)
    vision = sum(name.startswith(("vision_tower", "multi_modal")) for name in p)
    print(f"mllm reference: logits (max err {err:.1e}), loss and {len(p)} gradients "
          f"({vision} in the vision tower and projector) match PyTorch")


if __name__ == "__main__":
    main(sys.argv[1])
