"""PyTorch eager twin of ablate's SPL-Net (src/model/), for `ablate bench train`.

It builds the same stage-1 (pre-training) and stage-2 (FAR) models of the
full SPL-Net variant layer for layer, checks that its trainable parameter
counts equal those ablate reports (and fails loudly otherwise), then times
the same steps ablate times, on random inputs of the same shapes:

- stage 1: Algorithm 1's joint step: PRT forward, PST/PCT forward through
  MSS, Kd discriminator updates on the detached (d4^W, d_agg), the joint loss
  (PRT + l1 PST + l2 (PCT + adversarial alignment + SME)) and one Adam step;
- stage 2: the FAR step (BCE of Eq. 17 with the undefined-label mask), Adam;
- inference: the FAR model in eval mode under no_grad.

Usage: pytorch_twin.py CONFIG_JSON   (ablate writes the JSON; see
src/bench/train.rs). Prints a JSON line with its torch version and threads,
then answers each measurement name read from stdin (stage1, stage2,
inference) with a JSON line holding images/s.
Only torch is needed (the project's .venv).
"""

import json
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def conv(c_in, c_out, k, stride=1, bias=False):
    return nn.Conv2d(c_in, c_out, k, stride=stride, padding=k // 2, bias=bias)


class ConvBn(nn.Module):
    def __init__(self, c_in, c_out, k, stride=1):
        super().__init__()
        self.conv = conv(c_in, c_out, k, stride)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x):
        return self.bn(self.conv(x))


def gap(x):
    return x.mean(dim=(2, 3))


class PreActBlock(nn.Module):
    def __init__(self, c_in, c_out, stride):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(c_in)
        self.conv1 = conv(c_in, c_out, 3, stride)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.conv2 = conv(c_out, c_out, 3)
        self.shortcut = conv(c_in, c_out, 1, stride) if stride != 1 or c_in != c_out else None

    def forward(self, x):
        pre = F.relu(self.bn1(x))
        identity = self.shortcut(pre) if self.shortcut is not None else x
        y = F.relu(self.bn2(self.conv1(pre)))
        return self.conv2(y) + identity


class Backbone(nn.Module):
    def __init__(self, widths):
        super().__init__()
        self.stem = ConvBn(3, widths[0], 7, 2)
        stages, c_in = [], widths[0]
        for s, c_out in enumerate(widths):
            blocks = []
            for b in range(2):
                blocks.append(PreActBlock(c_in, c_out, 2 if s > 0 and b == 0 else 1))
                c_in = c_out
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.ModuleList(stages)
        self.final_bn = nn.BatchNorm2d(widths[3])

    def forward(self, x):
        h = F.max_pool2d(F.relu(self.stem(x)), 3, 2, 1)
        outs = []
        for stage in self.stages:
            h = stage(h)
            outs.append(h)
        outs[3] = F.relu(self.final_bn(outs[3]))
        return outs


