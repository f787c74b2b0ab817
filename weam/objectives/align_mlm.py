"""ALIGN-MLM: MLM on single sentences plus a loss that pulls the input embeddings of bilingual-dictionary
translations together (Tang et al. 2022):

    L = L_MLM + α·L_align,    L_align = −mean over dictionary pairs (s, t) of cos(E[s], E[t])

where E[w] is the mean of the input embeddings of word w's subwords; α = 10 by default.

The loss, from a trainer (the whole interface):

    index = DictionaryIndex(tokenizer, train_pairs)          # weam/dictionaries.py
    index.save(os.path.join(output_dir, DICTIONARY_FILE))     # the dictionary travels with the run
    align_loss = DictionaryAlignmentLoss(index, weight=10.0, pairs_per_step=None, seed=42)
    ...
    term = align_loss(model, step=state.global_step)          # α·L_align, a scalar on the model's device

`align_loss(model, step)` reads `model.get_input_embeddings().weight`, so it works on WEAM and on any
BERT-family model: `--align_loss_weight` adds it to any objective. The pairs of a step are drawn from a
generator seeded with (seed, step): the micro-batches of one optimizer step share them and a resumed run
draws what an uninterrupted one would have. `weam.trainer.AlignmentTrainer` adds each micro-batch's share
of the term, so that an optimizer step gets α·L_align once, whatever the accumulation and the number of
processes.
"""

import torch
import torch.nn.functional as F

from weam.dictionaries import DictionaryIndex, mean_subword_embeddings
from weam.objectives.objective import Objective, Paper

# The dictionary file written into a run's output folder.
DICTIONARY_FILE = "align_mlm_dictionary.json"

ALIGN_MLM = Objective(
    name="align_mlm",
    title="ALIGN-MLM",
    summary="masked language modeling on single sentences plus a loss that raises the cosine similarity of the "
    "input embeddings of bilingual-dictionary word pairs (L = L_MLM + α·L_align)",
    model_class="WeamForPreTraining",
    examples="sentences",
    needs_alignment=False,
    config={"cross_lingual_weight": 0.0},
    defaults=dict(learning_rate=5e-5, per_device_train_batch_size=32, num_train_epochs=2.0, warmup_steps=0.0,
                  weight_decay=0.0, mlm_probability=0.15, align_loss_weight=10.0),
    paper=Paper(
        title="ALIGN-MLM: Word Embedding Alignment is Crucial for Multilingual Pre-training",
        authors="Henry Tang, Ameet Deshpande, Karthik Narasimhan",
        venue="arXiv:2211.08547",
        year=2022,
        url="https://arxiv.org/abs/2211.08547",
        bibtex="""@article{tang2022alignmlm,
  title   = {{ALIGN-MLM}: Word Embedding Alignment is Crucial for Multilingual Pre-training},
  author  = {Tang, Henry and Deshpande, Ameet and Narasimhan, Karthik},
  journal = {arXiv preprint arXiv:2211.08547},
  year    = {2022}
}""",
    ),
    notes="The paper pre-trains from scratch on natural languages paired with synthetic ones; here the loss "
    "post-trains an existing encoder on natural languages with MUSE-style dictionaries (--dictionaries), with "
    "WEAM's run settings.",
)


def dictionary_alignment_loss(embedding_weight, source_ids, source_lengths, target_ids, target_lengths):
    """L_align = −mean cos(E[source word], E[target word]), a word's vector the mean of its subword embeddings."""
    source = mean_subword_embeddings(embedding_weight, source_ids, source_lengths).float()
    target = mean_subword_embeddings(embedding_weight, target_ids, target_lengths).float()
    return -F.cosine_similarity(source, target, dim=-1).mean()


class DictionaryAlignmentLoss:
    """α·L_align of a model's input embeddings, on every pair of `index` or on `pairs_per_step` drawn per step."""

    def __init__(self, index: DictionaryIndex, weight=10.0, pairs_per_step=None, seed=42):
        if len(index) == 0:
            raise ValueError("the dictionary has no usable pair (see DictionaryIndex for what is dropped)")
        if pairs_per_step is not None and pairs_per_step < 1:
            raise ValueError(f"pairs_per_step must be at least 1 (or None for all pairs), got {pairs_per_step}")
        self.index, self.weight, self.pairs_per_step, self.seed = index, weight, pairs_per_step, seed

    def sample(self, step):
        """Rows of the index used at optimizer step `step`: the same for the same (seed, step)."""
        if self.pairs_per_step is None or self.pairs_per_step >= len(self.index):
            return torch.arange(len(self.index))
        generator = torch.Generator().manual_seed((self.seed << 32) + step)
        return torch.randperm(len(self.index), generator=generator)[: self.pairs_per_step]

    def __call__(self, model, step=0):
        embedding_weight = model.get_input_embeddings().weight
        rows = self.sample(step)
        tensors = (self.index.source_ids, self.index.source_lengths, self.index.target_ids, self.index.target_lengths)
        return self.weight * dictionary_alignment_loss(
            embedding_weight, *(tensor[rows].to(embedding_weight.device) for tensor in tensors)
        )
