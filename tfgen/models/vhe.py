"""The Variational Homoencoder (VHE) and its unsupervised, KMeans-clustered variant.

Hewitt, Nye, Gane, Jaakkola and Tenenbaum, "The Variational Homoencoder:
Learning to learn high capacity generative models from few examples", UAI
2018 (arXiv:1807.08919).

For each example x, a set D of other examples of x's class is encoded into a
class code c: each element of D is encoded into a Gaussian and the means and
log standard deviations are averaged (log-variances averaged: the same
thing, doubled), giving q(c|D). Then q(z|c, x) encodes what sets x apart
from its class, a learned prior p(z|c) replaces N(0, I) for z, and a
Bernoulli decoder p(x|c, z) reconstructs x (`likelihood=` picks another
of `tfgen.losses.likelihoods`). The loss per example, in nats:

    -log p(x|c, z) + KL(q(c|D) || N(0, I)) / |class| + KL(q(z|c, x) || p(z|c))

with c and z single reparameterized samples and both KLs analytic. Dividing
the class KL by the size of x's class charges the cost of the class code
once per class instead of once per example (the VHE bound), which is what
keeps the decoder from ignoring c.

The class size comes from the data: `tfgen.data.ClassSetDataset` puts
"class_size" (the size of x's class in the training set) into every batch.
The constructor's `class_size` is used only for batches without it.

Batches without "class_set" (plain `ImageDataset` batches, as the
conformance tests use) get a set built inside the batch: `set_size` draws,
with replacement, among the other examples of the batch with x's label. An
example with no such partner in its batch falls back to D = {x} (x
repeated): q(c|D) then sees x itself, the VAE-like limit of the VHE, so
these batches train and score the model but only batches with real class
sets give the VHE bound. `UnsupervisedVHE` ignores labels and always uses
D = {x} for such batches.

`UnsupervisedVHE` (the blog post's variant) has no labels: every example
keeps its latest code (concat(c mean, z mean)) in a non-trainable variable,
initialised from N(0, 1); before every epoch the trainer calls its hook
(`begin_epoch`), which clusters the codes with KMeans (`update_clusters`)
into its pseudo-labels, and its `tfgen.data.ClassSetDataset` reads them as
the classes of the sets when the epoch's batches are built. Codes,
pseudo-labels and the epoch they belong to are model variables, so
checkpoints hold them and a resumed run continues exactly.

Metrics (batch means, nats per image): `loss`, `reconstruction_loss`,
`kl_c` (already divided by the class size), `kl_z`, and `grad_norm_c`,
`grad_norm_z`: the mean over examples of the L2 norm of the gradient of the
example's loss with respect to the c and z samples fed to the decoder and
the prior (the "contribution of z and c" of the post). With a Gaussian
likelihood also `decoder_log_sigma`; with an 8-bit likelihood
`bits_per_dim`: `loss` / (D ln 2), D = height x width x channels (the VHE
bound in bits per dimension).
"""

import dataclasses

import keras
import tensorflow as tf

from tfgen import _checks, losses
from tfgen import random as tfgen_random
from tfgen.data.class_sets import cluster_codes
from tfgen.layers import GaussianSampling
from tfgen.losses import importance, likelihoods
from tfgen.models.base import NUM_SAMPLES_SPEC, Recipe
from tfgen.models.decoder_likelihood import DecoderLikelihoodModel
from tfgen.models.registry import register_model
from tfgen.random import split_seed
from tfgen.networks import NUM_TRAIN_EXAMPLES, ConvConditionalEncoder, ConvDecoder, ConvEncoder, GaussianMLP, MLPDecoder

NETWORKS = ("mlp", "conv")


