"""The base class of tfgen's models: each model owns its loss, its training
step, its samples, its serving signatures, its data contract, the figures
that show it and the settings its paper trains it with; the one training loop
in `tfgen.training` drives them all, and `tfgen.runs` assembles runs from
what the model declares."""

import dataclasses
import warnings

import keras
import numpy as np
import tensorflow as tf

from tfgen import _checks
from tfgen import labels as labels_lib
from tfgen.networks import IMAGE_SHAPE, check_image_shape

#: The `num_samples` input of the VAE family's `log_importance_weights` serving signatures: the codes
#: drawn per image (a scalar, so one request asks for any number).
NUM_SAMPLES_SPEC = tf.TensorSpec([], tf.int32, name="num_samples")

#: The values of `GenerativeModel.likelihood_kind`: which test log-likelihood the model's
#: `log_importance_weights` estimates (`tfgen.evaluation.likelihood.likelihood_scores`).
#: "vae": log p(x); "conditional": log p(x | y) given the label; "semi_supervised": log p(x | y), and log p(x)
#: with the label summed out (`classify` gives q(y|x)); "class_set": log p(x | D) given a class set D;
#: "marginal_vhe": log p(x) of the VHE without labels (its export's `marginal_log_importance_weights`).
LIKELIHOOD_KINDS = ("vae", "conditional", "semi_supervised", "class_set", "marginal_vhe")
#: The sections of `tfgen evaluate`'s report (`GenerativeModel.scores`), in report order: "likelihood" (models
#: with a `likelihood_kind`), "classification_error" (models that classify), "mmd" (the MMD-VAE: `encode` to
#: codes and `reconstruct`), "variational_bound" (the diffusion models: `variational_bound(images, seeds,
#: labels)`, an unbiased per-image estimate of the bound on -log p(x) in nats), "samples" (the sample scores of a
#: classifier).
SCORES = ("likelihood", "classification_error", "mmd", "variational_bound", "samples")


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

    What a subclass declares about itself, as class attributes, so that the
    rest of tfgen reads them instead of probing the model (`hasattr`), and
    can read them off the class without weights (an export is scored from
    the class its manifest names); `binarization` may also be a property
    that depends on the model's options, and `num_classes` and
    `decoder_likelihood` are set by the constructors of the models that have
    them:

    * its data contract: `binarization` ("dynamic", "threshold" or "none":
      how its training pixels are binarized by default), `label_format`
      ("int" class ids or "one_hot" rows in its batches), `requires_labels`
      (it cannot train on unlabelled data), `semi_supervised` (it trains on a
      labelled/unlabelled split, `tfgen.data.labelled_split`), `class_sets`
      (its batches carry class sets of `set_size` images,
      `tfgen.data.ClassSetDataset`);
    * its labels: `conditional` (it draws chosen classes: `sample(n,
      labels=...)`, and its `sample` signature takes a `label` per seed),
      `num_classes` (the classes of the labels it takes; None without);
    * what it computes: `likelihood_kind` (which importance-weighted test
      log-likelihood `log_importance_weights` gives, see `LIKELIHOOD_KINDS`;
      None without one), `classifies` (`classify(images)` gives the logits
      of q(y|x), and an export has the `classify` signature), `latent_codes`
      (InfoGAN's interpretable codes: `generate(z, categorical, continuous)`
      and `predict_codes(images)`), `decoder_likelihood` (the
      `tfgen.losses.likelihoods` likelihood of its decoder; None without);
    * `scores`: the sections `tfgen evaluate` gives it (`SCORES`);
    * `figures`: the names of the figures that show it (drawn by
      `tfgen.plotting.PlotCallback`), and `final_figures`;
    * `recipe`: the settings its paper trains it with (`Recipe`), `presets`
      (other named recipes) and `paper` (where it comes from);
    * `registered_name`: its name in `tfgen.models.MODELS` (set by
      `register_model`; None for a class not registered).

    tests/conformance/test_capabilities.py checks every registered model's
    declarations against what it does.

    Sampling: every model draws through `sample(n, *, labels=None,
    seed=None)` (a batch from one stateless seed) and
    `sample_from_seeds(seeds, labels=None)` (one image per int64 seed: what
    its export's `sample` signature serves). A subclass implements the two
    draws, `draw_batch` and `draw_from_seeds`; the arguments are checked,
    and the `sample` signature made, here.
    """

    metric_names = ("loss",)
    #: The model's name in `tfgen.models.MODELS` (`register_model` sets it on the class).
    registered_name = None
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
    #: The attributes that hold the model's optimizers once compiled, the one `compile(optimizer=...)` sets
    #: first (a GAN adds its discriminator's, "d_optimizer"); the trainer makes, checkpoints and records each.
    optimizer_names = ("optimizer",)
    #: The number of classes of the labels the model takes (its constructor sets it); None: it takes none.
    num_classes = None
    #: Which test log-likelihood `log_importance_weights` estimates (one of `LIKELIHOOD_KINDS`); None: none.
    likelihood_kind = None
    #: `classify(images)` gives the logits of q(y|x) (the semi-supervised models).
    classifies = False
    #: InfoGAN's codes: `generate(z, categorical, continuous)` and `predict_codes(images)`.
    latent_codes = False
    #: The decoder's `tfgen.losses.likelihoods` likelihood (its constructor sets it); None: the model has none.
    decoder_likelihood = None
    #: The sections of `tfgen evaluate`'s report this model gets (of `SCORES`, in that order).
    scores = ()
    #: The paper (or post) the model comes from, for `tfgen models` and the docs.
    paper = ""
    #: Named recipes besides the default (`tfgen train NAME --preset PRESET`): {name: `Recipe`}, e.g. an
    #: earlier default kept one flag away.
    presets = {}
    #: How far row i of a batch drawn by `sample_from_seeds` (or a seeded signature) may be from the same seed drawn
    #: alone, for pixel values in [0, 1]. Kernels block their sums by batch size (oneDNN and Eigen pick other tiles
    #: for 1 row than for 2), so the two add the same float32 terms in another order: a few ulps per layer, which
    #: the output layers shrink; 2**-17 is 64 ulps of 1.0 (tests/conformance/test_saved_model.py). A sampler that
    #: loops over its network (diffusion) declares more.
    sample_row_atol = 2.0**-17
    #: Constructor options that only set how the model samples (no weight depends on them): `tfgen export --set`
    #: exports a run with other values of these (a diffusion model's DDIM steps, eta and guidance scale).
    sampling_options = ()
    #: The trainer and the likelihood scores trace the model's steps with AutoGraph: needed only by a step with
    #: Python control flow on tensors (`if tensor:`, `for ... in tf.range`); tfgen's steps write `tf.cond` and
    #: `tf.while_loop` where they need any, and converting every function a step calls costs 1-3 s of CPU per
    #: model and process, for the same graph. A subclass whose steps need it sets True.
    autograph = False

    def __init__(self, image_shape=IMAGE_SHAPE, **kwargs):
        super().__init__(**kwargs)
        #: (height, width, channels), Python ints: the shape of every image the model takes and makes.
        self.image_shape = check_image_shape(image_shape)
        self._compiled_sample = None  # `sample_from_seeds`' traced function, made on first use

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

    # ------------------------------------------------------------- sampling

    def sample(self, num_samples, *positional, labels=None, seed=None):
        """`num_samples` images from the model, float32 in [0, 1] (num_samples, *image_shape).

        Args:
            num_samples: how many images.
            labels: conditional models only: None (the classes in turn, 0,
                1, ..., `tfgen.labels.sample_class_ids`), one class id for
                every sample, or one label per sample (int ids or one-hot
                rows). An unconditional model refuses labels.
            seed: a stateless seed (int tensor of shape (2,)) from which the
                whole batch is drawn, or None for the model's own stream.

        `sample(n, seed)` (and `sample(n, seed, labels)`) with positional
        arguments is deprecated: it still works, with a DeprecationWarning.
        """
        seed, labels = self._positional_sample_arguments(positional, seed, labels)
        num_samples = self.check_num_samples(num_samples)
        return self.draw_batch(num_samples, labels=self.sample_labels(num_samples, labels), seed=seed)

    def _positional_sample_arguments(self, positional, seed, labels):
        """(seed, labels) with the deprecated positional spelling `sample(n, seed[, labels])` read."""
        if not positional:
            return seed, labels
        names = ("seed", "labels") if self.conditional else ("seed",)
        if len(positional) > len(names):
            raise TypeError(f"{type(self).__name__}.sample takes num_samples and the keywords labels= and seed=. "
                            f"Received {len(positional) + 1} positional arguments.")
        given = dict(zip(names, positional))
        warnings.warn(f"{type(self).__name__}.sample(num_samples, {', '.join(given)}) with positional arguments is "
                      f"deprecated: pass them as keywords, sample(num_samples, labels=..., seed=...).",
                      DeprecationWarning, stacklevel=3)
        for name, keyword in (("seed", seed), ("labels", labels)):
            if name in given and keyword is not None:
                raise TypeError(f"{type(self).__name__}.sample got {name} both as a positional argument and as "
                                f"a keyword.")
        return given.get("seed", seed), given.get("labels", labels)

    def sample_labels(self, num_samples, labels=None):
        """The checked one-hot labels (num_samples, num_classes) of `sample`, float32; None for an unconditional
        model (which refuses labels with a ValueError).

        `labels`: None (the classes in turn), one class id for every sample,
        or one label per sample (int ids, or one-hot or class-probability rows).
        """
        if not self.conditional:
            if labels is not None:
                raise ValueError(f"{type(self).__name__} is unconditional: its samples take no labels. "
                                 f"Received: labels={labels!r}")
            return None
        if labels is None:
            labels = labels_lib.sample_class_ids(num_samples, self.num_classes)
        labels = tf.convert_to_tensor(labels)
        if labels.shape.rank == 0:
            labels = tf.fill([num_samples], labels)
        return labels_lib.one_hot(labels, self.num_classes, "labels", batch_size=num_samples,
                                  check_distributions=True)

    def draw_batch(self, num_samples, labels=None, seed=None):
        """The images of `sample`: `num_samples` drawn from the stateless `seed` (or the model's stream).

        `labels` are `sample_labels`' checked one-hot rows (None for an
        unconditional model). Subclasses implement it.
        """
        raise NotImplementedError

    def sample_from_seeds(self, seeds, labels=None):
        """One image per int64 seed, float32 in [0, 1]: what the export's `sample` signature serves.

        Image i depends on seeds[i] (and labels[i]) alone, whatever else is
        drawn with it, and the model and its export draw the same image: both
        run the `sample` signature's function (`sample_endpoint`), traced the
        same way (here once per model, then reused). `tfgen evaluate` draws
        its samples this way, from a run or (through the export's signature)
        from an export.

        Args:
            seeds: the int64 seeds (a sequence, an array or a tensor), one per image.
            labels: conditional models only: one class id per seed, one id
                for every seed, or None (the classes in turn,
                `tfgen.labels.sample_class_ids`). An unconditional model
                refuses labels.

        Returns:
            A (len(seeds), *image_shape) float32 tensor.
        """
        seeds = seeds_array(seeds)
        arguments = [tf.constant(seeds)]
        if self.conditional:
            if labels is None:
                labels = labels_lib.sample_class_ids(len(seeds), self.num_classes)
            labels = labels_lib.class_ids_per_sample(labels, len(seeds))
            labels_lib.check_class_ids(labels, self.num_classes, argument="labels")
            arguments.append(tf.constant(labels))
        elif labels is not None:
            raise ValueError(f"{type(self).__name__} is unconditional: its samples take no labels. "
                             f"Received: labels={labels!r}")
        if self._compiled_sample is None:
            function, signature = self.sample_endpoint()
            # Traced as the export traces its endpoints (keras.export: the input signature, no autograph). Kept in a
            # plain holder: `tf.saved_model.save(model)` would save a tf.function attribute with the model.
            self._compiled_sample = _Compiled(tf.function(function, input_signature=signature, autograph=False))
        return self._compiled_sample.function(*arguments)["images"]

    def draw_from_seeds(self, seeds, labels=None):
        """The images of `sample_from_seeds` and of the `sample` signature, in the graph: one per int64 seed
        (a (N,) tensor), row i a function of seeds[i] (and of the class id labels[i]) alone
        (`tfgen.random.normal_from_seeds` and its kin). Subclasses implement it."""
        raise NotImplementedError

    def sample_outputs(self, seeds, labels=None):
        """The outputs of the `sample` signature: {"images": `draw_from_seeds(seeds, labels)`}. A model whose
        draw makes more that a client wants (InfoGAN's codes) adds it."""
        return {"images": self.draw_from_seeds(seeds, labels)}

    def sample_endpoint(self):
        """The `sample` serving signature, (function, input_signature): one int64 `seed` per image, and for
        conditional models one int64 class id `label` per image; outputs `sample_outputs` ("images")."""
        seed_spec = tf.TensorSpec([None], tf.int64, name="seed")
        if not self.conditional:
            def sample(seed):
                return self.sample_outputs(seed)

            return sample, [seed_spec]

        def conditional_sample(seed, label):
            return self.sample_outputs(seed, label)

        return conditional_sample, [seed_spec, tf.TensorSpec([None], tf.int64, name="label")]

    def serving_endpoints(self):
        """{name: (function, input_signature)} for the SavedModel export: at least "sample"
        (`sample_endpoint`); subclasses add theirs."""
        return {"sample": self.sample_endpoint()}


class _Compiled:
    """Holds a tf.function out of TensorFlow's object tracking (`tf.saved_model.save(model)` saves a model's
    tf.function attributes with it, as Keras keeps its own `train_function` out)."""

    __slots__ = ("function",)

    def __init__(self, function):
        self.function = function


def seeds_array(seeds, argument="seeds"):
    """`seeds` (integers: a sequence, an array or an eager tensor) as a non-empty int64 NumPy vector, or a
    ValueError naming `argument`."""
    array = np.asarray(seeds.numpy() if tf.is_tensor(seeds) else seeds)
    if array.dtype.kind not in "iu" or (array.dtype.kind == "u" and array.size and array.max() > _checks.INT64_MAX):
        raise ValueError(f"{argument} must be int64 integers, one per image. Received: {argument}={seeds!r}")
    if array.size == 0:
        raise ValueError(f"{argument} must hold at least one seed. Received: {argument}=[]")
    return array.astype(np.int64).reshape(-1)


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
