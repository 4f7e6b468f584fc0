#!/usr/bin/env python3
"""fasrl's TensorBoard event files read back by an independent reader.

usage: test_tensorboard_events.py RUN_DIR PROTOC

RUN_DIR is a finished training run (the sft_tiny_trained fixture). Each record's
framing is checked with crcmod's CRC-32C (masked as TensorFlow's record writer
does), each Event is parsed with the Python protobuf runtime and TensorFlow's
event schema (tensorboard_schema/event.proto), and the scalars must equal
metrics.jsonl: one event per row, the same step and wall time, one scalar per
number, tagged train/<key> or eval/<key>.
"""
import glob
import importlib
import json
import os
import struct
import subprocess
import sys
import tempfile

import crcmod.predefined

RUN_DIR, PROTOC = sys.argv[1], sys.argv[2]
crc32c = crcmod.predefined.mkCrcFun("crc-32c")


def masked(data):
    c = crc32c(data)
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def records(path):
    """The data of each TFRecord in `path`, every CRC checked."""
    blob, pos, out = open(path, "rb").read(), 0, []
    while pos < len(blob):
        header = blob[pos:pos + 8]
        (length,) = struct.unpack("<Q", header)
        (length_crc,) = struct.unpack("<I", blob[pos + 8:pos + 12])
        assert length_crc == masked(header), f"{path}@{pos}: length CRC {length_crc:#x} != {masked(header):#x}"
        data = blob[pos + 12:pos + 12 + length]
        (data_crc,) = struct.unpack("<I", blob[pos + 12 + length:pos + 16 + length])
        assert len(data) == length and data_crc == masked(data), f"{path}@{pos}: data CRC mismatch"
        out.append(data)
        pos += 16 + length
    assert pos == len(blob), f"{path}: {len(blob) - pos} trailing bytes"
    return out


def event_module():
    schema = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tensorboard_schema")
    out = tempfile.mkdtemp()
    subprocess.run([PROTOC, f"-I{schema}", f"--python_out={out}", "event.proto"], check=True)
    sys.path.insert(0, out)
    return importlib.import_module("event_pb2")


def flat(row):
    prefix = "eval/" if "eval" in row else "train/"
    out = {}

    def walk(value, tag):
        if isinstance(value, bool):
            return
        if isinstance(value, (int, float)):
            out[tag] = float(value)
        elif isinstance(value, dict):
            for k, v in value.items():
                walk(v, f"{tag}/{k}")

    for k, v in row.items():
        if k not in ("step", "time", "eval"):
            walk(v, prefix + k)
    return out


def main():
    pb = event_module()
    files = sorted(glob.glob(os.path.join(RUN_DIR, "tb", "events.out.tfevents.*")))
    assert files, f"no event files in {RUN_DIR}/tb"
    events = []
    for path in files:
        parsed = [pb.Event.FromString(r) for r in records(path)]
        assert parsed[0].file_version == "brain.Event:2", parsed[0]
        events += parsed[1:]
    rows = [json.loads(line) for line in open(os.path.join(RUN_DIR, "metrics.jsonl"))]
    assert len(events) == len(rows), (len(events), len(rows))
    for ev, row in zip(events, rows):
        assert ev.step == row["step"] and abs(ev.wall_time - row["time"]) < 1e-6, (ev.step, ev.wall_time, row)
        got = {v.tag: v.simple_value for v in ev.summary.value}
        want = flat(row)
        assert got.keys() == want.keys(), (sorted(got), sorted(want))
        for tag, value in want.items():
            assert abs(got[tag] - value) <= 1e-6 * max(1.0, abs(value)), (tag, got[tag], value)  # float32
    tags = {v.tag for ev in events for v in ev.summary.value}
    assert "train/loss" in tags and "eval/fine_accuracy" in tags, sorted(tags)
    print(f"{len(files)} event file(s), {len(events)} events, {len(tags)} tags: CRCs, steps, times and values "
          "match metrics.jsonl")


main()
