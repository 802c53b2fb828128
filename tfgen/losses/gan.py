"""GAN losses and the InfoGAN mutual-information terms, as pure functions.

Reduction: unlike the ELBO pieces (one value per example), every function here
returns a scalar, the **mean over the batch** (summed over the code
dimensions for the continuous InfoGAN codes), as the GAN papers write their
objectives. All take logits, never probabilities, so that they stay finite
for confident discriminators (log(sigmoid(x)) = -softplus(-x)). For the
Wasserstein and hinge losses the "logits" are the critic's raw scores D(x),
which no sigmoid reads.

The objectives of `tfgen.models.gan.AdversarialModel`'s `loss` option:

| loss | discriminator | generator |
| --- | --- | --- |
| "non_saturating" | `discriminator_loss` | `generator_loss` |
| "minimax" | `discriminator_loss` | `minimax_generator_loss` |
| "wgan_gp" | `wasserstein_critic_loss` + lambda `gradient_penalty` | `wasserstein_generator_loss` |
| "hinge" | `hinge_discriminator_loss` | `wasserstein_generator_loss` |

References:
    Ian J. Goodfellow, Jean Pouget-Abadie, Mehdi Mirza, Bing Xu, David
    Warde-Farley, Sherjil Ozair, Aaron Courville and Yoshua Bengio,
    "Generative Adversarial Nets", Advances in Neural Information Processing
    Systems 27 (NeurIPS 2014), arXiv:1406.2661.

    Xi Chen, Yan Duan, Rein Houthooft, John Schulman, Ilya Sutskever and
    Pieter Abbeel, "InfoGAN: Interpretable Representation Learning by
    Information Maximizing Generative Adversarial Nets", Advances in Neural
    Information Processing Systems 29 (NeurIPS 2016), arXiv:1606.03657.

    Martin Arjovsky, Soumith Chintala and Léon Bottou, "Wasserstein
    Generative Adversarial Networks", Proceedings of the 34th International
    Conference on Machine Learning (ICML 2017), arXiv:1701.07875.

    Ishaan Gulrajani, Faruk Ahmed, Martin Arjovsky, Vincent Dumoulin and
    Aaron Courville, "Improved Training of Wasserstein GANs", Advances in
    Neural Information Processing Systems 30 (NeurIPS 2017), arXiv:1704.00028.

    Jae Hyun Lim and Jong Chul Ye, "Geometric GAN", arXiv:1705.02894, 2017.

    Takeru Miyato, Toshiki Kataoka, Masanori Koyama and Yuichi Yoshida,
    "Spectral Normalization for Generative Adversarial Networks",
    International Conference on Learning Representations (ICLR 2018),
    arXiv:1802.05957.
"""

import tensorflow as tf

from tfgen import _checks
from tfgen import labels as labels_lib
from tfgen.losses.elbo import normal_log_density


def _check_label_smoothing(label_smoothing):
    return _checks.number("label_smoothing", label_smoothing, minimum=0.0, maximum=1.0, allow_maximum=False)


def discriminator_loss(real_logits, fake_logits, label_smoothing=0.0):
    """The discriminator's minimax loss (Goodfellow et al. 2014, eq. 1), mean over the batch.

        loss = -mean log D(x) - mean log(1 - D(G(z)))
             = mean softplus(-real_logits) + mean softplus(fake_logits)

    i.e. the sigmoid cross-entropy of the real logits against 1 plus that of
    the fake logits against 0. Its minimum over D for a fixed G is
    log 4 - 2 JSD(p_data || p_G).

    Args:
        real_logits: D's logits on real images, shape (batch,) or (batch, 1).
        fake_logits: D's logits on generated images, shape (batch',) or (batch', 1).
        label_smoothing: one-sided label smoothing (Salimans et al., "Improved
            Techniques for Training GANs", NeurIPS 2016): the real target is
            `1 - label_smoothing`. 0 gives the plain minimax loss.

    Returns:
        A scalar: the mean over the real batch plus the mean over the fake batch.
    """
    label_smoothing = _check_label_smoothing(label_smoothing)
    real_logits = tf.convert_to_tensor(real_logits)
    fake_logits = tf.cast(fake_logits, real_logits.dtype)
    real_targets = tf.fill(tf.shape(real_logits), tf.cast(1.0 - label_smoothing, real_logits.dtype))
    real_loss = tf.nn.sigmoid_cross_entropy_with_logits(labels=real_targets, logits=real_logits)
    fake_loss = tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.zeros_like(fake_logits), logits=fake_logits)
    return tf.reduce_mean(real_loss) + tf.reduce_mean(fake_loss)


