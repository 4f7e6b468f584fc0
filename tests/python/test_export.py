#!/usr/bin/env python3
"""`fasrl export` / `fasrl infer` as a downstream consumer sees them: the
exported safetensors read with numpy only equal the checkpoint's tensors; the
config carries the dev threshold that `fasrl eval` chose; `fasrl infer` on PNGs
of test samples reproduces their evaluation scores; the per-sample score files
reproduce the report through `fasrl eval scores`."""
import csv
import json
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(__file__))
import safetensors_np  # noqa: E402

FASRL, CONFIG = sys.argv[1], sys.argv[2]


def run(*cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {r.returncode}:\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
    return r.stdout


def main():
    with tempfile.TemporaryDirectory() as tmp:
        data, run_dir, out = (os.path.join(tmp, x) for x in ("data", "run", "export"))
        common = [f"data.dataset={data}", f"run.dir={run_dir}", "run.threads_per_rank=2"]
        run(FASRL, "data", "synth", "--config", CONFIG, f"synth.out_dir={data}", "synth.num_subjects=15")
        run(FASRL, "train", "--config", CONFIG, *common, "train.steps=30")
        out_eval = run(FASRL, "eval", "--config", CONFIG, *common)  # a human summary table; numbers in the report
        assert "ACER" in out_eval and "eval/step-000030/report.json" in out_eval, out_eval
        report = json.load(open(os.path.join(run_dir, "eval", "report.json")))
        run(FASRL, "export", "--config", CONFIG, *common, "--out", out)

        latest = open(os.path.join(run_dir, "checkpoints", "latest")).read().strip()
        saved = safetensors_np.load(os.path.join(run_dir, "checkpoints", latest, "model.safetensors"))
        exported = safetensors_np.load(os.path.join(out, "model.safetensors"))
        assert saved.keys() == exported.keys() and len(saved) > 50
        for k in saved:
            assert saved[k].dtype == exported[k].dtype and np.array_equal(saved[k], exported[k]), k
        assert "vision_model.embeddings.patch_embedding.weight" in exported

        config = json.load(open(os.path.join(out, "config.json")))
        assert config["label_map"] == {"0": "live", "1": "fake"}
        assert abs(config["threshold"] - report["threshold"]) < 1e-12, (config["threshold"], report["threshold"])
        assert [m["name"] for m in config["input"]["modalities"]] == ["rgb", "depth", "ir"]

        scores = {r["sample_id"]: r for r in csv.DictReader(open(os.path.join(run_dir, "eval", "scores-test.csv")))}
        manifest = json.load(open(os.path.join(data, "manifest.json")))
        checked = 0
        for shard in manifest["shards"]:
            with h5py.File(os.path.join(data, shard["file"]), "r") as f:
                for i, sid in enumerate(f["meta/sample_id"].asstr()[...]):
                    if sid not in scores or checked >= 4:
                        continue
                    args = [FASRL, "infer", "--model", out]
                    for name in ("rgb", "depth", "ir"):
                        img = f["images/" + name][i]
                        path = os.path.join(tmp, f"{sid}_{name}.png")
                        Image.fromarray(img if img.shape[-1] == 3 else img[..., 0]).save(path)
                        args += ["--" + name, path]
                    got = json.loads(run(*args))
                    want = float(scores[sid]["score"])
                    assert abs(got["score"] - want) < 1e-5, (sid, got, want)
                    assert got["decision"] == ("attack" if want >= config["threshold"] else "live")
                    checked += 1
        assert checked == 4, checked

        again = json.loads(run(FASRL, "eval", "scores", "--dev", os.path.join(run_dir, "eval", "scores-dev.csv"),
                               "--test", os.path.join(run_dir, "eval", "scores-test.csv")))
        for k in ("acer", "hter", "auc", "eer", "threshold"):
            assert abs(again[k] - report[k]) < 1e-9, (k, again[k], report[k])
    print(f"export: {len(saved)} tensors identical (numpy), threshold {config['threshold']:.4f} from dev, "
          f"infer reproduces 4 test scores, score files reproduce the report")


if __name__ == "__main__":
    main()
