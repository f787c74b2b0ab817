"""The post-training objectives, one module each. This registry is all that run_pretrain.py, the model
card and the study know of them:

    weam.py       WEAM: L_mp + λ·L_cp, the cross-lingual prediction through word alignments
    tlm.py        TLM: masked language modeling on translation pairs
    mlm.py        MLM: masked language modeling on their single sentences
    ppa.py        PPA: MoCo on [CLS] of translation pairs + TLM
    align_mlm.py  ALIGN-MLM: MLM + α·dictionary loss on the input embeddings (the loss lives there too)
    awesome_align.py  awesome-align: self-training on the encoder's own word alignments + TLM (an aligner's encoder)

Each module declares an `Objective` (objective.py): its model class in modeling_weam, examples (pairs or
sentences), word alignments or not, config settings, its own options, collator options, the paper's
defaults and the model card's text. Adding an objective: a module declaring one, and one line below.
"""

from weam.objectives.align_mlm import ALIGN_MLM
from weam.objectives.awesome_align import AWESOME_ALIGN
from weam.objectives.mlm import MLM
from weam.objectives.objective import TRAINING_SETTINGS, Objective, Paper
from weam.objectives.ppa import PPA
from weam.objectives.tlm import TLM
from weam.objectives.weam import WEAM

OBJECTIVES = {
    objective.name: objective
    for objective in (
        WEAM,
        TLM,
        MLM,
        PPA,
        ALIGN_MLM,
        AWESOME_ALIGN,
    )
}

__all__ = ["OBJECTIVES", "TRAINING_SETTINGS", "Objective", "Paper"]
