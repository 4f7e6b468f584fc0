#!/usr/bin/env python3
"""`fasrl data pack` against independent tools: images written by PIL (PNG and
JPEG), packed by fasrl, read back by h5py; PNG pixels must match exactly and
JPEG pixels must match PIL's own decoding. Bad CSV rows must name the line."""
import csv
import json
import os
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np
from PIL import Image


def main(fasrl):
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        img_dir = os.path.join(tmp, "img")
        os.makedirs(img_dir)
        rows, expected = [], {}
        labels = ["live", "print", "replay", "face_swap", "live", "gan_synthesis"]
        for i in range(12):
            rgb = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
            ir = rng.integers(0, 256, (32, 32), dtype=np.uint8)
            use_jpeg = i % 2 == 1
            rgb_name = f"{i}_rgb." + ("jpg" if use_jpeg else "png")
            Image.fromarray(rgb).save(os.path.join(img_dir, rgb_name), quality=90)
            Image.fromarray(ir).save(os.path.join(img_dir, f"{i}_ir.png"))
            decoded = np.asarray(Image.open(os.path.join(img_dir, rgb_name)).convert("RGB"))
            has_ir = i % 4 != 3
            expected[f"s{i}"] = (decoded, ir if has_ir else None, use_jpeg, labels[i % len(labels)], i // 2)
            rows.append([f"s{i}", labels[i % len(labels)], i // 2, "siteA" if i < 6 else "siteB", rgb_name,
                         f"{i}_ir.png" if has_ir else ""])
        csv_path = os.path.join(img_dir, "list.csv")
        with open(csv_path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["sample_id", "label", "subject", "domain", "rgb", "ir"])
            w.writerows(rows)
        out = os.path.join(tmp, "packed")
        subprocess.run([fasrl, "data", "pack", "--csv", csv_path, "--out", out, "--image-size", "32",
                        "--samples-per-shard", "5"], check=True)
        subprocess.run([fasrl, "data", "verify", out, "--deep"], check=True)
        manifest = json.load(open(os.path.join(out, "manifest.json")))
        assert [m["name"] for m in manifest["modalities"]] == ["rgb", "ir"]
        assert manifest["domains"] == ["siteA", "siteB"]
        fine_names = manifest["labels"]["fine"]
        seen = 0
        for shard in manifest["shards"]:
            with h5py.File(os.path.join(out, shard["file"]), "r") as f:
                for j, sid in enumerate(f["meta/sample_id"].asstr()[...]):
                    rgb, ir, use_jpeg, label, subject = expected[sid]
                    got = f["images/rgb"][j]
                    diff = np.abs(got.astype(int) - rgb.astype(int)).max()
                    assert diff <= (1 if use_jpeg else 0), (sid, diff)  # libjpeg-turbo vs PIL's libjpeg
                    if ir is None:
                        assert f["modality_mask"][j, 1] == 0 and f["images/ir"][j].max() == 0
                    else:
                        assert f["modality_mask"][j, 1] == 1
                        assert (f["images/ir"][j][..., 0] == ir).all(), sid
                    assert fine_names[f["labels/fine"][j]] == label
                    assert f["meta/subject"][j] == subject
                    seen += 1
        assert seen == 12

        # A bad label names the CSV line; the command fails without a crash.
        with open(csv_path, "a") as f:
            f.write("s99,hologram,9,siteA,0_rgb.png,\n")
        r = subprocess.run([fasrl, "data", "pack", "--csv", csv_path, "--out", os.path.join(tmp, "bad")],
                           capture_output=True, text=True)
        assert r.returncode == 1, r
        assert "list.csv:14: label 'hologram'" in r.stderr, r.stderr

        # Hostile images: a truncated JPEG (libjpeg only warns and fills grey)
        # and a 2 KB JPEG whose header claims 30000 x 30000 are refused, named.
        good = open(os.path.join(img_dir, "1_rgb.jpg"), "rb").read()
        open(os.path.join(img_dir, "trunc.jpg"), "wb").write(good[:len(good) * 2 // 3])
        sof = good.index(b"\xff\xc0")
        huge = good[:sof + 5] + (30000).to_bytes(2, "big") * 2 + good[sof + 9:]
        open(os.path.join(img_dir, "huge.jpg"), "wb").write(huge)
        for name, needle in [("trunc.jpg", "trunc.jpg: cannot decode JPEG"), ("huge.jpg", "huge.jpg: the image claims 30000x30000")]:
            bad_csv = os.path.join(img_dir, f"list_{name}.csv")
            with open(bad_csv, "w", newline="") as f:
                w = csv.writer(f)
                w.writerow(["sample_id", "label", "subject", "domain", "rgb", "ir"])
                w.writerows(rows + [["s98", "live", 9, "siteA", name, ""]])
            start = time.time()
            r = subprocess.run([fasrl, "data", "pack", "--csv", bad_csv, "--out", os.path.join(tmp, "bad_" + name)],
                               capture_output=True, text=True)
            assert r.returncode == 1 and needle in r.stderr, (name, r.returncode, r.stderr)
            assert time.time() - start < 30, name
    print("pack: 12 samples (PNG exact, JPEG within 1 level of PIL), missing IR masked, bad row named, "
          "truncated and oversized JPEGs refused")


if __name__ == "__main__":
    main(sys.argv[1])
