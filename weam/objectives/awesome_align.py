"""awesome-align: an encoder fine-tuned to align words, by self-training on the alignments it extracts (SO) plus
TLM. Its result is an aligner's encoder (`align_words.py --aligner neural+eflomal --model ...`), e.g. for the word
alignments that WEAM learns from. The model is `modeling_weam.AwesomeAlignForPreTraining`; the collator adds each
sentence alone (the sentence views PPA uses too)."""

from weam.objectives.objective import Objective, Paper

AWESOME_ALIGN = Objective(
    name="awesome_align",
    title="awesome-align",
    summary="an encoder fine-tuned for word alignment: each sentence of a pair encoded alone, the two softmaxes of "
    "their subwords' similarity at --alignment_layer trained towards the links both put above "
    "--alignment_threshold (self-training), plus TLM on the concatenated pair",
    model_class="AwesomeAlignForPreTraining",
    examples="pairs",
    needs_alignment=False,
    config={"cross_lingual_weight": 0.0},
    options={"alignment_layer": 8, "alignment_threshold": 1e-3, "alignment_tlm": True},
    collator={"sentence_views": True},
    # awesome-align's fine-tuning command (its README): --train_so --train_tlm, lr 2e-5, batch 8 (2 x 4
    # accumulation), 1 epoch; its defaults: no warm-up or weight decay, BERT's 15% masking.
    defaults=dict(learning_rate=2e-5, per_device_train_batch_size=8, num_train_epochs=1.0, warmup_steps=0.0,
                  weight_decay=0.0, mlm_probability=0.15, align_loss_weight=0.0),
    paper=Paper(
        title="Word Alignment by Fine-tuning Embeddings on Parallel Corpora",
        authors="Zi-Yi Dou, Graham Neubig",
        venue="Proceedings of EACL 2021",
        year=2021,
        url="https://arxiv.org/abs/2101.08231",
        bibtex="""@inproceedings{dou2021word,
  title     = {Word Alignment by Fine-tuning Embeddings on Parallel Corpora},
  author    = {Dou, Zi-Yi and Neubig, Graham},
  booktitle = {Proceedings of the 16th Conference of the European Chapter of the Association for Computational
               Linguistics: Main Volume},
  year      = {2021},
  eprint    = {2101.08231},
  archivePrefix = {arXiv}
}""",
    ),
    purpose="to align the words of its languages (a word aligner's encoder)",
    intended_uses=(
        "The encoder of a word aligner, at the layer it was trained at (`alignment_layer` in config.json):\n"
        "`python align_words.py --aligner neural+eflomal --model MODEL --layer LAYER --src ... --tgt ... --output ...`\n"
        "with the weam toolkit, or SimAlign / awesome-align extraction from that layer's states; e.g. for the word\n"
        "alignments WEAM learns from (`run_pretrain.py --aligner neural+eflomal --aligner_model MODEL\n"
        "--aligner_layer LAYER`). Trained for alignment: as an encoder for task fine-tuning it is untested."
    ),
    notes="SO and TLM only (the paper's MLM, PSI and consistency terms are left out; its recommended fine-tuning "
    "command trains SO and TLM). The guide is taken from the same forward pass the loss uses, at subword level, "
    "where awesome-align runs a second pass and joins the subwords of linked words. The threshold 1e-3 suits "
    "mBERT; multilingual-e5-small's softmaxes are flatter and need about 0.1.",
)
