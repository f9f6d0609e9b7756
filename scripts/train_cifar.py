#!/usr/bin/env python3
"""Train the netc CIFAR-10 example network (examples/cifar10/resvgg.net) on CPU
and write the reference artifacts used by the Rust tests.

The network trained is the module `netc emit pytorch examples/cifar10/resvgg.net`
writes (see resvgg.py): the .net file is the only definition of the network, and
the trained state_dict() has netc's weight names as it is.

    python3 scripts/train_cifar.py                 # benchmark, pick epochs, train, export
    python3 scripts/train_cifar.py --epochs 8      # fixed number of epochs
    python3 scripts/train_cifar.py --reference-only  # re-derive artifacts from the
                                                     # committed resvgg.safetensors

Recipe (tuned for a short CPU budget): SGD nesterov (momentum 0.9, peak lr 0.4,
weight decay 5e-4), linear warm-up then linear decay to 0 (one-cycle shape),
batch 512, label smoothing 0.2, logits scaled by 1/8 during training (folded
into the head at export), first conv initialised to a frozen 3x3 patch-whitening
filter bank (+/- top-16 eigenvectors), random crop with reflect padding and
alternating horizontal flips done on whole batches, bf16 autocast for all
layers after the first (BN parameters/statistics stay float32), channels_last.

Outputs (examples/cifar10/):
    resvgg.safetensors   trained float32 weights, netc names, metadata {"format": "pt"}
    images.npy           uint8 [100,3,32,32] first 10 test images per class, class-major
    labels.npy           int64 [100]
    classes.txt          class names in label order
    torch_logits.npy     float32 [100,10] eval-mode logits of the reloaded weights
    torch_test_top1.npy  int64 [10000] top-1 predictions on cifar_data.load('test')
    reference.json       accuracies, torch version, training epochs/time, ...
    train_log.txt        copy of the training log (written by the caller via tee/nohup)
All reference outputs are computed from a *fresh* model loaded from the
safetensors file (strict key check), in float32, NCHW, one plain forward pass.
"""
import argparse
import json
import math
import os
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
import cifar_data  # noqa: E402
from resvgg import (CLASSES, expected_keys, export_state_dict,  # noqa: E402
                    load_safetensors, network_module)

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "examples" / "cifar10"


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, flush=True)


def seed_all(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


# ----------------------------------------------------------------------------
# data augmentation on whole batches

def batch_crop(x, pad, gen):
    """Random translation by up to `pad` pixels with reflect padding."""
    if pad == 0:
        return x
    n, c, h, w = x.shape
    xp = F.pad(x, (pad, pad, pad, pad), mode="reflect")
    k = 2 * pad + 1
    off = torch.randint(0, k * k, (n,), generator=gen)
    out = torch.empty_like(x)
    for o in range(k * k):
        idx = (off == o).nonzero(as_tuple=True)[0]
        if idx.numel():
            dy, dx = divmod(o, k)
            out[idx] = xp[idx, :, dy:dy + h, dx:dx + w]
    return out


# ----------------------------------------------------------------------------
# model helpers

def prep_input(model, x_u8):
    """What `model.prep` sees for raw images: the emitted forward normalizes them first."""
    seen = []
    hook = model.prep.register_forward_pre_hook(lambda m, args: seen.append(args[0]))
    with torch.no_grad():
        model.eval()
        model(torch.from_numpy(x_u8).float())
        model.train()
    hook.remove()
    return seen[0]


def float32_prep(model):
    """Runs `prep` outside bf16 autocast: the bf16 backward of a 3-input-channel conv is
    pathologically slow on CPU."""
    forward = model.prep.forward

    def prep_forward(x):
        with torch.autocast("cpu", enabled=False):
            return forward(x.float())

    model.prep.forward = prep_forward
    return model


def whitening_init(model, x_train_u8, n_img=5000, eps=5e-4):
    """Set prep.conv1 to +/- the top eigenvectors of the 3x3 patch covariance,
    scaled by 1/sqrt(eigenvalue).  (airbench-style patch whitening.)"""
    w = model.prep.conv1.weight
    cout = w.shape[0]
    half = cout // 2
    with torch.no_grad():
        x = prep_input(model, x_train_u8[:n_img])
        p = F.unfold(x, 3).transpose(1, 2).reshape(-1, 27).double()  # [N*900, 27]
        p = p - p.mean(0, keepdim=True)
        cov = p.T @ p / p.shape[0]
        evals, evecs = torch.linalg.eigh(cov)  # ascending
        evals, evecs = evals.flip(0), evecs.flip(1)
        filt = (evecs[:, :half] / torch.sqrt(evals[:half] + eps)).T  # [half, 27]
        filt = filt.reshape(half, 3, 3, 3).float()
        w.copy_(torch.cat([filt, -filt], 0))
    return evals


def train_forward(model, x, logit_scale, use_bf16):
    """Logits of raw pixels x (the model normalizes them); `prep` stays float32 (float32_prep)."""
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=use_bf16):
        out = model(x)
    return out.float() * logit_scale


