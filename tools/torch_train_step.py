"""PyTorch reference for `cloudmask train bench`: the same two networks (U-Net, ResNet-18 with the
4-layer segmentation head), the same loss and optimiser (pixel-wise cross-entropy, AdamW), timed
per training step on random data with the same batch, size, bands and threads.

Prints one JSON object per network: {"arch": ..., "ms_median": ..., "ms_min": ..., "steps": ...}.
Run by `cloudmask train bench --pytorch PYTHON`; usable alone:
    python tools/torch_train_step.py --arch unet:16,32,64,128 --batch 8 --size 256 --threads 2
"""

import argparse
import json
import time

import torch
from torch import nn
import torch.nn.functional as F


def conv_bn(cin, cout, k, stride, relu):
    layers = [nn.Conv2d(cin, cout, k, stride, k // 2, bias=False), nn.BatchNorm2d(cout)]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class UNet(nn.Module):
    def __init__(self, cin, classes, widths):
        super().__init__()
        self.down = nn.ModuleList()
        c = cin
        for w in widths:
            self.down.append(nn.Sequential(conv_bn(c, w, 3, 1, True), conv_bn(w, w, 3, 1, True)))
            c = w
        self.up = nn.ModuleList()
        self.upconv = nn.ModuleList()
        for i in reversed(range(len(widths) - 1)):
            self.upconv.append(nn.ConvTranspose2d(widths[i + 1], widths[i], 2, 2))
            self.up.append(nn.Sequential(conv_bn(2 * widths[i], widths[i], 3, 1, True),
                                         conv_bn(widths[i], widths[i], 3, 1, True)))
        self.head = nn.Conv2d(widths[0], classes, 1)

    def forward(self, x):
        skips = []
        for i, block in enumerate(self.down):
            if i > 0:
                x = F.max_pool2d(x, 2)
            x = block(x)
            skips.append(x)
        skips.pop()
        for upconv, block in zip(self.upconv, self.up):
            x = block(torch.cat([skips.pop(), upconv(x)], 1))
        return self.head(x)


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.a = conv_bn(cin, cout, 3, stride, True)
        self.b = conv_bn(cout, cout, 3, 1, False)
        self.shortcut = conv_bn(cin, cout, 1, stride, False) if stride != 1 or cin != cout else None

    def forward(self, x):
        s = x if self.shortcut is None else self.shortcut(x)
        return F.relu(self.b(self.a(x)) + s)


class ResNetSeg(nn.Module):
    def __init__(self, cin, classes, head_width):
        super().__init__()
        self.stem = conv_bn(cin, 64, 7, 2, True)
        blocks, c = [], 64
        for stage, w in enumerate([64, 128, 256, 512]):
            for i in range(2):
                blocks.append(BasicBlock(c, w, 2 if stage > 0 and i == 0 else 1))
                c = w
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Sequential(nn.Conv2d(512, head_width, 3, 1, 1), nn.InstanceNorm2d(head_width, affine=True),
                                  nn.ReLU(inplace=True), nn.Conv2d(head_width, classes, 1))

    def forward(self, x):
        h, w = x.shape[2:]
        y = self.blocks(F.max_pool2d(self.stem(x), 3, 2, 1))
        return F.interpolate(self.head(y), size=(h, w), mode="bilinear", align_corners=False)


def build(arch, cin, classes):
    kind, _, params = arch.partition(":")
    numbers = [int(v) for v in params.split(",") if v]
    if kind == "unet":
        return UNet(cin, classes, numbers or [16, 32, 64, 128])
    if kind == "resnet18":
        return ResNetSeg(cin, classes, numbers[0] if numbers else 256)
    raise SystemExit(f"unknown arch {arch}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", action="append", required=True)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--bands", type=int, default=6)
    ap.add_argument("--classes", type=int, default=3)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    for arch in a.arch:
        net = build(arch, a.bands, a.classes).train()
        opt = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=0.01)
        x = torch.randn(a.batch, a.bands, a.size, a.size)
        y = torch.randint(0, a.classes, (a.batch, a.size, a.size))
        times = []
        for i in range(a.steps + 1):
            t = time.perf_counter()
            loss = F.cross_entropy(net(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            loss.item()
            if i > 0:
                times.append((time.perf_counter() - t) * 1e3)
        times.sort()
        print(json.dumps({"arch": arch, "ms_median": times[len(times) // 2], "ms_min": times[0],
                          "steps": len(times), "threads": torch.get_num_threads(),
                          "torch": torch.__version__}), flush=True)


if __name__ == "__main__":
    main()
