"""weam's pipeline, one module a step (the top-level scripts are thin wrappers around these):

    corpora.py         parallel corpora in, checked, counted, tokenized, word links mapped to subwords
    words.py           words <-> subwords by character offsets, for every tokenizer family
    word_alignment.py  eflomal + symmetrization, the batched neural aligner, Pharaoh/TALP files, AER
    corpus_alignment.py  the alignment stage sharded over the processes of a launch; links saved with the run
    objectives/        the objectives (WEAM, TLM, MLM, PPA, ALIGN-MLM): one module each and their registry
    dictionaries.py    bilingual dictionaries: reading, a held-out split, words as subword ids
    trainer.py         the stock Trainer, extended: per-head losses, the dictionary loss, Hub-ready folders
    model_card.py      the model card of a post-trained model
    diagnostics.py     dictionary P@k, Tatoeba retrieval, AER and the word-pair plot of an encoder
    finetuning.py      zero-shot / translate-train fine-tuning shared by run_xnli.py, run_qa.py and run_pos.py
    metrics/           the metrics as `evaluate` modules: QA EM/F1 (SQuAD, MLQA), accuracy (XNLI, POS), AER
    cli.py             what the command lines share (help formatting)

The model itself lives in the top-level `configuration_weam.py` and `modeling_weam.py` (they travel to
the Hub as remote code), the batching in `data_collator.py`.
"""
