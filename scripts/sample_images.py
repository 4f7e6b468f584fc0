#!/usr/bin/env python3
"""Writes the images of one test sample of a fasrl dataset as PNGs (for the
quickstart's `fasrl infer` stage): OUT/{rgb,depth,ir}.png for the modalities
the sample has, and OUT/label.txt (its fine label: live or the attack type).
  sample_images.py DATASET OUT [INDEX]"""
import json
import os
import sys

import h5py
from PIL import Image

dataset, out = sys.argv[1], sys.argv[2]
index = int(sys.argv[3]) if len(sys.argv) > 3 else 0
manifest = json.load(open(os.path.join(dataset, "manifest.json")))
os.makedirs(out, exist_ok=True)
with h5py.File(os.path.join(dataset, manifest["shards"][-1]["file"]), "r") as f:
    for j, name in enumerate(("rgb", "depth", "ir")):
        if f["modality_mask"][index][j]:
            img = f["images/" + name][index]
            Image.fromarray(img if img.shape[-1] == 3 else img[..., 0]).save(os.path.join(out, name + ".png"))
    fine = int(f["labels/fine"][index])
open(os.path.join(out, "label.txt"), "w").write(manifest["labels"]["fine"][fine] + "\n")
print("wrote", sorted(os.listdir(out)), "to", out)
