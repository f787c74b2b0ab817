"""WEAM configuration: a BERT configuration plus the settings of the alignment objectives.

Self-contained on purpose: this file travels to the Hub as remote code next to
`modeling_weam.py`, so it imports nothing from this repository.
"""

from transformers import BertConfig

UNALIGNED_TOKEN_MODES = ("ignore", "self", "zero")
SUBWORD_LINK_MODES = ("all", "first")

# Written into every saved config, so `AutoX.from_pretrained(dir, trust_remote_code=True)` finds each class.
WEAM_AUTO_MAP = {
    "AutoConfig": "configuration_weam.WeamConfig",
    "AutoModel": "modeling_weam.WeamModel",
    "AutoModelForPreTraining": "modeling_weam.WeamForPreTraining",
    "AutoModelForMaskedLM": "modeling_weam.WeamForMaskedLM",
    "AutoModelForSequenceClassification": "modeling_weam.WeamForSequenceClassification",
    "AutoModelForQuestionAnswering": "modeling_weam.WeamForQuestionAnswering",
    "AutoModelForTokenClassification": "modeling_weam.WeamForTokenClassification",
}


class WeamConfig(BertConfig):
    r"""
    Configuration of the WEAM model family (Word-Exchange Aligning Model). Every `BertConfig`
    argument is accepted unchanged, so a plain BERT checkpoint (e.g. `bert-base-multilingual-cased`)
    is a valid starting point: `WeamConfig.from_pretrained("bert-base-multilingual-cased")`.

    Args:
        cross_lingual_weight (`float`, *optional*, defaults to 1.0):
            λ in L = L_mp + λ·L_cp. 0 turns WEAM into TLM (on pairs) or MLM (on single sentences).
        subword_links (`str`, *optional*, defaults to `"all"`):
            How a word link (i, j) becomes subword position links: `"all"` links every subword of
            word i with every subword of word j; `"first"` links only their first subwords.
        unaligned_tokens (`str`, *optional*, defaults to `"ignore"`):
            What a masked token with no aligned partner does in the cross-lingual head.
            `"ignore"`: it has no cross-lingual prediction (it still counts in L_mp). The paper
            predicts a token from its partner; a token with none has nothing to predict from.
            `"self"`: it is predicted from its own hidden state through the same W₂ and head,
            so every masked token has both predictions.
            `"zero"`: the paper's formula taken literally: its row of AᵀH is zero, so it is predicted
            from H̃ = b₂ alone.
            In both modes L_cp is the mean over the masked tokens that have a cross-lingual
            prediction, exactly also under gradient accumulation and several processes.
        ppa_projection_dim (`int`, *optional*, defaults to 300):
            PPA: output size of the projection z = W₂·ReLU(W₁h).
        ppa_queue_size (`int`, *optional*, defaults to 32000):
            PPA: number of keys K in the MoCo queue.
        ppa_momentum (`float`, *optional*, defaults to 0.999):
            PPA: momentum m of the key encoder's exponential moving average.
        ppa_temperature (`float`, *optional*, defaults to 0.05):
            PPA: temperature τ of the InfoNCE loss.
        align_loss_weight (`float`, *optional*, defaults to 0.0):
            ALIGN-MLM: weight α of the dictionary embedding loss L_align (0: off).
    """

    model_type = "weam"
    # The settings this class adds to BERT's (everything else is a BertConfig argument).
    weam_settings = (
        "cross_lingual_weight",
        "subword_links",
        "unaligned_tokens",
        "ppa_projection_dim",
        "ppa_queue_size",
        "ppa_momentum",
        "ppa_temperature",
        "align_loss_weight",
    )

    def __init__(
        self,
        cross_lingual_weight=1.0,
        subword_links="all",
        unaligned_tokens="ignore",
        ppa_projection_dim=300,
        ppa_queue_size=32000,
        ppa_momentum=0.999,
        ppa_temperature=0.05,
        align_loss_weight=0.0,
        **kwargs,
    ):
        if unaligned_tokens not in UNALIGNED_TOKEN_MODES:
            raise ValueError(f"unaligned_tokens must be one of {UNALIGNED_TOKEN_MODES}, got {unaligned_tokens!r}")
        if subword_links not in SUBWORD_LINK_MODES:
            raise ValueError(f"subword_links must be one of {SUBWORD_LINK_MODES}, got {subword_links!r}")
        # A BERT checkpoint's config.json says model_type "bert"; it is still a valid WEAM config.
        kwargs.pop("model_type", None)
        super().__init__(**kwargs)
        self.cross_lingual_weight = cross_lingual_weight
        self.subword_links = subword_links
        self.unaligned_tokens = unaligned_tokens
        self.ppa_projection_dim = ppa_projection_dim
        self.ppa_queue_size = ppa_queue_size
        self.ppa_momentum = ppa_momentum
        self.ppa_temperature = ppa_temperature
        self.align_loss_weight = align_loss_weight
        self.auto_map = {**WEAM_AUTO_MAP, **(getattr(self, "auto_map", None) or {})}
