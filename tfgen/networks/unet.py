"""The U-Net of the diffusion models, sized from the image shape.

Ho, Jain and Abbeel, "Denoising Diffusion Probabilistic Models", NeurIPS 2020,
Appendix B (after PixelCNN++ and Wide ResNets): a sinusoidal embedding of the
timestep fed through two dense layers into every residual block (added after
its second group norm, see `ResidualBlock`), residual blocks of group norm,
swish and 3x3 convolutions, self-attention at the low
resolutions, and skip connections from every level of the way down to the
same level of the way up.

The levels follow the rule of `tfgen.networks.shapes`: an image of s * 2**k
pixels has k + 1 levels (28x28: 28, 14, 7; 32x32: 32, 16, 8; 64x64: 64, 32,
16, 8), level l with `base_filters * multiplier_l` channels, the multiplier
doubling per level up to `max_multiplier` (DDPM's CIFAR-10 network is
(1, 2, 2, 2) with 128 filters). Each level has `num_res_blocks` residual
blocks, then a stride-2 convolution down; the middle has residual block,
attention, residual block; the way up concatenates each level's skip, has
`num_res_blocks` residual blocks and a nearest-neighbour upsampling with a
3x3 convolution. Attention is at every level of side at most
`attention_max_side` (8 by default: the start grid s of the shape rule, DDPM's
16x16 at 32x32 is the level above it).

Class-conditional networks (`num_classes`) add a learned embedding of the
class to the time embedding; the embedding table has one row more than there
are classes, the "null" class K of classifier-free guidance (Ho & Salimans
2022), which a conditional model trains on when it drops the label.

Under mixed precision the network computes in 16 bits except its output (the
predicted noise) and the timestep embedding, which stay in float32.
"""

import math

import keras

from tfgen import _checks
from tfgen.layers.precision import float32_layer
from tfgen.networks.shapes import IMAGE_SHAPE, check_image_shape, upsampling_plan


def timestep_embedding(timesteps, dim):
    """The sinusoidal embedding (Vaswani et al. 2017) of (batch,) timesteps: (batch, dim) float32,
    [sin(t w_i), cos(t w_i)] with w_i = 10000**(-i / (dim/2 - 1)) (DDPM's `get_timestep_embedding`)."""
    half = dim // 2
    scale = math.log(10000.0) / max(half - 1, 1)
    frequencies = keras.ops.exp(keras.ops.arange(half, dtype="float32") * -scale)
    angles = keras.ops.cast(timesteps, "float32")[:, None] * frequencies[None, :]
    embedding = keras.ops.concatenate([keras.ops.sin(angles), keras.ops.cos(angles)], axis=-1)
    if dim % 2:
        embedding = keras.ops.pad(embedding, [[0, 0], [0, 1]])
    return embedding


