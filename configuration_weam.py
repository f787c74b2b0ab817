"""WEAM configuration: a BERT configuration plus the settings of the alignment objectives.

Self-contained on purpose: this file travels to the Hub as remote code next to
`modeling_weam.py`, so it imports nothing from this repository.
"""

from typing import Literal

from huggingface_hub.dataclasses import strict
from transformers import BertConfig


@strict
class WeamConfig(BertConfig):
    r"""
    Configuration of the WEAM pre-training models (`WeamForPreTraining`, `PpaForPreTraining`,
    `AwesomeAlignForPreTraining`). Every
    `BertConfig` argument is accepted unchanged, so a plain BERT checkpoint (e.g.
    `bert-base-multilingual-cased`) is a valid starting point: `WeamConfig.from_pretrained(...)`.

    `model_type` stays `"bert"` on purpose: a saved folder is a BERT checkpoint to every stock loader
    (`AutoTokenizer`, `AutoModel`, the `AutoModelFor...` task heads, pipelines), without remote code.
    Only the pre-training model is remote code, found through `auto_map` (see `modeling_weam.py`).
    The settings below ride along in config.json and describe the run.

    Args:
        cross_lingual_weight (`float`, *optional*, defaults to 1.0):
            λ in L = L_mp + λ·L_cp. 0 turns WEAM into TLM (on pairs) or MLM (on single sentences).
        unaligned_tokens (`str`, *optional*, defaults to `"ignore"`):
            What a masked token with no aligned partner does in the cross-lingual head.
            `"ignore"`: it has no cross-lingual prediction (it still counts in L_mp). The paper
            predicts a token from its partner; a token with none has nothing to predict from.
            `"self"`: it is predicted from its own hidden state through the same W₂ and head,
            so every masked token has both predictions.
            `"zero"`: the paper's formula taken literally: its row of AᵀH is zero, so it is predicted
            from H̃ = b₂ alone.
            In every mode both L_mp and L_cp are divided by the number of masked tokens (of the whole
            optimizer step, under gradient accumulation and several processes): with `"ignore"`, a
            masked token without a cross-lingual prediction adds 0 to L_cp but still counts in its
            denominator, so λ weighs the two heads per masked token.
        ppa_projection_dim (`int`, *optional*, defaults to 300):
            PPA: output size of the projection z = W₂·ReLU(W₁h).
        ppa_queue_size (`int`, *optional*, defaults to 32000):
            PPA: number of keys K in the MoCo queue.
        ppa_momentum (`float`, *optional*, defaults to 0.999):
            PPA: momentum m of the key encoder's exponential moving average.
        ppa_temperature (`float`, *optional*, defaults to 0.05):
            PPA: temperature τ of the InfoNCE loss.
        align_loss_weight (`float`, *optional*, defaults to 0.0):
            ALIGN-MLM: weight α of the dictionary embedding loss L_align that the run added (0: none).
            The loss itself is computed by the trainer (`weam/objectives/align_mlm.py`); this field records it.
        alignment_layer (`int`, *optional*, defaults to 8):
            awesome-align: the layer whose states are matched (and trained) to align words; mBERT's best is 8.
            Align with the trained model at the same layer (`align_words.py --layer`).
        alignment_threshold (`float`, *optional*, defaults to 0.001):
            awesome-align: two subwords are linked (the self-training guide) when both softmaxes of their
            similarity, over the other sentence's subwords in each direction, exceed it. awesome-align's 1e-3
            suits mBERT; an encoder with flatter softmaxes needs more (multilingual-e5-small: 0.1).
        alignment_tlm (`bool`, *optional*, defaults to `True`):
            awesome-align: add TLM on the masked pair, L = L_SO + L_TLM (awesome-align's recommended pair).
            `False`: L_SO alone; the MLM head is not used, nor trained; there is no pass over the pair.
    """

    model_type = "bert"

    cross_lingual_weight: float | int = 1.0
    unaligned_tokens: Literal["ignore", "self", "zero"] = "ignore"
    ppa_projection_dim: int = 300
    ppa_queue_size: int = 32000
    ppa_momentum: float | int = 0.999
    ppa_temperature: float | int = 0.05
    align_loss_weight: float | int = 0.0
    alignment_layer: int = 8
    alignment_threshold: float | int = 1e-3
    alignment_tlm: bool = True

    def validate_architecture(self):
        """Part of `@strict` validation: the ranges of the WEAM settings."""
        super().validate_architecture()
        if self.cross_lingual_weight < 0:
            raise ValueError(f"cross_lingual_weight must be >= 0, got {self.cross_lingual_weight}")
        if self.align_loss_weight < 0:
            raise ValueError(f"align_loss_weight must be >= 0, got {self.align_loss_weight}")
        if self.ppa_projection_dim < 1 or self.ppa_queue_size < 1:
            raise ValueError(f"ppa_projection_dim and ppa_queue_size must be >= 1, got {self.ppa_projection_dim} "
                             f"and {self.ppa_queue_size}")
        if not 0 <= self.ppa_momentum < 1:
            raise ValueError(f"ppa_momentum must be in [0, 1), got {self.ppa_momentum}")
        if self.ppa_temperature <= 0:
            raise ValueError(f"ppa_temperature must be > 0, got {self.ppa_temperature}")
        if self.alignment_layer < 1:  # the upper bound is checked by the model that uses it (a tiny BERT has 2 layers)
            raise ValueError(f"alignment_layer must be an encoder layer (>= 1), got {self.alignment_layer}")
        if not 0 < self.alignment_threshold < 1:
            raise ValueError(f"alignment_threshold must be in (0, 1) (a softmax probability), "
                             f"got {self.alignment_threshold}")
