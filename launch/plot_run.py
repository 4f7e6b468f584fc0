"""fasrl plot: PNG figures of a run directory, drawn with matplotlib.

Embedded in the fasrl binary (launch/CMakeLists.txt) and run by `fasrl plot
RUN_DIR [--out DIR]` as: python3 plot_run.py RUN_DIR OUT_DIR. Writes what the
run has data for and prints one line per figure:
  losses.png        training loss per term (metrics.jsonl step rows)
  rewards.png       GRPO: reward per component, KL, response length
  evaluations.png   held-out metrics of the evaluations during training
  roc.png, det.png  ROC and DET curves of eval/scores-{dev,test}.csv with the
                    operating point chosen on dev (eval/report.json threshold)
  apcer_per_type.png  test APCER per attack type at that threshold
"""
import csv
import json
import math
import os
import statistics
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

RUN, OUT = sys.argv[1], sys.argv[2]
LOSS_TERMS = ["loss", "ce", "dm", "cdm", "baseline", "kl"]
REWARD_TERMS = ["reward", "reward_format", "reward_accuracy", "reward_kg", "reward_overlong"]


def rows():
    out = []
    for line in open(os.path.join(RUN, "metrics.jsonl")):
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:  # a line cut by a kill mid-write
            pass
    return out


def series(rs, key):
    pts = [(r["step"], r[key]) for r in rs if isinstance(r.get(key), (int, float))]
    return [p[0] for p in pts], [p[1] for p in pts]


def save(fig, name, what):
    path = os.path.join(OUT, name)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"{path}: {what}")


def plot_losses(steps, algorithm):
    terms = [k for k in LOSS_TERMS if any(v != 0 for v in series(steps, k)[1])]
    if not terms:
        return
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for k in terms:
        axes[0].plot(*series(steps, k), label=k)
    axes[0].set(title=f"{algorithm} training loss per term", xlabel="step", ylabel="loss")
    if all(v > 0 for k in terms for v in series(steps, k)[1]):
        axes[0].set_yscale("log")
    axes[0].legend()
    for k in ("grad_norm", "lr"):
        x, y = series(steps, k)
        if x:
            axes[1].plot(x, y, label=k)
    axes[1].set(title="gradient norm and learning rate", xlabel="step", yscale="log")
    axes[1].legend()
    save(fig, "losses.png", "loss per term: " + ", ".join(terms))


def plot_rewards(steps):
    if not series(steps, "reward")[0]:
        return
    terms = ["reward"] + [k for k in REWARD_TERMS[1:] if any(v != 0 for v in series(steps, k)[1])]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    for k in terms:
        axes[0].plot(*series(steps, k), label=k)
    x, y = series(steps, "reward")
    _, sd = series(steps, "reward_std")
    if sd:
        axes[0].fill_between(x, [a - b for a, b in zip(y, sd)], [a + b for a, b in zip(y, sd)], alpha=0.2)
    axes[0].set(title="GRPO reward per component (band: group std)", xlabel="step")
    axes[0].legend()
    for key, label in (("entropy", "entropy"), ("kl", "KL to the reference"), ("clip_fraction", "clipped share")):
        x, y = series(steps, key)
        if any(v != 0 for v in y):
            axes[1].plot(x, y, label=label)
    axes[1].set(title="policy entropy, KL, clipping (non-zero ones)", xlabel="step")
    if axes[1].lines:
        axes[1].legend()
    axes[2].plot(*series(steps, "response_length"))
    axes[2].set(title="mean response length (tokens)", xlabel="step")
    save(fig, "rewards.png", "reward per component: " + ", ".join(terms))


def plot_evaluations(evals):
    if not evals:
        return
    keys = sorted({k for r in evals for k, v in r.items() if isinstance(v, (int, float)) and
                   (k.endswith("_accuracy") and "ranked" not in k or k in ("acer", "auc", "mean_reward"))})
    if not keys:
        return
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for k in keys:
        ax = axes[1] if k in ("acer", "auc") else axes[0]
        ax.plot(*series(evals, k), marker="o", label=k)
    axes[0].set(title="held-out answers during training", xlabel="step")
    axes[1].set(title="held-out FAS metrics (from P(attack))", xlabel="step", ylim=(0, 1))
    for ax in axes:
        if ax.lines:
            ax.legend()
    save(fig, "evaluations.png", f"{len(evals)} evaluations: " + ", ".join(keys))


def read_scores(path):
    with open(path) as f:
        return [(float(r["score"]), int(r["is_attack"]), r["attack_type"]) for r in csv.DictReader(f)]


def rates(samples, thr):
    """(pooled APCER, BPCER) at threshold `thr`: attacks scored below it pass as live.
    Pooled over attack types (the report's "apcer" is the worst type's)."""
    attacks = [s for s, a, _ in samples if a == 1]
    lives = [s for s, a, _ in samples if a == 0]
    apcer = sum(s < thr for s in attacks) / max(1, len(attacks))
    bpcer = sum(s >= thr for s in lives) / max(1, len(lives))
    return apcer, bpcer


