"""MNIST IDX files (raw or .gz) as float tensors in [0, 1], shared by the PyTorch peers."""
import gzip, os, struct
import numpy as np, torch


def _read(path):
    for candidate in (path, path + '.gz'):
        if os.path.exists(candidate):
            opener = gzip.open if candidate.endswith('.gz') else open
            with opener(candidate, 'rb') as f:
                return f.read()
    raise FileNotFoundError(f'{path} (raw or .gz) not found')


def images(path):
    b = _read(path); n = struct.unpack('>I', b[4:8])[0]
    return torch.from_numpy(np.frombuffer(b, np.uint8, offset=16).reshape(n, 784).astype(np.float32) / 255)


def labels(path):
    b = _read(path); return torch.from_numpy(np.frombuffer(b, np.uint8, offset=8).astype(np.int64))


def load(root, train_count=55000):
    """The split Digit Studio trains on: the first 55,000 training images, and the 10,000 test images."""
    X = images(root + '/train-images-idx3-ubyte'); Y = labels(root + '/train-labels-idx1-ubyte')
    Xt = images(root + '/t10k-images-idx3-ubyte'); Yt = labels(root + '/t10k-labels-idx1-ubyte')
    return X[:train_count], Y[:train_count], Xt, Yt
