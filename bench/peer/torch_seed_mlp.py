#!/usr/bin/python3
"""Peer reference for the `seed` preset (see README.md): the seed's MLP (784-500-10, ReLU, L2 1e-4,
SGD 0.1 x 0.99^epoch, batch 200, EMA 0.99 of weights) trained with PyTorch on the CPU.
Prints training samples/s and the test accuracy of the moving-average weights per epoch.

    torch_seed_mlp.py DATA_DIR [EPOCHS=2] [THREADS=2] [STEPS_PER_EPOCH=all]
"""
import sys, time, torch
from mnist import load

root = sys.argv[1]; epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 2
torch.set_num_threads(int(sys.argv[3]) if len(sys.argv) > 3 else 2)
X, Y, Xt, Yt = load(root)
B = 200
steps = min(int(sys.argv[4]), 55000 // B) if len(sys.argv) > 4 else 55000 // B
torch.manual_seed(0)
def tn(shape):
    w = torch.empty(shape); torch.nn.init.trunc_normal_(w, std=0.1, a=-0.2, b=0.2); return w.requires_grad_()
W1, b1, W2, b2 = tn((784, 500)), torch.zeros(500, requires_grad=True), tn((500, 10)), torch.zeros(10, requires_grad=True)
params = [W1, b1, W2, b2]; ema = [p.detach().clone() for p in params]
step = 0
def fwd(x, ps): return torch.relu(x @ ps[0] + ps[1]) @ ps[2] + ps[3]
print(f'threads {torch.get_num_threads()}', flush=True)
for ep in range(epochs):
    lr = 0.1 * 0.99 ** ep; perm = torch.randperm(55000); t0 = time.time(); c0 = time.process_time()
    for i in range(0, steps * B, B):
        idx = perm[i:i + B]; out = fwd(X[idx], params)
        loss = torch.nn.functional.cross_entropy(out, Y[idx]) + 1e-4 * 0.5 * ((W1 ** 2).sum() + (W2 ** 2).sum())
        for p in params: p.grad = None
        loss.backward()
        with torch.no_grad():
            for p in params: p -= lr * p.grad
            step += 1; d = min(0.99, (1 + step) / (10 + step))
            for e, p in zip(ema, params): e.mul_(d).add_(p.detach(), alpha=1 - d)
    dt = time.time() - t0; cpu = time.process_time() - c0
    with torch.no_grad(): acc = (fwd(Xt, ema).argmax(1) == Yt).float().mean().item()
    print(f'epoch {ep+1} samples/s {steps * B / dt:.0f} epoch_s {dt:.2f} cpu_s {cpu:.2f} test_acc_ema {acc:.4f}', flush=True)
