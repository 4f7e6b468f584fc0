#!/usr/bin/env python3
"""What a finished run leaves for its users, on a short MoAE-CR run:

  reports  eval reports are keyed by step and record their checkpoint; evaluating
           an old checkpoint never replaces the final report; the score files
           name attack types and `fasrl eval scores` reads them (names or
           indices) to the same metrics; a bad type is an error naming file:line;
           a fresh run in a used run.dir needs --overwrite
  plot     `fasrl plot` draws every figure the run has data for, and its ROC
           operating point (recomputed by matplotlib's script from the score
           files) is the report's test APCER/BPCER

usage: run_outputs.py CHECK FASRL CONFIG
"""
import json
import os
import re
import sys
import tempfile

from PIL import Image

sys.path.insert(0, os.path.dirname(__file__))
from train_runs import run  # noqa: E402

CHECK, FASRL, CONFIG = sys.argv[1], sys.argv[2], sys.argv[3]


def short_run(tmp):
    data, run_dir = os.path.join(tmp, "data"), os.path.join(tmp, "run")
    run([FASRL, "data", "synth", "--config", CONFIG, f"synth.out_dir={data}", "synth.num_subjects=24"])
    run([FASRL, "train", "--config", CONFIG, f"data.dataset={data}", f"run.dir={run_dir}", "train.steps=40",
         "train.checkpoint_every=20", "train.log_every=10", "run.threads_per_rank=2"])
    return data, run_dir


def load(path):
    return json.load(open(path))


def reports(tmp):
    data, run_dir = short_run(tmp)
    ev = os.path.join(run_dir, "eval")
    final = load(os.path.join(ev, "report.json"))
    assert final["step"] == 40 and final["checkpoint"].endswith("checkpoints/step-000040"), final
    assert load(os.path.join(ev, "step-000040", "report.json")) == final
    old = os.path.join(run_dir, "checkpoints", "step-000020")
    run([FASRL, "eval", "--config", CONFIG, f"data.dataset={data}", f"run.dir={run_dir}", "--checkpoint", old])
    at20 = load(os.path.join(ev, "step-000020", "report.json"))
    assert at20["step"] == 20 and at20["checkpoint"] == old, at20
    assert load(os.path.join(ev, "report.json")) == final, "evaluating step 20 replaced the final report"
    # A checkpoint alone (its config.json is the job's): eval needs no --config.
    alone = os.path.join(tmp, "alone")
    run([FASRL, "eval", "--checkpoint", old, f"run.dir={alone}"])
    again = load(os.path.join(alone, "eval", "report.json"))
    for key in ("acer", "hter", "auc", "eer", "threshold", "step", "checkpoint"):  # threads differ: float sums may too
        assert again[key] == at20[key] if isinstance(at20[key], (str, int)) else abs(again[key] - at20[key]) < 1e-5, (
            key, again[key], at20[key])
    # Score files: attack types by name; eval scores reads names and indices alike.
    dev, test = (os.path.join(ev, f"scores-{s}.csv") for s in ("dev", "test"))
    lines = open(test).read().splitlines()
    assert lines[0] == "score,is_attack,attack_type,sample_id" and lines[1].split(",")[2] in (
        "live", "print", "replay", "mask", "face_swap", "reenactment", "gan_synthesis", "adversarial"), lines[:2]
    by_name = load_scores(dev, test, tmp)
    assert abs(by_name["acer"] - final["acer"]) < 1e-12 and by_name["apcer_per_type"] == final["apcer_per_type"], (by_name, final)
    names = ["live", "print", "replay", "mask", "face_swap", "reenactment", "gan_synthesis", "adversarial"]
    idx_test = os.path.join(tmp, "test_idx.csv")
    with open(idx_test, "w") as f:
        f.write("score,is_attack,attack_type\n")
        for line in lines[1:]:
            s, a, t, _ = line.split(",")
            f.write(f"{s},{a},{names.index(t)}\n")
    assert load_scores(dev, idx_test, tmp) == by_name
    bad = os.path.join(tmp, "bad.csv")
    open(bad, "w").write("score,is_attack,attack_type\n0.5,1,print\n0.7,1,photo\n")
    out = run([FASRL, "eval", "scores", "--dev", dev, "--test", bad], expect_rc=1)
    assert "bad.csv:3" in out and "'photo'" in out and "face_swap" in out, out
    print("reports keyed by step with their checkpoint; the final one kept; score files by name or index agree")
    # A fresh run in a used run.dir is refused unless --overwrite, which replaces the old run.
    train = [FASRL, "train", "--config", CONFIG, f"data.dataset={data}", f"run.dir={run_dir}", "train.steps=20",
             "train.checkpoint_every=10", "train.log_every=10", "run.threads_per_rank=2"]
    out = run(train + ["train.resume=false"], expect_rc=1)
    assert "already holds a run (checkpoints, metrics.jsonl, tb, eval" in out and "--overwrite" in out, out
    out = run(train + ["--overwrite"])
    assert "removed the earlier run's checkpoints, metrics.jsonl, tb, eval" in out, out
    steps = [json.loads(l)["step"] for l in open(os.path.join(run_dir, "metrics.jsonl")) if '"loss"' in l]
    assert steps == [10, 20] and sorted(os.listdir(os.path.join(run_dir, "checkpoints"))) == [
        "latest", "step-000010", "step-000020"], (steps, os.listdir(os.path.join(run_dir, "checkpoints")))
    assert sorted(os.listdir(ev)) == ["report.json", "scores-dev.csv", "scores-test.csv", "step-000020"], os.listdir(ev)
    print("train.resume=false in a used run.dir refused; --overwrite starts the run afresh")


def load_scores(dev, test, tmp):
    out = os.path.join(tmp, "scores_report.json")
    run([FASRL, "eval", "scores", "--dev", dev, "--test", test, "--out", out])
    return load(out)


def plot(tmp):
    _, run_dir = short_run(tmp)
    out = run([FASRL, "plot", run_dir])
    figures = {"losses.png", "roc.png", "det.png", "apcer_per_type.png"}
    made = set(os.listdir(os.path.join(run_dir, "plots")))
    assert figures <= made, (made, out)
    for name in made:
        with Image.open(os.path.join(run_dir, "plots", name)) as im:
            assert im.format == "PNG" and im.size[0] >= 400 and im.size[1] >= 300, (name, im.size)
            assert len(im.convert("L").getcolors(1 << 16) or []) > 20, f"{name} looks blank"
    assert "loss per term: loss, ce" in out, out
    m = re.search(r"test pooled APCER ([0-9.]+) BPCER ([0-9.]+)", out)
    report = load(os.path.join(run_dir, "eval", "report.json"))
    pooled = 2 * report["hter"] - report["bpcer"]  # HTER = (pooled APCER + BPCER) / 2; "apcer" is the worst type
    assert m and abs(float(m.group(1)) - pooled) < 1e-6 and abs(float(m.group(2)) - report["bpcer"]) < 1e-6, (
        out, pooled, report["bpcer"])
    out = run([FASRL, "plot", tmp], expect_rc=1)
    assert "metrics.jsonl: missing" in out, out
    print(f"plot: {sorted(made)}; the ROC operating point is the report's test APCER/BPCER")


with tempfile.TemporaryDirectory() as tmp:
    {"reports": reports, "plot": plot}[CHECK](tmp)
