#!/usr/bin/env python3
"""fasrl's Qwen2.5-VL against transformers' Qwen2_5_VLForConditionalGeneration
(float64, eager attention), where the transformers package exists (a GPU
machine; elsewhere exit 77 = skip):
  1. a tiny random model saved with save_pretrained loads into fasrl, and the
     logits of a batch with two images of different sizes and left padding
     agree at every real token;
  2. fasrl's export of that model loads back into transformers with the same
     logits."""
import os
import subprocess
import sys
import tempfile

try:
    import torch
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration
except ImportError as e:
    print(f"SKIP: {e}")
    sys.exit(77)

sys.path.insert(0, os.path.dirname(__file__))
import safetensors_np  # noqa: E402

TOOL = sys.argv[1]
START, END, IMAGE, VIDEO = 58, 59, 60, 61


def tiny_config():
    vision = dict(depth=2, hidden_size=32, intermediate_size=40, num_heads=2, out_hidden_size=32, patch_size=2,
                  spatial_merge_size=2, temporal_patch_size=2, window_size=8, fullatt_block_indexes=[1],
                  in_chans=3, in_channels=3, tokens_per_second=2)
    text = dict(vocab_size=64, hidden_size=32, intermediate_size=48, num_hidden_layers=2, num_attention_heads=4,
                num_key_value_heads=2, rope_theta=10000.0, max_position_embeddings=512, rms_norm_eps=1e-6,
                tie_word_embeddings=False, rope_scaling={"type": "mrope", "mrope_section": [1, 1, 2]})
    ids = dict(image_token_id=IMAGE, video_token_id=VIDEO, vision_start_token_id=START, vision_end_token_id=END)
    try:  # newer transformers: nested text_config
        return Qwen2_5_VLConfig(vision_config=vision, text_config=text, **ids, tie_word_embeddings=False)
    except TypeError:
        return Qwen2_5_VLConfig(vision_config=vision, **text, **ids)


def batch():
    grids = [(1, 4, 8), (1, 6, 4)]  # merged 2x4 and 3x2
    r0 = [5, START] + [IMAGE] * 8 + [END, 6, 7]
    r1 = [9, START] + [IMAGE] * 6 + [END, 10]
    t = len(r0)
    ids = torch.zeros(2, t, dtype=torch.int64)
    pad = torch.zeros(2, t, dtype=torch.int64)
    ids[0], pad[0] = torch.tensor(r0), 1
    ids[1, t - len(r1):], pad[1, t - len(r1):] = torch.tensor(r1), 1
    torch.manual_seed(0)
    patches = torch.randn(sum(a * b * c for a, b, c in grids), 3 * 2 * 2 * 2, dtype=torch.float64)
    return ids, pad, patches, torch.tensor(grids, dtype=torch.int64)


def hf_logits(model, ids, pad, patches, grids):
    with torch.no_grad():
        return model(input_ids=ids, attention_mask=pad, pixel_values=patches, image_grid_thw=grids).logits


def fasrl_logits(model_dir, ids, pad, patches, grids, tmp, export=None):
    inputs, out = os.path.join(tmp, "in.safetensors"), os.path.join(tmp, "out.safetensors")
    from safetensors.torch import save_file  # transformers depends on safetensors
    save_file({"ids": ids, "pad": pad, "patches": patches, "grids": grids}, inputs)
    subprocess.run([TOOL, model_dir, inputs, out] + ([export] if export else []), check=True)
    return torch.from_numpy(safetensors_np.load(out)["logits"].copy())


def main():
    torch.manual_seed(1)
    model = Qwen2_5_VLForConditionalGeneration._from_config(tiny_config(), attn_implementation="eager").double().eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    ids, pad, patches, grids = batch()
    real = pad.bool()
    with tempfile.TemporaryDirectory() as tmp:
        saved, export = os.path.join(tmp, "hf"), os.path.join(tmp, "fasrl_export")
        model.save_pretrained(saved, safe_serialization=True)
        want = hf_logits(model, ids, pad, patches, grids)
        got = fasrl_logits(saved, ids, pad, patches, grids, tmp, export)
        err = (want - got)[real].abs().max().item()
        print(f"transformers -> fasrl: logits max error {err:.2e}")
        assert err < 1e-8, err
        back = Qwen2_5_VLForConditionalGeneration.from_pretrained(export, attn_implementation="eager").double().eval()
        err2 = (hf_logits(back, ids, pad, patches, grids) - want)[real].abs().max().item()
        print(f"fasrl export -> transformers: logits max error {err2:.2e} (float32 weights)")
        assert err2 < 1e-4, err2


if __name__ == "__main__":
    main()
