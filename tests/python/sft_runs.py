#!/usr/bin/env python3
"""End-to-end SFT checks of the reasoning MLLM on synthetic data:

  trained      (CTest fixture) mpirun -np 2 SFT of 600 steps into FIXTURE_DIR: the
               run sft_learns checks and grpo_learns starts GRPO from
  learns       that run's held-out answers go from chance to measured bounds; its
               export loads with numpy and answers through fasrl infer
  resume       a run killed mid-way and restarted ends with the same weights as an
               uninterrupted run; 2 ranks x B step like 1 rank x 2B
"""
import json
import os
import shutil
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import safetensors_np  # noqa: E402
from train_runs import MPIRUN, infer_samples, max_diff, run, weights  # noqa: E402

CHECK, FASRL, CONFIG, ROOT = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
# The trained-run fixture's folder (CTest FIXTURES_SETUP sft_tiny_trained).
FIXTURE = os.path.join(os.path.abspath(sys.argv[-1]), "sft_tiny_trained")
PATHS = [f"mllm.tokenizer={ROOT}/configs/tokenizer.json", f"qa.knowledge_graph={ROOT}/configs/fakg.yaml"]


def qa_data(tmp, subjects=40):
    synth, qa = os.path.join(tmp, "synth"), os.path.join(tmp, "qa")
    run([FASRL, "data", "synth", "--config", CONFIG, f"synth.out_dir={synth}", f"synth.num_subjects={subjects}"])
    run([FASRL, "data", "qa", "--config", CONFIG, "--dataset", synth, "--out", qa, *PATHS])
    return qa


def sft(ranks, tmp, name, data, *overrides, expect_rc=0):
    run_dir = os.path.join(tmp, name)
    cmd = ([] if ranks == 1 else MPIRUN + ["-np", str(ranks)]) + [
        FASRL, "train", "--config", CONFIG, f"data.dataset={data}", f"run.dir={run_dir}", "run.threads_per_rank=1",
        *PATHS, *overrides]
    return run_dir, run(cmd, expect_rc)


def evals(run_dir):
    rows = [json.loads(l) for l in open(os.path.join(run_dir, "metrics.jsonl"))]
    return {r["eval"]: r for r in rows if "eval" in r}, [r for r in rows if "loss" in r]


def trained(_tmp):
    """The fixture: data and a 2-rank SFT run of 600 steps, evaluated before and after."""
    shutil.rmtree(FIXTURE, ignore_errors=True)
    os.makedirs(FIXTURE)
    data = qa_data(FIXTURE)
    _, out = sft(2, FIXTURE, "run", data, "train.eval_every=100000")
    open(os.path.join(FIXTURE, "train.log"), "w").write(out)


def fixture_run():
    """(data, run_dir) of the trained fixture; a clear error if it is missing."""
    data, run_dir = os.path.join(FIXTURE, "qa"), os.path.join(FIXTURE, "run")
    if not os.path.exists(os.path.join(run_dir, "eval", "report.json")):
        sys.exit(f"no trained SFT run in {FIXTURE}: run the CTest fixture sft_trained first")
    return data, run_dir


def learns(tmp):
    data, run_dir = fixture_run()
    out = open(os.path.join(FIXTURE, "train.log")).read()
    e, steps = evals(run_dir)
    before, after = e["before"], e["final"]
    report = json.load(open(os.path.join(run_dir, "eval", "report.json")))
    test = report["test"]["kinds"]
    print(out.strip().splitlines()[-6:])
    print("before:", {k: round(v, 3) for k, v in before.items() if isinstance(v, float)})
    print("after: ", {k: round(v, 3) for k, v in after.items() if isinstance(v, float)})
    # The untrained model never writes the format; after SFT nearly every answer is well formed.
    assert before["binary_accuracy"] == 0.0, before
    assert min(k["well_formed"] for k in test.values()) >= 0.9, test
    assert steps[-1]["loss"] < 0.5 * steps[0]["loss"], (steps[0], steps[-1])
    # Held-out answers: the untrained model is at chance when its candidates are ranked;
    # after SFT the generated coarse (3 classes) and fine (8 classes) answers clear the
    # majority baseline, and P(attack) from the binary answer separates the classes.
    majority = {k: v["majority_baseline"] for k, v in test.items()}
    print("majority baselines:", majority)
    assert after["coarse_accuracy"] >= 0.5 and after["coarse_accuracy"] >= majority["coarse"] + 0.1, after
    assert after["fine_accuracy"] >= 0.35 and after["fine_accuracy"] >= majority["fine"] + 0.05, after
    assert before["fine_ranked_accuracy"] < 0.35 and before["coarse_ranked_accuracy"] < 0.5, before
    assert after["auc"] >= 0.65 and after["auc"] >= before["auc"] + 0.1, (before["auc"], after["auc"])
    # The SFT rationales cite the knowledge graph's cues for the true class, so the
    # trained model's rationales claim cues and more of them support than contradict.
    kg = {k: (v["cues_per_response"], v["kg_support_share"], v["kg_contradict_share"]) for k, v in test.items()}
    print("cues per response, KG support / contradict share:", kg)
    for kind, (cues, support, contradict) in kg.items():
        assert 0 <= support + contradict <= 1 + 1e-9, (kind, kg[kind])
    assert max(c for c, _, _ in kg.values()) >= 1, kg
    assert kg["fine"][1] > kg["fine"][2], kg["fine"]
    check_export(tmp, run_dir, data)
    check_status(tmp, run_dir)


