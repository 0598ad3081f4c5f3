"""evalkit: a benchmark and evaluation harness for vision-language models."""

__version__ = "0.1.0"

__all__ = ["__version__"]
