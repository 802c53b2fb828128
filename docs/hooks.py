"""MkDocs hook: pages that render a Markdown file kept outside docs/ (the BENCHMARKS files, saved_models/README.md).

Those files stay where the code, the tests and the benchmark scripts name them; a page under docs/
holds one line `<!-- include: PATH -->` (PATH from the repository root) and gets the file's text
here, its relative links rewritten for the page's place in the site: a link to another included
file goes to that file's page, a link into docs/ to that page or figure. A link to anything else
is left alone, and MkDocs' strict build names it.
"""

import os
import posixpath
import re

#: Repository files rendered as site pages: path from the repository root -> page under docs/.
INCLUDED = {
    "BENCHMARKS.md": "benchmarks/speed-and-vae.md",
    "BENCHMARKS_GAN.md": "benchmarks/gan.md",
    "BENCHMARKS_IMAGES.md": "benchmarks/images.md",
    "BENCHMARKS_LIKELIHOOD.md": "benchmarks/likelihood.md",
    "BENCHMARKS_SSVAE.md": "benchmarks/ssvae.md",
    "BENCHMARKS_VHE.md": "benchmarks/vhe.md",
    "saved_models/README.md": "pretrained.md",
}

_INCLUDE = re.compile(r"^<!-- include: (\S+) -->$", re.MULTILINE)
# A Markdown link or image target: ](target) or ](target#anchor), no spaces, not a URL.
_LINK = re.compile(r"\]\((?![a-z]+:|#)([^)\s#]+)(#[^)\s]*)?\)")


def _site_target(repo_path):
    """The docs/ path a repository path is rendered at, or None."""
    if repo_path in INCLUDED:
        return INCLUDED[repo_path]
    if repo_path.startswith("docs/"):
        return repo_path[len("docs/"):]
    return None


def _rewrite(text, source, page):
    """`text` of the repository file `source` with its relative links made relative to the docs page `page`."""
    source_dir = posixpath.dirname(source)
    page_dir = posixpath.dirname(page)

    def replace(match):
        target, anchor = match.group(1), match.group(2) or ""
        site = _site_target(posixpath.normpath(posixpath.join(source_dir, target)))
        if site is None:
            return match.group(0)
        return f"]({posixpath.relpath(site, page_dir or '.')}{anchor})"

    return _LINK.sub(replace, text)


def on_page_markdown(markdown, page, config, files):
    root = os.path.dirname(os.path.abspath(config["config_file_path"]))

    def include(match):
        source = match.group(1)
        with open(os.path.join(root, source), encoding="utf-8") as handle:
            text = handle.read()
        note = f"\n\n*This page renders `{source}` of the repository.*\n"
        return _rewrite(text, source, page.file.src_uri).rstrip("\n") + note

    return _INCLUDE.sub(include, markdown)