def _groups(channels):
    """Group norm's groups: 32 as in DDPM where each group keeps at least 4 channels, else the most groups of at
    least 4 channels that divide the channels (1 below 8 channels)."""
    return max([g for g in range(1, 33) if channels % g == 0 and channels // g >= 4] or [1])


@keras.saving.register_keras_serializable(package="tfgen")
class ResidualBlock(keras.layers.Layer):
    """GroupNorm, swish, 3x3 conv, GroupNorm, + dense(time embedding), swish, 3x3 conv, + a 1x1 skip when the
    channels change. The embedding is added after the second norm (DDPM adds it before; improved DDPM scales and
    shifts after): a group norm removes a per-channel constant from a group of one channel, so added before it,
    the timestep would not reach a narrow network at all. (No dropout: DDPM's 0.1 on CIFAR-10 would draw from a Keras seed stream, and every tfgen step
    is a pure function of its stateless seed.)"""

    def __init__(self, filters, input_channels, **kwargs):
        super().__init__(**kwargs)
        self.filters = _checks.positive_int("filters", filters)
        self.input_channels = _checks.positive_int("input_channels", input_channels)
        # Every sub-layer made here, not in build(): a mixed precision policy applied to the network after it is
        # made (`tfgen.training.precision.apply_policy`) reaches only the layers that exist then.
        self.norm1 = keras.layers.GroupNormalization(_groups(self.input_channels), name="norm1")
        self.conv1 = keras.layers.Conv2D(self.filters, 3, padding="same", name="conv1")
        self.time = keras.layers.Dense(self.filters, name="time")
        self.norm2 = keras.layers.GroupNormalization(_groups(self.filters), name="norm2")
        self.conv2 = keras.layers.Conv2D(self.filters, 3, padding="same", name="conv2")
        self.skip = keras.layers.Conv2D(self.filters, 1, name="skip") if self.input_channels != self.filters else None

    def call(self, inputs, training=False):
        images, embedding = inputs
        hidden = self.norm2(self.conv1(keras.ops.silu(self.norm1(images))))
        hidden = hidden + keras.ops.cast(self.time(keras.ops.silu(embedding)), hidden.dtype)[:, None, None, :]
        hidden = self.conv2(keras.ops.silu(hidden))
        return (images if self.skip is None else self.skip(images)) + hidden

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "input_channels": self.input_channels}


@keras.saving.register_keras_serializable(package="tfgen")
class SpatialAttention(keras.layers.Layer):
    """Single-head self-attention over the pixels of a feature map (DDPM's `attn_block`), with a residual."""

    def __init__(self, channels, **kwargs):
        super().__init__(**kwargs)
        self.channels = _checks.positive_int("channels", channels)
        self.norm = keras.layers.GroupNormalization(_groups(self.channels), name="norm")
        self.qkv = keras.layers.Dense(3 * self.channels, name="qkv")
        self.out = keras.layers.Dense(self.channels, name="out")

    def call(self, images):
        shape = keras.ops.shape(images)
        channels = images.shape[-1]
        flat = keras.ops.reshape(self.norm(images), [shape[0], -1, channels])
        query, key, value = keras.ops.split(self.qkv(flat), 3, axis=-1)
        weights = keras.ops.softmax(keras.ops.matmul(query, keras.ops.transpose(key, [0, 2, 1]))
                                    * keras.ops.cast(channels ** -0.5, query.dtype), axis=-1)
        attended = self.out(keras.ops.matmul(weights, value))
        return images + keras.ops.reshape(attended, shape)

    def get_config(self):
        return {**super().get_config(), "channels": self.channels}


@keras.saving.register_keras_serializable(package="tfgen")
class UNet(keras.Model):
    """The noise predictor eps(x_t, t[, y]) of a diffusion model (module docstring).

    Args:
        base_filters: the channels of the first level.
        num_res_blocks: residual blocks per level, on the way down and on the way up.
        max_multiplier: the channel multiplier doubles per level (1, 2, 4, ...) up to this.
        attention_max_side: self-attention at every level whose longer side is at most this many pixels (0: none).
        num_levels: the resolutions of the network (None: all that the shape rule gives, k + 1; fewer stop the way
            down earlier, the middle at a higher resolution).
        num_classes: None (unconditional), or the classes of a conditional network (its embedding has
            `num_classes + 1` rows: the last is the null class of classifier-free guidance).
        time_dim: the size of the timestep embedding (None: 4 * base_filters, as DDPM).
        image_shape: (height, width, channels) of the images.

    Call arguments:
        inputs: [noisy images (batch, H, W, C) in the model's [-1, 1] range, timesteps (batch,) integers in
            [0, T)] and, for a conditional network, class ids (batch,) in [0, num_classes] (num_classes: null).
        training: unused (no layer of the network behaves differently in training).

    Returns the predicted noise, (batch, H, W, C) float32.
    """

    def __init__(self, base_filters=64, num_res_blocks=2, max_multiplier=2, attention_max_side=8, num_levels=None,
                 num_classes=None, time_dim=None, image_shape=IMAGE_SHAPE, **kwargs):
        super().__init__(**kwargs)
        self.base_filters = _checks.positive_int("base_filters", base_filters)
        self.num_res_blocks = _checks.positive_int("num_res_blocks", num_res_blocks)
        self.max_multiplier = _checks.positive_int("max_multiplier", max_multiplier)
        self.attention_max_side = _checks.non_negative_int("attention_max_side", attention_max_side)
        self.num_classes = _checks.class_count("num_classes", num_classes) if num_classes is not None else None
        self.time_dim = _checks.positive_int("time_dim", time_dim, allow_none=True) or 4 * self.base_filters
        self.image_shape = check_image_shape(image_shape)
        _, _, downsamplings = upsampling_plan(self.image_shape)
        #: The `num_levels` asked (None: all); `num_levels` is what the network has.
        self.requested_levels = _checks.integer("num_levels", num_levels, minimum=1, maximum=downsamplings + 1,
                                                allow_none=True)
        self.num_levels = self.requested_levels or downsamplings + 1
        side = max(self.image_shape[:2])
        #: Per level: (channels, attention).
        self.levels = [(self.base_filters * min(2 ** level, self.max_multiplier),
                        0 < self.attention_max_side and side // 2 ** level <= self.attention_max_side)
                       for level in range(self.num_levels)]
        # The timestep embedding stays in float32 (its sines of t up to T); so does the output, the noise.
        self.time_in = float32_layer(keras.layers.Dense(self.time_dim, name="time_in"))
        self.time_out = keras.layers.Dense(self.time_dim, name="time_out")
        if self.num_classes is not None:
            # N(0, 1) rows (PyTorch's nn.Embedding, which the guidance papers' code uses): the time embedding it is
            # added to is O(1); Keras' default of uniform +-0.05 left the class at a twentieth of it, and a network
            # 2000 steps into training on MNIST hardly used its label (a shuffled label cost 0.5% more loss).
            self.class_embedding = keras.layers.Embedding(
                self.num_classes + 1, self.time_dim, embeddings_initializer=keras.initializers.RandomNormal(stddev=1.0),
                name="class_embedding")
        self.stem = keras.layers.Conv2D(self.base_filters, 3, padding="same", name="stem")
        # One attribute per layer: Keras 3 does not put layers held in a Python list into TensorFlow checkpoints.
        channels_in = self.base_filters
        for level, (channels, attention) in enumerate(self.levels):
            for block in range(self.num_res_blocks):
                setattr(self, f"down{level}_{block}", ResidualBlock(channels, channels_in, name=f"down{level}_{block}"))
                channels_in = channels
                if attention:
                    setattr(self, f"down{level}_{block}_attn", SpatialAttention(channels, name=f"down{level}_{block}_attn"))
            if level < self.num_levels - 1:
                setattr(self, f"downsample{level}", keras.layers.Conv2D(channels, 3, strides=2, padding="same",
                                                                        name=f"downsample{level}"))
        middle = self.levels[-1][0]
        self.middle1 = ResidualBlock(middle, middle, name="middle1")
        self.middle_attn = SpatialAttention(middle, name="middle_attn")
        self.middle2 = ResidualBlock(middle, middle, name="middle2")
        channels_in = middle
        for level in reversed(range(self.num_levels)):
            channels, attention = self.levels[level]
            channels_in += channels  # the skip of the level, concatenated
            for block in range(self.num_res_blocks):
                setattr(self, f"up{level}_{block}", ResidualBlock(channels, channels_in, name=f"up{level}_{block}"))
                channels_in = channels
                if attention:
                    setattr(self, f"up{level}_{block}_attn", SpatialAttention(channels, name=f"up{level}_{block}_attn"))
            if level > 0:
                channels_in = self.levels[level - 1][0]
                setattr(self, f"upsample{level}", keras.layers.Conv2D(channels_in, 3, padding="same",
                                                                      name=f"upsample{level}"))
        self.out_norm = keras.layers.GroupNormalization(_groups(self.base_filters), name="out_norm")
        self.out = float32_layer(keras.layers.Conv2D(self.image_shape[-1], 3, padding="same", name="out"))

    def call(self, inputs, training=False):
        images, timesteps = inputs[0], inputs[1]
        embedding = self.time_in(timestep_embedding(timesteps, self.time_dim))
        if self.num_classes is not None:
            embedding = embedding + keras.ops.cast(self.class_embedding(inputs[2]), embedding.dtype)
        embedding = self.time_out(keras.ops.silu(embedding))
        hidden = self.stem(images)
        skips = []
        for level, (_, attention) in enumerate(self.levels):
            for block in range(self.num_res_blocks):
                hidden = getattr(self, f"down{level}_{block}")([hidden, embedding], training=training)
                if attention:
                    hidden = getattr(self, f"down{level}_{block}_attn")(hidden)
            skips.append(hidden)
            if level < self.num_levels - 1:
                hidden = getattr(self, f"downsample{level}")(hidden)
        hidden = self.middle1([hidden, embedding], training=training)
        hidden = self.middle_attn(hidden)
        hidden = self.middle2([hidden, embedding], training=training)
        for level in reversed(range(self.num_levels)):
            _, attention = self.levels[level]
            hidden = keras.ops.concatenate([hidden, skips[level]], axis=-1)
            for block in range(self.num_res_blocks):
                hidden = getattr(self, f"up{level}_{block}")([hidden, embedding], training=training)
                if attention:
                    hidden = getattr(self, f"up{level}_{block}_attn")(hidden)
            if level > 0:
                hidden = keras.ops.repeat(keras.ops.repeat(hidden, 2, axis=1), 2, axis=2)
                hidden = getattr(self, f"upsample{level}")(hidden)
        return self.out(keras.ops.silu(self.out_norm(hidden)))

    def get_config(self):
        return {**super().get_config(), "base_filters": self.base_filters, "num_res_blocks": self.num_res_blocks,
                "max_multiplier": self.max_multiplier, "attention_max_side": self.attention_max_side,
                "num_levels": self.requested_levels, "num_classes": self.num_classes, "time_dim": self.time_dim,
                "image_shape": list(self.image_shape)}
