"""DCGAN-style generator, discriminator and InfoGAN Q head, sized from the image shape.

Radford, Metz and Chintala, "Unsupervised Representation Learning with Deep
Convolutional Generative Adversarial Networks", ICLR 2016: no pooling
(strided convolutions), batch norm, ReLU in G and LeakyReLU in D, tanh
output. Layers followed by batch norm have no bias: batch norm removes any
constant, so the bias would get a zero gradient and never train.

The image (H, W, C) is s_h x s_w x 2**k (`tfgen.networks.shapes`; k = 2 at
28x28, 3 at 64x64). At 28x28x1 the networks are the seed's:

Generator: [Dense, BN, ReLU] x len(hidden_units), Dense 7*7*2f, BN, ReLU,
Reshape 7x7x2f, ConvT f 4x4 s2, BN, ReLU, ConvT 1 4x4 s2, tanh -> 28x28x1 in [-1, 1].
In general: Dense s_h*s_w*(f * 2**(k-1)), then k - 1 ConvT + BN + ReLU that
halve the filters (..., 2f, f) and a last ConvT to C channels, tanh.

Discriminator: (LabelPlanes), Conv f 4x4 s2, LeakyReLU, Conv 2f 4x4 s2, (BN),
LeakyReLU, Flatten -> body features; (concat one-hot label), Dense 1 -> logit.
In general k convolutions of f, 2f, 4f, ... filters, batch norm after each but the first.
With `spectral_norm`, every convolution and Dense layer of D is wrapped in
`tfgen.layers.SpectralNormalization` (Miyato et al. 2018).
"""

import keras

from tfgen import _checks
from tfgen import labels as labels_lib
from tfgen.layers.conditioning import LabelPlanes
from tfgen.layers.precision import float32_layer
from tfgen.layers.spectral_normalization import SpectralNormalization
from tfgen.networks.shapes import IMAGE_SHAPE, check_image_shape, upsampling_plan

LABEL_INPUTS = (None, "planes", "vector")


@keras.saving.register_keras_serializable(package="tfgen")
class DCGANGenerator(keras.Model):
    """Maps latent vectors (optionally joined with a condition) to images in [-1, 1].

    Args:
        base_filters: f, the filters of the last hidden transposed convolution
            (the start grid has f * 2**(k-1): 2f at 28x28, 4f at 64x64).
        hidden_units: sizes of the Dense + BN + ReLU layers applied first
            (the conditional GAN's "a few dense layers" that merge z and the
            label); empty for DCGAN.
        image_shape: (height, width, channels) of the images.
        **kwargs: base model arguments.

    Call arguments:
        inputs: a tensor (batch, input_dim), or a list of such tensors (e.g.
            `[z, one_hot_label]`) that is concatenated along the last axis.
        training: batch norm in training mode.
    """

    def __init__(self, base_filters=64, hidden_units=(), image_shape=IMAGE_SHAPE, **kwargs):
        super().__init__(**kwargs)
        self.base_filters = _checks.positive_int("base_filters", base_filters)
        self.hidden_units = _checks.positive_ints("hidden_units", hidden_units)
        self.image_shape = check_image_shape(image_shape)
        start_height, start_width, self.num_layers = upsampling_plan(self.image_shape)
        # One attribute per layer: Keras 3 does not put layers held in a Python
        # list into TensorFlow checkpoints.
        for index, units in enumerate(self.hidden_units):
            setattr(self, f"dense{index}", keras.layers.Dense(units, use_bias=False, name=f"dense{index}"))
            setattr(self, f"dense{index}_bn", keras.layers.BatchNormalization(name=f"dense{index}_bn"))
        start_filters = self.base_filters * 2 ** (self.num_layers - 1)
        self.project = keras.layers.Dense(start_height * start_width * start_filters, use_bias=False, name="project")
        self.project_bn = keras.layers.BatchNormalization(name="project_bn")
        self.reshape = keras.layers.Reshape((start_height, start_width, start_filters), name="reshape")
        for index in range(1, self.num_layers):
            filters = self.base_filters * 2 ** (self.num_layers - 1 - index)
            setattr(self, f"deconv{index}", keras.layers.Conv2DTranspose(
                filters, 4, strides=2, padding="same", use_bias=False, name=f"deconv{index}"))
            setattr(self, f"deconv{index}_bn", keras.layers.BatchNormalization(name=f"deconv{index}_bn"))
        last = f"deconv{self.num_layers}"
        # float32 under mixed precision: the images.
        setattr(self, last, float32_layer(keras.layers.Conv2DTranspose(self.image_shape[-1], 4, strides=2, padding="same",
                                                                       activation="tanh", name=last)))

    def call(self, inputs, training=False):
        if isinstance(inputs, (list, tuple)):
            inputs = keras.ops.concatenate(list(inputs), axis=-1)
        hidden = inputs
        for index in range(len(self.hidden_units)):
            dense, batch_norm = getattr(self, f"dense{index}"), getattr(self, f"dense{index}_bn")
            hidden = keras.ops.relu(batch_norm(dense(hidden), training=training))
        hidden = self.reshape(keras.ops.relu(self.project_bn(self.project(hidden), training=training)))
        for index in range(1, self.num_layers):
            deconv, batch_norm = getattr(self, f"deconv{index}"), getattr(self, f"deconv{index}_bn")
            hidden = keras.ops.relu(batch_norm(deconv(hidden), training=training))
        return getattr(self, f"deconv{self.num_layers}")(hidden)

    def get_config(self):
        return {**super().get_config(), "base_filters": self.base_filters, "hidden_units": list(self.hidden_units),
                "image_shape": list(self.image_shape)}


