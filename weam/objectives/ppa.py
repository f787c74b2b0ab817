"""PPA (post-pretraining alignment): MoCo contrastive learning on the [CLS] states of translation pairs
(sentence level, S and T in random order) plus TLM (word level). The model is
`modeling_weam.PpaForPreTraining`; the collator swaps S and T at random and adds each sentence alone."""

from weam.objectives.objective import Objective, Paper

PPA = Objective(
    name="ppa",
    title="PPA",
    summary="MoCo contrastive learning on the [CLS] states of translation pairs (sentence-level alignment, random "
    "input order) plus TLM on the concatenated pair (word-level alignment)",
    model_class="PpaForPreTraining",
    examples="pairs",
    needs_alignment=False,
    config={"cross_lingual_weight": 0.0},
    collator={"swap_probability": 0.5, "sentence_views": True},
    # Sections 3.1 and 3.3 of the paper: lr 3e-5, batch 128, 10% linear warm-up, weight decay 0.01,
    # 10 epochs (5 for its 2M-pair set); pairs with < 10 WordPieces on a side or > 128 in all are dropped.
    defaults=dict(learning_rate=3e-5, per_device_train_batch_size=128, num_train_epochs=10.0, warmup_steps=0.1,
                  weight_decay=0.01, mlm_probability=0.15, align_loss_weight=0.0),
    pair_length_limits=(10, 128),
    paper=Paper(
        title="Multilingual BERT Post-Pretraining Alignment",
        authors="Lin Pan, Chung-Wei Hang, Haode Qi, Abhishek Shah, Saloni Potdar, Mo Yu",
        venue="Proceedings of NAACL-HLT 2021",
        year=2021,
        url="https://arxiv.org/abs/2010.12547",
        bibtex="""@inproceedings{pan2021multilingual,
  title     = {Multilingual {BERT} Post-Pretraining Alignment},
  author    = {Pan, Lin and Hang, Chung-Wei and Qi, Haode and Shah, Abhishek and Potdar, Saloni and Yu, Mo},
  booktitle = {Proceedings of the 2021 Conference of the North {A}merican Chapter of the Association for
               Computational Linguistics: Human Language Technologies},
  year      = {2021},
  eprint    = {2010.12547},
  archivePrefix = {arXiv}
}""",
    ),
    notes="The paper's batch of 128 is the total: per-device batch x processes x accumulation. It trains 5 epochs "
    "on its 2M-pair set, 10 on the smaller ones.",
)
