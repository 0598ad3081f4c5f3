"""evalkit's built-in compact VLM (VisionPangu layout): ViT -> pixel-shuffle MLP projector -> Llama LM.

Modules: ``config`` (one dataclass + presets), ``vision``, ``projector``, ``language``, ``model``
(safetensors checkpoints), ``tokenizer`` (byte-level BPE + chat template), ``data`` (collation,
label masking), ``stream`` (synthetic training batches), ``train`` (staged training, CLI),
``generate`` (batched KV-cache greedy decoding), ``quick_eval`` (development check).
Nothing is imported here, so ``import evalkit.tinyvlm.config`` stays light.
"""
