#!/usr/bin/env python3
"""Draws docs/synth_samples.png: one sample of each fine label (rows: live and
the seven attack types) in each modality (columns: RGB, depth, IR) of a fasrl
dataset, with row and column labels (matplotlib). A missing modality is shown
as an empty, labelled cell.
  synth_samples.py DATASET OUT.png

  build/bin/fasrl data synth synth.out_dir=/tmp/synth128 synth.image_size=128
  /usr/bin/python3 scripts/synth_samples.py /tmp/synth128 docs/synth_samples.png"""
import json
import os
import sys

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

dataset, out = sys.argv[1], sys.argv[2]
manifest = json.load(open(os.path.join(dataset, "manifest.json")))
names = manifest["labels"]["fine"]
modalities = ["rgb", "depth", "ir"]
found = {}  # fine label -> {modality: image or None}
for shard in manifest["shards"]:
    with h5py.File(os.path.join(dataset, shard["file"]), "r") as f:
        fine, mask = f["labels/fine"][:], f["modality_mask"][:]
        for i, label in enumerate(fine):
            if int(label) in found:
                continue
            found[int(label)] = {m: (f["images/" + m][i] if mask[i][j] else None) for j, m in enumerate(modalities)}
    if len(found) == len(names):
        break
fig, axes = plt.subplots(len(names), 3, figsize=(6.2, 2.0 * len(names)))
for r, name in enumerate(names):
    for c, m in enumerate(modalities):
        ax = axes[r][c]
        img = found.get(r, {}).get(m)
        if img is not None:
            ax.imshow(img if img.shape[-1] == 3 else img[..., 0], cmap=None if img.shape[-1] == 3 else "gray",
                      vmin=0, vmax=255)
        else:
            ax.text(0.5, 0.5, "not captured", ha="center", va="center", fontsize=8, color="grey")
        ax.set_xticks([])
        ax.set_yticks([])
        if r == 0:
            ax.set_title({"rgb": "RGB", "depth": "depth", "ir": "IR"}[m])
        if c == 0:
            ax.set_ylabel(name.replace("_", " "), fontsize=10)
fig.suptitle("fasrl data synth: one sample per class", fontsize=11)
fig.tight_layout(rect=(0, 0, 1, 0.985))
fig.savefig(out, dpi=72)
print("wrote", out)
