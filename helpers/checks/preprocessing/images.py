"""Image preprocessing beyond /255: rescaled twice, channels swapped."""

from __future__ import annotations

import numpy as np

from helpers import _validate
from helpers.checks import check, rule

NB_IMAGES = "book/preprocessing/07-image-preprocessing-beyond-255.ipynb"

RESCALED_TWICE = rule(
    "preprocessing.rescaled-twice", severity="error",
    title="The model rescales pixels itself, and the inputs are already rescaled",
    detects="The model contains a Rescaling layer that expects pixels in 0..255 (scale of "
            "1/50 or less, such as 1/255 or 1/127.5; EfficientNet and many keras.io "
            "examples build it in), while x is already within [-1.5, 1.5]: /255 or a "
            "preprocess_input was applied before the model, so the network sees values "
            "within about 0.01 of one number.",
    fix="Apply the scaling once: pass raw 0..255 pixels to a model that rescales inside, "
        "or remove its Rescaling layer if you keep preprocess_input outside.",
    doc=NB_IMAGES,
)
CHANNELS_SWAPPED = rule(
    "preprocessing.channels-swapped", severity="warning",
    title="The colour channels of the serving images are in the reverse order (BGR vs RGB)",
    detects="Images (last axis of 3 channels) whose per-channel means differ between x and "
            "x_serve, and match once the channel order of x_serve is reversed. OpenCV reads "
            "images as BGR, PIL and Keras as RGB; caffe-style preprocess_input (ResNet50, "
            "VGG16) also flips RGB to BGR, so using it on one side only swaps the channels.",
    fix="Convert the serving images to the training order (image[..., ::-1], or "
        "cv2.cvtColor(image, cv2.COLOR_BGR2RGB)), and apply the same preprocess_input "
        "on both sides.",
    doc=NB_IMAGES,
)


def _rescaling_layers(model) -> list:
    import keras

    found = []
    for layer in getattr(model, "layers", []):
        if isinstance(layer, keras.Model):
            found.extend(_rescaling_layers(layer))
        elif isinstance(layer, keras.layers.Rescaling):
            found.append(layer)
    return found


@check(RESCALED_TWICE.id)
def check_rescaled_twice(model, x, *, max_scale: float = 1 / 50,
                         scaled_range: float = 1.5) -> list:
    """A Rescaling layer for 0..255 pixels (scale at most ``max_scale``) inside the model
    (nested models included), while every value of ``x`` is within ``scaled_range`` of 0
    and ``x`` is not constant. Array inputs only; a model without such a layer is not
    judged."""
    _validate.as_model(model)
    layers = [layer for layer in _rescaling_layers(model)
              if np.all(np.abs(np.asarray(layer.scale, dtype=float)) <= max_scale)]
    if not layers:
        return []
    arr = _validate.as_array(x, "x", finite=False)
    values = arr[np.isfinite(arr)] if arr.dtype.kind == "f" else arr.astype(float)
    if values.size == 0 or np.ptp(values) == 0:
        return []
    low, high = float(values.min()), float(values.max())
    if max(abs(low), abs(high)) > scaled_range:
        return []
    layer = layers[0]
    scale = np.asarray(layer.scale, dtype=float).ravel()[0]
    offset = np.asarray(layer.offset, dtype=float).ravel()[0]
    seen = (low * scale + offset, high * scale + offset)
    return [RESCALED_TWICE.finding(
        f"Layer {layer.name!r} computes x * {scale:.4g} + {offset:.4g}, but x is already in "
        f"[{low:.3g}, {high:.3g}]: the layers after it see values in [{seen[0]:.3g}, "
        f"{seen[1]:.3g}].",
        layer=layer.name, scale=float(scale), offset=float(offset), x_min=low, x_max=high)]


@check(CHANNELS_SWAPPED.id)
def check_channels_swapped(x, x_serve, *, max_rows: int = 2000, min_gap: float = 0.25) -> list:
    """Per-channel means of images ``x`` and ``x_serve`` (arrays of shape (n, ..., 3)).

    Fires when some channel's serving mean is off by more than ``min_gap`` training
    standard deviations, the training channels differ among themselves by more than that,
    and reversing the serving channels brings every channel within a quarter of the
    original gap. Anything but 3-channel images with at least 2 axes besides the rows is
    not judged."""
    a = _validate.as_array(x, "x", finite=False)
    b = _validate.as_array(x_serve, "x_serve", finite=False)
    if a.ndim < 3 or b.ndim != a.ndim or a.shape[-1] != 3 or b.shape[-1] != 3:
        return []
    a = a[:max_rows].reshape(-1, 3).astype(float)
    b = b[:max_rows].reshape(-1, 3).astype(float)
    mean_a, sd = np.nanmean(a, axis=0), np.nanstd(a, axis=0)
    mean_b = np.nanmean(b, axis=0)
    unit = max(float(np.mean(sd)), 1e-12)
    as_is = np.abs(mean_b - mean_a) / unit
    flipped = np.abs(mean_b[::-1] - mean_a) / unit
    spread = float(np.ptp(mean_a)) / unit
    if as_is.max() <= min_gap or spread <= min_gap or flipped.max() > 0.25 * as_is.max():
        return []
    return [CHANNELS_SWAPPED.finding(
        f"Channel means of x are {np.round(mean_a, 3).tolist()}, of x_serve "
        f"{np.round(mean_b, 3).tolist()}: off by up to {as_is.max():.2g} standard deviations "
        f"as they are, and by {flipped.max():.2g} with the serving channels reversed.",
        train_means=mean_a.tolist(), serve_means=mean_b.tolist(), gap=float(as_is.max()),
        gap_reversed=float(flipped.max()))]
