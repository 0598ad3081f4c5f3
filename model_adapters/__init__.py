"""Model adapters: one module per kind of model, all behind :class:`model_adapters.base.ModelAdapter`."""