@register_model("vhe")
@keras.saving.register_keras_serializable(package="tfgen")
class VHE(DecoderLikelihoodModel):
    """The Variational Homoencoder with a Bernoulli (or another) decoder.

    Args:
        class_dim: the size of the class code c.
        latent_dim: the size of the example code z.
        networks: "mlp" (one hidden layer of `hidden_units`, as in the post)
            or "conv" (the seed VAE's convolutional encoder and decoder).
        hidden_units: the hidden width of the MLPs (the prior p(z|c) is an
            MLP in both modes).
        class_size: the class size |class| for batches without a
            "class_size" entry (6000: an MNIST training class); batches from
            `ClassSetDataset` carry the real size of each example's class.
        set_size: the size of the sets built inside a batch that has no
            "class_set" (see the module docstring).
        seed: optional integer seed of the sampling layer's own stream.
        likelihood: the decoder's likelihood, one of
            `tfgen.losses.likelihoods.ELBO_NAMES` ("bernoulli", the post's).
            It sets the data contract (`binarization`: "dynamic" for the
            Bernoulli, else "none").
        num_mixtures: the components of "logistic_mixture".
        **kwargs: base model arguments, and `image_shape` ((28, 28, 1) by
            default; see `GenerativeModel`).

    Batches: "image", and "class_set" (batch, set_size, *image_shape) with
    "class_size" (batch,) from `tfgen.data.ClassSetDataset`; or
    "image" and "label" only.
    """

    requires_labels = True
    class_sets = True
    likelihood_kind = "class_set"
    scores = ("likelihood",)
    #: Whether the classes of its training sets are its own clusters of its codes (`UnsupervisedVHE`'s
    #: `pseudo_labels`, re-clustered before every epoch) instead of the data's labels.
    clusters_codes = False
    figures = ("nats_per_epoch", "gradient_norms", "samples", "few_shot")
    paper = 'Hewitt, Nye, Gane, Jaakkola & Tenenbaum 2018, "The Variational Homoencoder"'
    recipe = Recipe(
        source="the seed's Variational Homoencoder post (Hewitt et al. 2018): MNIST, sets of 5 other examples of "
               "the class, MLPs of 512 hidden units, class and example codes of 16, batch 100, Adam 1e-3, 20 epochs",
        model={"class_dim": 16, "latent_dim": 16, "networks": "mlp", "hidden_units": 512, "set_size": 5},
        epochs=20,
        batch_size=100,
        learning_rate=1e-3,
        plot_every=1,
    )

    def __init__(self, class_dim=16, latent_dim=16, networks="mlp", hidden_units=512, class_size=6000, set_size=5,
                 seed=None, likelihood="bernoulli", num_mixtures=likelihoods.NUM_MIXTURES, **kwargs):
        super().__init__(**kwargs)
        self.class_dim = _checks.positive_int("class_dim", class_dim)
        self.latent_dim = _checks.positive_int("latent_dim", latent_dim)
        self.networks = _checks.choice("networks", networks, NETWORKS)
        self.hidden_units = _checks.positive_int("hidden_units", hidden_units)
        _checks.number("class_size", class_size, minimum=1)
        self.class_size = class_size
        self.set_size = _checks.positive_int("set_size", set_size)
        self.seed = _checks.optional_seed("seed", seed)
        self._set_decoder_likelihood(likelihood, num_mixtures)
        output_channels = self.decoder_output_channels
        if networks == "mlp":
            self.element_encoder = GaussianMLP(class_dim, hidden_units, name="element_encoder")
            self.example_encoder = GaussianMLP(latent_dim, hidden_units, name="example_encoder")
            self.decoder = MLPDecoder(hidden_units, image_shape=self.image_shape, output_channels=output_channels, name="decoder")
        else:
            self.element_encoder = ConvEncoder(class_dim, gaussian=True, image_shape=self.image_shape,
                                               name="element_encoder")
            self.example_encoder = ConvConditionalEncoder(latent_dim, image_shape=self.image_shape, name="example_encoder")
            self.decoder = ConvDecoder(class_dim + latent_dim, output_activation=None, image_shape=self.image_shape,
                                       output_channels=output_channels,
                                       name="decoder")
        self.prior = GaussianMLP(latent_dim, hidden_units, name="prior")
        self.sampling = GaussianSampling(seed=seed, name="sampling")
        self._add_likelihood_weights()

    @property
    def metric_names(self):
        return ("loss", "reconstruction_loss", "kl_c", "kl_z", "grad_norm_c", "grad_norm_z") + self._likelihood_metric_names()

    # ------------------------------------------------------------ the parts

    def check_class_set(self, class_set, argument="class_set"):
        """`class_set` as a tensor, checked as `check_images` checks images: shape, dtype and pixel values."""
        class_set = tf.convert_to_tensor(class_set)
        shape = tuple(class_set.shape)
        if len(shape) != 5 or tuple(shape[2:]) != tuple(self.image_shape):
            raise ValueError(
                f"{type(self).__name__} expects {argument} of shape (batch, set_size, "
                f"{', '.join(map(str, self.image_shape))}). Received: {argument}.shape={shape}"
            )
        if not class_set.dtype.is_floating:
            raise TypeError(f"{type(self).__name__} expects float {argument} in [0, 1]. Received: dtype={class_set.dtype.name}")
        return self.check_pixel_values(class_set, argument)

    def encode_set(self, class_set, training=False):
        """(c_mean, c_log_var) of q(c|D): the element encodings' means and log-variances, averaged over D."""
        class_set = self.check_class_set(class_set)
        shape = tf.shape(class_set)
        flat = tf.reshape(class_set, tf.concat([[shape[0] * shape[1]], shape[2:]], axis=0))
        mean, log_var = self.element_encoder(flat, training=training)
        mean = tf.reshape(mean, [shape[0], shape[1], self.class_dim])
        log_var = tf.reshape(log_var, [shape[0], shape[1], self.class_dim])
        return tf.reduce_mean(mean, axis=1), tf.reduce_mean(log_var, axis=1)

    def encode_example(self, images, c, training=False):
        """(z_mean, z_log_var) of q(z|c, x)."""
        images = self.check_images(images)
        _checks.shape("c", c, ("batch", self.class_dim))
        return self.example_encoder([images, c], training=training)

    def prior_z(self, c, training=False):
        """(mean, log_var) of the learned prior p(z|c)."""
        return self.prior(c, training=training)

    def generate(self, c, z, apply_sigmoid=True, training=False):
        """Images in [0, 1] of p(x|c, z) (the likelihood's `mean`: pixel probabilities for the
        Bernoulli), or with `apply_sigmoid=False` the decoder's raw outputs (logits)."""
        _checks.shape("c", c, ("batch", self.class_dim))
        _checks.shape("z", z, ("batch", self.latent_dim))
        logits = self.decoder(tf.concat([c, z], axis=-1), training=training)
        return self.decoder_likelihood.mean(logits) if apply_sigmoid else logits

    def call(self, images, training=False):
        """Reconstruction logits of `images`, each its own set (D = {x})."""
        terms = self.compute_terms({"image": images}, training=training)
        return terms["logits"]

    # ------------------------------------------------------------- the sets

    def _in_batch_class_set(self, batch, seed):
        """A class set for each example from the other same-label examples of its batch (module docstring)."""
        images = batch["image"]
        size = tf.shape(images)[0]
        labels = batch["label"]
        if labels.shape.rank == 2:
            labels = tf.argmax(labels, axis=-1)
        others = tf.logical_not(tf.eye(size, dtype=tf.bool))
        partners = tf.logical_and(tf.equal(labels[:, None], labels[None, :]), others)
        has_partner = tf.reduce_any(partners, axis=1, keepdims=True)
        allowed = tf.where(has_partner, partners, tf.logical_not(others))
        logits = tf.where(allowed, 0.0, -1e9)
        members = tfgen_random.categorical(logits, self.set_size, seed, self.sampling.seed_generator)
        return tf.gather(images, members)

    def _fallback_class_set(self, batch, seed):
        if "label" in batch:
            return self._in_batch_class_set(batch, seed)
        return tf.repeat(batch["image"][:, None], self.set_size, axis=1)

    # ------------------------------------------------------------- the loss

    def compute_terms(self, batch, seed=None, training=False):
        """Every per-example term of the loss, and the tensors behind them.

        Returns:
            A dict of (batch, ...) tensors: `c_mean`, `c_log_var`, `c`,
            `z_mean`, `z_log_var`, `z`, `prior_mean`, `prior_log_var`,
            `logits` (the decoder's outputs), `reconstruction_loss`, `kl_c`
            (divided by the class size), `kl_z`, `loss`, `grad_c`, `grad_z`
            (gradients of each example's loss with respect to its c and z
            samples), and for the Gaussian likelihoods `log_sigma`.
        """
        images = self.check_images(batch["image"])
        c_seed, z_seed, set_seed = split_seed(seed, 3)
        class_set = batch["class_set"] if "class_set" in batch else self._fallback_class_set(batch, set_seed)
        class_size = batch.get("class_size", None)
        class_size = tf.fill([tf.shape(images)[0]], float(self.class_size)) if class_size is None else class_size
        c_mean, c_log_var = self.encode_set(class_set, training=training)
        c = self.sampling([c_mean, c_log_var], seed=c_seed)
        z_mean, z_log_var = self.encode_example(images, c, training=training)
        z = self.sampling([z_mean, z_log_var], seed=z_seed)
        # A tape of its own over the decoder and the prior: the per-example
        # gradients with respect to c and z are the post's contributions.
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            tape.watch([c, z])
            prior_mean, prior_log_var = self.prior_z(c, training=training)
            logits = self.generate(c, z, apply_sigmoid=False, training=training)
            log_likelihood, log_sigma = self.log_likelihood(images, logits)
            reconstruction = -log_likelihood
            kl_z = losses.kl_normal(z_mean, z_log_var, prior_mean, prior_log_var)
            decoder_and_prior_loss = tf.reduce_sum(reconstruction + kl_z)
        grad_c, grad_z = tape.gradient(decoder_and_prior_loss, [c, z])
        kl_c = losses.kl_normal(c_mean, c_log_var) / tf.cast(class_size, c_mean.dtype)
        terms = {
            "c_mean": c_mean, "c_log_var": c_log_var, "c": c,
            "z_mean": z_mean, "z_log_var": z_log_var, "z": z,
            "prior_mean": prior_mean, "prior_log_var": prior_log_var, "logits": logits,
            "reconstruction_loss": reconstruction, "kl_c": kl_c, "kl_z": kl_z,
            "loss": reconstruction + kl_c + kl_z,
            "grad_c": grad_c, "grad_z": grad_z,
        }
        if log_sigma is not None:
            terms["log_sigma"] = log_sigma
        return terms

    def compute_losses(self, batch, seed=None, training=False):
        terms = self.compute_terms(batch, seed=seed, training=training)
        if training:
            self.record_codes(batch, terms)
        metrics = {name: tf.reduce_mean(terms[name]) for name in ("loss", "reconstruction_loss", "kl_c", "kl_z")}
        metrics["grad_norm_c"] = tf.reduce_mean(tf.norm(terms["grad_c"], axis=-1))
        metrics["grad_norm_z"] = tf.reduce_mean(tf.norm(terms["grad_z"], axis=-1))
        return self._add_likelihood_metrics(metrics, terms.get("log_sigma"))

    def record_codes(self, batch, terms):
        """Called by every training step with the step's terms; the supervised VHE keeps nothing."""
        del batch, terms

    # ------------------------------------------------------------ sampling

    def _prior_sample(self, c, eps):
        prior_mean, prior_log_var = self.prior_z(c)
        return prior_mean + tf.exp(0.5 * prior_log_var) * eps

    def draw_batch(self, num_samples, labels=None, seed=None):
        """Images from c ~ N(0, I), z ~ p(z|c), x ~ p(x|c, z) (the likelihood's mean: pixel probabilities...)."""
        eps = tfgen_random.normal((num_samples, self.class_dim + self.latent_dim), seed, self.sampling.seed_generator)
        c, eps_z = eps[:, : self.class_dim], eps[:, self.class_dim :]
        return self.generate(c, self._prior_sample(c, eps_z))

    def draw_from_seeds(self, seeds, labels=None):
        eps = tfgen_random.normal_from_seeds(seeds, self.class_dim + self.latent_dim)
        c = eps[:, : self.class_dim]
        return self.generate(c, self._prior_sample(c, eps[:, self.class_dim :]))

    def few_shot(self, class_set, num_samples, seed=None):
        """`num_samples` new images of each set's class: c = the mean of q(c|D), z ~ p(z|c).

        Args:
            class_set: (sets, set_size, *image_shape) images, e.g. 5 of a class.
            num_samples: images per set.
            seed: an optional stateless seed.

        Returns:
            (sets, num_samples, *image_shape) images in [0, 1] (the likelihood's mean).
        """
        num_samples = self.check_num_samples(num_samples)
        c_mean, _ = self.encode_set(class_set)
        sets = tf.shape(c_mean)[0]
        c = tf.repeat(c_mean, num_samples, axis=0)
        eps = tfgen_random.normal(tf.stack([sets * num_samples, self.latent_dim]), seed, self.sampling.seed_generator)
        images = self.generate(c, self._prior_sample(c, eps))
        return tf.reshape(images, tf.concat([[sets, num_samples], tf.shape(images)[1:]], axis=0))

    def log_importance_weights(self, images, seeds, num_samples, class_set=None):
        """Log importance weights of `num_samples` codes (c, z) per image, (batch, num_samples).

        With a class set D: c ~ q(c|D), z ~ q(z|c, x) and

            log w = log p(x|c, z) + log p(z|c) - log q(z|c, x),

        the weights of log p(x | D) = log E_{q(c|D)} p(x|c), the likelihood
        of x given other examples of its class (the few-shot likelihood the
        VHE is trained for). Without one, D = {x} is only the proposal of c:
        the weights gain log p(c) - log q(c|{x}) and estimate the marginal
        log p(x) of the generative model c ~ N(0, I), z ~ p(z|c), x ~ p(x|c, z).
        Image i's codes are drawn from seeds[i] (int64) alone.
        """
        images = self.check_images(images)
        marginal = class_set is None
        c_mean, c_log_var = self.encode_set(images[:, None] if marginal else class_set)
        eps = tfgen_random.normal_codes_from_seeds(seeds, num_samples, self.class_dim + self.latent_dim)
        shape = tf.shape(eps)
        c = importance.reparameterize(c_mean, c_log_var, eps[..., : self.class_dim])
        flat_c = tf.reshape(c, [-1, self.class_dim])
        tiled = importance.repeat_rows(images, shape[1])
        z_mean, z_log_var = self.encode_example(tiled, flat_c)
        z = z_mean + tf.exp(0.5 * z_log_var) * tf.reshape(eps[..., self.class_dim :], [-1, self.latent_dim])
        prior_mean, prior_log_var = self.prior_z(flat_c)
        logpx, _ = self.log_likelihood(tiled, self.generate(flat_c, z, apply_sigmoid=False))
        log_weights = logpx + losses.normal_log_density(z, prior_mean, prior_log_var) \
            - losses.normal_log_density(z, z_mean, z_log_var)
        log_weights = tf.reshape(log_weights, shape[:2])
        if marginal:
            log_weights += losses.normal_log_density(c, 0.0, 0.0) \
                - losses.normal_log_density(c, c_mean[:, None], c_log_var[:, None])
        return log_weights

    def serving_endpoints(self):
        set_spec = tf.TensorSpec([None, None, *self.image_shape], tf.float32, name="class_set")
        c_spec = tf.TensorSpec([None, self.class_dim], tf.float32, name="c")
        z_spec = tf.TensorSpec([None, self.latent_dim], tf.float32, name="z")
        seed_spec = tf.TensorSpec([None], tf.int64, name="seed")

        def encode_set(class_set):
            c_mean, c_log_var = self.encode_set(class_set)
            return {"c_mean": c_mean, "c_log_var": c_log_var}

        def generate(c, z):
            return {"images": self.generate(c, z)}

        def few_shot(class_set, seed):
            # One image per (set, seed) row: c from the set, z ~ p(z|c) from the seed.
            c_mean, _ = self.encode_set(class_set)
            return {"images": self.generate(c_mean, self._prior_sample(c_mean, tfgen_random.normal_from_seeds(seed, self.latent_dim)))}

        images_spec = tf.TensorSpec([None, *self.image_shape], tf.float32, name="images")

        def log_importance_weights(images, class_set, seed, num_samples):
            return {"log_weights": self.log_importance_weights(images, seed, num_samples, class_set)}

        def marginal_log_importance_weights(images, seed, num_samples):
            return {"log_weights": self.log_importance_weights(images, seed, num_samples)}

        return {
            "encode_set": (encode_set, [set_spec]),
            "generate": (generate, [c_spec, z_spec]),
            "sample": self.sample_endpoint(),
            "few_shot": (few_shot, [set_spec, seed_spec]),
            "log_importance_weights": (log_importance_weights, [images_spec, set_spec, seed_spec, NUM_SAMPLES_SPEC]),
            "marginal_log_importance_weights": (marginal_log_importance_weights,
                                                [images_spec, seed_spec, NUM_SAMPLES_SPEC]),
        }

    def zeros_batch(self, size=1):
        zeros = tf.zeros([size, *self.image_shape])
        return {"image": zeros, "class_set": zeros[:, None], "class_size": tf.ones([size])}

    def get_config(self):
        return {
            **super().get_config(),
            "class_dim": self.class_dim,
            "latent_dim": self.latent_dim,
            "networks": self.networks,
            "hidden_units": self.hidden_units,
            "class_size": self.class_size,
            "set_size": self.set_size,
            "seed": self.seed,
            "likelihood": self.likelihood,
            "num_mixtures": self.num_mixtures,
        }


