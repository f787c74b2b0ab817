"""weam's pipeline, one module a step (the top-level scripts are thin wrappers around these):

    corpora.py         parallel corpora in, checked, counted, tokenized, word links mapped to subwords
    word_alignment.py  eflomal + symmetrization, the batched neural aligner, Pharaoh/TALP files, AER
    align_mlm.py       bilingual dictionaries and ALIGN-MLM's embedding loss
    trainer.py         the stock Trainer, extended: per-head losses, the dictionary loss, Hub-ready folders
    model_card.py      the model card of a post-trained model
    diagnostics.py     dictionary P@k, Tatoeba retrieval, AER and the word-pair plot of an encoder
    finetuning.py      zero-shot / translate-train fine-tuning shared by run_xnli.py, run_qa.py and run_pos.py
    metrics/           the metrics as `evaluate` modules: QA EM/F1 (SQuAD, MLQA), accuracy (XNLI, POS), AER

The model itself lives in the top-level `configuration_weam.py` and `modeling_weam.py` (they travel to
the Hub as remote code), the batching in `data_collator.py`.
"""
