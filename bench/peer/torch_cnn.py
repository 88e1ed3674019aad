#!/usr/bin/python3
"""Peer reference for the `cnn` preset (main/ml/models.ts): conv 5x5x32 'same' + ReLU, max-pool 2,
conv 5x5x64 'same' + ReLU, max-pool 2, dense 256 + ReLU, dropout 0.3, dense 10; He-normal kernels,
zero biases; Adam 1e-3 x 0.75^epoch, batch 100, random whole-pixel shifts of up to 2 pixels, moving
average of the weights (decay min(0.999, (1+step)/(10+step))) evaluated on the test set.
Prints training samples/s and the test accuracy of the moving-average weights per epoch.

    torch_cnn.py DATA_DIR [EPOCHS=1] [THREADS=2] [STEPS_PER_EPOCH=all]
"""
import sys, time, torch
import torch.nn as nn
import torch.nn.functional as F
from mnist import load

root = sys.argv[1]; epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 1
torch.set_num_threads(int(sys.argv[3]) if len(sys.argv) > 3 else 2)
X, Y, Xt, Yt = load(root)
X = X.reshape(-1, 1, 28, 28); Xt = Xt.reshape(-1, 1, 28, 28)
B, SHIFT, EMA = 100, 2, 0.999
steps = min(int(sys.argv[4]), 55000 // B) if len(sys.argv) > 4 else 55000 // B
torch.manual_seed(0)

model = nn.Sequential(
    nn.Conv2d(1, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(32, 64, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(), nn.Linear(64 * 7 * 7, 256), nn.ReLU(), nn.Dropout(0.3), nn.Linear(256, 10))
for m in model:
    if isinstance(m, (nn.Conv2d, nn.Linear)):
        nn.init.kaiming_normal_(m.weight, nonlinearity='relu'); nn.init.zeros_(m.bias)
params = list(model.parameters())
ema = [p.detach().clone() for p in params]
optimizer = torch.optim.Adam(params, lr=1e-3)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 1, gamma=0.75)


def shifted(x):
    """Each image moved by a random whole-pixel offset in [-SHIFT, SHIFT], zeros shifted in."""
    padded = F.pad(x, (SHIFT, SHIFT, SHIFT, SHIFT))
    offsets = torch.randint(0, 2 * SHIFT + 1, (x.shape[0], 2))
    return torch.stack([padded[i, :, dy:dy + 28, dx:dx + 28] for i, (dy, dx) in enumerate(offsets.tolist())])


def test_accuracy():
    live = [p.detach().clone() for p in params]
    with torch.no_grad():
        for p, e in zip(params, ema): p.copy_(e)
        model.eval(); correct = sum((model(Xt[i:i + 1000]).argmax(1) == Yt[i:i + 1000]).sum().item() for i in range(0, 10000, 1000))
        model.train()
        for p, l in zip(params, live): p.copy_(l)
    return correct / 10000


print(f'threads {torch.get_num_threads()}', flush=True)
step = 0
for ep in range(epochs):
    perm = torch.randperm(55000); t0 = time.time(); c0 = time.process_time()
    for i in range(0, steps * B, B):
        idx = perm[i:i + B]
        loss = F.cross_entropy(model(shifted(X[idx])), Y[idx])
        optimizer.zero_grad(set_to_none=True); loss.backward(); optimizer.step()
        with torch.no_grad():
            step += 1; d = min(EMA, (1 + step) / (10 + step))
            for e, p in zip(ema, params): e.mul_(d).add_(p.detach(), alpha=1 - d)
    dt = time.time() - t0; cpu = time.process_time() - c0
    scheduler.step()
    acc = test_accuracy()
    print(f'epoch {ep+1} samples/s {steps * B / dt:.0f} epoch_s {dt:.2f} cpu_s {cpu:.2f} test_acc_ema {acc:.4f}', flush=True)
