"""MLM: BERT's masked language modeling on the single sentences of the parallel data (the baseline that
sees the same text without the pairing). `modeling_weam.WeamForPreTraining` without its cross-lingual head."""

from weam.objectives.objective import Objective, Paper

MLM = Objective(
    name="mlm",
    title="MLM",
    summary="masked language modeling on the single sentences of the parallel data (the same text as the other "
    "objectives, without the pairing)",
    model_class="WeamForPreTraining",
    examples="sentences",
    needs_alignment=False,
    config={"cross_lingual_weight": 0.0},
    defaults=dict(learning_rate=5e-5, per_device_train_batch_size=32, num_train_epochs=2.0, warmup_steps=0.0,
                  weight_decay=0.0, mlm_probability=0.15, align_loss_weight=0.0),
    paper=Paper(
        title="BERT: Pre-training of Deep Bidirectional Transformers for Language Understanding",
        authors="Jacob Devlin, Ming-Wei Chang, Kenton Lee, Kristina Toutanova",
        venue="Proceedings of NAACL-HLT 2019, pages 4171-4186",
        year=2019,
        url="https://arxiv.org/abs/1810.04805",
        bibtex="""@inproceedings{devlin-etal-2019-bert,
  title     = {{BERT}: Pre-training of Deep Bidirectional Transformers for Language Understanding},
  author    = {Devlin, Jacob and Chang, Ming-Wei and Lee, Kenton and Toutanova, Kristina},
  booktitle = {Proceedings of the 2019 Conference of the North {A}merican Chapter of the Association for
               Computational Linguistics: Human Language Technologies},
  pages     = {4171--4186},
  year      = {2019},
  publisher = {Association for Computational Linguistics}
}""",
    ),
    notes="Continued MLM on the parallel data's sentences, with the run settings of WEAM (lr 5e-5, batch 32, "
    "2 epochs) and BERT's 15% masking.",
)
