"""The gated PixelCNN: an autoregressive prior over a grid of discrete codes (the VQ-VAE's second stage).

van den Oord, Kalchbrenner, Vinyals, Espeholt, Graves and Kavukcuoglu,
"Conditional Image Generation with PixelCNN Decoders", NeurIPS 2016. The
logits at position (i, j) of a grid depend only on the positions before it
in raster order (the rows above, and the row's positions to the left), so

    log p(codes | y) = sum_(i, j) log p(code_ij | codes before (i, j), y).

Two stacks keep the receptive field free of the original PixelCNN's blind
spot. The vertical stack sees the rows strictly above; the horizontal stack
sees the row's positions strictly left of j, plus the vertical stack. The
masks are made by shifting, not by zeroing kernel weights (as in PixelCNN++,
Salimans et al. 2017):

* vertical: a (k//2 + 1) x k convolution over rows i - k//2 .. i, padded on
  the top, left and right; the first layer's output is shifted down a row;
* horizontal: a 1 x (k//2 + 1) convolution over columns j - k//2 .. j,
  padded on the left; the first layer's output is shifted right a column.

Every later layer is a gated residual block of each stack,

    v <- v + W_v gate(conv_v(v) + V_v h),
    x <- x + W_x gate(conv_x(x) + 1x1(v) + V_x h),      gate(a) = tanh(a_1) * sigmoid(a_2),

with h the class embedding (class-conditional networks). The horizontal
stack's v is the current layer's output at the same row: v at row i sees
rows < i only, so the horizontal path at (i, j) still sees nothing at or
after (i, j). The logits come from the horizontal stack through
ReLU, 1x1, ReLU, 1x1 to `num_codes` channels.

The input is the one-hot grid (batch, H, W, num_codes), float: its first
1x1 convolution is the code embedding, and a gradient of the logits with
respect to it shows what each position depends on
(tests/test_pixelcnn.py checks the masks that way).
"""

import keras

from tfgen import _checks
from tfgen.layers.precision import float32_layer


def _down_shift(x):
    """The grid moved down one row (row 0 zeros): row i holds row i - 1."""
    return keras.ops.pad(x, [[0, 0], [1, 0], [0, 0], [0, 0]])[:, :-1]


def _right_shift(x):
    """The grid moved right one column (column 0 zeros): column j holds column j - 1."""
    return keras.ops.pad(x, [[0, 0], [0, 0], [1, 0], [0, 0]])[:, :, :-1]


def _gate(a):
    first, second = keras.ops.split(a, 2, axis=-1)
    return keras.ops.tanh(first) * keras.ops.sigmoid(second)


@keras.saving.register_keras_serializable(package="tfgen")
class GatedPixelCNN(keras.Model):
    """Logits (batch, H, W, num_codes) of each code given the codes before it (module docstring).

    Args:
        num_codes: K, the codes' vocabulary (the VQ-VAE's codebook size).
        filters: the channels of both stacks.
        num_layers: the gated residual layers after the first (shifted) one.
        kernel_size: k, odd: the vertical stack's width and twice the
            horizontal stack's reach, plus one.
        num_classes: None (unconditional) or the classes of a learned class
            embedding added to every gate.
        output_filters: the hidden channels of the output head.
        **kwargs: base model arguments (`name`, ...).

    Call arguments:
        inputs: the one-hot grid (batch, H, W, num_codes), or a list
            [one-hot grid, one-hot labels (batch, num_classes)] when
            conditional.
    """

    def __init__(self, num_codes, filters=64, num_layers=7, kernel_size=3, num_classes=None, output_filters=256,
                 **kwargs):
        super().__init__(**kwargs)
        self.num_codes = _checks.positive_int("num_codes", num_codes)
        self.filters = _checks.positive_int("filters", filters)
        self.num_layers = _checks.non_negative_int("num_layers", num_layers)
        self.kernel_size = _checks.positive_int("kernel_size", kernel_size)
        if self.kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd (the vertical stack is centred on its column). "
                             f"Received: kernel_size={kernel_size}")
        self.num_classes = _checks.positive_int("num_classes", num_classes, allow_none=True)
        self.output_filters = _checks.positive_int("output_filters", output_filters)
        half = self.kernel_size // 2
        self.embed = keras.layers.Conv2D(filters, 1, use_bias=False, name="embed")
        self.first_vertical = keras.layers.Conv2D(filters, (half + 1, self.kernel_size), name="first_vertical")
        self.first_horizontal = keras.layers.Conv2D(filters, (1, half + 1), name="first_horizontal")
        for index in range(self.num_layers):
            setattr(self, f"vertical{index}", keras.layers.Conv2D(2 * filters, (half + 1, self.kernel_size),
                                                                  name=f"vertical{index}"))
            setattr(self, f"vertical{index}_out", keras.layers.Conv2D(filters, 1, name=f"vertical{index}_out"))
            setattr(self, f"horizontal{index}", keras.layers.Conv2D(2 * filters, (1, half + 1),
                                                                    name=f"horizontal{index}"))
            setattr(self, f"link{index}", keras.layers.Conv2D(2 * filters, 1, use_bias=False, name=f"link{index}"))
            setattr(self, f"horizontal{index}_out", keras.layers.Conv2D(filters, 1, name=f"horizontal{index}_out"))
            if self.num_classes is not None:
                setattr(self, f"class{index}", keras.layers.Dense(4 * filters, use_bias=False, name=f"class{index}"))
        self.head = keras.layers.Conv2D(self.output_filters, 1, name="head")
        self.logits = float32_layer(keras.layers.Conv2D(self.num_codes, 1, name="logits"))

    def _vertical_conv(self, layer, x):
        half = self.kernel_size // 2
        return layer(keras.ops.pad(x, [[0, 0], [half, 0], [half, half], [0, 0]]))

    def _horizontal_conv(self, layer, x):
        half = self.kernel_size // 2
        return layer(keras.ops.pad(x, [[0, 0], [0, 0], [half, 0], [0, 0]]))

    def call(self, inputs):
        if self.num_classes is None:
            grid, labels = inputs, None
        else:
            if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
                raise ValueError("A class-conditional GatedPixelCNN takes [one-hot grid, one-hot labels]. "
                                 f"Received: {type(inputs).__name__}")
            grid, labels = inputs
        embedded = self.embed(grid)
        vertical = _down_shift(self._vertical_conv(self.first_vertical, embedded))
        horizontal = _right_shift(self._horizontal_conv(self.first_horizontal, embedded)) + vertical
        for index in range(self.num_layers):
            v_pre = self._vertical_conv(getattr(self, f"vertical{index}"), vertical)
            h_pre = (self._horizontal_conv(getattr(self, f"horizontal{index}"), horizontal)
                     + getattr(self, f"link{index}")(v_pre))
            if labels is not None:
                v_class, h_class = keras.ops.split(getattr(self, f"class{index}")(labels), 2, axis=-1)
                v_pre = v_pre + v_class[:, None, None]
                h_pre = h_pre + h_class[:, None, None]
            vertical = vertical + getattr(self, f"vertical{index}_out")(_gate(v_pre))
            horizontal = horizontal + getattr(self, f"horizontal{index}_out")(_gate(h_pre))
        hidden = self.head(keras.ops.relu(horizontal))
        return self.logits(keras.ops.relu(hidden))

    def get_config(self):
        return {**super().get_config(), "num_codes": self.num_codes, "filters": self.filters,
                "num_layers": self.num_layers, "kernel_size": self.kernel_size, "num_classes": self.num_classes,
                "output_filters": self.output_filters}