class Dca(nn.Module):
    """Eqs. 1-3 with SE channel and CBAM-style spatial attention."""

    def __init__(self, c):
        super().__init__()
        hidden = max(2 * c // 16, 1)
        self.fc1 = nn.Linear(2 * c, hidden)
        self.fc2 = nn.Linear(hidden, 2 * c)
        self.spatial = ConvBn(2, 1, 7)
        self.reduce = ConvBn(2 * c, c, 1)

    def forward(self, f1, f2):
        f_con = torch.cat([f1, f2], 1)
        f_sum = f1 + f2
        channel = torch.sigmoid(self.fc2(F.relu(self.fc1(gap(f_con)))))[:, :, None, None]
        f_ca = f_con + channel * f_con
        pooled = torch.cat([f_sum.mean(1, keepdim=True), f_sum.amax(1, keepdim=True)], 1)
        f_sa = f_sum + torch.sigmoid(self.spatial(pooled)) * f_sum
        return self.reduce(f_ca) + f_sa


class RegionBranch(nn.Module):
    def __init__(self, widths):
        super().__init__()
        self.down = nn.ModuleList([ConvBn(widths[n - 1], widths[n], 3, 2) for n in range(1, 4)])
        self.dca = nn.ModuleList([Dca(w) for w in widths])
        self.final_bn = nn.BatchNorm2d(widths[3])

    def forward(self, o):
        d = self.dca[0](o[0], o[0])
        for o_n, down, dca in zip(o[1:], self.down, self.dca[1:]):
            d = dca(o_n, down(d))
        return F.relu(self.final_bn(d))


REGIONS = ["whole", "upper", "middle", "lower"]


class Mss(nn.Module):
    def __init__(self, widths, fusion):
        super().__init__()
        self.tb = Backbone(widths)
        self.branches = nn.ModuleDict({r: RegionBranch(widths) for r in REGIONS})
        self.fusion = ConvBn(3 * widths[3], widths[3], 1) if fusion else None

    def forward(self, x, branches=True):
        o = self.tb(x)
        d4 = {r: b(o) for r, b in self.branches.items()} if branches else {}
        d_agg = None
        if branches and self.fusion is not None:
            d_agg = self.fusion(torch.cat([d4["upper"], d4["middle"], d4["lower"]], 1))
        return o, d4, d_agg


class CrissCross(nn.Module):
    def __init__(self, c):
        super().__init__()
        qk = max(c // 8, 1)
        self.query = conv(c, qk, 1, bias=True)
        self.key = conv(c, qk, 1, bias=True)
        self.value = conv(c, c, 1, bias=True)
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        q, k, v = self.query(x), self.key(x), self.value(x)
        h, w = x.shape[2], x.shape[3]
        column = torch.einsum("nchw,ncgw->nhwg", q, k)
        self_mask = torch.eye(h, dtype=torch.bool, device=x.device).unsqueeze(1)
        column = column.masked_fill(self_mask, float("-inf"))
        row = torch.einsum("nchw,nchv->nhwv", q, k)
        attention = torch.cat([column, row], 3).softmax(3)
        att_column, att_row = attention.narrow(3, 0, h), attention.narrow(3, h, w)
        out = torch.einsum("nhwg,ncgw->nchw", att_column, v) + torch.einsum(
            "nhwv,nchv->nchw", att_row, v
        )
        return self.gamma * out + x


class PstHead(nn.Module):
    def __init__(self, c, classes):
        super().__init__()
        self.conv_in = ConvBn(c, c, 3)
        self.cca = CrissCross(c)
        self.conv_mid = ConvBn(c, c // 2, 3)
        self.classifier = conv(c // 2, classes, 1, bias=True)

    def forward(self, o4, size):
        x = F.relu(self.conv_in(o4))
        for _ in range(2):
            x = self.cca(x)
        x = F.relu(self.conv_mid(x))
        return F.interpolate(self.classifier(x), size=(size, size), mode="bilinear", align_corners=False)


class RegionHeads(nn.Module):
    """One GAP + FC head per region; `groups` are label indices per region."""

    def __init__(self, c, groups):
        super().__init__()
        self.heads = nn.ModuleDict({r: nn.Linear(c, len(g)) for r, g in zip(REGIONS, groups) if g})
        grouped = [i for g in groups for i in g]
        order = [0] * len(grouped)
        for position, label in enumerate(grouped):
            order[label] = position
        self.register_buffer("order", torch.tensor(order))

    def forward(self, feature):
        return {r: fc(gap(feature(r))) for r, fc in self.heads.items()}

    def in_label_order(self, per_region):
        return torch.cat([per_region[r] for r in REGIONS if r in per_region], 1).index_select(1, self.order)


class PrtHead(nn.Module):
    def __init__(self, c, m):
        super().__init__()
        self.preprocess = ConvBn(m * m * 3, 3, 1)
        self.prelu = nn.Parameter(torch.full((1,), 0.25))
        self.patch = nn.Linear(c, m * m)
        self.angle = nn.Linear(c, 3)


class Discriminator(nn.Module):
    def __init__(self, c):
        super().__init__()
        widths = [c, c, max(c // 2, 1), max(c // 4, 1), 1]
        self.layers = nn.ModuleList([nn.Linear(widths[i], widths[i + 1]) for i in range(4)])

    def forward(self, d4):
        x = gap(d4)
        for i, fc in enumerate(self.layers):
            x = fc(x)
            if i + 1 < len(self.layers):
                x = torch.maximum(x, x * 0.2)
        return x.squeeze(1)


class Stage1(nn.Module):
    """SPL-Net's pre-training model: MSS (four branches and g), PRT, PST, PCT, D."""

    def __init__(self, cfg):
        super().__init__()
        c = cfg["widths"][3]
        self.mss = Mss(cfg["widths"], fusion=True)
        self.prt = PrtHead(c, cfg["patches_per_side"])
        self.pst = PstHead(c, sum(map(len, cfg["component_groups"])))
        self.pct = RegionHeads(c, cfg["component_groups"])
        self.discriminator = Discriminator(c)


class Far(nn.Module):
    """SPL-Net's stage-2 model: MSS (four branches, no g) under the FAR heads."""

    def __init__(self, cfg):
        super().__init__()
        self.mss = Mss(cfg["widths"], fusion=False)
        self.far = RegionHeads(cfg["widths"][3], cfg["attribute_groups"])

    def forward(self, images):
        _, d4, _ = self.mss(images)
        return self.far.in_label_order(self.far(lambda r: d4[r]))


def trainable(module):
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def adam(params, cfg):
    return torch.optim.Adam(
        params, lr=cfg["learning_rate"], betas=(cfg["adam_beta1"], cfg["adam_beta2"]),
        weight_decay=cfg["weight_decay"], eps=1e-8,
    )


def bce_sum(logits, target, weight=None):
    return F.binary_cross_entropy_with_logits(logits, target, weight=weight, reduction="sum")


def stage1_step(model, batch, cfg, network_opt, disc_opt):
    """ablate's stage1::auxiliary_step followed by the network's Adam step."""
    prt_input, prt_patch, prt_angle, patch, pixels, components = batch
    n, m2 = prt_input.shape[0], prt_input.shape[1] // 3
    size = prt_input.shape[2]
    terms = []
    # PRT (Eq. 8): preprocessing block, TB, two heads.
    patches = prt_input.view(n, m2, 3, size, size).flatten(1, 2)
    x = F.prelu(model.prt.preprocess(patches), model.prt.prelu)
    f = gap(model.mss.tb(x)[3])
    prt = F.cross_entropy(model.prt.patch(f), prt_patch) + F.cross_entropy(model.prt.angle(f), prt_angle)
    terms.append(prt)
    total = prt
    # PST/PCT on the patch through MSS.
    o, d4, d_agg = model.mss(patch)
    logits = model.pst(o[3], patch.shape[3])
    log_p = logits.log_softmax(1)
    true_class = -log_p.gather(1, pixels.unsqueeze(1)).squeeze(1)
    eps = cfg["label_smoothing"]
    pst = (true_class * (1 - eps) + (-log_p.mean(1)) * eps).mean()
    terms.append(pst)
    total = total + pst * cfg["lambda_pst"]
    feature = lambda r: d4[r]
    pct_logits = model.pct(feature)
    pct = sum(
        bce_sum(pct_logits[r], components.index_select(1, idx)) for r, idx in cfg["_pct_index"].items()
    ) / n
    terms.append(pct)
    total = total + pct * cfg["lambda_pct"]
    # Kd discriminator steps on the detached pair, D's own optimizer.
    whole, agg = d4["whole"].detach(), d_agg.detach()
    for _ in range(cfg["discriminator_steps"]):
        real, fake = model.discriminator(agg), model.discriminator(whole)
        d_loss = F.binary_cross_entropy_with_logits(real, torch.ones_like(real)) + \
            F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake))
        d_loss.item()
        disc_opt.zero_grad()
        d_loss.backward()
        disc_opt.step()
    # Adversarial alignment with D fixed, then SME.
    wl, al = model.discriminator(d4["whole"]), model.discriminator(d_agg)
    alignment = F.binary_cross_entropy_with_logits(wl, torch.ones_like(wl)) + \
        F.binary_cross_entropy_with_logits(-al, torch.ones_like(al))
    terms.append(alignment)
    total = total + alignment * cfg["lambda_pct"]
    u, mid, low = d4["upper"], d4["middle"], d4["lower"]
    mean = (u + mid + low) / 3.0
    sme = (torch.sigmoid(u - mean) * torch.sigmoid(mid - mean) * torch.sigmoid(low - mean)).mean()
    terms.append(sme)
    total = total + sme * cfg["lambda_pct"]
    terms.append(total)
    for t in terms:  # ablate checks every term finite, one sync each
        t.item()
    network_opt.zero_grad()
    total.backward()
    network_opt.step()


def stage2_step(model, cache, labels, index, opt):
    images = (cache.index_select(0, index).float() / 255.0 - 0.5) / 0.5
    target = labels.index_select(0, index)
    logits = model(images)
    loss = bce_sum(logits, target.gt(0).float(), target.ne(0).float()) / images.shape[0]
    loss.item()
    opt.zero_grad()
    loss.backward()
    opt.step()


def images_per_second(step, batch, warmup, iters):
    for _ in range(warmup):
        step()
    start = time.perf_counter()
    for _ in range(iters):
        step()
    return batch * iters / (time.perf_counter() - start)


def main():
    cfg = json.loads(open(sys.argv[1]).read())
    torch.set_num_threads(cfg["threads"])
    torch.manual_seed(0)
    device = torch.device(cfg["device"])
    s, m = cfg["input_size"], cfg["patches_per_side"]
    cfg["_pct_index"] = {
        r: torch.tensor(g, device=device) for r, g in zip(REGIONS, cfg["component_groups"]) if g
    }
    stage1, far = Stage1(cfg).to(device), Far(cfg).to(device)
    counts = {"stage1": trainable(stage1), "stage2": trainable(far)}
    print(f"pytorch twin parameters: stage 1 {counts['stage1']}, stage 2 {counts['stage2']}; "
          f"ablate: stage 1 {cfg['params_stage1']}, stage 2 {cfg['params_stage2']}", file=sys.stderr)
    if counts["stage1"] != cfg["params_stage1"] or counts["stage2"] != cfg["params_stage2"]:
        print("error: the twin's parameter counts differ from ablate's; it is not the same model",
              file=sys.stderr)
        sys.exit(2)

    b1, b2 = cfg["stage1_batch"], cfg["stage2_batch"]
    classes = sum(map(len, cfg["component_groups"]))
    batch = (
        torch.randn(b1, 3 * m * m, s, s, device=device),
        torch.randint(0, m * m, (b1,), device=device),
        torch.randint(0, 3, (b1,), device=device),
        torch.randn(b1, 3, s, s, device=device).clamp(-1, 1),
        torch.randint(0, classes, (b1, s, s), device=device),
        (torch.rand(b1, classes, device=device) < 0.5).float(),
    )
    network = [p for n, p in stage1.named_parameters() if not n.startswith("discriminator.")]
    network_opt, disc_opt = adam(network, cfg), adam(stage1.discriminator.parameters(), cfg)
    warmup, iters = cfg["warmup"], cfg["iters"]
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)

    def timed(step, n):
        def run():
            step()
            sync()
        return images_per_second(run, n, warmup, iters)

    cache = torch.randint(0, 256, (b2, 3, s, s), dtype=torch.uint8, device=device)
    labels = torch.randint(-1, 2, (b2, sum(map(len, cfg["attribute_groups"]))), dtype=torch.int8, device=device)
    index = torch.arange(b2, device=device)
    far_opt = adam(far.parameters(), cfg)
    images = (cache.float() / 255.0 - 0.5) / 0.5

    def infer():
        with torch.no_grad():
            far(images)

    # name: (set the mode, one step, images per step)
    measurements = {
        "stage1": (stage1.train, lambda: stage1_step(stage1, batch, cfg, network_opt, disc_opt), b1),
        "stage2": (far.train, lambda: stage2_step(far, cache, labels, index, far_opt), b2),
        "inference": (far.eval, infer, b2),
    }
    # ablate interleaves its own measurements with these: one name per line
    # in, one JSON answer per line out, until end of input.
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads()}), flush=True)
    for line in sys.stdin:
        mode, step, n = measurements[line.strip()]
        mode()
        print(json.dumps({"rate": timed(step, n)}), flush=True)


if __name__ == "__main__":
    main()
