"""Specification of the VLM's components: pixel shuffle, projector, image-slot filling, loss, checkpoints."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from evalkit.tinyvlm.config import preset
from evalkit.tinyvlm.model import IGNORE_INDEX, VisionPangu, position_ids_from_mask
from evalkit.tinyvlm.projector import pixel_shuffle

MICRO = {"vocab_size": 40, "vit_layers": 1, "vit_hidden": 32, "vit_heads": 2, "vit_mlp": 64, "lm_hidden": 32,
         "lm_layers": 1, "lm_heads": 2, "lm_kv_heads": 1, "lm_ffn": 64, "image_size": 32}  # fmt: skip


def micro_model(**overrides: object) -> VisionPangu:
    torch.manual_seed(0)
    return VisionPangu(preset("tiny", **{**MICRO, **overrides})).eval()


def test_pixel_shuffle_concatenates_each_2x2_block_of_patches() -> None:
    # a 4x4 grid whose feature is the patch index; block (0,0) holds patches 0, 1, 4, 5
    grid = torch.arange(16.0).view(1, 16, 1)
    out = pixel_shuffle(grid, 2)
    assert out.shape == (1, 4, 4)
    assert out[0].tolist() == [[0, 1, 4, 5], [2, 3, 6, 7], [8, 9, 12, 13], [10, 11, 14, 15]]


def test_projector_gives_four_times_fewer_tokens_in_lm_width() -> None:
    model = micro_model()
    visual = model.visual_embeddings(torch.zeros(2, 3, 32, 32))
    assert visual.shape == (2, (32 // 8 // 2) ** 2, 32)


def test_image_slots_are_filled_with_visual_features_in_order() -> None:
    model = micro_model()
    n = model.config.num_visual_tokens
    img = model.config.image_token_id
    ids = torch.tensor([[5] + [img] * n + [6], [img] * n + [7, 8]])
    pixels = torch.randn(2, 3, 32, 32)
    embeds = model.embed(ids, pixels)
    visual = model.visual_embeddings(pixels)
    assert torch.equal(embeds[0, 1 : 1 + n], visual[0])
    assert torch.equal(embeds[1, :n], visual[1])
    assert torch.equal(embeds[0, 0], model.language.get_input_embeddings().weight[5])


def test_slot_count_mismatch_is_an_error() -> None:
    model = micro_model()
    ids = torch.tensor([[model.config.image_token_id, 5]])
    with pytest.raises(ValueError, match="<image> tokens"):
        model.embed(ids, torch.randn(1, 3, 32, 32))


def test_loss_only_counts_labelled_positions() -> None:
    model = micro_model()
    ids = torch.tensor([[9, 10, 11, 12]])
    mask = torch.ones_like(ids)
    labels = torch.tensor([[IGNORE_INDEX, IGNORE_INDEX, 11, 12]])
    logits = model(ids, mask).logits
    assert logits is not None
    expected = torch.nn.functional.cross_entropy(logits[0, 1:3], torch.tensor([11, 12]))
    loss = model(ids, mask, labels=labels).loss
    assert loss is not None
    assert torch.allclose(loss, expected, atol=1e-6)


def test_label_weights_weigh_positions_within_each_examples_mean() -> None:
    model = micro_model()
    ids = torch.tensor([[9, 10, 11, 12], [9, 13, 14, 15]])
    mask = torch.ones_like(ids)
    labels = torch.tensor([[IGNORE_INDEX, IGNORE_INDEX, 11, 12], [IGNORE_INDEX, 13, 14, 15]])
    logits = model(ids, mask).logits
    assert logits is not None
    per_token = torch.nn.functional.cross_entropy(
        logits[:, :-1].transpose(1, 2), ids[:, 1:], reduction="none"
    )
    weights = torch.tensor([[1.0, 1.0, 4.0, 1.0], [1.0, 1.0, 1.0, 1.0]])
    first = (4 * per_token[0, 1] + per_token[0, 2]) / 5  # the weight-4 token counts four times
    expected = (first + per_token[1].mean()) / 2  # examples still weigh one each
    loss = model(ids, mask, labels=labels, label_weights=weights).loss
    assert loss is not None and torch.allclose(loss, expected, atol=1e-6)
    unweighted = model(ids, mask, labels=labels).loss
    ones = model(ids, mask, labels=labels, label_weights=torch.ones(2, 4)).loss
    assert unweighted is not None and ones is not None and torch.allclose(unweighted, ones, atol=1e-7)


def test_left_padding_does_not_shift_positions() -> None:
    mask = torch.tensor([[0, 0, 1, 1, 1], [1, 1, 1, 1, 1]])
    assert position_ids_from_mask(mask).tolist() == [[0, 0, 0, 1, 2], [0, 1, 2, 3, 4]]


@pytest.mark.parametrize("tie", [True, False])
def test_checkpoint_round_trip_reproduces_logits(tmp_path: Path, tie: bool) -> None:
    model = micro_model(tie_embeddings=tie, dense_heads=(("shape", 3),))
    model.save_pretrained(tmp_path)
    loaded = VisionPangu.from_pretrained(tmp_path)
    assert loaded.config == model.config
    ids, mask = torch.tensor([[3, 4, 5]]), torch.ones(1, 3, dtype=torch.long)
    assert torch.equal(loaded(ids, mask).logits, model(ids, mask).logits)  # type: ignore[arg-type]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json", "model.safetensors"]


def test_missing_checkpoint_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="evalkit train"):
        VisionPangu.from_pretrained(tmp_path)


def test_visual_position_marks_each_token_with_its_row_and_column() -> None:
    plain, placed = micro_model(image_size=64), micro_model(image_size=64, visual_position=True)
    placed.load_state_dict(plain.state_dict(), strict=False)
    pixels = torch.rand(1, 3, 64, 64)
    marked = placed.visual_embeddings(pixels)[0] - plain.visual_embeddings(pixels)[0]  # 4x4 tokens
    proj = placed.projector
    for token in range(16):
        row, col = divmod(token, 4)  # tokens run row-major, as pixel_shuffle lays them out
        assert torch.allclose(marked[token], proj.row_embed[row] + proj.col_embed[col], atol=1e-6)
    assert len({tuple(t.round(decimals=5).tolist()) for t in marked}) == 16


def test_config_overrides_on_load_add_new_parameters_and_keep_the_rest(tmp_path: Path) -> None:
    model = micro_model()
    model.save_pretrained(tmp_path)
    grown = VisionPangu.from_pretrained(tmp_path, overrides={"visual_position": True})
    assert grown.config.visual_position and hasattr(grown.projector, "row_embed")
    kept = model.state_dict()
    assert all(torch.equal(kept[k], v) for k, v in grown.state_dict().items() if k in kept)
    with pytest.raises(ValueError, match="drop that --set"):
        micro_model(visual_position=True).save_pretrained(tmp_path / "placed")
        VisionPangu.from_pretrained(tmp_path / "placed", overrides={"visual_position": False})


def test_referent_loss_learns_to_point_at_the_named_visual_token() -> None:
    """A head on the LM state after ``referent_layer`` layers; its loss is returned beside the LM
    loss and, trained on one fixed batch, learns which visual token is named."""
    from evalkit.tinyvlm.model import Referents

    model = micro_model(referent_dim=8, referent_layer=1).train()
    n, img = model.config.num_visual_tokens, model.config.image_token_id
    ids = torch.tensor([[img] * n + [5, 6, 7, 8]] * 2)
    labels = torch.full_like(ids, IGNORE_INDEX)
    labels[:, -1] = 8
    torch.manual_seed(1)
    pixels = torch.randn(2, 3, 32, 32)
    targets = torch.zeros(3, n)
    targets[0, 1] = targets[1, 3] = targets[2, 0] = 1.0  # row 1 is asked twice, at two positions
    ref = Referents(torch.tensor([0, 1, 1]), torch.tensor([n + 2, n + 1, n + 2]), targets)
    out = model(ids, torch.ones_like(ids), pixels, labels, ref)
    assert out.loss is not None and out.referent_loss is not None
    assert out.referent_loss.item() == pytest.approx(torch.log(torch.tensor(float(n))).item(), rel=0.3)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(60):
        loss = model(ids, torch.ones_like(ids), pixels, labels, ref).referent_loss
        assert loss is not None
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.1
    assert model(ids, torch.ones_like(ids), pixels, labels).referent_loss is None  # not asked for
    assert model.num_parameters() == micro_model().num_parameters()  # a training-only head
    with pytest.raises(ValueError, match="--referent-loss"):
        micro_model()(ids, torch.ones_like(ids), pixels, labels, ref)
