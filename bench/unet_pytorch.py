#!/usr/bin/python3
"""The node's 2D U-Net in PyTorch-Python, for the side-by-side of issue 16.

Reads what `bench_unet_side_by_side --write` wrote (the CT and labels as raw files, the node's
initial weights), builds the same network (models/nn/seg_models.cc: per level two 3x3
convolutions without bias, each with BatchNorm and ReLU; 2x2 max pooling; 2x2 stride-2
transposed convolutions; concatenation skip first; a 1x1 head), loads the node's weights
strictly (same names, same shapes, or it stops), and times what the node does, in its order
(training, then inference with the initial weights):

  training   Adam (lr 1e-3), cross-entropy summed over labelled voxels / their number,
             forward + backward + step per batch (the batch built from the int16 CT each step,
             as the node's batch pipeline does); the first `warmup` steps are dropped.
  inference  eval mode, no_grad, batches of 8 slices (the node's), softmax, argmax.

Prints one JSON line with the same keys as the C++ bench. Run it with Debian's interpreter
(/usr/bin/python3, python3-torch), which uses the same libtorch_cpu.so as the node.
"""
import argparse
import json
import os
import statistics
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

EVAL_BATCH = 8  # models/nn/segmentation.cc kEvalBatch2d
UNLABELLED = 255


