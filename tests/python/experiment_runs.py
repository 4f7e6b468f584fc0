#!/usr/bin/env python3
"""`fasrl experiment` on a small MoAE-CR grid (2 losses x 2 protocols x 2 seeds,
20 steps each, 2 cells at once):

- results.csv holds, per row, the mean and sample std over seeds of each
  cell's eval/report.json metrics, recomputed here with numpy;
- results.md has the same rows; a second run skips every finished cell and
  writes the same table;
- {protocol} in an override takes each cell's value;
- a typo in one cell's overrides is refused before any cell runs; --dry-run
  lists the cells;
- a cell that fails at run time fails alone: the run exits 1 naming it and
  its log, and the other cells' results are kept.

usage: experiment_runs.py FASRL ROOT
"""
import csv
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

FASRL, ROOT = sys.argv[1], sys.argv[2]


def run(cmd, expect_rc=0):
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if r.returncode != expect_rc:
        sys.stderr.write(r.stdout + r.stderr)
        raise SystemExit(f"{' '.join(cmd)} exited {r.returncode}, expected {expect_rc}")
    return r.stdout + r.stderr


def experiment(tmp, name, losses):
    path = os.path.join(tmp, f"{name}.yaml")
    data = os.path.join(tmp, "data")
    with open(path, "w") as f:
        f.write(f"""name: {name}
base_config: configs/moae_cr_tiny.yaml
out_dir: {tmp}/{name}
prepare: ["data synth --force --config configs/moae_cr_tiny.yaml synth.out_dir={data} synth.num_subjects=15"]
overrides: [data.dataset={data}, train.steps=20, train.log_every=10, train.checkpoint_every=10, "data.protocol={{protocol}}"]
seeds: [1, 2]
parallel: 2
axes:
  - name: loss
    values:
""" + "".join(f"      - {{name: {n}, overrides: [{o}]}}\n" for n, o in losses) + """  - name: protocol
    values:
      - {name: P1}
      - {name: P2.1}
metrics: [acer, auc]
""")
    return path, os.path.join(tmp, name)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        config, out = experiment(tmp, "grid", [("ce", "train.moae_cr.loss=ce"), ("dm+cdm", "train.moae_cr.loss=moae_cr")])
        first = run([FASRL, "experiment", "--config", config])
        assert "8 cells (0 finished before), 2 at once" in first, first
        rows = list(csv.DictReader(open(os.path.join(out, "results.csv"))))
        assert [(r["loss"], r["protocol"]) for r in rows] == [("ce", "P1"), ("ce", "P2.1"), ("dm+cdm", "P1"), ("dm+cdm", "P2.1")]
        loss_dir = {"ce": "ce", "dm+cdm": "dm+cdm"}
        for r in rows:
            for m in ("acer", "auc"):
                xs = [json.load(open(os.path.join(out, loss_dir[r["loss"]], r["protocol"], f"seed-{s}", "eval", "report.json")))[m]
                      for s in (1, 2)]
                assert abs(float(r[f"{m}_mean"]) - np.mean(xs)) < 1e-6, (r, m, xs)
                assert abs(float(r[f"{m}_std"]) - np.std(xs, ddof=1)) < 1e-6, (r, m, xs)
        for loss in ("ce", "dm+cdm"):  # the {protocol} placeholder took each cell's value
            for protocol in ("P1", "P2.1"):
                cfg = json.load(open(os.path.join(out, loss, protocol, "seed-2", "config.json")))
                assert cfg["data"]["protocol"] == protocol and int(cfg["run"]["seed"]) == 2, (cfg["data"], cfg["run"])
        md = open(os.path.join(out, "results.md")).read()
        assert md.startswith("| loss | protocol | seeds | acer | auc |") and md.count("\n") == 6, md
        again = run([FASRL, "experiment", "--config", config])
        assert "8 cells (8 finished before)" in again and "experiment: 1/" not in again, again
        assert open(os.path.join(out, "results.md")).read() == md
        print("grid of 8 cells: means and sample stds equal numpy's; a rerun skips every finished cell")

        config, out = experiment(tmp, "typo", [("ce", "train.moae_cr.loss=ce"), ("typo", "train.moae_cr.los=ce")])
        typo = run([FASRL, "experiment", "--config", config], expect_rc=1)
        assert "experiment cell typo / P1 / seed 1:" in typo and "train.moae_cr.los" in typo, typo
        assert not os.path.exists(os.path.join(out, "ce")), "cells ran although one config was wrong"
        print("a typo in one cell's overrides is refused before any cell runs")

        config, out = experiment(tmp, "crash", [("ce", "train.moae_cr.loss=ce"), ("crash", "train.crash_at_step=5")])
        dry = run([FASRL, "experiment", "--config", config, "--dry-run"])
        assert "8 cells; configs checked, nothing run" in dry and "train.crash_at_step=5" in dry, dry
        crashed = run([FASRL, "experiment", "--config", config], expect_rc=1)
        assert "4 cell(s) failed" in crashed and "crash / P1 / seed 1 (exit " in crashed, crashed
        assert os.path.exists(os.path.join(out, "ce", "P1", "seed-1", "cell.json")), "a good cell's result was lost"
        assert not os.path.exists(os.path.join(out, "results.md"))
        print("a cell that fails at run time is named with its log; the others are kept")

        config, out = experiment(tmp, "allcrash", [("crash", "train.crash_at_step=5"), ("crash2", "train.crash_at_step=5")])
        stopped = run([FASRL, "experiment", "--config", config], expect_rc=1)
        # 2 at once: when the third failure arrives the fourth cell is already running.
        assert "the first 3 cells all failed; not starting the other 4" in stopped, stopped
        assert "4 cell(s) failed, 4 not started because the first ones all failed" in stopped, stopped
        # The cause is shown, not only named: the end of the third failed cell's log.
        assert "train.log:\n" in stopped and "  | " in stopped and "train.crash_at_step=5: exiting abruptly" in stopped, stopped
        logs = [d for d, _, files in os.walk(out) if "train.log" in files]
        assert len(logs) == 4, logs
        print("a grid whose first 3 cells all fail stops there, with the end of a failed cell's log")

main()
