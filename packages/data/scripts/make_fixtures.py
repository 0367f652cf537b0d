"""Makes the reference fixtures of @epg/data under src/__fixtures__/.

Run from packages/data:  python3 scripts/make_fixtures.py
Needs numpy and scipy; the Pillow fixtures also need Pillow (on Debian with pyenv:
`apt-get install python3-pil`, then `ln -s /usr/lib/python3/dist-packages/PIL /tmp/pilpath/PIL`
and run with PYTHONPATH=/tmp/pilpath).

Files:
- npz_savez.npz / npz_savez_compressed.npz: np.savez (stored, ZIP64 local headers) and
  np.savez_compressed (deflate) of arrays the tests rebuild from the same formulas.
- npy_*.npy: np.save output, compared byte for byte with our encoder.
- pil_resize.npz: Pillow Image.resize outputs (box/bilinear/bicubic, with and without a box) and
  guided-diffusion's center_crop_arr, for a seeded random source image.
- scipy_blur.npz: scipy.ndimage.gaussian_filter(mode='reflect', truncate=3) references, on a 9x11
  image and on a 3x2 image smaller than the kernel radius (the mirror repeats).
"""
import colorsys
import json
import os

import numpy as np
import scipy.ndimage

OUT = os.path.join(os.path.dirname(__file__), '..', 'src', '__fixtures__')
os.makedirs(OUT, exist_ok=True)


def formula_arrays():
    return {
        'a_u8': (np.arange(2 * 5 * 7 * 3) * 37 % 256).astype(np.uint8).reshape(2, 5, 7, 3),
        'b_f4': (np.arange(12, dtype=np.float32) * np.float32(0.25) - np.float32(1)).reshape(3, 4),
        'c_i8': np.array([-(2 ** 40), 0, 2 ** 40 + 3], dtype=np.int64),
        'd_f8': np.array([np.pi, -np.e], dtype=np.float64),
        'e_i4': (np.arange(6, dtype=np.int32) - 3).reshape(2, 3),
        'f_scalar': np.float64(2.5),
        'g_long': (np.arange(5000) % 7).astype(np.uint8),
    }


arrays = formula_arrays()
np.savez(os.path.join(OUT, 'npz_savez.npz'), **arrays)
np.savez_compressed(os.path.join(OUT, 'npz_savez_compressed.npz'), **arrays)
np.savez(os.path.join(OUT, 'npz_positional.npz'), arrays['a_u8'], arrays['e_i4'])
for k in ('a_u8', 'b_f4', 'c_i8', 'd_f8', 'e_i4'):
    np.save(os.path.join(OUT, f'npy_{k}.npy'), arrays[k])

# scipy Gaussian blur references (edges mirrored, mode 'reflect'; kernel radius int(3 sigma + 0.5) as truncate=3 gives).
rng = np.random.default_rng(5)
blur_src = rng.random((9, 11, 3)).astype(np.float32)
blur = {'src': blur_src}
for i, sigma in enumerate([0.1, 0.7, 2.0]):
    blur[f'sigma_{i}'] = np.array(sigma)
    blur[f'out_{i}'] = np.stack(
        [scipy.ndimage.gaussian_filter(blur_src[..., c].astype(np.float64), sigma, mode='reflect', truncate=3.0) for c in range(3)],
        axis=-1,
    ).astype(np.float32)
blur['small_src'] = rng.random((3, 2, 1)).astype(np.float32)
blur['small_out'] = scipy.ndimage.gaussian_filter(blur['small_src'][..., 0].astype(np.float64), 2.0, mode='reflect', truncate=3.0)[..., None].astype(np.float32)
np.savez(os.path.join(OUT, 'scipy_blur.npz'), **blur)

# Hue rotation reference from colorsys.
hue_cases = []
for rgb, shift in [((0.9, 0.2, 0.1), 0.1), ((0.1, 0.5, 0.8), -0.07), ((0.3, 0.3, 0.3), 0.05), ((0.0, 1.0, 0.2), 0.5)]:
    h, s, v = colorsys.rgb_to_hsv(*rgb)
    hue_cases.append({'rgb': rgb, 'shift': shift, 'out': colorsys.hsv_to_rgb((h + shift) % 1.0, s, v)})
