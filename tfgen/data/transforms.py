"""Image size and channels: one transform for every source (TFDS, folders, arrays).

`transform_image(image, image_size, channels)` turns one uint8 image
(height, width, channels) into the requested size and channel count:

* channels: an alpha channel is dropped (RGBA -> RGB, grey+alpha -> grey);
  then grey -> RGB repeats the grey value, RGB -> grey is
  `tf.image.rgb_to_grayscale` (ITU-R 601 weights), rounded;
* size: a centre crop to the target's aspect ratio (the crop keeps the
  middle of the image, the larger margin at the bottom/right when the excess
  is odd), then a resize: "area" (the mean of the covered pixels, exact for
  integer factors) when neither side grows, antialiased bilinear otherwise;
  rounded to uint8. An image already at the target size is left untouched.

`None` keeps the data's own size or channels (an alpha channel is still
dropped: the models see 1 or 3 channels).
"""

import re

import numpy as np
import tensorflow as tf

from tfgen import _checks
from tfgen._memory import check_fits

CHANNELS = (1, 3)


def parse_image_size(image_size, argument="image_size"):
    """(height, width) from an int N (N x N), a pair, or a string "N" / "HxW"; None stays None.

    Raises:
        ValueError: naming `argument` and the value, for anything else.
    """
    if image_size is None:
        return None
    value = image_size
    if isinstance(value, str):
        match = re.fullmatch(r"\s*(\d+)\s*(?:[xX]\s*(\d+)\s*)?", value)
        if not match:
            raise ValueError(f"{argument} must be N or HxW (e.g. 32 or 64x48). Received: {argument}={image_size!r}")
        value = (int(match.group(1)), int(match.group(2) or match.group(1)))
    elif not isinstance(value, (list, tuple)):
        value = (value, value)
    if len(value) != 2:
        raise ValueError(f"{argument} must be an int or (height, width). Received: {argument}={image_size!r}")
    try:
        height, width = (_checks.positive_int(argument, side) for side in value)
    except ValueError:
        raise ValueError(
            f"{argument} must be a positive int or a pair (height, width) of them. Received: {argument}={image_size!r}"
        ) from None
    # One image is resized in float32, with up to 4 channels: refused here when even that cannot be held.
    check_fits(f"{argument}={height}x{width}", 1, height * width * 4 * 4, lower=argument,
               per=" for one image (float32, up to 4 channels, while it is resized)")
    return height, width


def check_channels(channels, argument="channels"):
    """`channels` if it is None, 1 or 3, else a ValueError naming `argument`."""
    if channels is None:
        return None
    if isinstance(channels, (bool, np.bool_)) or channels not in CHANNELS:
        raise ValueError(f"{argument} must be 1 (grey) or 3 (RGB). Received: {argument}={channels!r}")
    return int(channels)


def output_channels(source_channels, channels):
    """The channel count `transform_image` gives for images with `source_channels`."""
    if channels is not None:
        return channels
    return {2: 1, 4: 3}.get(int(source_channels), int(source_channels))


def crop_box(height, width, target_height, target_width):
    """(top, left, crop height, crop width) of the centre crop of a height x width image to the target's aspect ratio.

    Works on Python ints or int tensors alike (the same integer arithmetic in both).
    """
    # Crop the width when the image is wider than the target: keep width' = height * tw / th (floored).
    crop_height = tf.minimum(height, (width * target_height) // target_width)
    crop_width = tf.minimum(width, (height * target_width) // target_height)
    return (height - crop_height) // 2, (width - crop_width) // 2, crop_height, crop_width


def _resize(image, height, width, target):
    """Resizes a float32 (h, w, c) image to `target`: area when shrinking, antialiased bilinear when growing."""
    shrink = tf.logical_and(height >= target[0], width >= target[1])
    return tf.cond(
        shrink,
        lambda: tf.image.resize(image, target, method="area"),
        lambda: tf.image.resize(image, target, method="bilinear", antialias=True),
    )


def _grey_to_rgb(image):
    return tf.repeat(image, 3, axis=-1)


def _rgb_to_grey(image):
    grey = tf.image.rgb_to_grayscale(tf.cast(image, tf.float32))
    return tf.cast(tf.clip_by_value(tf.round(grey), 0.0, 255.0), tf.uint8)


def transform_image(image, image_size=None, channels=None):
    """One uint8 image (height, width, channels) at `image_size` with `channels` (module docstring).

    Args:
        image: uint8 tensor (height, width, 1..4).
        image_size: None or (height, width) (see `parse_image_size`).
        channels: None, 1 or 3.

    Returns:
        A uint8 tensor (height', width', channels').
    """
    image = tf.convert_to_tensor(image)
    if image.shape[-1] is not None:  # known channels (arrays, TFDS): convert in Python
        source_channels = image.shape[-1]
        if source_channels in (2, 4):
            image = image[..., : source_channels - 1]
            source_channels -= 1
        if channels == 3 and source_channels == 1:
            image = _grey_to_rgb(image)
        elif channels == 1 and source_channels == 3:
            image = _rgb_to_grey(image)
    else:  # decoded files: the count is known when the graph runs
        depth = tf.shape(image)[-1]
        image = tf.cond(tf.logical_or(tf.equal(depth, 2), tf.equal(depth, 4)), lambda: image[..., :-1], lambda: image)
        depth = tf.shape(image)[-1]
        if channels == 3:
            image = tf.cond(tf.equal(depth, 1), lambda: _grey_to_rgb(image), lambda: image)
        elif channels == 1:
            image = tf.cond(tf.equal(depth, 3), lambda: _rgb_to_grey(image), lambda: image)
        if channels is not None:
            image = tf.ensure_shape(image, [None, None, channels])
    if image_size is None:
        return image
    target = tuple(int(side) for side in image_size)
    shape = tf.shape(image)
    height, width = shape[0], shape[1]
    top, left, crop_height, crop_width = crop_box(height, width, target[0], target[1])

    def resized():
        cropped = tf.cast(image[top: top + crop_height, left: left + crop_width], tf.float32)
        values = _resize(cropped, crop_height, crop_width, target)
        return tf.cast(tf.clip_by_value(tf.round(values), 0.0, 255.0), tf.uint8)

    same = tf.logical_and(tf.equal(height, target[0]), tf.equal(width, target[1]))
    result = tf.cond(same, lambda: image, resized)
    result.set_shape([target[0], target[1], image.shape[-1]])
    return result


def transform_images(images, image_size=None, channels=None, batch_size=256):
    """`transform_image` on every image of a uint8 array (N, height, width, channels); a uint8 NumPy array."""
    images = np.asarray(images)
    if image_size is None and output_channels(images.shape[-1], channels) == images.shape[-1]:
        return images
    fn = tf.function(lambda batch: tf.map_fn(
        lambda image: transform_image(image, image_size, channels), batch,
        fn_output_signature=tf.TensorSpec(None, tf.uint8)))
    return np.concatenate([fn(tf.constant(images[start: start + batch_size])).numpy()
                           for start in range(0, len(images), batch_size)])