def check_status(tmp, run_dir):
    """fasrl status: a finished run reads as complete; a run in progress gets its
    rate and ETA from metrics.jsonl's timestamps; --exit-code gives 0 / 75 / 1 for
    complete / preempted / anything else; a wrong folder or a malformed
    outcome.json is a clear error."""
    # Training a finished run again reports it and leaves it alone.
    model = os.path.join(run_dir, "checkpoints", "step-000600", "model.safetensors")
    stamp = os.stat(model).st_mtime_ns
    _, out = sft(1, os.path.dirname(run_dir), os.path.basename(run_dir), fixture_run()[0])
    assert "is complete" in out and os.stat(model).st_mtime_ns == stamp, out
    out = run([FASRL, "status", run_dir, "--exit-code"])  # exit 0: complete
    assert "step 600/600 (100%), complete" in out and "checkpoints/step-000600" in out and "eval final" in out, out
    assert "latest attempt: complete at step 600" in out, out
    mid = os.path.join(tmp, "mid")
    os.makedirs(os.path.join(mid, "checkpoints"))
    json.dump({"train": {"algorithm": "sft", "steps": 100}}, open(os.path.join(mid, "config.json"), "w"))
    now = time.time()  # 20 steps in 10 s: 2 steps/s, 70 to go: ETA 35 s
    rows = [{"step": 10, "loss": 2.0, "time": now - 10}, {"step": 20, "loss": 1.5, "time": now - 5},
            {"step": 30, "loss": 1.0, "time": now}]
    with open(os.path.join(mid, "metrics.jsonl"), "w") as f:
        f.write("".join(json.dumps(r) + "\n" for r in rows) + '{"step": 4')  # killed mid-write
    open(os.path.join(mid, "checkpoints", "latest"), "w").write("step-000020")
    out = run([FASRL, "status", mid])
    assert "step 30/100 (30%)" in out and "complete" not in out and "ETA 35s" in out and "step-000020" in out, out
    run([FASRL, "status", mid, "--exit-code"], expect_rc=1)  # no outcome.json: not complete, not preempted
    outcome = os.path.join(mid, "outcome.json")
    json.dump({"state": "preempted", "step": 20, "signal": 10, "time": now}, open(outcome, "w"))
    out = run([FASRL, "status", mid, "--exit-code"], expect_rc=75)
    assert "latest attempt: preempted by signal 10 at step 20" in out, out
    json.dump({"state": "stopped", "step": 20}, open(outcome, "w"))
    out = run([FASRL, "status", mid], expect_rc=1)
    assert "outcome.json: 'state' is \"stopped\"; expected running, complete or preempted" in out, out
    out = run([FASRL, "status", tmp], expect_rc=1)
    assert "config.json: missing" in out, out
    print("status: finished, in-progress and preempted runs read right (--exit-code 0 / 1 / 75); a folder without "
          "config.json or a malformed outcome.json is a clear error")


def check_export(tmp, run_dir, data):
    """fasrl export writes an HF-style MLLM directory: numpy reads the same tensors the
    checkpoint holds, under HF LLaVA names; fasrl infer prints a rationale and answer."""
    out = os.path.join(tmp, "export")
    run([FASRL, "export", "--config", CONFIG, f"data.dataset={data}", f"run.dir={run_dir}", "--out", out, *PATHS])
    assert sorted(os.listdir(out)) == ["config.json", "model.safetensors", "tokenizer.json"], os.listdir(out)
    exported, saved = safetensors_np.load(os.path.join(out, "model.safetensors")), weights(run_dir)
    assert exported.keys() == saved.keys()
    for k in saved:
        assert exported[k].dtype == np.float32 and np.array_equal(exported[k], saved[k]), k
    for name in ("vision_tower.vision_model.embeddings.patch_embedding.weight", "multi_modal_projector.linear_1.weight",
                 "language_model.model.layers.0.self_attn.q_proj.bias", "language_model.model.norm.weight"):
        assert name in exported, name
    cfg = json.load(open(os.path.join(out, "config.json")))
    assert cfg["model_type"] == "llava" and cfg["text_config"]["model_type"] == "qwen2"
    assert cfg["text_config"]["hidden_size"] == 64 and cfg["vision_config"]["patch_size"] == 8
    assert open(os.path.join(out, "tokenizer.json")).read() == open(os.path.join(ROOT, "configs", "tokenizer.json")).read()
    answers = []
    for got in infer_samples(FASRL, out, data, tmp, 3):  # sample 2: RGB only
        assert got["well_formed"] and got["answer"] in ("live", "attack") and len(got["rationale"]) > 20, got
        answers.append(got["answer"])
    print("export: tensors identical (numpy), HF names, infer answers", answers)