def curve(samples):
    """(BPCER, 1 - APCER) at every distinct threshold, descending (an ROC)."""
    pts = [(0.0, 0.0)]
    for thr in sorted({s for s, _, _ in samples}, reverse=True):
        apcer, bpcer = rates(samples, thr)
        pts.append((bpcer, 1 - apcer))
    return pts


def fas_report():
    path = os.path.join(RUN, "eval", "report.json")
    if not os.path.exists(path):
        return None
    report = json.load(open(path))
    return report.get("fas", report)  # MLLM reports nest the FAS metrics under "fas"


def plot_roc_det(report):
    dev_path, test_path = (os.path.join(RUN, "eval", f"scores-{s}.csv") for s in ("dev", "test"))
    if report is None or not os.path.exists(test_path) or "threshold" not in report:
        return
    thr, step = report["threshold"], report.get("step", "?")
    splits = {"test": read_scores(test_path)}
    if os.path.exists(dev_path):
        splits["dev"] = read_scores(dev_path)
    fig, ax = plt.subplots(figsize=(5.5, 5))
    for name, samples in splits.items():
        pts = curve(samples)
        ax.plot([p[0] for p in pts], [p[1] for p in pts], label=f"{name} ({len(samples)} samples)")
    apcer, bpcer = rates(splits["test"], thr)
    ax.plot([bpcer], [1 - apcer], "ko", label=f"dev-chosen threshold {thr:.3g}\n(test pooled APCER {apcer:.3f}, BPCER {bpcer:.3f})")
    ax.plot([0, 1], [0, 1], ":", color="grey")
    ax.set(title=f"ROC (step {step}, AUC {report.get('auc', float('nan')):.3f})",
           xlabel="BPCER (live rejected)", ylabel="1 - APCER (attacks detected, all types pooled)", xlim=(0, 1), ylim=(0, 1))
    ax.legend(loc="lower right", fontsize=8)
    save(fig, "roc.png", f"ROC of {', '.join(splits)}; at the dev-chosen threshold {thr:.6g} test pooled APCER {apcer:.6f} "
                         f"BPCER {bpcer:.6f}")

    # DET: both error rates on normal-deviate axes (ISO/IEC 19795-1).
    probit = statistics.NormalDist().inv_cdf
    clip = lambda p: min(max(p, 1e-3), 1 - 1e-3)  # noqa: E731
    fig, ax = plt.subplots(figsize=(5.5, 5))
    for name, samples in splits.items():
        pts = [(bp, 1 - tp) for bp, tp in curve(samples)]
        ax.plot([probit(clip(b)) for b, _ in pts], [probit(clip(a)) for _, a in pts], label=name)
    ax.plot([probit(clip(bpcer))], [probit(clip(apcer))], "ko", label=f"dev-chosen threshold {thr:.3g}")
    ticks = [0.001, 0.01, 0.05, 0.2, 0.5, 0.8, 0.95, 0.99]
    ax.set_xticks([probit(t) for t in ticks], [f"{t:g}" for t in ticks])
    ax.set_yticks([probit(t) for t in ticks], [f"{t:g}" for t in ticks])
    lim = (probit(1e-3) - 0.2, probit(1 - 1e-3) + 0.2)
    ax.set(title=f"DET (step {step}, EER {report.get('eer', float('nan')):.3f})", xlabel="BPCER",
           ylabel="APCER (all attack types pooled)", xlim=lim, ylim=lim)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    save(fig, "det.png", "DET (APCER vs BPCER, normal-deviate axes)")


def plot_apcer_per_type(report):
    per_type = (report or {}).get("apcer_per_type")
    if not per_type:
        return
    names = list(per_type)
    fig, ax = plt.subplots(figsize=(max(5, 0.9 * len(names) + 2), 4))
    bars = ax.bar(names, [per_type[n] for n in names], color="tab:red")
    ax.bar_label(bars, fmt="%.2f")
    ax.axhline(report.get("apcer", 0), color="k", ls="--", label=f"reported APCER (worst type) {report.get('apcer', 0):.3f}")
    ax.set(title=f"test APCER per attack type at the dev threshold (step {report.get('step', '?')})", ylabel="APCER",
           ylim=(0, 1.1))
    ax.tick_params(axis="x", rotation=30)
    ax.legend()
    save(fig, "apcer_per_type.png", f"APCER of {len(names)} attack types")


def main():
    if not os.path.exists(os.path.join(RUN, "metrics.jsonl")):
        sys.exit(f"fasrl plot: {RUN}/metrics.jsonl: missing; give a run directory (run.dir) of fasrl train")
    os.makedirs(OUT, exist_ok=True)
    config = json.load(open(os.path.join(RUN, "config.json"))) if os.path.exists(os.path.join(RUN, "config.json")) else {}
    algorithm = config.get("train", {}).get("algorithm", "")
    rs = rows()
    report = fas_report()
    if report is not None and "step" not in report:
        report["step"] = json.load(open(os.path.join(RUN, "eval", "report.json"))).get("step", "?")
    plot_losses([r for r in rs if "loss" in r and "eval" not in r], algorithm)
    plot_rewards([r for r in rs if "loss" in r and "eval" not in r])
    plot_evaluations([r for r in rs if "eval" in r])
    plot_roc_det(report)
    plot_apcer_per_type(report)


main()
