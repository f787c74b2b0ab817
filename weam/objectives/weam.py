"""WEAM (Word-Exchange Aligning Model): masked tokens of a translation pair are predicted from their own
state (L_mp) and, through the word alignment, from the states of their aligned words in the other
language (L_cp): L = L_mp + λ·L_cp. The model is `modeling_weam.WeamForPreTraining`."""

from weam.objectives.objective import Objective, Paper

WEAM = Objective(
    name="weam",
    title="WEAM",
    summary="masked tokens of a translation pair are predicted from their own hidden state and, through the word "
    "alignment, from the states of their aligned words in the other language (L = L_mp + λ·L_cp)",
    model_class="WeamForPreTraining",
    examples="pairs",
    needs_alignment=True,
    options={"cross_lingual_weight": 1.0, "unaligned_tokens": "ignore"},
    # Section 4.1 of the paper: 30% of the tokens masked (80/10/10), lr 5e-5, batch 32, 2 epochs.
    defaults=dict(learning_rate=5e-5, per_device_train_batch_size=32, num_train_epochs=2.0, warmup_steps=0.0,
                  weight_decay=0.0, mlm_probability=0.3, align_loss_weight=0.0),
    paper=Paper(
        title="Bilingual Alignment Pre-Training for Zero-Shot Cross-Lingual Transfer",
        authors="Ziqing Yang, Wentao Ma, Yiming Cui, Jiani Ye, Wanxiang Che, Shijin Wang",
        venue="Proceedings of the 3rd Workshop on Machine Reading for Question Answering (MRQA), pages 100-105",
        year=2021,
        url="https://arxiv.org/abs/2106.01732",
        bibtex="""@inproceedings{yang-etal-2021-bilingual,
  title     = {Bilingual Alignment Pre-Training for Zero-Shot Cross-Lingual Transfer},
  author    = {Yang, Ziqing and Ma, Wentao and Cui, Yiming and Ye, Jiani and Che, Wanxiang and Wang, Shijin},
  booktitle = {Proceedings of the 3rd Workshop on Machine Reading for Question Answering},
  pages     = {100--105},
  year      = {2021},
  publisher = {Association for Computational Linguistics},
  eprint    = {2106.01732},
  archivePrefix = {arXiv}
}""",
    ),
    notes="Word alignments come from eflomal (the paper used FastAlign); subword links join every subword of two "
    "aligned words; a token's partners' states are averaged.",
)
