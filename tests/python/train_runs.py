#!/usr/bin/env python3
"""End-to-end training checks on synthetic data, each a subcommand:

  equivalence  2 ranks x batch B equal 1 rank x batch 2B, step for step (CE loss)
  resume       a run killed mid-way and restarted ends with the same weights as
               an uninterrupted run; a corrupt latest checkpoint is skipped
  learns       mpirun -np 2 MoAE-CR training reaches measured bounds on P1 test
"""
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import safetensors_np  # noqa: E402

FASRL, CONFIG = sys.argv[2], sys.argv[3]
MPIRUN = ["mpirun", "--oversubscribe", "--allow-run-as-root"]


def run(cmd, expect_rc=0):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != expect_rc:
        sys.stderr.write(r.stdout + r.stderr)
        raise SystemExit(f"{' '.join(cmd)} exited {r.returncode}, expected {expect_rc}")
    return r.stdout + r.stderr


def synth(tmp, subjects=30):
    data = os.path.join(tmp, "data")
    run([FASRL, "data", "synth", "--config", CONFIG, f"synth.out_dir={data}", f"synth.num_subjects={subjects}"])
    return data


def train(ranks, tmp, name, data, *overrides, expect_rc=0):
    run_dir = os.path.join(tmp, name)
    cmd = ([] if ranks == 1 else MPIRUN + ["-np", str(ranks)]) + [FASRL, "train", "--config", CONFIG,
           f"data.dataset={data}", f"run.dir={run_dir}", "run.threads_per_rank=1", *overrides]
    out = run(cmd, expect_rc)
    return run_dir, out


def weights(run_dir):
    latest = open(os.path.join(run_dir, "checkpoints", "latest")).read().strip()
    return safetensors_np.load(os.path.join(run_dir, "checkpoints", latest, "model.safetensors"))


def infer_samples(fasrl, model_dir, data, tmp, count):
    """fasrl infer on the first `count` samples of the dataset's first shard with
    their present modalities (the last one RGB only), each answer parsed."""
    import h5py
    from PIL import Image
    manifest = json.load(open(os.path.join(data, "manifest.json")))
    out = []
    with h5py.File(os.path.join(data, manifest["shards"][0]["file"]), "r") as f:
        for i in range(count):
            args = [fasrl, "infer", "--model", model_dir]
            for j, name in enumerate(("rgb", "depth", "ir")):
                if f["modality_mask"][i][j] == 0 or (i == count - 1 and name != "rgb"):
                    continue
                img = f["images/" + name][i]
                path = os.path.join(tmp, f"{i}_{name}.png")
                Image.fromarray(img if img.shape[-1] == 3 else img[..., 0]).save(path)
                args += ["--" + name, path]
            out.append(json.loads(run(args).strip().splitlines()[-1]))
    return out


def max_diff(a, b):
    assert a.keys() == b.keys()
    return max(float(np.abs(a[k].astype(np.float64) - b[k].astype(np.float64)).max()) for k in a)


def equivalence(tmp):
    data = synth(tmp)
    common = ["train.steps=6", "train.moae_cr.loss=ce", "data.drop_last=true", "optim.warmup_steps=0", "train.log_every=1"]
    one, _ = train(1, tmp, "one", data, "data.batch_size=16", *common)
    two, _ = train(2, tmp, "two", data, "data.batch_size=8", *common)
    # Control: the same model trained on different data (1 rank x 8) — how far
    # a real difference moves the weights in 6 steps.
    other, _ = train(1, tmp, "other", data, "data.batch_size=8", *common)
    w1, w2 = weights(one), weights(two)
    d = max_diff(w1, w2)
    control = max_diff(w1, weights(other))
    loss1 = [json.loads(l)["loss"] for l in open(os.path.join(one, "metrics.jsonl"))]
    loss2 = [json.loads(l)["loss"] for l in open(os.path.join(two, "metrics.jsonl"))]
    print(f"equivalence: 6 AdamW steps; max |w(1x16) - w(2x8)| = {d:.2e}, vs a different-data control {control:.2e}; "
          f"logged losses {loss1} vs {loss2}")
    # Adam divides by sqrt(v): fp-order noise in near-zero gradients is amplified, so
    # the bound is relative to the control, not absolute.
    assert d < control / 20, (d, control)
    assert np.allclose(loss1, loss2, rtol=1e-4), (loss1, loss2)


def resume(tmp):
    data = synth(tmp)
    common = ["train.steps=12", "train.checkpoint_every=4", "train.log_every=1"]
    whole, _ = train(2, tmp, "whole", data, *common)
    # Killed at the start of step 7: checkpoints 4 exists, 8 does not.
    run_dir = os.path.join(tmp, "cut")
    r = subprocess.run(MPIRUN + ["-np", "2", FASRL, "train", "--config", CONFIG, f"data.dataset={data}",
                                 f"run.dir={run_dir}", "run.threads_per_rank=1", *common, "train.crash_at_step=7"],
                       capture_output=True, text=True)
    assert r.returncode != 0, "the crash hook did not end the job"
    assert sorted(os.listdir(os.path.join(run_dir, "checkpoints"))) == ["latest", "step-000004"], \
        os.listdir(os.path.join(run_dir, "checkpoints"))
    _, out = train(2, tmp, "cut", data, *common)
    assert "resuming from" in out and "step-000004" in out, out[-2000:]
    d = max_diff(weights(whole), weights(run_dir))
    assert d == 0.0, f"resumed run differs from uninterrupted run by {d}"

    # Corrupt the newest checkpoint: eval must skip it, naming it, and use the previous one.
    latest = os.path.join(run_dir, "checkpoints", "step-000012", "model.safetensors")
    with open(latest, "r+b") as f:
        f.seek(200)
        f.write(b"\x00garbage\x00")
    out = run([FASRL, "eval", "--config", CONFIG, f"data.dataset={data}", f"run.dir={run_dir}"])
    assert "skipping checkpoint" in out and "step-000012/model.safetensors" in out, out[-1500:]
    print(f"resume: killed at step 7, resumed from step 4, final weights identical (max diff {d}); corrupt latest skipped")