def generator_loss(fake_logits):
    """The non-saturating generator loss (Goodfellow et al. 2014, section 3), mean over the batch.

        loss = -mean log D(G(z)) = mean softplus(-fake_logits)

    Same fixed point as minimizing log(1 - D(G(z))) but with strong gradients
    early in training, when D rejects the samples with confidence.

    Args:
        fake_logits: D's logits on generated images.

    Returns:
        A scalar.
    """
    fake_logits = tf.convert_to_tensor(fake_logits)
    return tf.reduce_mean(tf.nn.softplus(-fake_logits))


def minimax_generator_loss(fake_logits):
    """The saturating generator loss of the minimax game, mean over the batch.

        loss = mean log(1 - D(G(z))) = -mean softplus(fake_logits)

    Kept for comparison with `generator_loss`: its gradient vanishes when D
    confidently rejects the samples (Goodfellow et al. 2014, section 3).

    Args:
        fake_logits: D's logits on generated images.

    Returns:
        A scalar.
    """
    fake_logits = tf.convert_to_tensor(fake_logits)
    return -tf.reduce_mean(tf.nn.softplus(fake_logits))


def _real_and_fake(real_logits, fake_logits):
    """The two batches of scores as tensors of one dtype (the real scores')."""
    real_logits = tf.convert_to_tensor(real_logits)
    return real_logits, tf.cast(fake_logits, real_logits.dtype)


def wasserstein_critic_loss(real_logits, fake_logits):
    """The WGAN critic's loss (Arjovsky et al. 2017 and Gulrajani et al. 2017, Algorithm 1), batch means.

        loss = mean D(G(z)) - mean D(x)

    The critic maximizes mean D(x) - mean D(G(z)), its estimate of the
    Wasserstein-1 distance between the data and the generator's
    distribution, which is that distance when D is 1-Lipschitz; WGAN-GP adds
    `gradient_penalty` (weight lambda) to enforce it softly. `-loss` is the
    critic's estimate of the distance.

    Args:
        real_logits: D's scores on real images, shape (batch,) or (batch, 1).
        fake_logits: D's scores on generated images, shape (batch',) or (batch', 1).

    Returns:
        A scalar: the mean over the fake batch minus the mean over the real batch.
    """
    real_logits, fake_logits = _real_and_fake(real_logits, fake_logits)
    return tf.reduce_mean(fake_logits) - tf.reduce_mean(real_logits)


def wasserstein_generator_loss(fake_logits):
    """The generator's loss against a critic, mean over the batch: WGAN's and the hinge loss's.

        loss = -mean D(G(z))

    Arjovsky et al. 2017 and Gulrajani et al. 2017 (their Algorithm 1) for
    the Wasserstein GANs; Lim and Ye 2017 and Miyato et al. 2018 pair it with
    `hinge_discriminator_loss`.

    Args:
        fake_logits: D's scores on generated images.

    Returns:
        A scalar.
    """
    return -tf.reduce_mean(tf.convert_to_tensor(fake_logits))


def hinge_discriminator_loss(real_logits, fake_logits):
    """The hinge loss of the discriminator (Lim and Ye 2017; Miyato et al. 2018), batch means.

        loss = mean relu(1 - D(x)) + mean relu(1 + D(G(z)))

    D is pushed to score real images above 1 and generated ones below -1,
    and no further (a margin, as a support vector machine's). Its generator
    loss is `wasserstein_generator_loss`, -mean D(G(z)).

    Args:
        real_logits: D's scores on real images, shape (batch,) or (batch, 1).
        fake_logits: D's scores on generated images, shape (batch',) or (batch', 1).

    Returns:
        A scalar: the mean over the real batch plus the mean over the fake batch.
    """
    real_logits, fake_logits = _real_and_fake(real_logits, fake_logits)
    return tf.reduce_mean(tf.nn.relu(1.0 - real_logits)) + tf.reduce_mean(tf.nn.relu(1.0 + fake_logits))


#: Added to a squared gradient norm under the square root of `gradient_penalty`: the derivative of sqrt(s) is
#: infinite at s = 0, and a critic whose gradient is exactly zero at one example would make the update NaN.
#: In float32 it changes no norm above 0.01 (a squared norm above 1e-4 has a half-ulp above 3.6e-12).
_NORM_FLOOR = 1e-12


