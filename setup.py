"""Packaging for tfgen: deep generative models (VAEs, GANs) in TensorFlow 2 / Keras 3."""

import os
import re

from setuptools import find_packages, setup

HERE = os.path.dirname(os.path.abspath(__file__))


def read_version():
    with open(os.path.join(HERE, "tfgen", "__init__.py"), encoding="utf-8") as handle:
        match = re.search(r'^__version__ = "([^"]+)"', handle.read(), re.MULTILINE)
    return match.group(1)


# Ranges known to work together (installed and tested as a set): TensorFlow
# 2.21 with its Keras 3; TFP 0.25 needs tf-keras only to import; TFDS 4.9
# needs importlib_resources.
INSTALL_REQUIRES = [
    "tensorflow>=2.21,<2.22",
    # TensorFlow 2.21 no longer pulls TensorBoard in; tf.summary needs it.
    "tensorboard>=2.21,<2.22",
    "keras>=3.12,<4",
    "tensorflow-probability>=0.25,<0.26",
    "tf-keras>=2.21,<2.22",
    "tensorflow-datasets>=4.9.9,<4.10",
    "importlib_resources>=6",
    "matplotlib>=3.8,<4",
    "scikit-learn>=1.4,<2",
    "numpy>=1.26,<3",
]

# The docs site (mkdocs.yml): ranges installed and built together with `mkdocs build --strict`.
# mkdocstrings 0.30 does not work with pymdown-extensions 13 (its code highlighter's signature
# changed); 1.0 does. The test extra includes them: the suite builds the site (tests/test_docs.py).
DOCS_REQUIRE = [
    "mkdocs>=1.6,<2",
    "mkdocs-material>=9.5,<10",
    "mkdocstrings[python]>=1.0,<2",
    "pymdown-extensions>=10,<14",
]

setup(
    name="tfgen",
    version=read_version(),
    description="Deep generative models (VAE, MMD-VAE, CVAE, M2, GANs, VHE) in TensorFlow 2 and Keras 3",
    long_description=open(os.path.join(HERE, "README.md"), encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    packages=find_packages(include=["tfgen", "tfgen.*"]),
    package_data={"tfgen": ["catalog.json"]},  # the command line's description of the models (tfgen/catalog.py)
    python_requires=">=3.10",
    install_requires=INSTALL_REQUIRES,
    extras_require={"test": ["pytest>=8,<10", *DOCS_REQUIRE], "docs": DOCS_REQUIRE},
    entry_points={"console_scripts": ["tfgen=tfgen.cli:main"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
