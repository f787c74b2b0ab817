"""TLM (translation language modeling): BERT's masked language modeling on the concatenated translation
pair, so a masked word can be read off its translation. `modeling_weam.WeamForPreTraining` without its
cross-lingual head."""

from weam.objectives.objective import Objective, Paper

TLM = Objective(
    name="tlm",
    title="TLM",
    summary="masked language modeling on concatenated translation pairs (a masked word can be predicted from its "
    "translation)",
    model_class="WeamForPreTraining",
    examples="pairs",
    needs_alignment=False,
    config={"cross_lingual_weight": 0.0},
    # XLM's 15% masking. The WEAM paper's TLM baseline uses WEAM's settings instead (--mlm_probability 0.3).
    defaults=dict(learning_rate=5e-5, per_device_train_batch_size=32, num_train_epochs=2.0, warmup_steps=0.0,
                  weight_decay=0.0, mlm_probability=0.15, align_loss_weight=0.0),
    paper=Paper(
        title="Cross-lingual Language Model Pretraining",
        authors="Guillaume Lample, Alexis Conneau",
        venue="Advances in Neural Information Processing Systems 32 (NeurIPS)",
        year=2019,
        url="https://arxiv.org/abs/1901.07291",
        bibtex="""@inproceedings{lample2019cross,
  title     = {Cross-lingual Language Model Pretraining},
  author    = {Lample, Guillaume and Conneau, Alexis},
  booktitle = {Advances in Neural Information Processing Systems},
  volume    = {32},
  year      = {2019},
  eprint    = {1901.07291},
  archivePrefix = {arXiv}
}""",
    ),
    notes="Masking 15% as in XLM; the WEAM paper's TLM baseline is trained with WEAM's settings "
    "(--mlm_probability 0.3). No language embeddings (BERT's two token types mark the sentences).",
)