def gradient_penalty(critic, real, fake, interpolation_weights):
    """WGAN-GP's two-sided gradient penalty (Gulrajani et al. 2017, eq. 3 and Algorithm 1), mean over the batch.

        x_hat_i = eps_i x_i + (1 - eps_i) x_tilde_i,
        penalty = mean_i (||grad_{x_hat} D(x_hat)_i||_2 - 1)^2,

    one eps_i ~ U[0, 1] per example (given: `interpolation_weights`), the norm
    over all of an example's dimensions. The critic's loss is
    `wasserstein_critic_loss` + lambda * penalty (lambda = 10 in the paper).

    The gradient of `critic`'s summed scores with respect to the
    interpolates is each example's gradient only when the critic judges
    every example on its own: no batch normalization (the paper's critic
    has none, section 4). The penalty is differentiable with respect to the
    critic's variables (a second derivative): compute it under the tape of
    the critic's update.

    Args:
        critic: a callable from images (batch, ...) to scores (batch,) or
            (batch, 1): D with anything else it takes (a label) held fixed.
        real: real images x, (batch, ...).
        fake: generated images x_tilde, the shape of `real`.
        interpolation_weights: eps, (batch,), in [0, 1]: x_hat_i's share of x_i.

    Returns:
        A scalar, >= 0 (0 when every example's gradient has norm 1).
    """
    real = tf.convert_to_tensor(real)
    fake = tf.cast(fake, real.dtype)
    _checks.same_shape("fake", fake, "real", real)
    if real.shape.rank is None or real.shape.rank < 2:
        raise ValueError(f"real must be a batch of examples, (batch, ...). Received: real.shape={tuple(real.shape)}")
    weights = tf.cast(interpolation_weights, real.dtype)
    _checks.shape("interpolation_weights", weights, (real.shape[0],))
    weights = tf.reshape(weights, [-1] + [1] * (real.shape.rank - 1))
    interpolates = weights * real + (1.0 - weights) * fake
    with tf.GradientTape() as tape:
        tape.watch(interpolates)
        scores = critic(interpolates)
    # A critic that does not read its input has a zero gradient (penalty 1), not None.
    gradients = tape.gradient(scores, interpolates, unconnected_gradients=tf.UnconnectedGradients.ZERO)
    squared_norms = tf.reduce_sum(tf.square(gradients), axis=list(range(1, real.shape.rank)))
    norms = tf.sqrt(squared_norms + _NORM_FLOOR)
    return tf.reduce_mean(tf.square(norms - 1.0))


def categorical_mutual_information_loss(code_logits, codes):
    """Minus the variational lower bound of I(c; G(z, c)) for a categorical code, up to H(c).

    InfoGAN (Chen et al. 2016, eq. 4) maximizes
        L_I(G, Q) = E_{c ~ p(c), x ~ G(z, c)}[log Q(c | x)] + H(c) <= I(c; G(z, c)).
    H(c) is a constant for a fixed code prior, so the loss is the
    cross-entropy of Q's logits against the sampled code:
        loss = -mean log Q(c | x) = mean softmax_cross_entropy(codes, code_logits).

    Args:
        code_logits: Q's logits, shape (batch, num_categories).
        codes: the sampled codes, one-hot (batch, num_categories) float, or
            integer ids (batch,).

    Returns:
        A scalar, >= 0; the lower bound of the mutual information is
        H(c) - loss (log(num_categories) - loss for a uniform code).
    """
    code_logits = tf.convert_to_tensor(code_logits)
    codes = tf.convert_to_tensor(codes)
    if codes.dtype.is_integer:
        _checks.shape("codes", codes, (code_logits.shape[0],))
        if code_logits.shape[-1] is not None:
            codes = labels_lib.check_class_ids(codes, code_logits.shape[-1], "codes")
        cross_entropy = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=codes, logits=code_logits)
    else:
        _checks.same_shape("codes", codes, "code_logits", code_logits)
        cross_entropy = tf.nn.softmax_cross_entropy_with_logits(labels=tf.cast(codes, code_logits.dtype), logits=code_logits)
    return tf.reduce_mean(cross_entropy)


def gaussian_mutual_information_loss(codes, mean, log_std):
    """Minus the variational lower bound of I(c; G(z, c)) for continuous codes, up to H(c).

    Q(c | x) is a factored Gaussian N(mean, exp(log_std)^2) (Chen et al. 2016,
    section 6 and appendix C), so the loss is its negative log-likelihood of
    the sampled code, summed over the code dimensions and averaged over the
    batch:
        loss = mean_batch sum_j [0.5 log(2 pi) + log_std_j + 0.5 ((c_j - mean_j) / exp(log_std_j))^2].
    With `log_std = 0` this is half the squared error plus a constant, the
    fixed-variance form many implementations use.

    Args:
        codes: the sampled continuous codes, shape (batch, num_codes).
        mean: Q's predicted means, same shape.
        log_std: Q's predicted log standard deviations, broadcastable.

    Returns:
        A scalar (it can be negative: a density, not a probability).
    """
    codes = tf.convert_to_tensor(codes)
    _checks.same_shape("mean", mean, "codes", codes)
    _checks.same_shape("log_std", log_std, "codes", codes, broadcast=True)
    mean = tf.cast(mean, codes.dtype)
    log_std = tf.cast(log_std, codes.dtype)
    return -tf.reduce_mean(normal_log_density(codes, mean, 2.0 * log_std, axis=-1))
