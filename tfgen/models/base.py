"""The base class of tfgen's models: each model owns its loss, its training
step, its samples, its serving signatures, its data contract, the figures
that show it and the settings its paper trains it with; the one training loop
in `tfgen.training` drives them all, and `tfgen.runs` assembles runs from
what the model declares."""

import dataclasses

import keras
import tensorflow as tf

from tfgen import _checks
from tfgen.networks import IMAGE_SHAPE, check_image_shape

#: The `num_samples` input of the VAE family's `log_importance_weights` serving signatures: the codes
#: drawn per image (a scalar, so one request asks for any number).
NUM_SAMPLES_SPEC = tf.TensorSpec([], tf.int32, name="num_samples")


@dataclasses.dataclass(frozen=True)
class Recipe:
    """How a model's paper (or seed post) trains it: what `tfgen train NAME` and the example do by default.

    Attributes:
        source: where the settings come from, for `--help` and the docs.
        model: constructor arguments that differ from the class defaults
            (the class defaults stay what older checkpoints were built with).
        dataset: the dataset of the paper's experiment.
        epochs: passes over the training data.
        batch_size: the global batch size.
        learning_rate: Adam's learning rate (the generator's, for a GAN).
        beta_1: Adam's beta_1 (the generator's, for a GAN).
        discriminator_learning_rate: a GAN's discriminator's Adam learning
            rate (None: the generator's).
        discriminator_beta_1: a GAN's discriminator's beta_1 (None: the generator's).
        binarization: the pixels' binarization (None: the model's data contract).
        plot_every: the period of the figures, in epochs.
        labels_per_class: semi-supervised models: labels kept per class
            (None: all).
        labelled_per_batch: semi-supervised models: labelled examples in every
            batch when labels are scarce (None: a tenth of the batch).
        sample_scores: GANs: score the samples with a classifier trained on
            the data (label accuracy, diversity, Fréchet distance) every epoch.
        classifier_epochs: the epochs of that classifier.
        seed: the run's seed.
    """

    source: str = ""
    model: dict = dataclasses.field(default_factory=dict)
    dataset: str = "mnist"
    epochs: int = 10
    batch_size: int = 32
    learning_rate: float = 1e-4
    beta_1: float = 0.9
    discriminator_learning_rate: float = None
    discriminator_beta_1: float = None
    binarization: str = None
    plot_every: int = 10
    labels_per_class: int = None
    labelled_per_batch: int = None
    sample_scores: bool = False
    classifier_epochs: int = 5
    seed: int = 0


