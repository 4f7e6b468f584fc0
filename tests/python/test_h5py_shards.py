#!/usr/bin/env python3
"""Reads shards written by `fasrl data synth` with h5py alone (no fasrl code)
and checks the v1 layout of DESIGN.md section 5 and its values."""
import hashlib
import json
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np


def main(fasrl):
    with tempfile.TemporaryDirectory() as tmp:
        ds = os.path.join(tmp, "ds")
        subprocess.run([fasrl, "data", "synth", f"synth.out_dir={ds}", "synth.num_subjects=6",
                        "synth.samples_per_subject=7", "synth.image_size=40", "synth.samples_per_shard=16",
                        "synth.missing_modality_prob=0.25"], check=True)
        manifest = json.load(open(os.path.join(ds, "manifest.json")))
        assert manifest["schema_version"] == 1
        assert manifest["num_samples"] == 42
        fine_to_coarse = manifest["labels"]["fine_to_coarse"]
        total = missing = 0
        for shard in manifest["shards"]:
            path = os.path.join(ds, shard["file"])
            assert hashlib.sha256(open(path, "rb").read()).hexdigest() == shard["sha256"], path
            assert os.path.getsize(path) == shard["bytes"]
            with h5py.File(path, "r") as f:
                n = shard["num_samples"]
                assert f.attrs["fasrl_schema_version"] == 1
                for name, ch in (("rgb", 3), ("depth", 1), ("ir", 1)):
                    d = f["images/" + name]
                    assert d.dtype == np.uint8 and d.shape == (n, 40, 40, ch), (name, d.dtype, d.shape)
                    assert d.chunks == (1, 40, 40, ch), d.chunks
                    assert d.compression == "gzip"
                mask = f["modality_mask"][...]
                assert mask.dtype == np.uint8 and mask.shape == (n, 3)
                binary, coarse, fine = f["labels/binary"][...], f["labels/coarse"][...], f["labels/fine"][...]
                assert binary.dtype == np.int8 and coarse.dtype == np.int8 and fine.dtype == np.int16
                assert f["meta/subject"].dtype == np.int32 and f["meta/domain"].dtype == np.int32
                assert (coarse == np.array(fine_to_coarse)[fine]).all()
                assert (binary == (coarse != 0)).all()
                ids = [s.decode() for s in f["meta/sample_id"][...]]
                cues = [json.loads(s) for s in f["text/cues"].asstr()[...]]
                for i in range(n):
                    assert ids[i].startswith("synth-s"), ids[i]
                    assert int(ids[i][7:11]) == f["meta/subject"][i]
                    assert f["meta/domain"][i] == f["meta/subject"][i] % 3
                    assert mask[i, 0] == 1
                    for m, name in ((1, "depth"), (2, "ir")):
                        img = f["images/" + name][i]
                        if mask[i, m] == 0:
                            assert img.max() == 0 and name not in cues[i]
                        else:
                            assert img.max() > 0 and name in cues[i]
                    rgb = f["images/rgb"][i].astype(np.float64)
                    assert 20 < rgb.mean() < 235 and rgb.std() > 5  # a real picture, not a constant
                total += n
                missing += int((mask == 0).sum())
        assert total == 42
        assert missing > 0, "missing_modality_prob=0.25 masked nothing"

        # Tampered shards edited with h5py: `data verify --deep` names each fault
        # (before: a modality marked present without its images trained on zeros;
        # a domain id outside the manifest dropped out of the LODO splits).
        first = os.path.join(ds, manifest["shards"][0]["file"])
        with h5py.File(first, "r+") as f:
            present = int(np.nonzero(f["modality_mask"][:, 2])[0][0])
            del f["images/ir"]
        r = subprocess.run([fasrl, "data", "verify", ds, "--deep"], capture_output=True, text=True)
        assert r.returncode != 0 and f"/modality_mask row {present}" in r.stdout + r.stderr and \
            "modality 'ir' is marked present but the shard has no /images/ir" in r.stdout + r.stderr, r
        second = os.path.join(ds, manifest["shards"][1]["file"])
        with h5py.File(second, "r+") as f:
            f["meta/domain"][3] = 99
        r = subprocess.run([fasrl, "data", "verify", ds], capture_output=True, text=True)
        assert r.returncode != 0 and "/meta/domain row 3" in r.stdout + r.stderr and \
            "domain id 99 outside the manifest's 3 domains" in r.stdout + r.stderr, r
    print("h5py read", total, "samples: layout, dtypes, chunks, hashes and labels as specified; tampered shards named by verify")


if __name__ == "__main__":
    main(sys.argv[1])
