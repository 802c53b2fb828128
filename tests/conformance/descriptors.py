"""The conformance descriptors: a small configuration of every registered model.

Every file in tests/conformance/ runs its property over every model listed
here (sonnet's conformance pattern); `test_every_registered_model_has_a_descriptor` (test_capabilities.py)
fails when a model is registered without one.
"""

#: Constructor arguments of a tiny instance of each registered model (fast to build and train).
MODEL_KWARGS = {
    # The CGAN keeps an averaged generator (its shipped export's recipe), so every conformance property (exact
    # resumption, eager == compiled, replicas, exports, other image shapes) covers the average too.
    "cgan": {"latent_dim": 8, "hidden_units": (16,), "generator_filters": 8, "discriminator_filters": 8,
             "generator_ema": 0.9},
    # One level at 28x28 (no down- or upsampling: half the U-Net's layers, and its traces, of three levels); two at
    # the other image shapes (SHAPE_KWARGS), where the exports are checked, so the resolutions' path is covered too.
    # Without the weight average: its mechanism is the GANs' (tfgen/models/ema.py), which the CGAN above keeps for
    # every property; a second U-Net cost ~22% of this model's CPU in every test (32.4 -> 25.2 s in its 15
    # in-process tests). tests/test_diffusion.py checks the diffusion model's own use of it: the update, samples
    # drawn from it, and its checkpoint and .keras round trips.
    "conditional_diffusion": {"num_classes": 20, "timesteps": 10, "base_filters": 4, "num_res_blocks": 1,
                              "attention_max_side": 0, "num_levels": 1, "sampling_steps": 2, "ema": None,
                              "guidance_scale": 1.0},
    "cvae": {"latent_dim": 2, "num_classes": 20},
    # The GANs' objectives (tfgen/models/gan.py, `loss`): the DCGAN trains with WGAN-GP (its critic without batch
    # norm, as the paper's) and the InfoGAN with the minimax loss and spectral normalization, so every property
    # (exact resumption, eager == compiled, replicas, mixed precision, exports, other image shapes) covers the
    # gradient penalty's double backpropagation and the power iteration's state; the CGAN keeps the default
    # (non-saturating) loss, so that stays covered too. Not the hinge loss: its D's logit bias gets a zero
    # gradient while every score is inside the margin (as at initialization), and every property here checks
    # that one step moves every variable; tests/test_gan_models.py trains it.
    "dcgan": {"latent_dim": 8, "generator_filters": 8, "discriminator_filters": 8, "loss": "wgan_gp",
              "discriminator_batch_norm": False},
    # Without the average, as the conditional model (above).
    "diffusion": {"timesteps": 10, "base_filters": 4, "num_res_blocks": 1, "attention_max_side": 0, "num_levels": 1,
                  "sampling_steps": 2, "ema": None},
    "gumbel_ssvae": {"latent_dim": 2, "num_classes": 20},
    "infogan": {"latent_dim": 8, "generator_filters": 8, "discriminator_filters": 8, "q_hidden_units": 16,
                "loss": "minimax", "spectral_norm": True},
    "mmd_vae": {"latent_dim": 2},
    "ssvae": {"latent_dim": 2, "num_classes": 20},
    # With the VampPrior (prior="vamp") and a KL warm-up, so every property covers the pseudo-inputs, the mixture prior
    # in the loss, the importance weights and the samples, and the warm-up's read of the optimizer's step; the
    # standard prior is the seed VAE's, which most other test files train.
    "vae": {"latent_dim": 2, "prior": "vamp", "num_pseudo_inputs": 4, "kl_warmup_steps": 3},
    "vhe": {"class_dim": 3, "latent_dim": 2, "hidden_units": 16},
    "vhe_unsupervised": {"num_examples": 64, "num_clusters": 3, "class_dim": 3, "latent_dim": 2, "hidden_units": 16},
}

