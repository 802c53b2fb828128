"""The one rule that sizes tfgen's convolutional networks from the image shape.

An image of height H and width W is built from a start grid of s_h x s_w
by k stride-2 (transposed) convolutions, each doubling the grid:

    H = s_h * 2**k,  W = s_w * 2**k,  4 <= s_h, s_w <= 8,  k >= 2,

the same k for the height and the width, and the smallest k that fits (the
largest start grid). The encoders and discriminators go the other way with
k stride-2 convolutions. Examples: 28 = 7 x 2**2 (MNIST: the seed's
networks), 32 = 8 x 2**2, 48 = 6 x 2**3, 64 = 8 x 2**3, 96 = 6 x 2**4,
128 = 8 x 2**4; 16 = 4 x 2**2 is the smallest size; 32 x 64 = (4 x 8) x 2**3.
Sizes no start grid gives (30, 17, 4, or 20 x 64, whose sides need
different k) raise a ValueError: resize the images (`tfgen.data.load(...,
image_size=...)`).

Images have 1 to 4 channels (grey, grey + alpha, RGB, RGBA). A decoder may
output more channels than the image has (`output_channels`), e.g. several
parameters of a likelihood per pixel.
"""

from tfgen import _checks

#: The image shape of tfgen's original models, MNIST's: every default is this.
IMAGE_SHAPE = (28, 28, 1)
#: The size of MNIST's training split, beside its image shape: the default of what is sized by the
#: training data (the unsupervised VHE's `num_examples`, one code per training example).
NUM_TRAIN_EXAMPLES = 60000
#: The smallest and largest side of the start grid.
MIN_START, MAX_START = 4, 8
#: The fewest stride-2 layers: the seed's networks have two.
MIN_LAYERS = 2
#: The most channels an image may have (RGBA).
MAX_CHANNELS = 4
#: Sizes that work, for error messages.
EXAMPLE_SIZES = (16, 28, 32, 48, 64, 96, 128)

RULE = (f"height and width must be s * 2**k with a start size s in [{MIN_START}, {MAX_START}] and the same "
        f"k >= {MIN_LAYERS} for both")


def _fits(height, width, layers):
    scale = 2**layers
    return all(size % scale == 0 and MIN_START <= size // scale <= MAX_START for size in (height, width))


def _plan(height, width):
    """(start_height, start_width, layers), or None when no start grid fits."""
    layers = MIN_LAYERS
    while min(height, width) >= MIN_START * 2**layers:
        if _fits(height, width, layers):
            return height // 2**layers, width // 2**layers, layers
        layers += 1
    return None


def _examples():
    sizes = ", ".join(f"{size}x{size}" for size in EXAMPLE_SIZES)
    return f"sizes that work: {sizes}, 32x64, 48x64"


def check_image_shape(image_shape, argument="image_shape"):
    """`image_shape` as a tuple of 3 Python ints (height, width, channels) that the networks can build.

    Args:
        image_shape: a list or tuple (height, width, channels).
        argument: the argument's name, for the message.

    Returns:
        (height, width, channels), Python ints.

    Raises:
        ValueError: not 3 positive integers, channels outside [1, 4], or a
            height and width that no start grid gives (the module docstring's
            rule); the message names `argument`, the value, the rule and
            sizes that work.
    """
    if not isinstance(image_shape, (list, tuple)) or len(image_shape) != 3:
        raise ValueError(f"{argument} must be (height, width, channels), 3 positive integers. "
                         f"Received: {argument}={image_shape!r}")
    try:
        height, width, channels = (_checks.positive_int(argument, size) for size in image_shape)
    except ValueError:
        raise ValueError(f"{argument} must be (height, width, channels), 3 positive integers. "
                         f"Received: {argument}={image_shape!r}") from None
    if channels > MAX_CHANNELS:
        raise ValueError(f"{argument} must have 1 to {MAX_CHANNELS} channels (grey, grey + alpha, RGB, RGBA). "
                         f"Received: {argument}={image_shape!r}")
    if _plan(height, width) is None:
        raise ValueError(f"tfgen's networks cannot build {height}x{width} images: {RULE} (28 = 7 * 2**2, "
                         f"64 = 8 * 2**3); {_examples()}. Resize the images. Received: {argument}={image_shape!r}")
    return height, width, channels


def upsampling_plan(image_shape):
    """(start_height, start_width, num_layers): the start grid and the number of stride-2 layers of `image_shape`.

    Args:
        image_shape: (height, width, channels).

    Returns:
        Python ints with height = start_height * 2**num_layers and width =
        start_width * 2**num_layers; (7, 7, 2) for 28x28, (8, 8, 3) for 64x64.

    Raises:
        ValueError: as `check_image_shape`.
    """
    height, width, _ = check_image_shape(image_shape)
    return _plan(height, width)
