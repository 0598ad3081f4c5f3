"""Task specs (``*.yaml``) and their hook modules; see README.md in this folder."""
