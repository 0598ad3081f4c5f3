"""``python -m evalkit`` (used by ``torchrun -m evalkit run ...``)."""

from evalkit.cli import main

if __name__ == "__main__":
    main()