class GenerativeModel(keras.Model):
    """A generative model trained by tfgen's loop.

    Subclasses implement `compute_losses(batch, seed, training)` returning a
    dict of scalar metrics with a "loss" entry, list those names in
    `metric_names`, and give `sample` and `serving_endpoints`.

    Batches are dicts with "image" (float32, (batch, *image_shape)) and, for
    models that use them, "label".

    Args:
        image_shape: (height, width, channels) of the images, (28, 28, 1) by
            default (a config written before this option existed loads as
            that). The networks derive their depth from it
            (`tfgen.networks.shapes`, which also says which sizes work).
        **kwargs: base model arguments (`name`, ...).

    What a subclass declares about itself (class attributes; `binarization`
    may also be a property that depends on the model's options):

    * its data contract: `binarization` ("dynamic", "threshold" or "none":
      how its training pixels are binarized by default), `label_format`
      ("int" class ids or "one_hot" rows in its batches), `requires_labels`
      (it cannot train on unlabelled data), `semi_supervised` (it trains on a
      labelled/unlabelled split, `tfgen.data.labelled_split`), `class_sets`
      (its batches carry class sets, `tfgen.data.ClassSetDataset`);
    * `figures`: the names of the figures that show it (drawn by
      `tfgen.plotting.PlotCallback`);
    * `recipe`: the settings its paper trains it with (`Recipe`).
    """

    metric_names = ("loss",)
    binarization = "dynamic"
    label_format = "int"
    requires_labels = False
    semi_supervised = False
    class_sets = False
    figures = ("losses", "samples")
    #: Figures drawn once after training (e.g. DCGAN's latent arithmetic).
    final_figures = ()
    recipe = Recipe()
    #: The conditional models' `sample(n, labels=...)` draws chosen classes.
    conditional = False

    def __init__(self, image_shape=IMAGE_SHAPE, **kwargs):
        super().__init__(**kwargs)
        #: (height, width, channels), Python ints: the shape of every image the model takes and makes.
        self.image_shape = check_image_shape(image_shape)

    def get_config(self):
        return {**super().get_config(), "image_shape": list(self.image_shape)}

    def check_images(self, images, argument="images"):
        """`images` as a tensor, checked to be a batch of our images: float pixel intensities in [0, 1].

        Raises a ValueError naming `argument` for a wrong shape, values outside
        [0, 1] (e.g. 0-255 intensities) or NaN/infinite values, and a TypeError
        for integer images. The values are checked by `check_pixel_values`:
        eagerly at once, in a graph by an assertion with the same message.
        """
        images = tf.convert_to_tensor(images)
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
        return self.check_pixel_values(images, argument)

    def check_pixel_values(self, images, argument="images"):
        """`images` (a float tensor of any shape), checked to hold finite pixel intensities in [0, 1].

        Eagerly: a ValueError naming `argument` and the received extremes. In
        a graph (`tf.function`, a serving signature): an assertion with the
        same message (`tf.errors.InvalidArgumentError` when it runs) on which
        the returned tensor depends. The cost is one elementwise comparison
        and one reduction; legitimate batches ({0, 1} binarized, or
        intensities in [0, 1]) always pass.
        """
        # NaN compares False, so NaN, infinities and values outside [0, 1] all leave `inside` False. (Not
        # written as any(not(...)): Grappler rewrites not(a <= b) as a > b, which lets NaN through.)
        inside = tf.reduce_all(tf.abs(images - 0.5) <= 0.5)
        message = f"{type(self).__name__} expects {argument} as pixel intensities in [0, 1] (float, finite)"
        if tf.executing_eagerly():
            if not bool(inside):
                raise ValueError(_checks.pixel_message(argument, images.numpy(), message))
            return images
        check = tf.debugging.Assert(inside, [message], name="check_pixel_values")
        with tf.control_dependencies([check]):
            return tf.identity(images)

    def check_num_samples(self, num_samples):
        """`num_samples` as a positive Python int (an integer tensor passes, checked where its value is known)."""
        if tf.is_tensor(num_samples):
            static = tf.get_static_value(num_samples)
            if static is not None and (not num_samples.dtype.is_integer or static.ndim or static < 1):
                raise ValueError(f"num_samples must be a positive integer. Received: num_samples={static!r}")
            return num_samples
        return _checks.positive_int("num_samples", num_samples)

    def compute_losses(self, batch, seed=None, training=False):
        raise NotImplementedError

    def train_step(self, batch, seed=None):
        """One optimizer step on `batch`; returns the batch's metrics (and `skipped_updates`, 0 or 1).

        A pure function of the weights, the optimizer state, the batch and the
        stateless `seed` (an int tensor of shape (2,)). Under a
        `tf.distribute` strategy it runs once per replica; the loss is
        divided by the number of replicas because the optimizer sums the
        replicas' gradients, and multiplied by the optimizer's loss scale
        (`optimizer.scale_loss`: a `keras.optimizers.LossScaleOptimizer`'s
        dynamic scale under mixed float16, else nothing). A non-finite loss
        or gradient skips the update (`apply_gradients_if_finite`).
        """
        state = self.state_snapshot()
        with tf.GradientTape() as tape:
            metrics = self.compute_losses(batch, seed=seed, training=True)
            replicas = tf.distribute.get_strategy().num_replicas_in_sync
            scaled_loss = self.optimizer.scale_loss(metrics["loss"] / tf.cast(replicas, metrics["loss"].dtype))
        variables = self.trainable_variables
        gradients = tape.gradient(scaled_loss, variables)
        skipped = self.apply_gradients_if_finite(self.optimizer, metrics["loss"], gradients, variables, state)
        return {**metrics, "skipped_updates": skipped}

    def state_snapshot(self):
        """The values of the model's non-trainable float variables (e.g. batch-norm statistics), before a step."""
        return [tf.identity(variable) for variable in self._non_trainable_state()]

    def _non_trainable_state(self):
        return [variable for variable in self.non_trainable_variables if tf.as_dtype(variable.dtype).is_floating]

    def apply_gradients_if_finite(self, optimizer, objective, gradients, variables, state=None):
        """Applies `gradients` unless the objective or a gradient is not finite; returns 1.0 if skipped, else 0.0.

        A skipped update leaves the weights and the optimizer's state
        (moments, iteration count) untouched, and puts back the non-trainable
        variables the step's forward pass moved (batch-norm statistics) from
        `state` (`state_snapshot()` taken before the step). Under a
        `tf.distribute` strategy every replica takes the same decision: a
        non-finite value on any replica skips the update on all of them.
        Works eagerly and under `tf.function`.

        With a `keras.optimizers.LossScaleOptimizer` (mixed float16) the
        gradients are those of the scaled loss, and a non-finite one with a
        finite objective is an overflow of the scale: the optimizer lowers
        the scale and skips that update, and it is not counted (0.0 is
        returned), unless the scale was already at most 1 (the gradient is
        then not finite in itself). A non-finite objective is always counted.
        """
        if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
            return self._apply_scaled_gradients_if_finite(optimizer, objective, gradients, variables, state)
        skipped = _on_any_replica(1.0 - tf.cast(_all_finite([objective, *gradients]), tf.float32))
        kept = [(gradient, variable) for gradient, variable in zip(gradients, variables) if gradient is not None]
        kept_variables = [variable for _, variable in kept]
        run_if(tf.equal(skipped, 0.0), lambda grads: optimizer.apply_gradients(zip(grads, kept_variables)),
               [gradient for gradient, _ in kept])
        self._put_back_state_if(tf.greater(skipped, 0.0), state)
        return skipped

    def _put_back_state_if(self, condition, state):
        """Puts back the non-trainable variables from `state` (`state_snapshot()`) when `condition` holds."""
        if state:
            targets = self._non_trainable_state()
            run_if(condition, lambda values: [target.assign(value) for target, value in zip(targets, values)], state)

    def _apply_scaled_gradients_if_finite(self, optimizer, objective, gradients, variables, state):
        """`apply_gradients_if_finite` for a `LossScaleOptimizer` (see there)."""
        kept = [(gradient, variable) for gradient, variable in zip(gradients, variables) if gradient is not None]
        bad_objective = _on_any_replica(1.0 - tf.cast(_all_finite([objective]), tf.float32))
        overflow = _on_any_replica(1.0 - tf.cast(_all_finite(gradients), tf.float32))
        at_floor = tf.cast(tf.less_equal(tf.cast(optimizer.dynamic_scale, tf.float32), 1.0), tf.float32)
        counted = tf.maximum(bad_objective, overflow * at_floor)
        # Every replica gives the optimizer the same verdict: an overflow anywhere is a NaN gradient everywhere, so
        # the optimizer lowers the scale and skips the update on all replicas (it only looks at its own gradients).
        verdict = tf.where(tf.equal(overflow, 0.0), 1.0, float("nan"))
        kept_variables = [variable for _, variable in kept]

        def judged(gradient):
            if isinstance(gradient, tf.IndexedSlices):
                return tf.IndexedSlices(judged(gradient.values), gradient.indices, gradient.dense_shape)
            return gradient * tf.cast(verdict, gradient.dtype)

        run_if(tf.equal(bad_objective, 0.0),
               lambda grads: optimizer.apply_gradients(zip(grads, kept_variables)),
               [judged(gradient) for gradient, _ in kept])
        self._put_back_state_if(tf.greater(tf.maximum(bad_objective, overflow), 0.0), state)
        return counted

    def test_step(self, batch, seed=None):
        """The batch's metrics without training."""
        return self.compute_losses(batch, seed=seed, training=False)

    # ------------------------------------------------------------- the epoch hook

    #: The variables `begin_epoch` sets. In a multi-worker job the trainer runs the hook on the chief alone
    #: and copies these variables from it to every worker, so all train on the same state.
    epoch_state = ()

    def begin_epoch(self, epoch):
        """Called by the trainer before epoch `epoch` (0-based) builds its batches; does nothing here.

        A model whose training needs work between epochs (the unsupervised
        VHE re-clusters its codes) does it here, in variables of the model
        (listed in `epoch_state`), so that its checkpoints hold the result.
        A run resumed inside an epoch calls the hook again for that epoch:
        it must then keep the state restored from the checkpoint, which is
        the state that epoch started with.
        """
        del epoch

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
        """`num_samples` images from the model, float32 in [0, 1].

        Conditional models take `sample(num_samples, seed=None, labels=None)`.
        """
        raise NotImplementedError

    def serving_endpoints(self):
        """{name: (function, input_signature)} for the SavedModel export."""
        raise NotImplementedError


