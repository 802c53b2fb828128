"""The base class of tfgen's models: each model owns its loss, its training
step, its samples and its serving signatures; the one training loop in
`tfgen.training` drives them all."""

import keras
import tensorflow as tf

from tfgen.networks import IMAGE_SHAPE


def split_seed(seed, num):
    """`num` independent stateless seeds from one, or `num` Nones if `seed` is None."""
    if seed is None:
        return [None] * num
    return list(tf.unstack(tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), num=num)))


def normal_from_seeds(seeds, dim):
    """One N(0, I) vector of size `dim` per int64 seed: row i depends on seeds[i] alone.

    The serving signatures draw their randomness this way, so the same seed
    gives the same sample whatever else is in the batch.
    """
    seeds = tf.cast(seeds, tf.int64)
    return tf.map_fn(
        lambda s: tf.random.stateless_normal([dim], seed=tf.stack([s, tf.constant(0x7F4A7C15, tf.int64)])),
        seeds,
        fn_output_signature=tf.TensorSpec([dim], tf.float32),
    )


class GenerativeModel(keras.Model):
    """A generative model trained by tfgen's loop.

    Subclasses implement `compute_losses(batch, seed, training)` returning a
    dict of scalar metrics with a "loss" entry, list those names in
    `metric_names`, and give `sample` and `serving_endpoints`.

    Batches are dicts with "image" (float32, (batch, 28, 28, 1)) and, for
    models that use them, "label".
    """

    metric_names = ("loss",)
    image_shape = IMAGE_SHAPE
    #: True when `encode(images)` gives codes and `decode(z)` images with no
    #: other input: `tfgen.plotting.PlotCallback` then also draws the latent
    #: space and the grid of decoded latent points.
    unconditional_latent = False

    def check_images(self, images, argument="images"):
        """Raises a ValueError/TypeError naming the problem when `images` is not a batch of our images."""
        shape = tuple(images.shape)
        if len(shape) != 4 or tuple(shape[1:]) != tuple(self.image_shape):
            raise ValueError(
                f"{type(self).__name__} expects {argument} of shape (batch, {', '.join(map(str, self.image_shape))}). "
                f"Received: {argument}.shape={shape}"
            )
        if not images.dtype.is_floating:
            raise TypeError(
                f"{type(self).__name__} expects float {argument} in [0, 1]. Received: dtype={images.dtype.name}"
            )

    def compute_losses(self, batch, seed=None, training=False):
        raise NotImplementedError

    def train_step(self, batch, seed=None):
        """One optimizer step on `batch`; returns the batch's metrics.

        A pure function of the weights, the optimizer state, the batch and the
        stateless `seed` (an int tensor of shape (2,)). Under a
        `tf.distribute` strategy it runs once per replica; the loss is
        divided by the number of replicas because the optimizer sums the
        replicas' gradients.
        """
        with tf.GradientTape() as tape:
            metrics = self.compute_losses(batch, seed=seed, training=True)
            replicas = tf.distribute.get_strategy().num_replicas_in_sync
            scaled_loss = metrics["loss"] / tf.cast(replicas, metrics["loss"].dtype)
        variables = self.trainable_variables
        gradients = tape.gradient(scaled_loss, variables)
        self.optimizer.apply_gradients(zip(gradients, variables))
        return metrics

    def test_step(self, batch, seed=None):
        """The batch's metrics without training."""
        return self.compute_losses(batch, seed=seed, training=False)

    def build_from_batch(self, batch):
        """Creates the model's and the optimizer's variables from one example batch."""
        self.compute_losses(batch, seed=tf.constant([0, 0], tf.int64), training=False)
        # The loss touched every sub-network, so all variables now exist.
        self.built = True
        if getattr(self, "optimizer", None) is not None and not self.optimizer.built:
            self.optimizer.build(self.trainable_variables)

    def zeros_batch(self, size=1):
        """A batch of zeros in the model's training format, to create its variables."""
        return {"image": tf.zeros([size, *self.image_shape]), "label": tf.zeros([size], tf.int64)}

    def get_build_config(self):
        # The variables come from `build_from_batch`, not `build(input_shape)`:
        # record that, so `keras.saving.load_model` recreates them before
        # loading the weights of a `.keras` file.
        return {"built_from_batch": True} if self.built else None

    def build_from_config(self, config):
        if config and config.get("built_from_batch"):
            self.build_from_batch(self.zeros_batch())

    def sample(self, num_samples, seed=None):
        """`num_samples` images from the model, float32 in [0, 1]."""
        raise NotImplementedError

    def serving_endpoints(self):
        """{name: (function, input_signature)} for the SavedModel export."""
        raise NotImplementedError