#: Models whose checks in the child processes (exact resumption after a kill, eager == compiled steps and loops,
#: MirroredStrategy, mixed precision, other image shapes and their exports) are those of another model: {model:
#: the model that runs the same code with one input more}. The unconditional diffusion model is the conditional
#: one without the label (`network_labels` is None; the U-Net without its class embedding): its in-process checks
#: (one step, seeds, the checkpoint and .keras round trips, sampling) and its 28x28x1 export run as every model's;
#: the child processes' runs (~90 s of CPU per diffusion model) are made once, for `conditional_diffusion`.
CHILD_CHECKS_BY = {"diffusion": "conditional_diffusion"}

#: The image shapes the suite checks besides 28x28x1 (test_image_shapes.py, and the exports of
#: test_saved_model.py): RGB, a start grid of 8 (28x28's is 7) and the rule's k = 3 (tfgen.networks.shapes), one
#: level more than 28x28's k = 2. 32x32x3 (RGB at k = 2) was checked too until the suite had to fit its time
#: again (~17 s of CPU): it is the deeper shape's code with one level less, and BENCHMARKS_IMAGES.md trains it.
IMAGE_SHAPES = ((64, 64, 3),)


#: What changes in MODEL_KWARGS at those shapes: the VHE there uses its convolutional networks (the
#: conditional encoder's extra convolution at 64x64), its unsupervised variant keeps the MLPs.
SHAPE_KWARGS = {
    "vhe": {"networks": "conv"},
    "diffusion": {"num_levels": 2},
    "conditional_diffusion": {"num_levels": 2},
}