with open(os.path.join(OUT, 'hue_colorsys.json'), 'w') as f:
    json.dump(hue_cases, f, indent=1)

# RandomResizedCrop statistics: torchvision transforms.RandomResizedCrop.get_params, rewritten here
# with numpy's generator (scale (0.08, 1), ratio (3/4, 4/3)); area fraction and aspect of 200k draws.
def rrc_params(rng, height, width, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3)):
    area = height * width
    log_ratio = (np.log(ratio[0]), np.log(ratio[1]))
    for _ in range(10):
        target_area = area * rng.uniform(scale[0], scale[1])
        aspect_ratio = np.exp(rng.uniform(log_ratio[0], log_ratio[1]))
        w = int(round(np.sqrt(target_area * aspect_ratio)))
        h = int(round(np.sqrt(target_area / aspect_ratio)))
        if 0 < w <= width and 0 < h <= height:
            return h, w
    in_ratio = width / height
    if in_ratio < min(ratio):
        w, h = width, int(round(width / min(ratio)))
    elif in_ratio > max(ratio):
        h, w = height, int(round(height * max(ratio)))
    else:
        w, h = width, height
    return h, w


crop_stats = {}
rng = np.random.default_rng(11)
for size in (32, 256):
    hw = np.array([rrc_params(rng, size, size) for _ in range(200000)], dtype=np.float64)
    frac = hw[:, 0] * hw[:, 1] / (size * size)
    crop_stats[str(size)] = {
        'area_mean': float(frac.mean()),
        'area_q05': float(np.quantile(frac, 0.05)),
        'area_q50': float(np.quantile(frac, 0.5)),
        'area_q95': float(np.quantile(frac, 0.95)),
        'area_min': float(frac.min()),
        'area_max': float(frac.max()),
        'full_fraction': float(np.mean(frac == 1.0)),
    }
with open(os.path.join(OUT, 'crop_stats.json'), 'w') as f:
    json.dump(crop_stats, f, indent=1)

try:
    from PIL import Image
except ImportError:
    Image = None
    print('Pillow not found: pil_resize.npz left as it is')

if Image is not None:
    def center_crop_arr(pil_image, image_size):
        # guided-diffusion/guided_diffusion/image_datasets.py (ADM), verbatim logic.
        while min(*pil_image.size) >= 2 * image_size:
            pil_image = pil_image.resize(tuple(x // 2 for x in pil_image.size), resample=Image.BOX)
        scale = image_size / min(*pil_image.size)
        pil_image = pil_image.resize(tuple(round(x * scale) for x in pil_image.size), resample=Image.BICUBIC)
        arr = np.array(pil_image)
        crop_y = (arr.shape[0] - image_size) // 2
        crop_x = (arr.shape[1] - image_size) // 2
        return arr[crop_y: crop_y + image_size, crop_x: crop_x + image_size]

    rng = np.random.default_rng(7)
    src = rng.integers(0, 256, size=(37, 23, 3), dtype=np.uint8)
    src_big = rng.integers(0, 256, size=(97, 140, 3), dtype=np.uint8)
    src_gray = rng.integers(0, 256, size=(28, 28), dtype=np.uint8)
    im = Image.fromarray(src)
    out = {
        'src': src,
        'src_big': src_big,
        'src_gray': src_gray,
        # sizes are (height, width); PIL takes (width, height)
        'bilinear_16x20': np.asarray(im.resize((20, 16), Image.BILINEAR)),
        'bicubic_50x40': np.asarray(im.resize((40, 50), Image.BICUBIC)),
        'box_18x11': np.asarray(im.resize((11, 18), Image.BOX)),
        'bilinear_box_32x32': np.asarray(im.resize((32, 32), Image.BILINEAR, box=(3, 4, 20, 30))),
        'bicubic_box_9x9': np.asarray(im.resize((9, 9), Image.BICUBIC, box=(2, 10, 22, 35))),
        'adm_crop_32': center_crop_arr(Image.fromarray(src_big), 32),
        'adm_crop_64': center_crop_arr(Image.fromarray(src_big), 64),
        'gray_bicubic_32x32': np.asarray(Image.fromarray(src_gray).resize((32, 32), Image.BICUBIC)),
    }
    np.savez(os.path.join(OUT, 'pil_resize.npz'), **out)
print('fixtures written to', os.path.abspath(OUT))
