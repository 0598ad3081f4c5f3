"""Specification of the VLM's components: pixel shuffle, projector, image-slot filling, loss, checkpoints."""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import pytest
import torch

from evalkit.tinyvlm.config import preset
from evalkit.tinyvlm.model import IGNORE_INDEX, VisionPangu, length_groups, position_ids_from_mask
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


def brute_force_split_cost(lengths: list[int], overhead: int) -> float:
    """The cheapest split of the length-sorted rows into consecutive groups, by trying all."""
    ordered = sorted(lengths)
    n = len(ordered)
    best = float("inf")
    for cuts in itertools.product((False, True), repeat=n - 1):
        cost, start = 0.0, 0
        for end in [i + 1 for i, cut in enumerate(cuts) if cut] + [n]:
            cost += (end - start) * ordered[end - 1] + overhead
            start = end
        best = min(best, cost)
    return best


@pytest.mark.parametrize("overhead", [0, 7, 40, 1000])
def test_length_groups_is_the_cheapest_split_and_covers_each_row_once(overhead: int) -> None:
    rng = random.Random(overhead)
    for _ in range(30):
        lengths = [rng.randint(1, 60) for _ in range(rng.randint(1, 8))]
        groups = length_groups(lengths, overhead)
        assert sorted(i for g in groups for i in g) == list(range(len(lengths)))
        cost = sum(len(g) * max(lengths[i] for i in g) + overhead for g in groups)
        assert cost == brute_force_split_cost(lengths, overhead)
        # groups are consecutive runs of the length order: a group's rows are no longer than the next's
        for a, b in zip(groups, groups[1:]):
            assert max(lengths[i] for i in a) <= min(lengths[i] for i in b)


def test_length_groups_extremes() -> None:
    lengths = [60, 260, 61, 259, 110]
    assert length_groups(lengths, 10**9) == [[0, 1, 2, 3, 4]]  # one call: the padded batch
    assert length_groups(lengths, 0) == [[0], [2], [4], [3], [1]]  # free calls: no padding at all
    assert length_groups([5, 5, 5], 0) == [[0, 1, 2]]  # equal lengths never split
    assert length_groups([], 10) == []
    with pytest.raises(ValueError, match="overhead"):
        length_groups(lengths, -1)


def test_grouped_loss_and_gradients_equal_one_padded_pass() -> None:
    """Rows of very different lengths, right-padded as training batches are, with label weights:
    the loss computed in length groups is the single padded pass's, and so are the gradients."""
    model = micro_model().train()
    n, img = model.config.num_visual_tokens, model.config.image_token_id
    torch.manual_seed(1)
    lengths = [n + 3, n + 30, n + 4, n + 17, n + 29, n + 2]
    width = max(lengths)
    ids = torch.zeros(len(lengths), width, dtype=torch.long)
    labels = torch.full_like(ids, IGNORE_INDEX)
    mask = torch.zeros_like(ids)
    for row, length in enumerate(lengths):
        ids[row, 0] = 5
        ids[row, 1 : 1 + n] = img
        ids[row, 1 + n : length] = torch.randint(8, 40, (length - 1 - n,))
        labels[row, length - 2 : length] = ids[row, length - 2 : length]  # the reply: last two tokens
        mask[row, :length] = 1
    labels[3] = IGNORE_INDEX  # a row with nothing to answer counts in neither pass
    weights = 1 + torch.rand(ids.shape)
    pixels = torch.randn(len(lengths), 3, 32, 32)

    def loss_and_grads(overhead: int) -> tuple[torch.Tensor, list[torch.Tensor]]:
        model.zero_grad()
        model.group_overhead = overhead
        embeds = model.embed(ids, pixels)
        loss = model.grouped_loss(embeds, mask, labels, weights)
        loss.backward()
        return loss.detach(), [p.grad.clone() for p in model.parameters() if p.grad is not None]

    assert len(length_groups((mask.sum(1)).tolist(), 8)) > 2  # the check below really splits
    padded_loss, padded_grads = loss_and_grads(10**9)
    grouped_loss, grouped_grads = loss_and_grads(8)
    assert torch.allclose(grouped_loss, padded_loss, atol=1e-6)
    assert len(grouped_grads) == len(padded_grads)
    for grouped, padded in zip(grouped_grads, padded_grads):
        assert torch.allclose(grouped, padded, atol=1e-6)
    # forward() takes the grouped path and gives the same loss
    out = model(ids, mask, pixels, labels, label_weights=weights)
    assert out.loss is not None and torch.allclose(out.loss, padded_loss, atol=1e-6)


def test_grouped_loss_never_cuts_a_labelled_position() -> None:
    """A label the mask leaves out still counts: a row's extent runs through its last label."""
    model = micro_model()
    ids = torch.tensor([[9, 10, 11, 12, 13, 14], [9, 10, 11, 0, 0, 0]])
    mask = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0]])
    labels = torch.tensor([[-100, -100, 11, 12, 13, 14], [-100, -100, 11, -100, 12, -100]])
    embeds = model.embed(ids, None)
    model.group_overhead = 10**9
    padded = model.grouped_loss(embeds, mask, labels, None)
    model.group_overhead = 0
    grouped = model.grouped_loss(embeds, mask, labels, None)
    assert torch.allclose(grouped, padded, atol=1e-6)