#: A non-default value for every constructor option of each registered model
#: (the options of the class's __init__ and of the base classes it forwards
#: **kwargs to, GenerativeModel's `image_shape` included). test_serialization.py checks that the
#: list is complete, that each value differs from the default, and that a
#: model rebuilt from its (JSON) config keeps every one.
NON_DEFAULT_KWARGS = {
    "cgan": {"latent_dim": 5, "num_classes": 7, "label_input": "vector", "hidden_units": (12,), "generator_filters": 6,
             "discriminator_filters": 5, "discriminator_batch_norm": False, "discriminator_steps": 2,
             "label_smoothing": 0.1, "seed": 5, "image_shape": (48, 64, 2), "generator_ema": 0.99, "loss": "minimax",
             "gradient_penalty": 5.0, "spectral_norm": True},
    # A KL weight and the IWAE bound exclude each other: two sets, each option non-default in one.
    "cvae": [{"latent_dim": 3, "num_classes": 7, "conditioning": "concat", "encoder_sees_label": True,
              "encoder_units": 12, "beta": 0.5, "likelihood": "gaussian_learned", "analytic_kl": False, "seed": 5,
              "num_mixtures": 3, "image_shape": (48, 64, 2), "num_importance_samples": 1},
             {"latent_dim": 3, "num_classes": 7, "conditioning": "concat", "encoder_sees_label": True,
              "encoder_units": 12, "beta": 1.0, "likelihood": "logistic_mixture", "analytic_kl": False, "seed": 5,
              "num_mixtures": 3, "image_shape": (48, 64, 2), "num_importance_samples": 3}],
    "conditional_diffusion": {"num_classes": 7, "label_dropout": 0.25, "guidance_scale": 2.0, "timesteps": 20,
                              "schedule": "cosine", "base_filters": 8, "num_res_blocks": 1, "max_multiplier": 4,
                              "attention_max_side": 16, "num_levels": 3, "ema": 0.99, "sampling_steps": 5, "eta": 0.5,
                              "seed": 5, "image_shape": (48, 64, 2)},
    "dcgan": {"latent_dim": 5, "generator_filters": 6, "discriminator_filters": 5, "discriminator_batch_norm": False,
              "discriminator_steps": 2, "label_smoothing": 0.1, "seed": 5, "image_shape": (48, 64, 2),
              "generator_ema": 0.999, "loss": "minimax", "gradient_penalty": 5.0, "spectral_norm": True},
    "diffusion": {"timesteps": 20, "schedule": "cosine", "base_filters": 8, "num_res_blocks": 1, "max_multiplier": 4,
                  "attention_max_side": 16, "num_levels": 3, "ema": 0.99, "sampling_steps": 5, "eta": 0.5, "seed": 5,
                  "image_shape": (48, 64, 2)},
    "gumbel_ssvae": {"latent_dim": 3, "num_classes": 7, "hard": True, "initial_temperature": 2.0,
                     "min_temperature": 0.3, "anneal_rate": 1e-3, "anneal_every": 100, "alpha": 2.0,
                     "conditioning": "projection", "encoder_units": 12, "beta": 0.5, "likelihood": "gaussian_optimal",
                     "analytic_kl": False, "seed": 5, "num_mixtures": 2, "image_shape": (48, 64, 2)},
    "infogan": {"latent_dim": 5, "num_categories": 4, "num_continuous": 1, "info_weight": 0.5,
                "continuous_weight": 0.25, "learn_std": True, "hidden_units": (12,), "q_hidden_units": 6,
                "generator_filters": 6, "discriminator_filters": 5, "discriminator_batch_norm": False,
                "discriminator_hidden_units": (10,), "discriminator_steps": 2, "label_smoothing": 0.1, "seed": 5,
                "image_shape": (48, 64, 2), "generator_ema": 0.95, "loss": "minimax", "gradient_penalty": 5.0,
                "spectral_norm": True},
    "mmd_vae": {"latent_dim": 3, "mmd_weight": 2.0, "seed": 5, "likelihood": "logistic", "num_mixtures": 2, "image_shape": (48, 64, 2)},
    "ssvae": {"latent_dim": 3, "num_classes": 7, "alpha": 2.0, "conditioning": "projection", "encoder_units": 12,
              "beta": 0.5, "likelihood": "gaussian_learned", "analytic_kl": False, "seed": 5, "num_mixtures": 4, "image_shape": (48, 64, 2)},
    # The analytic KL excludes the IWAE bound and the VampPrior: two sets, each option non-default in one.
    "vae": [{"latent_dim": 3, "analytic_kl": True, "seed": 5, "likelihood": "logistic_mixture", "num_mixtures": 3,
             "image_shape": (48, 64, 2), "num_importance_samples": 1, "networks": "conv", "hidden_units": [200, 200],
             "activation": "tanh", "prior": "standard", "num_pseudo_inputs": 6, "kl_warmup_steps": 0},
            {"latent_dim": 3, "analytic_kl": False, "seed": 5, "likelihood": "bernoulli", "num_mixtures": 5,
             "image_shape": (48, 64, 2), "num_importance_samples": 3, "networks": "mlp", "hidden_units": [7, 5],
             "activation": "relu", "prior": "vamp", "num_pseudo_inputs": 6, "kl_warmup_steps": 7}],
    "vhe": {"class_dim": 3, "latent_dim": 2, "networks": "conv", "hidden_units": 12, "class_size": 100, "set_size": 3,
            "seed": 5, "likelihood": "logistic_mixture", "num_mixtures": 2, "image_shape": (48, 64, 2)},
    "vhe_unsupervised": {"num_examples": 50, "num_clusters": 4, "class_dim": 3, "latent_dim": 2, "networks": "conv",
                         "hidden_units": 12, "class_size": 100, "set_size": 3, "seed": 5,
                         "likelihood": "gaussian_learned", "num_mixtures": 4, "image_shape": (48, 64, 2)},
}



def non_default_sets(name):
    """NON_DEFAULT_KWARGS[name] as a list of option sets (most models have one)."""
    sets = NON_DEFAULT_KWARGS[name]
    return sets if isinstance(sets, list) else [sets]


#: Options a model class fixes whatever is passed (so its config need not
#: carry them), by model: {option: the value the class always uses}.
#: The semi-supervised VAEs are CVAEs whose encoder always sees the label.
FIXED_OPTIONS = {
    "gumbel_ssvae": {"encoder_sees_label": True, "num_importance_samples": 1},
    "ssvae": {"encoder_sees_label": True, "num_importance_samples": 1},
}