@register_model("vhe_unsupervised")
@keras.saving.register_keras_serializable(package="tfgen")
class UnsupervisedVHE(VHE):
    """The VHE without labels: class sets from KMeans clusters of the latest codes.

    Train it on a `tfgen.data.ClassSetDataset` of the training data whose
    set labels are read from this model's pseudo-labels
    (`set_labels=model.pseudo_labels.numpy`): the batches carry each
    example's "index", every training step writes concat(c_mean, z_mean) of
    its examples into `codes`, and the trainer's epoch hook (`begin_epoch`)
    re-clusters `codes` into `pseudo_labels` before every epoch, before the
    epoch's batches are built (`tfgen.runs` assembles all this).

    Args:
        num_examples: the size of the training set (one code per example).
        num_clusters: the number of KMeans clusters (pseudo-classes).
        **kwargs: `VHE`'s arguments.

    Variables (non-trainable, checkpointed with the weights):
        codes: (num_examples, class_dim + latent_dim), initialised N(0, 1).
        pseudo_labels: (num_examples,) int64, the clusters of the current epoch.
        clustered_epoch: int64, the epoch `pseudo_labels` belong to (-1: none yet).
    """

    requires_labels = False
    likelihood_kind = "marginal_vhe"
    clusters_codes = True
    figures = VHE.figures + ("cluster_scores",)
    recipe = dataclasses.replace(
        VHE.recipe,
        source="the seed's Variational Homoencoder post, unsupervised: as the VHE, with 10 KMeans clusters of the "
               "latest codes as the classes, re-clustered before every epoch",
        model={**VHE.recipe.model, "num_clusters": 10},
    )

    def __init__(self, num_examples=NUM_TRAIN_EXAMPLES, num_clusters=10, **kwargs):
        super().__init__(**kwargs)
        self.num_examples = _checks.positive_int("num_examples", num_examples)
        self.num_clusters = _checks.positive_int("num_clusters", num_clusters)
        # Every replica writes the same all-gathered update into its own copy ("none": no cross-replica
        # aggregation; "only_first_replica" fails on the workers of a multi-worker job without replica 0).
        self.codes = keras.Variable(
            keras.initializers.RandomNormal(seed=self.seed),
            shape=(num_examples, self.class_dim + self.latent_dim),
            trainable=False,
            aggregation="none",
            name="codes",
        )
        self.pseudo_labels = keras.Variable(
            tf.zeros([num_examples], tf.int64), dtype="int64", trainable=False, name="pseudo_labels"
        )
        self.clustered_epoch = keras.Variable(tf.constant(-1, tf.int64), dtype="int64", trainable=False,
                                              name="clustered_epoch")

    def _fallback_class_set(self, batch, seed):
        # No labels: without a class set the example is its own set.
        return tf.repeat(batch["image"][:, None], self.set_size, axis=1)

    def record_codes(self, batch, terms):
        """Writes the batch's concat(c_mean, z_mean) into `codes` at the batch's "index"."""
        if "index" not in batch:
            return
        context = tf.distribute.get_replica_context()
        # tf.identity: a tensor placed on this replica's device (the input's may have none, which a
        # multi-worker all_gather refuses; a cast to the same dtype would return the input itself).
        index = tf.identity(tf.cast(batch["index"], tf.int64))
        codes = tf.stop_gradient(tf.concat([terms["c_mean"], terms["z_mean"]], axis=-1))
        if context is not None:
            index = context.all_gather(index, axis=0)
            codes = context.all_gather(codes, axis=0)
        self.codes.value.scatter_update(tf.IndexedSlices(codes, index))

    @property
    def epoch_state(self):
        """The variables `begin_epoch` sets: the pseudo-labels and the epoch they belong to."""
        return (self.pseudo_labels, self.clustered_epoch)

    def begin_epoch(self, epoch):
        """Re-clusters the codes for `epoch` (0-based) unless done already (`update_clusters`)."""
        self.update_clusters(epoch)

    def update_clusters(self, epoch, random_state=0):
        """Clusters `codes` into `pseudo_labels` for `epoch` unless done already; returns the pseudo-labels.

        The clustering of an epoch is done once, at its start: a run resumed
        in the middle of epoch e, whose codes have moved since, keeps the
        pseudo-labels of the start of e (restored from its checkpoint), as
        the uninterrupted run did. Every cluster holds at least set_size + 1
        examples (`tfgen.data.cluster_codes`).

        Args:
            epoch: the epoch about to start (0-based).
            random_state: KMeans's seed.

        Returns:
            (num_examples,) int64 NumPy array.
        """
        epoch = _checks.non_negative_int("epoch", epoch)
        clustered = int(self.clustered_epoch.numpy())
        if clustered < epoch or clustered < 0:
            clusters = cluster_codes(self.codes.numpy(), self.num_clusters, self.set_size + 1, random_state)
            self.pseudo_labels.assign(clusters)
            self.clustered_epoch.assign(epoch)
        return self.pseudo_labels.numpy()

    def get_config(self):
        return {**super().get_config(), "num_examples": self.num_examples, "num_clusters": self.num_clusters}