def _all_finite(tensors):
    """A scalar bool tensor: every value of `tensors` is finite (tensors or `tf.IndexedSlices`; None is skipped)."""
    finite = tf.constant(True)
    for tensor in tensors:
        if tensor is None:
            continue
        values = tensor.values if isinstance(tensor, tf.IndexedSlices) else tensor
        finite = tf.logical_and(finite, tf.reduce_all(tf.math.is_finite(values)))
    return finite


def _on_any_replica(flag):
    """1.0 when the float32 `flag` (0.0 or 1.0) is 1.0 on some replica of the current strategy, else 0.0: the
    same on every replica (an all-reduce); `flag` itself outside a strategy with several replicas."""
    context = tf.distribute.get_replica_context()
    if context is not None and context.num_replicas_in_sync > 1:
        return tf.minimum(context.all_reduce(tf.distribute.ReduceOp.SUM, flag), 1.0)
    return flag


def run_if(condition, function, values):
    """Calls `function(values)` when the scalar bool `condition` holds (the same on every replica).

    `function` updates variables (an optimizer step, assignments); `values`
    is a list of tensors it needs (per replica under a strategy). Eagerly a
    Python `if`; in a graph a `tf.cond`. A strategy whose updates go through
    `merge_call` (MirroredStrategy on CPUs) cannot have that call inside a
    `tf.cond` taken in a replica context, so there the condition is taken in
    the cross-replica context and `function` runs on each replica again (as
    `keras.optimizers.LossScaleOptimizer` does).
    """
    def call(values):
        function(values)
        return tf.constant(True)

    if tf.executing_eagerly() and tf.distribute.get_strategy().num_replicas_in_sync == 1:
        if bool(condition):
            function(values)
        return
    if not tf.distribute.has_strategy() or tf.__internal__.distribute.strategy_supports_no_merge_call():
        tf.cond(condition, lambda: call(values), lambda: tf.constant(False))
        return

    def cross_replica(distribution, condition, values):
        decided = distribution.experimental_local_results(condition)[0]

        def everywhere():
            distribution.extended.call_for_each_replica(call, args=(values,))
            return tf.constant(True)

        tf.cond(decided, everywhere, lambda: tf.constant(False))

    tf.distribute.get_replica_context().merge_call(cross_replica, args=(condition, values))
