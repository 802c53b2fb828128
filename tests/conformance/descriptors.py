"""The conformance descriptors: a small configuration of every registered model.

Every file in tests/conformance/ runs its property over every model listed
here (sonnet's conformance pattern); `test_every_registered_model_has_a_descriptor`
fails when a model is registered without one.
"""

#: Constructor arguments of a tiny instance of each registered model (fast to build and train).
MODEL_KWARGS = {
    "cgan": {"latent_dim": 8, "hidden_units": (16,), "generator_filters": 8, "discriminator_filters": 8},
    "cvae": {"latent_dim": 2, "num_classes": 20},
    "dcgan": {"latent_dim": 8, "generator_filters": 8, "discriminator_filters": 8},
    "gumbel_ssvae": {"latent_dim": 2, "num_classes": 20},
    "infogan": {"latent_dim": 8, "generator_filters": 8, "discriminator_filters": 8, "q_hidden_units": 16},
    "mmd_vae": {"latent_dim": 2},
    "ssvae": {"latent_dim": 2, "num_classes": 20},
    "vae": {"latent_dim": 2},
    "vhe": {"class_dim": 3, "latent_dim": 2, "hidden_units": 16},
    "vhe_unsupervised": {"num_examples": 64, "num_clusters": 3, "class_dim": 3, "latent_dim": 2, "hidden_units": 16},
}