@torch.no_grad()
def predict(model, x_u8, batch=1000, channels_last=False, logit_scale=1.0, bf16=False):
    """Eval-mode forward pass, returns logits [N,10].  Plain float32 unless
    bf16=True (only used for the quick per-epoch progress numbers)."""
    model.eval()
    outs = []
    for i in range(0, len(x_u8), batch):
        xb = torch.from_numpy(x_u8[i:i + batch]).float()
        if channels_last:
            xb = xb.contiguous(memory_format=torch.channels_last)
        if bf16:
            out = train_forward(model, xb, logit_scale, True)
        else:
            out = model(xb).float() * logit_scale
        outs.append(out)
    return torch.cat(outs).numpy()


def benchmark(args, x_train, network):
    """Measure training images/s on a throw-away model (does not touch RNG state
    used for the real run: we re-seed afterwards)."""
    m = float32_prep(network.Network()).to(memory_format=torch.channels_last)
    m.prep.conv1.weight.requires_grad_(not args.whiten)
    opt = torch.optim.SGD([p for p in m.parameters() if p.requires_grad], lr=1e-3,
                          momentum=0.9, nesterov=True)
    xb = torch.from_numpy(x_train[:args.batch]).float().contiguous(memory_format=torch.channels_last)
    yb = torch.zeros(args.batch, dtype=torch.long)
    times = []
    for i in range(args.bench_steps + 2):
        t = time.time()
        out = train_forward(m, xb, 0.125, args.bf16)
        loss = F.cross_entropy(out, yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if i >= 2:
            times.append(time.time() - t)
    train_ips = args.batch / float(np.median(times))
    t = time.time()
    predict(m, x_train[:1000], channels_last=True, bf16=args.bf16)
    eval_ips = 1000 / (time.time() - t)
    return train_ips, eval_ips


# ----------------------------------------------------------------------------
# reference artifacts

def write_reference(out_dir, training_info, network):
    weights_path = out_dir / "resvgg.safetensors"
    x_test, y_test = cifar_data.load("test")
    model = load_safetensors(str(weights_path), network)

    # full test set, plain float32 NCHW forward
    t = time.time()
    logits = predict(model, x_test)
    top1 = logits.argmax(1).astype(np.int64)
    acc = float((top1 == y_test).mean() * 100.0)
    log(f"reloaded model: full test accuracy {acc:.2f}% ({time.time() - t:.0f}s)")

    # the 100 committed sample images: first 10 per class, class-major
    idx = np.concatenate([np.nonzero(y_test == k)[0][:10] for k in range(10)])
    images = np.ascontiguousarray(x_test[idx])
    labels = y_test[idx].astype(np.int64)
    s_logits = predict(model, images, batch=100).astype(np.float32)
    s_acc = float((s_logits.argmax(1) == labels).mean() * 100.0)
    d = np.abs(s_logits - logits[idx]).max()
    log(f"sample logits (batch 100) vs full-set logits (batch 1000): max |diff| {d:.3g}")
    if not np.array_equal(s_logits.argmax(1), top1[idx]):
        log("WARNING: sample top-1 differs from full-set top-1 (batch-size dependent numerics)")

    out_dir.mkdir(parents=True, exist_ok=True)
    np.save(out_dir / "images.npy", images)
    np.save(out_dir / "labels.npy", labels)
    np.save(out_dir / "torch_logits.npy", s_logits)
    np.save(out_dir / "torch_test_top1.npy", top1)
    (out_dir / "classes.txt").write_text("\n".join(CLASSES) + "\n")

    ref = {
        "test_accuracy": round(acc, 4),
        "num_test_images": int(len(y_test)),
        "test_correct": int((top1 == y_test).sum()),
        "sample_accuracy": round(s_acc, 4),
        "num_sample_images": int(len(labels)),
        "torch_version": torch.__version__,
        "numpy_version": np.__version__,
        "weights": weights_path.name,
        "weights_bytes": weights_path.stat().st_size,
        "evaluation": "float32, NCHW, eval-mode BatchNorm, single forward pass, no test-time augmentation",
    }
    ref.update(training_info)
    (out_dir / "reference.json").write_text(json.dumps(ref, indent=2) + "\n")
    log("wrote", ", ".join(sorted(p.name for p in out_dir.iterdir())))
    return ref


# ----------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=0, help="0 = choose from measured speed and --budget-min")
    ap.add_argument("--budget-min", type=float, default=40.0, help="wall-time budget for training + per-epoch eval")
    ap.add_argument("--max-epochs", type=int, default=16)
    ap.add_argument("--batch", type=int, default=512)
    ap.add_argument("--lr", type=float, default=0.4)
    ap.add_argument("--wd", type=float, default=5e-4)
    ap.add_argument("--momentum", type=float, default=0.9)
    ap.add_argument("--warmup", type=float, default=0.25, help="fraction of steps for linear warm-up")
    ap.add_argument("--label-smoothing", type=float, default=0.2)
    ap.add_argument("--logit-scale", type=float, default=0.125)
    ap.add_argument("--pad", type=int, default=2, help="random-crop reflect padding (max translation)")
    ap.add_argument("--no-whiten", dest="whiten", action="store_false")
    ap.add_argument("--no-bf16", dest="bf16", action="store_false")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--bench-steps", type=int, default=6)
    ap.add_argument("--out-dir", type=Path, default=OUT)
    ap.add_argument("--steps-per-epoch", type=int, default=0, help="(smoke tests) cap steps per epoch")
    ap.add_argument("--reference-only", action="store_true",
                    help="only (re)write the reference artifacts from OUT_DIR/resvgg.safetensors")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    network = network_module()

    if args.reference_only:
        info = {}
        if (args.out_dir / "reference.json").exists():
            old = json.loads((args.out_dir / "reference.json").read_text())
            info = {k: v for k, v in old.items() if k.startswith("train")}
        write_reference(args.out_dir, info, network)
        return

    t_start = time.time()
    log(f"torch {torch.__version__}, threads {torch.get_num_threads()}, args {vars(args)}")
    x_train, y_train = cifar_data.load("train")
    x_test, y_test = cifar_data.load("test")
    log(f"train {x_train.shape}, test {x_test.shape}")

    # ---- measure speed, choose epochs
    seed_all(args.seed)
    train_ips, eval_ips = benchmark(args, x_train, network)
    epoch_s = len(x_train) / train_ips + len(x_test) / eval_ips
    if args.epochs <= 0:
        args.epochs = int(max(1, min(args.max_epochs, args.budget_min * 60 / epoch_s)))
    log(f"benchmark: train {train_ips:.0f} img/s, eval {eval_ips:.0f} img/s -> "
        f"~{epoch_s:.0f}s/epoch, training {args.epochs} epochs (~{args.epochs * epoch_s / 60:.1f} min)")

    # ---- model, optimiser, schedule
    seed_all(args.seed)
    model = float32_prep(network.Network())
    if args.whiten:
        evals = whitening_init(model, x_train)
        model.prep.conv1.weight.requires_grad_(False)
        log("whitening init: top eigenvalues", [round(float(e), 4) for e in evals[:6]])
    model = model.to(memory_format=torch.channels_last)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.SGD(params, lr=args.lr, momentum=args.momentum, nesterov=True, weight_decay=args.wd)
    steps_per_epoch = len(x_train) // args.batch  # drop the last partial batch
    if args.steps_per_epoch:
        steps_per_epoch = min(steps_per_epoch, args.steps_per_epoch)
    total = args.epochs * steps_per_epoch
    warm = max(1, int(args.warmup * total))

    def lr_at(step):  # one-cycle (triangular) shape, ends at 0
        if step < warm:
            return args.lr * (step + 1) / warm
        return args.lr * max(0.0, (total - step) / (total - warm))

    gen = torch.Generator().manual_seed(args.seed)
    xt = torch.from_numpy(x_train)
    yt = torch.from_numpy(y_train)
    flip0 = torch.rand(len(xt), generator=gen) < 0.5  # alternating flip: epoch e flips flip0 ^ (e odd)

    step = 0
    t_train = time.time()
    history = []
    for epoch in range(args.epochs):
        model.train()
        t_ep = time.time()
        perm = torch.randperm(len(xt), generator=gen)
        flip = flip0 ^ bool(epoch % 2)
        tot_loss, tot_correct, seen = 0.0, 0, 0
        for b in range(steps_per_epoch):
            idx = perm[b * args.batch:(b + 1) * args.batch]
            xb = xt[idx].float()  # raw pixels: the model normalizes them
            fb = flip[idx]
            xb = torch.where(fb.view(-1, 1, 1, 1), xb.flip(3), xb)
            xb = batch_crop(xb, args.pad, gen).contiguous(memory_format=torch.channels_last)
            yb = yt[idx]
            for g in opt.param_groups:
                g["lr"] = lr_at(step)
            out = train_forward(model, xb, args.logit_scale, args.bf16)
            loss = F.cross_entropy(out, yb, label_smoothing=args.label_smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            tot_loss += loss.item() * len(idx)
            tot_correct += int((out.argmax(1) == yb).sum())
            seen += len(idx)
            if b % 20 == 0:
                log(f"  epoch {epoch + 1} step {b}/{steps_per_epoch} loss {loss.item():.3f} "
                    f"lr {lr_at(step - 1):.3f} {seen / (time.time() - t_ep):.0f} img/s")
        t_tr = time.time() - t_ep
        logits = predict(model, x_test, channels_last=True, logit_scale=args.logit_scale, bf16=args.bf16)
        acc = float((logits.argmax(1) == y_test).mean() * 100)
        history.append({"epoch": epoch + 1, "train_loss": tot_loss / seen,
                        "train_acc": 100 * tot_correct / seen, "test_acc": acc})
        log(f"epoch {epoch + 1}/{args.epochs}: train loss {tot_loss / seen:.4f} "
            f"train acc {100 * tot_correct / seen:.2f}% | test acc {acc:.2f}%{' (bf16 eval)' if args.bf16 else ''} | "
            f"{t_tr:.0f}s train + {time.time() - t_ep - t_tr:.0f}s eval, {seen / t_tr:.0f} img/s")
    train_time = time.time() - t_train

    # ---- export: fold logit scale into the head, plain NCHW float32 weights
    model = model.to(memory_format=torch.contiguous_format).eval()
    with torch.no_grad():
        model.head.weight.mul_(args.logit_scale)
        model.head.bias.mul_(args.logit_scale)
    sd = export_state_dict(model)
    assert sorted(sd) == sorted(expected_keys()), sorted(sd)
    from safetensors.torch import save_file
    wpath = args.out_dir / "resvgg.safetensors"
    wpath.parent.mkdir(parents=True, exist_ok=True)
    save_file(sd, str(wpath), metadata={"format": "pt"})
    log(f"saved {wpath} ({wpath.stat().st_size} bytes)")

    # in-memory model vs reloaded file must agree
    x_s = x_test[:500]
    a = predict(model, x_s)
    b = predict(load_safetensors(str(wpath), network), x_s)
    log(f"in-memory vs reloaded max |logit diff| on 500 test images: {np.abs(a - b).max():.3g}")

    info = {
        "train_epochs": args.epochs,
        "train_time_s": round(train_time, 1),
        "train_total_wall_s": round(time.time() - t_start, 1),
        "train_images_per_s_benchmark": round(train_ips, 1),
        "train_batch_size": args.batch,
        "train_seed": args.seed,
        "train_threads": args.threads,
        "train_recipe": {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(args).items()
                         if k in ("lr", "wd", "momentum", "warmup", "label_smoothing", "logit_scale",
                                  "pad", "whiten", "bf16")},
        "train_history": history,
    }
    ref = write_reference(args.out_dir, info, network)
    log(f"FINAL test accuracy {ref['test_accuracy']:.2f}% after {args.epochs} epochs, "
        f"training {train_time / 60:.1f} min, total {(time.time() - t_start) / 60:.1f} min")


if __name__ == "__main__":
    main()
