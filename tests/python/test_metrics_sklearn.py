#!/usr/bin/env python3
"""`fasrl eval scores` against scikit-learn (ROC, AUC, EER, TPR@FPR) and a
numpy implementation of the ISO/IEC 30107-3 rates, on random and on heavily
tied scores. The threshold must come from dev, never from test."""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
from sklearn.metrics import roc_auc_score, roc_curve


def write(path, scores, labels, types):
    with open(path, "w") as f:
        f.write("score,is_attack,attack_type\n")
        for s, y, t in zip(scores, labels, types):
            f.write(f"{s!r},{y},{t}\n")


def make(rng, n, tie_decimals):
    labels = (rng.random(n) < 0.7).astype(int)
    types = np.where(labels == 1, rng.integers(1, 8, n), 0)
    scores = rng.normal(0, 1, n) + 1.2 * labels + 0.15 * types  # some types are easier
    if tie_decimals is not None:
        scores = np.round(scores, tie_decimals)
    return scores, labels, types


def eer_point(scores, labels):
    fpr, tpr, thr = roc_curve(labels, scores, drop_intermediate=False)
    fnr = 1 - tpr
    i = int(np.argmin(np.abs(fnr - fpr)))
    return (fpr[i] + fnr[i]) / 2, thr[i], fpr, tpr


def check(fasrl, tmp, seed, tie_decimals):
    rng = np.random.default_rng(seed)
    dev, test = make(rng, 700, tie_decimals), make(rng, 900, tie_decimals)
    dev_path, test_path = os.path.join(tmp, "dev.csv"), os.path.join(tmp, "test.csv")
    write(dev_path, *dev)
    write(test_path, *test)
    out = subprocess.run([fasrl, "eval", "scores", "--dev", dev_path, "--test", test_path,
                          "--out", os.path.join(tmp, "r.json")], check=True, capture_output=True, text=True)
    r = json.load(open(os.path.join(tmp, "r.json")))
    assert json.loads(out.stdout) == r

    _, dev_thr, _, _ = eer_point(dev[0], dev[1])
    assert np.isclose(r["threshold"], dev_thr), (r["threshold"], dev_thr)
    scores, labels, types = test
    test_eer, _, fpr, tpr = eer_point(scores, labels)
    assert np.isclose(r["auc"], roc_auc_score(labels, scores), atol=1e-12), (r["auc"], roc_auc_score(labels, scores))
    assert np.isclose(r["eer"], test_eer, atol=1e-12), (r["eer"], test_eer)
    assert np.isclose(r["tpr_at_fpr_1e-2"], tpr[fpr <= 1e-2].max())
    assert np.isclose(r["tpr_at_fpr_1e-3"], tpr[fpr <= 1e-3].max())

    says_attack = scores >= dev_thr
    live, attack = labels == 0, labels == 1
    bpcer = says_attack[live].mean()
    per_type = {t: (~says_attack[attack & (types == t)]).mean() for t in np.unique(types[attack])}
    apcer = max(per_type.values())
    assert np.isclose(r["bpcer"], bpcer) and np.isclose(r["apcer"], apcer)
    assert np.isclose(r["acer"], (apcer + bpcer) / 2)
    assert np.isclose(r["hter"], ((~says_attack[attack]).mean() + bpcer) / 2)
    assert np.isclose(r["acc"], (says_attack == attack).mean())
    assert len(r["apcer_per_type"]) == len(per_type)
    return r


def main(fasrl):
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(4):
            check(fasrl, tmp, seed, None)
            r = check(fasrl, tmp, 100 + seed, 1)  # rounded to 0.1: many ties
    print("fasrl eval matches sklearn (AUC, EER, TPR@FPR) and ISO rates on random and tied scores; last ACER",
          round(r["acer"], 4))


if __name__ == "__main__":
    main(sys.argv[1])