@keras.saving.register_keras_serializable(package="tfgen")
class DCGANDiscriminator(keras.Model):
    """Maps images in [-1, 1] (and optionally labels) to one real/fake logit.

    Args:
        base_filters: f, the filters of the first convolution (the next have
            2f, 4f, ...: k stride-2 convolutions, 2 at 28x28, 3 at 64x64).
        batch_norm: batch norm after every convolution but the first (DCGAN;
            never on the input layer).
        label_input: how the label reaches D. None: no label (DCGAN, InfoGAN).
            "planes": `LabelPlanes` joins 10 constant planes to the image
            before the first convolution (the seed's working CGAN, 11 input
            channels). "vector": the one-hot label is concatenated to the
            flattened features just before the final Dense, so it can only
            shift the logit by a per-class constant: D cannot judge whether
            the image fits the label, the generator gets no reason to use it,
            and it ignores the label (the seed's collapsed CGAN, Day 10).
        num_classes: the number of classes, when `label_input` is set.
        leaky_slope: the LeakyReLU negative slope.
        hidden_units: Dense layers (each + batch norm when `batch_norm`, then
            LeakyReLU) after the convolutions; their output is the body's
            features. InfoGAN's MNIST discriminator has one of 1024, shared
            with Q (Chen et al. 2016, appendix C). Default: none.
        spectral_norm: wrap every convolution and Dense layer (the logit's
            too) in `tfgen.layers.SpectralNormalization` (Miyato et al. 2018),
            named after it (`conv1_spectral_norm` holds `conv1`).
        logit_bias: the logit's Dense layer has a bias. A Wasserstein critic's
            has none: its loss, mean D(G(z)) - mean D(x), its gradient
            penalty and its generator's loss are all blind to a constant,
            so a bias would never get a gradient.
        image_shape: (height, width, channels) of the images.
        **kwargs: base model arguments.

    Call arguments:
        inputs: images (batch, *image_shape), or `[images, labels]` when
            `label_input` is set (labels: int ids (batch,) or one-hot).
        training: batch norm in training mode.
        return_features: also return the body's features (the InfoGAN Q
            head shares them): the call returns `(logits, features)`.

    Returns:
        Logits of shape (batch, 1).
    """

    def __init__(self, base_filters=64, batch_norm=True, label_input=None, num_classes=10, leaky_slope=0.2,
                 hidden_units=(), image_shape=IMAGE_SHAPE, spectral_norm=False, logit_bias=True, **kwargs):
        super().__init__(**kwargs)
        _checks.choice("label_input", label_input, LABEL_INPUTS)
        self.base_filters = _checks.positive_int("base_filters", base_filters)
        self.batch_norm = _checks.boolean("batch_norm", batch_norm)
        self.spectral_norm = _checks.boolean("spectral_norm", spectral_norm)
        self.logit_bias = _checks.boolean("logit_bias", logit_bias)
        self.label_input = label_input
        self.num_classes = _checks.class_count("num_classes", num_classes)
        self.leaky_slope = _checks.non_negative_number("leaky_slope", leaky_slope)
        self.image_shape = check_image_shape(image_shape)
        self.num_layers = upsampling_plan(self.image_shape)[2]
        filters = self.base_filters
        self.planes = LabelPlanes(self.num_classes, name="label_planes") if label_input == "planes" else None
        self.conv1 = self._normalized(keras.layers.Conv2D(filters, 4, strides=2, padding="same", name="conv1"))
        for index in range(2, self.num_layers + 1):
            setattr(self, f"conv{index}", self._normalized(keras.layers.Conv2D(
                filters * 2 ** (index - 1), 4, strides=2, padding="same", use_bias=not self.batch_norm,
                name=f"conv{index}")))
            setattr(self, f"conv{index}_bn",
                    keras.layers.BatchNormalization(name=f"conv{index}_bn") if self.batch_norm else None)
        self.flatten = keras.layers.Flatten(name="flatten")
        self.hidden_units = _checks.positive_ints("hidden_units", hidden_units)
        # One attribute per layer, as in DCGANGenerator: Keras 3 does not put layers held in a
        # Python list into TensorFlow checkpoints.
        for index, units in enumerate(self.hidden_units):
            setattr(self, f"dense{index}", self._normalized(keras.layers.Dense(units, use_bias=not self.batch_norm,
                                                                                name=f"dense{index}")))
            if self.batch_norm:
                setattr(self, f"dense{index}_bn", keras.layers.BatchNormalization(name=f"dense{index}_bn"))
        # float32 under mixed precision
        self.logit = float32_layer(self._normalized(keras.layers.Dense(1, use_bias=self.logit_bias, name="logit")))

    def _normalized(self, layer):
        """`layer`, wrapped in `SpectralNormalization` when the discriminator has `spectral_norm`."""
        return SpectralNormalization(layer, name=f"{layer.name}_spectral_norm") if self.spectral_norm else layer

    def call(self, inputs, training=False, return_features=False):
        if self.label_input is None:
            images, labels = inputs, None
        else:
            if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
                raise ValueError(
                    f"A discriminator with label_input={self.label_input!r} expects inputs=[images, labels]. "
                    f"Received: {type(inputs).__name__}"
                )
            images, labels = inputs
        hidden = self.planes([images, labels]) if self.label_input == "planes" else images
        hidden = keras.ops.leaky_relu(self.conv1(hidden), self.leaky_slope)
        for index in range(2, self.num_layers + 1):
            hidden = getattr(self, f"conv{index}")(hidden)
            batch_norm = getattr(self, f"conv{index}_bn")
            if batch_norm is not None:
                hidden = batch_norm(hidden, training=training)
            hidden = keras.ops.leaky_relu(hidden, self.leaky_slope)
        features = self.flatten(hidden)
        for index in range(len(self.hidden_units)):
            features = getattr(self, f"dense{index}")(features)
            if self.batch_norm:
                features = getattr(self, f"dense{index}_bn")(features, training=training)
            features = keras.ops.leaky_relu(features, self.leaky_slope)
        head_input = features
        if self.label_input == "vector":
            one_hot = labels_lib.one_hot(labels, self.num_classes, "labels", allow_column=True, dtype=features.dtype)
            head_input = keras.ops.concatenate([features, one_hot], axis=-1)
        logits = self.logit(head_input)
        return (logits, features) if return_features else logits

    def get_config(self):
        return {
            **super().get_config(),
            "base_filters": self.base_filters,
            "batch_norm": self.batch_norm,
            "label_input": self.label_input,
            "num_classes": self.num_classes,
            "leaky_slope": self.leaky_slope,
            "hidden_units": list(self.hidden_units),
            "image_shape": list(self.image_shape),
            "spectral_norm": self.spectral_norm,
            "logit_bias": self.logit_bias,
        }


