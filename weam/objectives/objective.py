"""What an objective declares: everything run_pretrain.py, the model card and the study need to know of it."""

from dataclasses import dataclass, field

# The run settings every objective gives a paper value for (run_pretrain.py's argument names).
TRAINING_SETTINGS = (
    "learning_rate",
    "per_device_train_batch_size",
    "num_train_epochs",
    "warmup_steps",
    "weight_decay",
    "mlm_probability",
    "align_loss_weight",
)


@dataclass(frozen=True)
class Paper:
    """The publication behind an objective, for the model card's text and citation."""

    title: str
    authors: str
    venue: str
    year: int
    url: str
    bibtex: str

    def __str__(self):
        return f"{self.authors}. {self.year}. *{self.title}.* {self.venue}. {self.url}"


@dataclass(frozen=True)
class Objective:
    """One post-training objective.

    Args:
        name: the `--objective` value.
        title: its name in text ("WEAM").
        summary: what it trains, one sentence (`--help` and the model card).
        model_class: the class of `modeling_weam` that computes its losses.
        examples: "pairs" (`[CLS] S [SEP] T [SEP]`) or "sentences" (each side of a pair alone).
        needs_alignment: whether the pairs are word-aligned (by `--aligner`, or given in Pharaoh format).
        config: `WeamConfig` settings it fixes (e.g. no cross-lingual head: `cross_lingual_weight=0.0`).
        options: run_pretrain arguments only this objective reads, with their defaults; any other
            objective refuses them.
        collator: `DataCollatorForWeam` options (e.g. PPA's random order of S and T).
        defaults: the paper's value of each of `TRAINING_SETTINGS`, used where the user sets none.
        pair_length_limits: (fewest subwords on a side, most subwords of the pair) a pair must keep to,
            or None. Pairs outside are dropped, not truncated.
        paper: the publication (the model card cites it).
        notes: how this toolkit's version differs from the paper, or where a default comes from.
        purpose, intended_uses: what the trained model is for (the model card's first line and its section).
    """

    name: str
    title: str
    summary: str
    model_class: str
    examples: str
    needs_alignment: bool
    defaults: dict
    paper: Paper
    config: dict = field(default_factory=dict)
    options: dict = field(default_factory=dict)
    collator: dict = field(default_factory=dict)
    pair_length_limits: tuple[int, int] | None = None
    notes: str = ""
    purpose: str = "to align its languages for zero-shot cross-lingual transfer"
    intended_uses: str = (
        "The encoder of a model fine-tuned on a task in one language and applied to the others (zero-shot\n"
        "cross-lingual transfer: classification such as XNLI, extractive QA such as MLQA, token classification),\n"
        "or trained on machine-translated task data (translate-train). Its masked-language-model head is the one\n"
        "trained here (fill-mask)."
    )

    @property
    def trains_an_aligner(self) -> bool:
        """Its result is a word aligner's encoder, read at its `alignment_layer`, not a model for transfer."""
        return "alignment_layer" in self.options

    @property
    def uses_dictionary_loss(self) -> bool:
        return self.defaults["align_loss_weight"] > 0
