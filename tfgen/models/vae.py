"""The variational autoencoder trained on the single-sample ELBO batch estimate.

Kingma and Welling, "Auto-Encoding Variational Bayes", ICLR 2014. The loss
follows the eager-execution VAE of the seed post: with z drawn once from
q(z|x),

    ELBO ~= log p(x|z) + log p(z) - log q(z|x)

with log p(x|z) from the sigmoid cross-entropy of the decoder's logits and
log p(z), log q(z|x) from a normal log-density. `analytic_kl=True` uses the
closed-form KL(q(z|x) || N(0, I)) instead of log q(z|x) - log p(z).
`likelihood=` swaps the Bernoulli decoder for another of
`tfgen.losses.likelihoods` (the sigma-VAE's Gaussians, or discretized
logistics for 8-bit images).

The importance-weighted autoencoder (IWAE; Burda, Grosse and
Salakhutdinov, "Importance Weighted Autoencoders", ICLR 2016) is the same
model trained on the k-sample bound (`num_importance_samples=k`):

    L_k = log (1/k) sum_i p(x|z_i) p(z_i) / q(z_i|x),   z_1..z_k ~ q(z|x),

`tfgen.losses.importance`; k = 1 is the ELBO above, computed exactly as
before. `networks="mlp"` gives Burda et al.'s fully connected networks
(two hidden layers of 200 tanh units each way by default).

The VampPrior (Tomczak and Welling, "VAE with a VampPrior", AISTATS 2018;
`prior="vamp"`) replaces N(0, I) by the mixture of the encoder's own
posteriors at K learned pseudo-inputs u_k (`tfgen.layers.PseudoInputs`):

    p(z) = (1/K) sum_k q(z | u_k),

`tfgen.losses.normal_mixture_log_density`. It enters log p(z) of the
single-sample ELBO and of every importance weight (so the IWAE bound and
`tfgen evaluate`'s NLL use it), and the samples are drawn from it: a
component k uniformly, then z ~ q(z | u_k). It has no closed-form KL.

`kl_warmup_steps=n` trains on the warm-up of Sønderby et al. (2016) that
the VampPrior paper uses: the KL term (log q(z|x) - log p(z) in each
importance weight) weighed by beta = min(1, (step + 1) / n), the step
counted from 0 (so the n-th update has beta = 1), which keeps the
encoder from collapsing onto the prior while the decoder is still poor.
The test metrics, and everything but the training step, use beta = 1.
"""

import keras
import tensorflow as tf

from tfgen import _checks, losses
from tfgen import random as tfgen_random
from tfgen.layers import GaussianSampling, PseudoInputs
from tfgen.losses import importance, likelihoods
from tfgen.models.base import NUM_SAMPLES_SPEC, Recipe
from tfgen.models.decoder_likelihood import DecoderLikelihoodModel
from tfgen.models.registry import register_model
from tfgen.networks import ConvDecoder, ConvEncoder, GaussianMLP, MLPDecoder
from tfgen.networks.mlp import check_hidden_layers

NETWORKS = ("conv", "mlp")
PRIORS = ("standard", "vamp")