@keras.saving.register_keras_serializable(package="tfgen")
class InfoGANQHead(keras.Model):
    """Q(c | x) of InfoGAN on top of the discriminator's body features.

    Chen et al. 2016 (appendix C): Q shares all convolutional layers with D
    and adds one fully connected layer; its outputs parametrize a
    categorical distribution (logits) and a factored Gaussian (mean and
    log-std) over the continuous codes.

    Args:
        num_categories: the size of the categorical code (0 for none).
        num_continuous: the number of continuous codes (0 for none).
        hidden_units: the size of the shared Dense + BN + LeakyReLU layer.
        learn_std: predict the Gaussian's log-std; if False it is fixed at
            0 (unit variance: the MI term becomes half the squared error).
        leaky_slope: the LeakyReLU negative slope.
        **kwargs: base model arguments.

    Call arguments:
        inputs: the discriminator's features (batch, features).
        training: batch norm in training mode.

    Returns:
        `(categorical_logits, continuous_mean, continuous_log_std)` of
        shapes (batch, num_categories), (batch, num_continuous), (batch, num_continuous).
    """

    def __init__(self, num_categories=10, num_continuous=2, hidden_units=128, learn_std=True, leaky_slope=0.2, **kwargs):
        super().__init__(**kwargs)
        self.num_categories = _checks.non_negative_int("num_categories", num_categories)
        self.num_continuous = _checks.non_negative_int("num_continuous", num_continuous)
        self.hidden_units = _checks.positive_int("hidden_units", hidden_units)
        self.learn_std = _checks.boolean("learn_std", learn_std)
        self.leaky_slope = _checks.non_negative_number("leaky_slope", leaky_slope)
        self.dense = keras.layers.Dense(self.hidden_units, use_bias=False, name="dense")
        self.dense_bn = keras.layers.BatchNormalization(name="dense_bn")
        outputs = self.num_categories + self.num_continuous * (2 if self.learn_std else 1)
        self.outputs_layer = float32_layer(keras.layers.Dense(outputs, name="codes"))  # float32 under mixed precision

    def call(self, inputs, training=False):
        hidden = keras.ops.leaky_relu(self.dense_bn(self.dense(inputs), training=training), self.leaky_slope)
        outputs = self.outputs_layer(hidden)
        categories, continuous = self.num_categories, self.num_continuous
        logits = outputs[:, :categories]
        mean = outputs[:, categories : categories + continuous]
        if self.learn_std:
            log_std = outputs[:, categories + continuous :]
        else:
            log_std = keras.ops.zeros_like(mean)
        return logits, mean, log_std

    def get_config(self):
        return {
            **super().get_config(),
            "num_categories": self.num_categories,
            "num_continuous": self.num_continuous,
            "hidden_units": self.hidden_units,
            "learn_std": self.learn_std,
            "leaky_slope": self.leaky_slope,
        }