def check_checkpoint_alone(tmp, checkpoint, data, expected):
    """A checkpoint moved away from its run needs nothing else: its config.json is
    self-contained (no mllm.init_from, its own tokenizer.json, the modalities), so
    `fasrl export --checkpoint DIR` alone writes the same tensors, and `fasrl eval
    --checkpoint DIR data.dataset=...` evaluates it, its report naming that checkpoint."""
    moved = os.path.join(tmp, "moved", os.path.basename(checkpoint))
    shutil.copytree(checkpoint, moved)
    stored = json.load(open(os.path.join(moved, "config.json")))
    assert "init_from" not in stored["mllm"] and stored["mllm"]["tokenizer"] == "tokenizer.json", stored["mllm"]
    assert stored["data"]["modalities"], stored["data"]
    assert open(os.path.join(moved, "tokenizer.json")).read() == open(os.path.join(ROOT, "configs", "tokenizer.json")).read()
    out = os.path.join(tmp, "moved_export")
    run([FASRL, "export", "--checkpoint", moved, "--out", out])
    exported = safetensors_np.load(os.path.join(out, "model.safetensors"))
    assert exported.keys() == expected.keys() and all(np.array_equal(exported[k], expected[k]) for k in expected)
    eval_dir = os.path.join(tmp, "moved_eval")
    run([FASRL, "eval", "--checkpoint", moved, f"data.dataset={data}", f"run.dir={eval_dir}", "train.mllm_eval.samples=4"])
    report = json.load(open(os.path.join(eval_dir, "eval", "report.json")))
    assert report["checkpoint"] == moved and report["test"]["kinds"]["fine"]["items"] == 4, report
    print(f"checkpoint alone: {os.path.basename(checkpoint)} moved, exported and evaluated with no config")


def resume(tmp):
    data = qa_data(tmp, subjects=20)
    common = ["train.steps=8", "train.checkpoint_every=4", "train.log_every=1", "data.drop_last=true", "train.mllm_eval.samples=4",
              "optim.warmup_steps=0"]
    full, _ = sft(1, tmp, "full", data, *common)
    killed, _ = sft(1, tmp, "killed", data, *common, "train.crash_at_step=7", expect_rc=137)
    _, out = sft(1, tmp, "killed", data, *common)
    assert "resuming from" in out and "step-000004" in out, out
    d = max_diff(weights(full), weights(killed))
    print(f"resume: max weight difference after restart {d:.2e}")
    assert d == 0.0, d
    # fasrl eval of an SFT checkpoint: the MLLM report, per kind.
    run([FASRL, "eval", "--config", CONFIG, f"data.dataset={data}", f"run.dir={full}", "train.mllm_eval.samples=4", *PATHS])
    report = json.load(open(os.path.join(full, "eval", "report.json")))
    assert sorted(report["test"]["kinds"]) == ["binary", "choice", "coarse", "fine"], report
    assert report["test"]["kinds"]["fine"]["items"] == 4, report
    check_checkpoint_alone(tmp, os.path.join(full, "checkpoints", "step-000008"), data, weights(full))
    # Data parallel: 2 ranks x 4 samples vs 1 rank x 8 (global token-mean loss).
    one, _ = sft(1, tmp, "one", data, "train.steps=4", "train.mllm_eval.samples=4", "data.batch_size=8", "data.drop_last=true", "optim.warmup_steps=0")
    two, _ = sft(2, tmp, "two", data, "train.steps=4", "train.mllm_eval.samples=4", "data.batch_size=4", "data.drop_last=true", "optim.warmup_steps=0")
    d = max_diff(weights(one), weights(two))
    print(f"equivalence: 1x8 vs 2x4 max weight difference {d:.2e}")
    assert d < 1e-3, d


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        {"trained": trained, "learns": learns, "resume": resume}[CHECK](tmp)