@register_model("vae")
@keras.saving.register_keras_serializable(package="tfgen")
class VAE(DecoderLikelihoodModel):
    """Convolutional VAE with a Bernoulli (or another) decoder.

    Args:
        latent_dim: size of z (2 in the seed, for plotting; any size works).
        analytic_kl: use the closed-form KL instead of the single-sample
            estimate log q(z|x) - log p(z).
        seed: optional integer seed of the sampling layer's own stream.
        likelihood: the decoder's likelihood, one of
            `tfgen.losses.likelihoods.ELBO_NAMES`: "bernoulli" (the seed's),
            "gaussian_learned", "gaussian_optimal" (the sigma-VAE's),
            "logistic" or "logistic_mixture" (8-bit images). It sets the data
            contract (`binarization`: "dynamic" for the Bernoulli, else "none").
        num_mixtures: the components of "logistic_mixture".
        num_importance_samples: k, the codes per image of the training
            bound: 1 trains on the ELBO (the VAE), k > 1 on the IWAE bound
            L_k (always with the sampled log q(z|x) - log p(z), so
            `analytic_kl` must be False).
        networks: "conv" (the seed's convolutional encoder and decoder) or
            "mlp" (fully connected, Burda et al.'s).
        hidden_units: the hidden widths of the "mlp" encoder, in order; the
            decoder mirrors them. (200, 200) is Burda et al.'s.
        activation: the "mlp" hidden layers' activation ("tanh", Burda et al.'s).
        prior: p(z): "standard" (N(0, I)) or "vamp" (the VampPrior: the
            mixture of q(z|u_k) over `num_pseudo_inputs` learned images u_k;
            needs `analytic_kl` False).
        num_pseudo_inputs: K, the VampPrior's pseudo-inputs (500, the
            paper's); unused by the standard prior.
        kl_warmup_steps: n > 0 weighs the training step's KL term by
            min(1, (step + 1) / n), the optimizer's step from 0 (0: no warm-up).
        **kwargs: base model arguments, and `image_shape` ((28, 28, 1) by
            default; see `GenerativeModel`).

    Metrics: `loss` (the negative ELBO estimate, or the negative IWAE bound
    -L_k, nats per image), `logpx_z`, `logpz`, `logqz_x` (batch means, over
    the k codes too), and `kl` (the KL term used, the mean of log q - log p
    for k > 1); with a Gaussian likelihood `decoder_log_sigma`; with an
    8-bit one `bits_per_dim` (`loss` / (D ln 2), D = height x width x channels);
    with a warm-up `kl_weight` (beta), and a training step's `loss` is then
    the objective with the KL weighed by beta (the test metrics' is the bound).
    """
    figures = ("losses", "samples", "latent_space", "latent_grid")
    likelihood_kind = "vae"
    scores = ("likelihood",)
    paper = 'Kingma & Welling 2014, "Auto-Encoding Variational Bayes"'
    recipe = Recipe(
        source="the seed's eager-execution VAE post: Fashion-MNIST, pixels in [0, 1] as Bernoulli targets, "
               "latent size 2, batch 100, Adam 1e-4, 50 epochs",
        model={"latent_dim": 2},
        dataset="fashion_mnist",
        epochs=50,
        batch_size=100,
        learning_rate=1e-4,
        binarization="none",
        plot_every=10,
    )

    presets = {"vamp": Recipe(
        source="Tomczak & Welling 2018 (VampPrior), MNIST: dynamically binarized, latent size 40, two hidden "
               "layers of 300 units each way, K = 500 pseudo-inputs, batch 100, Adam 5e-4, at most 2,000 epochs, "
               "the KL warmed up over 100 epochs (60,000 steps); the paper's hidden units are gated, these tanh",
        model={"prior": "vamp", "num_pseudo_inputs": 500, "networks": "mlp", "latent_dim": 40,
               "hidden_units": (300, 300), "kl_warmup_steps": 60_000},
        dataset="mnist",
        epochs=2000,
        batch_size=100,
        learning_rate=5e-4,
        binarization="dynamic",
        plot_every=50,
    )}

    def __init__(self, latent_dim=2, analytic_kl=False, seed=None, likelihood="bernoulli",
                 num_mixtures=likelihoods.NUM_MIXTURES, num_importance_samples=1, networks="conv",
                 hidden_units=(200, 200), activation="tanh", prior="standard", num_pseudo_inputs=500,
                 kl_warmup_steps=0, **kwargs):
        super().__init__(**kwargs)
        self.latent_dim = _checks.positive_int("latent_dim", latent_dim)
        self.analytic_kl = _checks.boolean("analytic_kl", analytic_kl)
        self.seed = _checks.optional_seed("seed", seed)
        self._set_decoder_likelihood(likelihood, num_mixtures)
        self.num_importance_samples = _checks.positive_int("num_importance_samples", num_importance_samples)
        if self.num_importance_samples > 1 and self.analytic_kl:
            raise ValueError("The IWAE bound (num_importance_samples > 1) weighs each code by p(z) / q(z|x): it has "
                             "no closed-form KL. Pass analytic_kl=False. Received: analytic_kl=True, "
                             f"num_importance_samples={self.num_importance_samples}")
        self.prior = _checks.choice("prior", prior, PRIORS)
        self.num_pseudo_inputs = _checks.positive_int("num_pseudo_inputs", num_pseudo_inputs)
        self.kl_warmup_steps = _checks.non_negative_int("kl_warmup_steps", kl_warmup_steps)
        if self.prior == "vamp" and self.analytic_kl:
            raise ValueError("The VampPrior (prior='vamp') is a mixture: KL(q(z|x) || p(z)) has no closed form. "
                             "Pass analytic_kl=False. Received: analytic_kl=True, prior='vamp'")
        self.networks = _checks.choice("networks", networks, NETWORKS)
        output_channels = self.decoder_output_channels
        if self.networks == "conv":
            # Unused by the convolutional networks; checked all the same (a typo is refused whatever the networks)
            # and kept for the config.
            self.hidden_units, self.activation = check_hidden_layers(hidden_units, activation)
            self.encoder = ConvEncoder(latent_dim, gaussian=True, image_shape=self.image_shape, name="encoder")
            self.decoder = ConvDecoder(latent_dim, output_activation=None, image_shape=self.image_shape,
                                       output_channels=output_channels, name="decoder")
        else:
            self.encoder = GaussianMLP(latent_dim, hidden_units, activation=activation, name="encoder")
            units = self.encoder.hidden_units
            self.decoder = MLPDecoder(units[::-1] if isinstance(units, list) else units, image_shape=self.image_shape,
                                      output_channels=output_channels, activation=activation, name="decoder")
            self.hidden_units, self.activation = units, self.encoder.activation
        self.sampling = GaussianSampling(seed=seed, name="sampling")
        self._add_likelihood_weights()
        # After every variable of the standard-prior model, which keeps its checkpoints' layout.
        self.pseudo_inputs = (PseudoInputs(self.num_pseudo_inputs, self.image_shape, name="pseudo_inputs")
                              if self.prior == "vamp" else None)

    @property
    def metric_names(self):
        warmup = ("kl_weight",) if self.kl_warmup_steps else ()
        return ("loss", "logpx_z", "logpz", "logqz_x", "kl") + warmup + self._likelihood_metric_names()

    def kl_weight(self, training=False):
        """beta of the warm-up: min(1, (step + 1) / kl_warmup_steps) in a training step, else 1."""
        if not (training and self.kl_warmup_steps and getattr(self, "optimizer", None) is not None):
            return tf.constant(1.0)
        step = tf.cast(self.optimizer.iterations, tf.float32)
        return tf.minimum(1.0, (step + 1.0) / float(self.kl_warmup_steps))

    def encode(self, images, training=False):
        """(z_mean, z_log_var) of q(z|x)."""
        images = self.check_images(images)
        return self.encoder(images, training=training)

    def decode(self, z, apply_sigmoid=True, training=False):
        """Images in [0, 1] of p(x|z) (the likelihood's `mean`: pixel probabilities for the
        Bernoulli), or with `apply_sigmoid=False` the decoder's raw outputs (logits)."""
        _checks.shape("z", z, ("batch", self.latent_dim))
        logits = self.decoder(z, training=training)
        return self.decoder_likelihood.mean(logits) if apply_sigmoid else logits

    def prior_components(self, training=False):
        """The VampPrior's components (means, log_vars), each (K, latent_dim): q(z | u_k) at the pseudo-inputs."""
        if self.pseudo_inputs is None:
            raise ValueError("prior_components is the VampPrior's (prior='vamp'). Received: prior='standard'")
        pseudo = self.pseudo_inputs(tf.zeros([], self.compute_dtype))
        means, log_vars = self.encoder(pseudo, training=training)
        return tf.cast(means, tf.float32), tf.cast(log_vars, tf.float32)

    def log_prior(self, z, training=False):
        """log p(z) of codes (..., latent_dim): N(0, I), or the VampPrior's mixture."""
        if self.pseudo_inputs is None:
            return losses.normal_log_density(z, 0.0, 0.0)
        return losses.normal_mixture_log_density(z, *self.prior_components(training=training))

    def call(self, images, training=False):
        if self.pseudo_inputs is not None and not self.pseudo_inputs.built:
            # Keras builds a model by calling it: every variable must exist after `model(images)` (get_weights,
            # .keras files), though this pass does not use the prior.
            self.pseudo_inputs.build()
        z_mean, z_log_var = self.encode(images, training=training)
        return self.decode(self.sampling([z_mean, z_log_var]), apply_sigmoid=False, training=training)

    def compute_losses(self, batch, seed=None, training=False):
        if self.num_importance_samples > 1:
            return self._iwae_losses(batch, seed=seed, training=training)
        images = batch["image"]
        z_mean, z_log_var = self.encode(images, training=training)
        z = self.sampling([z_mean, z_log_var], seed=seed)
        logits = self.decoder(z, training=training)
        logpx_z, log_sigma = self.log_likelihood(images, logits)
        logpz = self.log_prior(z, training=training)
        logqz_x = losses.normal_log_density(z, z_mean, z_log_var)
        kl = losses.kl_normal(z_mean, z_log_var) if self.analytic_kl else logqz_x - logpz
        beta = self.kl_weight(training)
        loss = -tf.reduce_mean(logpx_z - beta * kl)
        metrics = {
            "loss": loss,
            "logpx_z": tf.reduce_mean(logpx_z),
            "logpz": tf.reduce_mean(logpz),
            "logqz_x": tf.reduce_mean(logqz_x),
            "kl": tf.reduce_mean(kl),
        }
        return self._add_likelihood_metrics(self._add_warmup_metric(metrics, beta), log_sigma)

    def _add_warmup_metric(self, metrics, beta):
        if self.kl_warmup_steps:
            metrics["kl_weight"] = beta
        return metrics

    def importance_terms(self, images, eps, training=False):
        """The log importance weights of `images` with codes z = mean + sigma * eps of q(z|x).

        Args:
            images: (batch, *image_shape).
            eps: (batch, k, latent_dim) standard normal draws.

        Returns:
            (`tfgen.losses.importance.gaussian_log_weights`'s dict of (batch, k)
            tensors, the decoder's log sigma or None).
        """
        images = self.check_images(images)
        z_mean, z_log_var = self.encode(images, training=training)
        z = importance.reparameterize(z_mean, z_log_var, eps)
        tiled = importance.repeat_rows(images, tf.shape(eps)[1])
        scales = []

        def log_likelihood(codes):
            logpx_z, log_sigma = self.log_likelihood(tiled, self.decoder(codes, training=training))
            scales.append(log_sigma)
            return logpx_z

        log_prior = None if self.pseudo_inputs is None else (lambda codes: self.log_prior(codes, training=training))
        terms = importance.gaussian_log_weights(z, z_mean, z_log_var, log_likelihood, log_prior=log_prior)
        return terms, scales[0]

    def _iwae_losses(self, batch, seed=None, training=False):
        """The IWAE's metrics: `loss` is -L_k, k = `num_importance_samples` codes per image."""
        images = self.check_images(batch["image"])
        shape = (tf.shape(images)[0], self.num_importance_samples, self.latent_dim)
        eps = tfgen_random.normal(shape, seed, self.sampling.seed_generator)
        terms, log_sigma = self.importance_terms(images, eps, training=training)
        beta = self.kl_weight(training)
        log_weight = terms["logpx_z"] + beta * (terms["logpz"] - terms["logqz_x"])
        loss = -tf.reduce_mean(importance.iwae_bound(log_weight))
        metrics = {
            "loss": loss,
            "logpx_z": tf.reduce_mean(terms["logpx_z"]),
            "logpz": tf.reduce_mean(terms["logpz"]),
            "logqz_x": tf.reduce_mean(terms["logqz_x"]),
            "kl": tf.reduce_mean(terms["logqz_x"] - terms["logpz"]),
        }
        return self._add_likelihood_metrics(self._add_warmup_metric(metrics, beta), log_sigma)

    def log_importance_weights(self, images, seeds, num_samples):
        """log w = log p(x|z) + log p(z) - log q(z|x) for `num_samples` codes per image, (batch, num_samples).

        Image i's codes are drawn from seeds[i] (int64) alone, so a row does
        not depend on the rest of the batch: `tfgen.evaluation.likelihood`
        turns these into the importance-weighted bound, and the export's
        `log_importance_weights` signature is this method.
        """
        eps = tfgen_random.normal_codes_from_seeds(seeds, num_samples, self.latent_dim)
        return self.importance_terms(images, eps)[0]["log_weight"]

    def draw_batch(self, num_samples, labels=None, seed=None):
        if self.pseudo_inputs is None:
            return self.decode(tfgen_random.normal((num_samples, self.latent_dim), seed, self.sampling.seed_generator))
        component_seed, normal_seed = tfgen_random.split_seed(seed, 2)
        components = tfgen_random.class_ids((num_samples,), self.num_pseudo_inputs, component_seed,
                                            self.sampling.seed_generator)
        eps = tfgen_random.normal((num_samples, self.latent_dim), normal_seed, self.sampling.seed_generator)
        return self.decode(self._prior_codes(components, eps))

    def draw_from_seeds(self, seeds, labels=None):
        eps = tfgen_random.normal_from_seeds(seeds, self.latent_dim)
        if self.pseudo_inputs is None:
            return self.decode(eps)
        components = tfgen_random.class_ids_from_seeds(seeds, self.num_pseudo_inputs)
        return self.decode(self._prior_codes(components, eps))

    def _prior_codes(self, components, eps):
        """Codes of the VampPrior: z = mean_k + sigma_k * eps for component k of each row."""
        means, log_vars = self.prior_components()
        return tf.gather(means, components) + tf.exp(0.5 * tf.gather(log_vars, components)) * eps

    def serving_endpoints(self):
        images_spec = tf.TensorSpec([None, *self.image_shape], tf.float32, name="images")
        z_spec = tf.TensorSpec([None, self.latent_dim], tf.float32, name="z")
        seed_spec = tf.TensorSpec([None], tf.int64, name="seed")

        def encode(images):
            z_mean, z_log_var = self.encode(images)
            return {"z_mean": z_mean, "z_log_var": z_log_var}

        def decode(z):
            return {"images": self.decode(z)}

        def reconstruct(images):
            z_mean, _ = self.encode(images)
            return {"images": self.decode(z_mean)}

        def log_importance_weights(images, seed, num_samples):
            return {"log_weights": self.log_importance_weights(images, seed, num_samples)}

        return {
            "encode": (encode, [images_spec]),
            "decode": (decode, [z_spec]),
            "sample": self.sample_endpoint(),
            "reconstruct": (reconstruct, [images_spec]),
            "log_importance_weights": (log_importance_weights, [images_spec, seed_spec, NUM_SAMPLES_SPEC]),
        }

    def get_config(self):
        return {
            **super().get_config(),
            "latent_dim": self.latent_dim,
            "analytic_kl": self.analytic_kl,
            "seed": self.seed,
            "likelihood": self.likelihood,
            "num_mixtures": self.num_mixtures,
            "num_importance_samples": self.num_importance_samples,
            "networks": self.networks,
            "hidden_units": self.hidden_units,
            "activation": self.activation,
            "prior": self.prior,
            "num_pseudo_inputs": self.num_pseudo_inputs,
            "kl_warmup_steps": self.kl_warmup_steps,
        }