def preempt(tmp):
    """SIGTERM mid-run (as SLURM sends before preemption): checkpoint, exit 75,
    and the requeued run ends with the weights of an uninterrupted one."""
    data = synth(tmp)
    common = ["train.steps=10", "train.checkpoint_every=100"]
    whole, _ = train(2, tmp, "whole", data, *common)
    run_dir = os.path.join(tmp, "cut")
    r = subprocess.run(MPIRUN + ["-np", "2", FASRL, "train", "--config", CONFIG, f"data.dataset={data}",
                                 f"run.dir={run_dir}", "run.threads_per_rank=1", *common, "train.signal_at_step=6"],
                       capture_output=True, text=True)
    assert r.returncode == 75, (r.returncode, r.stdout[-1500:], r.stderr[-1500:])
    assert "preempted (signal 15) at step 5" in r.stdout, r.stdout[-1500:]
    assert os.listdir(os.path.join(run_dir, "checkpoints")) and "step-000005" in open(
        os.path.join(run_dir, "checkpoints", "latest")).read()
    _, out = train(2, tmp, "cut", data, *common)
    assert "resuming from" in out and "step-000005" in out, out[-2000:]
    d = max_diff(weights(whole), weights(run_dir))
    assert d == 0.0, f"requeued run differs from uninterrupted run by {d}"
    print(f"preempt: SIGTERM at step 6 -> checkpoint at step 5, exit 75; requeued run identical (max diff {d})")


def rankdeath(tmp):
    """A rank killed mid-step ends the whole job promptly, naming the rank; the
    checkpoint written before stays valid."""
    data = synth(tmp)
    run_dir = os.path.join(tmp, "dies")
    start = time.monotonic()
    r = subprocess.run(MPIRUN + ["-np", "2", FASRL, "train", "--config", CONFIG, f"data.dataset={data}",
                                 f"run.dir={run_dir}", "run.threads_per_rank=1", "train.steps=50",
                                 "train.checkpoint_every=4", "train.kill_at_step=7", "train.kill_rank=1",
                                 "comm.timeout_s=20"], capture_output=True, text=True, timeout=120)
    took = time.monotonic() - start
    text = r.stdout + r.stderr
    assert r.returncode != 0, "job survived a dead rank"
    assert "rank 1" in text and ("signal 9" in text or "Killed" in text), text[-2000:]
    assert took < 60, f"job took {took:.1f} s to end after rank 1 died"
    out = run([FASRL, "eval", "--config", CONFIG, f"data.dataset={data}", f"run.dir={run_dir}"])
    assert "skipping" not in out, out[-1000:]
    print(f"rankdeath: rank 1 SIGKILLed at step 7; job ended in {took:.1f} s naming rank 1; checkpoint step 4 evaluates")


def learns(tmp):
    data = synth(tmp, subjects=30)
    base, _ = train(2, tmp, "base", data, "train.steps=1")
    trained, out = train(2, tmp, "trained", data)
    r0 = json.load(open(os.path.join(base, "eval", "report.json")))
    r = json.load(open(os.path.join(trained, "eval", "report.json")))
    rows = [json.loads(l) for l in open(os.path.join(trained, "metrics.jsonl"))]
    first, last = np.mean([x["ce"] for x in rows[:3]]), np.mean([x["ce"] for x in rows[-3:]])
    print(f"learns: CE {first:.3f} -> {last:.3f}; untrained AUC {r0['auc']:.3f} ACER {r0['acer']:.3f} -> "
          f"trained AUC {r['auc']:.3f} ACER {r['acer']:.3f} HTER {r['hter']:.3f} EER {r['eer']:.3f}; APCER {r['apcer_per_type']}")
    # Bounds measured on this config (see the issue note): physical attacks are learned
    # outright; the tiny model separates digital edits only partly.
    assert last < 0.5 * first, (first, last)
    assert r["auc"] >= 0.70 and r["auc"] >= r0["auc"] + 0.1, (r0["auc"], r["auc"])
    assert r["hter"] <= 0.35, r["hter"]
    assert r["acer"] < r0["acer"], (r0["acer"], r["acer"])
    for t in ("print", "replay", "mask"):
        assert r["apcer_per_type"][t] <= 0.1, (t, r["apcer_per_type"][t])


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        {"equivalence": equivalence, "resume": resume, "learns": learns, "preempt": preempt,
         "rankdeath": rankdeath}[sys.argv[1]](tmp)