class Block(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.norm1 = nn.BatchNorm2d(cout)
        self.norm2 = nn.BatchNorm2d(cout)

    def forward(self, x):
        x = F.relu(self.norm1(self.conv1(x)))
        return F.relu(self.norm2(self.conv2(x)))


class UNet(nn.Module):
    def __init__(self, in_channels, classes, base, depth):
        super().__init__()
        self.depth = depth
        width = [base << level for level in range(depth)]
        for level in range(depth):
            cin = in_channels if level == 0 else width[level - 1]
            self.add_module(f"enc{level}", Block(cin, width[level]))
        for level in range(depth - 1):
            self.add_module(f"up{level}", nn.ConvTranspose2d(width[level + 1], width[level], 2, stride=2))
            self.add_module(f"dec{level}", Block(2 * width[level], width[level]))
        self.head = nn.Conv2d(width[0], classes, 1)

    def forward(self, x):
        skips = []
        for level in range(self.depth):
            x = getattr(self, f"enc{level}")(x)
            if level + 1 < self.depth:
                skips.append(x)
                x = F.max_pool2d(x, 2)
        for level in reversed(range(self.depth - 1)):
            x = getattr(self, f"up{level}")(x)
            x = getattr(self, f"dec{level}")(torch.cat([skips[level], x], 1))
        return self.head(x)


DTYPES = {"float32": np.float32, "int64": np.int64}


def load_weights(data_dir):
    index = json.load(open(os.path.join(data_dir, "weights.json")))
    blob = open(os.path.join(data_dir, "weights.bin"), "rb").read()
    state = {}
    for t in index:
        values = np.frombuffer(blob, dtype=DTYPES[t["dtype"]], count=int(np.prod(t["shape"], dtype=np.int64)),
                               offset=t["offset"])
        state[t["name"]] = torch.from_numpy(values.copy()).reshape(t["shape"])
    return index, state


def check_same_layout(model, index):
    """Same tensor names, in the same order, with the same shapes, as the node's state (which
    lists the parameters first, then the buffers: models/nn/state_dict.h)."""
    named = list(model.named_parameters()) + list(model.named_buffers())
    ours = [(name, list(t.shape)) for name, t in named]
    theirs = [(t["name"], list(t["shape"])) for t in index]
    if ours != theirs:
        diff = [(a, b) for a, b in zip(ours, theirs) if a != b][:3]
        raise SystemExit(f"unet_pytorch: layout differs from the node's: {len(ours)} vs {len(theirs)} "
                         f"tensors, first differences {diff}")


def normalise(hu):
    """The node's "seed" normalisation: (HU + 1024) clipped at 0, divided by 1000, float32."""
    return (hu.to(torch.int32) + 1024).clamp_(min=0).to(torch.float32) / 1000.0


def mapped_blas():
    with open("/proc/self/maps") as maps:
        paths = {line[line.index("/"):].strip() for line in maps if "/" in line and "blas" in line}
    return sorted(paths)


def mean_loss(model, ct, labels):
    """The node's loss_start: eval mode, summed cross-entropy over labelled voxels / their count."""
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for start in range(0, ct.shape[0], EVAL_BATCH):
            x = normalise(ct[start:start + EVAL_BATCH]).unsqueeze(1)
            y = labels[start:start + EVAL_BATCH].long()
            total += F.cross_entropy(model(x), y, ignore_index=UNLABELLED, reduction="sum").item()
            count += int((y != UNLABELLED).sum())
    return total / count


def train(model, ct, labels, meta):
    model.train()
    adam = torch.optim.Adam(model.parameters(), lr=1e-3)
    batch, steps, losses = meta["batch"], [], []
    for b in range(meta["warmup"] + meta["iters"]):
        start = time.perf_counter()
        adam.zero_grad()
        x = normalise(ct[b * batch:(b + 1) * batch]).unsqueeze(1)
        y = labels[b * batch:(b + 1) * batch].long()
        terms = int((y != UNLABELLED).sum())
        loss = F.cross_entropy(model(x), y, ignore_index=UNLABELLED, reduction="sum") / terms
        loss.backward()
        adam.step()
        losses.append(loss.detach())
        steps.append(time.perf_counter() - start)
    return steps[meta["warmup"]:], float(torch.stack(losses).mean())


def infer(model, ct, precision):
    model.eval()
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16")
    with torch.no_grad(), autocast:
        probabilities = [torch.softmax(model(normalise(ct[s:s + EVAL_BATCH]).unsqueeze(1)), 1)
                         for s in range(0, ct.shape[0], EVAL_BATCH)]
        return torch.cat(probabilities).float().argmax(1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="/tmp/unet_side_by_side")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32",
                        help="inference: float32, or bfloat16 autocast on the CPU")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    meta = json.load(open(os.path.join(args.data_dir, "meta.json")))
    shape = (meta["nz"], meta["ny"], meta["nx"])
    ct = torch.from_numpy(np.fromfile(os.path.join(args.data_dir, "ct.raw"), dtype=np.int16).reshape(shape))
    labels = torch.from_numpy(np.fromfile(os.path.join(args.data_dir, "labels.raw"), dtype=np.uint8).reshape(shape))

    index, state = load_weights(args.data_dir)
    model = UNet(1, meta["classes"], meta["base_channels"], meta["depth"])
    check_same_layout(model, index)
    model.load_state_dict(state, strict=True)
    train_ct, train_labels = ct[:meta["train_slices"]], labels[:meta["train_slices"]]
    loss_start = mean_loss(model, train_ct, train_labels)

    # The node's order: training first (bench_unet_side_by_side), then inference with the initial
    # weights, so that both processes reach each phase with the same allocator history.
    step_s, train_loss = train(model, train_ct, train_labels, meta)
    model.load_state_dict(state, strict=True)
    infer_ct = ct[:meta["infer_slices"]]
    infer_s, histogram = [], None
    for it in range(meta["warmup"] + meta["iters"]):
        start = time.perf_counter()
        argmax = infer(model, infer_ct, args.precision)
        seconds = time.perf_counter() - start
        if it >= meta["warmup"]:
            infer_s.append(seconds)
        histogram = torch.bincount(argmax.flatten(), minlength=meta["classes"]).tolist()

    train_median, infer_median = statistics.median(step_s), statistics.median(infer_s)
    print(json.dumps({
        "side": "python (torch %s)" % torch.__version__,
        "threads": torch.get_num_threads(),
        "blas": mapped_blas(),
        "load": " ".join(open("/proc/loadavg").read().split()[:3]),
        "parameters": sum(p.numel() for p in model.parameters()),
        "state_tensors": len(model.state_dict()),
        "loss_start": loss_start,
        "train_loss_epoch": train_loss,
        "train_step_s": step_s,
        "train_slices_per_s": meta["batch"] / train_median,
        "infer_precision": args.precision,
        "infer_s": infer_s,
        "infer_slices_per_s": meta["infer_slices"] / infer_median,
        "infer_label_histogram": histogram,
    }), flush=True)


if __name__ == "__main__":
    main()
