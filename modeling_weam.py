"""WEAM (Word-Exchange Aligning Model), PPA and awesome-align as `transformers` pre-training models, Hub remote code.

The encoder is BERT itself (weights named `bert.*`, so any BERT-family checkpoint loads, and the
trained encoder loads back into stock BERT heads). What WEAM adds is a pre-training objective:

    L = L_mp + λ·L_cp

* L_mp (multilingual prediction): a masked token of `[CLS] S [SEP] T [SEP]` is predicted from its
  own last-layer state by BERT's MLM head (transform + LayerNorm + decoder tied to the embeddings).
* L_cp (cross-lingual prediction): the same masked token is predicted from the states of the words
  aligned to it in the other sentence: H' = AᵀH (A links aligned positions both ways; several
  partners average), H̃ = W₂H' + b₂, then a prediction head of the same form.

Both predictions are computed only at masked positions, and AᵀH is an index gather over the list of
alignment pairs, never a dense L×L matrix. TLM is this model with λ = 0 on pairs, MLM with λ = 0 on
single sentences.

How a saved folder is found: its config says `model_type: "bert"`, so the tokenizer, `AutoModel` and
every `AutoModelFor...` task head load it as the stock BERT classes, with no remote code. The one class
BERT lacks, the pre-training model, is registered for `AutoModelForPreTraining`: `save_pretrained`
copies this file and `configuration_weam.py` next to the weights and names the class in config.json's
`auto_map`, so `AutoModelForPreTraining.from_pretrained(folder, trust_remote_code=True)` rebuilds it.

Self-contained on purpose: this file and `configuration_weam.py` are all a Hub repo needs.
"""

from dataclasses import dataclass, fields

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from transformers import BertConfig
from transformers import initialization as init
from transformers.models.bert.modeling_bert import (
    BertForMaskedLM,
    BertLMPredictionHead,
    BertModel,
    BertOnlyMLMHead,
    BertPreTrainedModel,
)
from transformers.utils import ModelOutput, logging

try:  # loaded as Hub remote code (a package) ...
    from .configuration_weam import WeamConfig
except ImportError:  # ... or from a checkout of the repository
    from configuration_weam import WeamConfig


logger = logging.get_logger(__name__)

# Entries of `alignment_pairs` beyond an example's links hold this value.
ALIGNMENT_PAD = -1
# The settings WeamConfig adds to BERT's (left out of a plain BERT export).
WEAM_SETTINGS = frozenset(f.name for f in fields(WeamConfig)) - frozenset(f.name for f in fields(BertConfig))


def head_sums(loss_sum, loss_count, logits, labels, count_correct):
    """What a prediction head reports of one batch, as sums that add up over micro-batches and processes:
    `loss_sum` and `loss_count` (its loss term is Σ loss_sum / Σ loss_count) and, with `count_correct`,
    `predictions` and `correct` (its accuracy is Σ correct / Σ predictions). Counting correct predictions
    is a pass over the logits: evaluation does it, training steps skip it."""
    sums = {"loss_sum": loss_sum.detach(), "loss_count": torch.as_tensor(loss_count, device=logits.device)}
    if count_correct:
        sums["predictions"] = torch.as_tensor(labels.numel(), device=logits.device)
        sums["correct"] = (logits.detach().argmax(-1) == labels).sum()
    return sums


@dataclass
class WeamForPreTrainingOutput(ModelOutput):
    r"""
    loss (`torch.FloatTensor` of shape `()`):
        L_mp + λ·L_cp, per masked token (see `WeamForPreTraining.forward`).
    mlm_loss, cross_lingual_loss (`torch.FloatTensor` of shape `()`):
        The two terms, before λ.
    head_sums (`dict[str, dict[str, torch.Tensor]]`):
        Per head (`"mlm"`, `"cross_lingual"`), this batch's sums (see `head_sums`): summed over the micro-batches
        of an optimizer step and over processes, Σ loss_sum / Σ loss_count is the head's term in `loss`.
    mlm_logits (`torch.FloatTensor`):
        With `labels`: shape `(num_masked, vocab_size)`, the masked positions in row-major order.
        Without: shape `(batch, seq_len, vocab_size)`, every position (inference, as `BertForMaskedLM`).
    mlm_labels (`torch.LongTensor` of shape `(num_masked,)`): the targets of `mlm_logits`.
    cross_lingual_logits (`torch.FloatTensor` of shape `(num_predicted, vocab_size)`), cross_lingual_labels:
        The cross-lingual predictions and their targets (masked tokens that have one, see `unaligned_tokens`).
    """

    loss: torch.FloatTensor | None = None
    mlm_loss: torch.FloatTensor | None = None
    cross_lingual_loss: torch.FloatTensor | None = None
    head_sums: dict[str, dict[str, torch.Tensor]] | None = None
    mlm_logits: torch.FloatTensor | None = None
    mlm_labels: torch.LongTensor | None = None
    cross_lingual_logits: torch.FloatTensor | None = None
    cross_lingual_labels: torch.LongTensor | None = None
    last_hidden_state: torch.FloatTensor | None = None
    hidden_states: tuple[torch.FloatTensor, ...] | None = None
    attentions: tuple[torch.FloatTensor, ...] | None = None


def exchange_aligned_states(flat_hidden, masked_positions, alignment_pairs, seq_len):
    """H' = AᵀH at the masked positions, as a gather over the alignment pairs.

    Args:
        flat_hidden: `(batch * seq_len, hidden)` last-layer states.
        masked_positions: `(num_masked,)` flat indices (b * seq_len + i) of the masked tokens.
        alignment_pairs: `(batch, num_pairs, 2)` positions (i, j) linked in `[CLS] S [SEP] T [SEP]`,
            padded with `ALIGNMENT_PAD`. Each link counts both ways.
        seq_len: the padded sequence length.

    Returns:
        `(partner_states, partner_count)`: the mean state of each masked token's partners
        (zeros where it has none) `(num_masked, hidden)`, and how many partners it has `(num_masked,)`.
    """
    batch_size, num_pairs, _ = alignment_pairs.shape
    valid = alignment_pairs[..., 0] != ALIGNMENT_PAD
    offsets = (torch.arange(batch_size, device=alignment_pairs.device) * seq_len)[:, None].expand(-1, num_pairs)
    left = (offsets + alignment_pairs[..., 0])[valid]
    right = (offsets + alignment_pairs[..., 1])[valid]
    receivers = torch.cat([left, right])
    senders = torch.cat([right, left])

    # Rank of each flat position among the masked ones (-1: not masked): links whose receiving
    # token is not masked predict nothing and are dropped before any state is gathered.
    rank = torch.full((flat_hidden.shape[0],), -1, dtype=torch.long, device=flat_hidden.device)
    rank[masked_positions] = torch.arange(masked_positions.numel(), device=flat_hidden.device)
    receiver_rank = rank[receivers]
    keep = receiver_rank >= 0
    receiver_rank, senders = receiver_rank[keep], senders[keep]

    num_masked = masked_positions.numel()
    summed = flat_hidden.new_zeros(num_masked, flat_hidden.shape[1]).index_add_(0, receiver_rank, flat_hidden[senders])
    count = flat_hidden.new_zeros(num_masked).index_add_(0, receiver_rank, flat_hidden.new_ones(receiver_rank.numel()))
    return summed / count.clamp(min=1).unsqueeze(1), count


def masked_predictions(model, head, hidden, labels):
    """`head`'s logits at the masked positions only (vocabulary logits nowhere else), their targets, and
    the flat positions `(b * seq_len + i)` of the masked tokens (see `MaskedPreTrainingModel.prediction_logits`)."""
    flat_labels = labels.reshape(-1)
    masked_positions = (flat_labels != -100).nonzero().squeeze(1)
    logits = model.prediction_logits(head, hidden.reshape(-1, hidden.shape[-1])[masked_positions])
    return logits, model.prediction_targets(flat_labels[masked_positions]), masked_positions


class MaskedPreTrainingModel(BertPreTrainedModel):
    """What every pre-training objective has: the BERT encoder and BERT's MLM head, tied to the embeddings.

    The `Trainer` contract of its subclasses: `forward` takes the optimizer step's counts (`num_items_in_batch`
    masked tokens, `num_pairs_in_batch` pairs) so that k accumulated micro-batches train like one k-times
    larger batch, and returns `head_sums`; `after_optimizer_step` runs once after every optimizer step.
    """

    config_class = WeamConfig
    config: WeamConfig
    _tied_weights_keys = {
        "cls.predictions.decoder.weight": "bert.embeddings.word_embeddings.weight",
        "cls.predictions.decoder.bias": "cls.predictions.bias",
    }

    def __init__(self, config: WeamConfig):
        super().__init__(config)
        self.bert = BertModel(config)
        # The pooler takes no part in pre-training; it is kept (frozen) so that a checkpoint's pooler,
        # which sequence classifiers start from, passes through post-training unchanged.
        self.bert.pooler.requires_grad_(False)
        self.cls = BertOnlyMLMHead(config)
        # Set by `restrict_predictions`; not saved: a choice of the training run, not part of the model.
        self.register_buffer("prediction_ids", None, persistent=False)
        self.register_buffer("prediction_index", None, persistent=False)

    def restrict_predictions(self, token_ids):
        """Predict masked tokens among `token_ids` only (None: the whole vocabulary, the default).

        With a large vocabulary the output layer is most of a small encoder's training step (multilingual-e5-small:
        250k rows of 384 per predicted token, against about 21M encoder weights per token); the pieces one corpus
        uses are a fraction of them, and every target is one of them. The softmax then runs over those pieces
        only: a sampled softmax whose negatives are the corpus's pieces. Logits are over `token_ids` in
        ascending order and targets index into them."""
        if token_ids is None:
            self.prediction_ids = self.prediction_index = None
            return
        device = self.bert.embeddings.word_embeddings.weight.device
        ids = torch.as_tensor(sorted({int(i) for i in token_ids}), dtype=torch.long, device=device)
        if len(ids) == 0 or ids[0] < 0 or ids[-1] >= self.config.vocab_size:
            raise ValueError(f"restrict_predictions needs ids in [0, {self.config.vocab_size}), got {len(ids)} ids "
                             f"from {ids.min().item() if len(ids) else None} to {ids.max().item() if len(ids) else None}")
        index = torch.full((self.config.vocab_size,), -1, dtype=torch.long, device=device)
        index[ids] = torch.arange(len(ids), device=device)
        self.prediction_ids, self.prediction_index = ids, index

    def prediction_logits(self, head, states):
        """`head` (an MLM prediction head) applied to `states`, over the prediction vocabulary."""
        if self.prediction_ids is None:
            return head(states)
        head = getattr(head, "predictions", head)  # BertOnlyMLMHead wraps a BertLMPredictionHead
        return F.linear(head.transform(states), head.decoder.weight[self.prediction_ids],
                        head.decoder.bias[self.prediction_ids])

    def prediction_targets(self, token_ids):
        """Target token ids as indices into `prediction_logits`' last dimension."""
        if self.prediction_index is None:
            return token_ids
        targets = self.prediction_index[token_ids]
        if (targets < 0).any():
            outside = token_ids[targets < 0].unique()[:5].tolist()
            raise ValueError(f"target tokens {outside} are outside the restricted prediction vocabulary: restrict "
                             "predictions to every token the training data holds")
        return targets

    def masked_lm_loss(self, hidden, labels, num_items_in_batch):
        """BERT's MLM head at the masked positions of `hidden`: `(loss, head_sums, logits, targets)`, the loss
        divided by the optimizer step's masked tokens `num_items_in_batch` (default: this batch's)."""
        logits, targets, _ = masked_predictions(self, self.cls, hidden, labels)
        loss_sum = F.cross_entropy(logits, targets, reduction="sum")
        loss = loss_sum / (num_items_in_batch if num_items_in_batch is not None else max(targets.numel(), 1))
        return loss, head_sums(loss_sum, targets.numel(), logits, targets, count_correct=not self.training), logits, targets

    def get_output_embeddings(self):
        return self.cls.predictions.decoder

    def set_output_embeddings(self, new_embeddings):
        self.cls.predictions.decoder = new_embeddings
        self.cls.predictions.bias = new_embeddings.bias

    def after_optimizer_step(self):
        """Runs once after every optimizer step (`AlignmentTrainer` calls it; a hand-written training loop
        calls it after `optimizer.step()`): the place for state that follows the step, not the micro-batch."""

    def published_state_dict(self):
        """What a finished run saves and pushes (every checkpoint saves the whole state, for resuming)."""
        return self.state_dict()


class WeamForPreTraining(MaskedPreTrainingModel):
    """BERT with WEAM's two prediction heads. With `cross_lingual_weight = 0` it is TLM/MLM and has no cross-lingual layers."""

    def __init__(self, config: WeamConfig):
        super().__init__(config)
        if config.cross_lingual_weight > 0:
            self.cross_lingual_transform = nn.Linear(config.hidden_size, config.hidden_size)  # W₂, b₂
            self.cross_lingual_head = BertLMPredictionHead(config)
            self._tied_weights_keys = {
                **self._tied_weights_keys,
                "cross_lingual_head.decoder.weight": "bert.embeddings.word_embeddings.weight",
                "cross_lingual_head.decoder.bias": "cross_lingual_head.bias",
            }
        self.post_init()

    @property
    def has_cross_lingual_head(self):
        return self.config.cross_lingual_weight > 0

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        alignment_pairs: torch.Tensor | None = None,
        num_items_in_batch: torch.Tensor | int | None = None,
        num_pairs_in_batch: torch.Tensor | int | None = None,
        **kwargs,
    ) -> WeamForPreTrainingOutput:
        r"""
        labels (`torch.LongTensor` of shape `(batch, seq_len)`):
            Original ids at masked positions, -100 elsewhere.
        alignment_pairs (`torch.LongTensor` of shape `(batch, num_pairs, 2)`):
            Aligned subword positions (i in S, j in T) of each example, padded with -1. Needed when λ > 0.
        num_items_in_batch (`int` or `torch.Tensor`):
            Masked tokens in the whole optimizer step (all micro-batches and processes); the `Trainer`
            passes it so the loss of k accumulated micro-batches equals that of one k-times larger batch.
        num_pairs_in_batch: unused (WEAM's losses are per masked token); accepted so that the trainer
            passes the same step counts to every objective.

        The loss is a mean per masked token: (Σ CE_mp + λ·Σ CE_cp) / num_masked, where the second sum
        runs over the masked tokens that have a cross-lingual prediction.
        """
        outputs = self.bert(
            input_ids,
            attention_mask=attention_mask,
            token_type_ids=token_type_ids,
            position_ids=position_ids,
            inputs_embeds=inputs_embeds,
            return_dict=True,
            **kwargs,
        )
        hidden = outputs.last_hidden_state
        common = {
            "last_hidden_state": hidden,
            "hidden_states": outputs.hidden_states,
            "attentions": outputs.attentions,
        }
        if labels is None:
            return WeamForPreTrainingOutput(mlm_logits=self.cls(hidden), **common)

        mlm_logits, mlm_labels, masked_positions = masked_predictions(self, self.cls, hidden, labels)
        num_masked = masked_positions.numel()
        denominator = num_items_in_batch if num_items_in_batch is not None else max(num_masked, 1)
        mlm_sum = F.cross_entropy(mlm_logits, mlm_labels, reduction="sum")
        sums = {"mlm": head_sums(mlm_sum, num_masked, mlm_logits, mlm_labels, count_correct=not self.training)}
        loss_sum = mlm_sum

        cross_lingual_loss = cross_lingual_logits = cross_lingual_labels = None
        if self.has_cross_lingual_head:
            if alignment_pairs is None:
                raise ValueError(
                    "cross_lingual_weight > 0 needs `alignment_pairs` (use DataCollatorForWeam, or set "
                    "cross_lingual_weight=0 for TLM/MLM)"
                )
            seq_len, hidden_size = hidden.shape[1:]
            flat_hidden = hidden.reshape(-1, hidden_size)
            partner_states, partner_count = exchange_aligned_states(
                flat_hidden, masked_positions, alignment_pairs, seq_len
            )
            cross_lingual_labels = mlm_labels
            mode = self.config.unaligned_tokens
            if mode == "ignore":
                has_partner = partner_count > 0
                partner_states, cross_lingual_labels = partner_states[has_partner], mlm_labels[has_partner]
            elif mode == "self":
                own_states = flat_hidden[masked_positions]
                partner_states = torch.where((partner_count > 0).unsqueeze(1), partner_states, own_states)
            cross_lingual_logits = self.prediction_logits(self.cross_lingual_head,
                                                          self.cross_lingual_transform(partner_states))
            cross_lingual_sum = F.cross_entropy(cross_lingual_logits, cross_lingual_labels, reduction="sum")
            # per masked token, like L_mp (see WeamConfig.unaligned_tokens)
            sums["cross_lingual"] = head_sums(cross_lingual_sum, num_masked, cross_lingual_logits,
                                              cross_lingual_labels, count_correct=not self.training)
            loss_sum = loss_sum + self.config.cross_lingual_weight * cross_lingual_sum
            cross_lingual_loss = cross_lingual_sum.detach() / denominator

        return WeamForPreTrainingOutput(
            loss=loss_sum / denominator,
            mlm_loss=mlm_sum.detach() / denominator,
            cross_lingual_loss=cross_lingual_loss,
            head_sums=sums,
            mlm_logits=mlm_logits,
            mlm_labels=mlm_labels,
            cross_lingual_logits=cross_lingual_logits,
            cross_lingual_labels=cross_lingual_labels,
            **common,
        )


def gather_from_all_processes(tensor):
    """Concatenates a (no-grad) tensor's rows from every process, whatever each one's row count."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return tensor
    world = dist.get_world_size()
    size = torch.tensor([tensor.shape[0]], device=tensor.device)
    sizes = [torch.zeros_like(size) for _ in range(world)]
    dist.all_gather(sizes, size)
    longest = max(int(max(sizes)), 1)  # no process with rows: one row of padding, dropped below
    padded = tensor.new_zeros(longest, *tensor.shape[1:])
    padded[: tensor.shape[0]] = tensor
    gathered = [torch.zeros_like(padded) for _ in range(world)]
    dist.all_gather(gathered, padded)
    return torch.cat([rows[: int(n)] for rows, n in zip(gathered, sizes)])


class MomentumQueue(nn.Module):
    """MoCo's queue of K keys. Buffers, so that every checkpoint holds them and resume is exact.

    Warm-up: the queue starts with random unit vectors (as MoCo), but `filled` counts the real keys
    written so far and only those serve as negatives: there are no made-up negatives, ever.
    """

    def __init__(self, size, dim):
        super().__init__()
        self.register_buffer("keys", F.normalize(torch.randn(size, dim), dim=1))
        self.register_buffer("pointer", torch.zeros((), dtype=torch.long))
        self.register_buffer("filled", torch.zeros((), dtype=torch.long))
        # 0 until the key encoder has been copied from the query encoder (see PpaForPreTraining)
        self.register_buffer("key_encoder_ready", torch.zeros((), dtype=torch.long))

    @torch.no_grad()
    def enqueue(self, new_keys):
        size = self.keys.shape[0]
        new_keys = new_keys[-size:]
        positions = (self.pointer + torch.arange(new_keys.shape[0], device=new_keys.device)) % size
        self.keys[positions] = new_keys.to(self.keys.dtype)
        self.pointer.copy_((self.pointer + new_keys.shape[0]) % size)
        self.filled.copy_(torch.clamp(self.filled + new_keys.shape[0], max=size))

    def negatives_mask(self):
        """True for the slots that hold real keys."""
        return torch.arange(self.keys.shape[0], device=self.keys.device) < self.filled


def info_nce(queries, positive_keys, queue_keys, queue_mask, temperature):
    """InfoNCE with the positive in column 0, per query: −log exp(q·k⁺/τ) / (exp(q·k⁺/τ) + Σ exp(q·k⁻/τ));
    and the logits (positive, then the queue's slots; −inf where a slot holds no real key)."""
    positive = (queries * positive_keys).sum(dim=1, keepdim=True)
    negative = queries @ queue_keys.T
    negative = negative.masked_fill(~queue_mask, float("-inf"))
    logits = torch.cat([positive, negative], dim=1) / temperature
    targets = torch.zeros(len(queries), dtype=torch.long, device=queries.device)
    return F.cross_entropy(logits, targets, reduction="none"), logits


@dataclass
class PpaForPreTrainingOutput(ModelOutput):
    r"""
    loss: L_MoCo + L_TLM. mlm_loss, contrastive_loss: the two terms.
    head_sums: per head (`"mlm"`, `"contrastive"`), this batch's sums (see `WeamForPreTrainingOutput`).
    """

    loss: torch.FloatTensor | None = None
    mlm_loss: torch.FloatTensor | None = None
    contrastive_loss: torch.FloatTensor | None = None
    head_sums: dict[str, dict[str, torch.Tensor]] | None = None
    mlm_logits: torch.FloatTensor | None = None
    mlm_labels: torch.LongTensor | None = None


class PpaForPreTraining(MaskedPreTrainingModel):
    """PPA (post-pretraining alignment): MoCo on the [CLS] states of translation pairs, plus TLM.

    * Query encoder `bert` (trained, what is published) and key encoder `key_bert` (an exponential moving
      average of it, m = `ppa_momentum`, no gradients, no dropout), each followed by a projection
      z = W₂·ReLU(W₁·h) of the L2-normalized final [CLS] state h, then L2-normalized.
    * InfoNCE (τ = `ppa_temperature`) of each query against its own key and the queue's keys.
    * TLM (BERT's MLM head) on the masked concatenated pair through the query encoder.
    * L = L_MoCo + L_TLM. Which sentence of a pair goes to which encoder is random (the collator's swap).

    The MoCo state follows the optimizer step, not the micro-batch, so that gradient accumulation and
    several processes train exactly like one larger batch: every micro-batch of a step meets the same key
    encoder and the same queue; `after_optimizer_step` then puts the step's keys (all micro-batches, all
    processes) into the queue and moves the key encoder towards the updated query encoder. Standalone:

        loss = model(**batch).loss; loss.backward(); optimizer.step(); model.after_optimizer_step()
    """

    # Weights a checkpoint without them is expected to lack: the key side starts as a copy of the query side
    # (at the first step), the queue empty.
    _keys_made_at_start = ("key_bert.", "key_projection.", "queue.")

    def __init__(self, config: WeamConfig):
        super().__init__(config)
        self.projection = self._make_projection(config)
        self.key_bert = BertModel(config, add_pooling_layer=False)
        self.key_projection = self._make_projection(config)
        self.key_bert.requires_grad_(False)
        self.key_projection.requires_grad_(False)
        self.queue = MomentumQueue(config.ppa_queue_size, config.ppa_projection_dim)
        self.step_keys = []  # the keys of this optimizer step's micro-batches, until after_optimizer_step
        self.post_init()

    @torch.no_grad()
    def _init_weights(self, module):
        super()._init_weights(module)
        if isinstance(module, MomentumQueue):
            init.copy_(module.keys, F.normalize(torch.randn_like(module.keys), dim=1))
            init.zeros_(module.pointer)
            init.zeros_(module.filled)
            init.zeros_(module.key_encoder_ready)

    def train(self, mode=True):
        super().train(mode)
        self.key_bert.eval()  # keys are targets, not augmented views: no dropout (and a cheaper pass)
        return self

    @staticmethod
    def _make_projection(config):
        return nn.Sequential(
            nn.Linear(config.hidden_size, config.hidden_size),
            nn.ReLU(),
            nn.Linear(config.hidden_size, config.ppa_projection_dim),
        )

    def query_and_key_parameters(self):
        """(query parameters, their key-encoder counterparts), in matching order (the key encoder has no pooler)."""
        queries, keys = [], []
        for query_module, key_module in ((self.bert, self.key_bert), (self.projection, self.key_projection)):
            key_parameters = dict(key_module.named_parameters())
            for name, query_parameter in query_module.named_parameters():
                if name in key_parameters:
                    queries.append(query_parameter.detach())
                    keys.append(key_parameters[name])
        return queries, keys

    @torch.no_grad()
    def momentum_update(self):
        """key ← m·key + (1 − m)·query; the first call copies the query encoder."""
        momentum = self.config.ppa_momentum if self.queue.key_encoder_ready.item() else 0.0
        queries, keys = self.query_and_key_parameters()
        torch._foreach_lerp_(keys, queries, 1 - momentum)  # key + (1 − m)(query − key), one pass over memory
        self.queue.key_encoder_ready.fill_(1)

    @torch.no_grad()
    def after_optimizer_step(self):
        """The step's keys, gathered from every process, enter the queue; then the key encoder takes its
        momentum step towards the query encoder the optimizer just updated (MoCo's order: the next step's
        keys come from the moved key encoder)."""
        # every process gathers, also one whose micro-batches held no pair (single sentences of monolingual data):
        # the others wait for it in the gather
        keys = torch.cat(self.step_keys) if self.step_keys else self.queue.keys.new_zeros(0, self.queue.keys.shape[1])
        self.queue.enqueue(gather_from_all_processes(keys))
        self.step_keys = []
        self.momentum_update()

    def _embed(self, encoder, projection, attention_mask, **inputs):
        """z of each sentence: the L2-normalized projection of its L2-normalized final [CLS] state."""
        cls_state = encoder(attention_mask=attention_mask, **inputs).last_hidden_state[:, 0]
        return F.normalize(projection(F.normalize(cls_state, dim=1)), dim=1)

    def forward(
        self,
        input_ids=None,
        attention_mask=None,
        token_type_ids=None,
        labels=None,
        query_input_ids=None,
        query_attention_mask=None,
        key_input_ids=None,
        key_attention_mask=None,
        num_items_in_batch=None,
        num_pairs_in_batch=None,
        alignment_pairs=None,
        **kwargs,
    ) -> PpaForPreTrainingOutput:
        r"""
        input_ids, attention_mask, token_type_ids, labels: the masked pair `[CLS] S [SEP] T [SEP]` (TLM).
        query_input_ids, query_attention_mask / key_input_ids, key_attention_mask: the unmasked sentences
            `[CLS] S [SEP]` for the query encoder and `[CLS] T [SEP]` for the key encoder.
        num_items_in_batch: masked tokens in the optimizer step (all micro-batches and processes).
        num_pairs_in_batch: pairs in the optimizer step; L_MoCo is their mean, exactly also under
            gradient accumulation (the `AlignmentTrainer` passes it).
        alignment_pairs: ignored (PPA uses no word alignment; accepted so one collator serves every objective).

        In training mode the keys are kept for `after_optimizer_step`; the queue and the key encoder do not
        change here.
        """
        # One lookup for both passes through the query encoder: one gradient of the vocabulary-sized embedding
        # matrix to fill and add, not two.
        pair_embeds, query_embeds = self.bert.embeddings.word_embeddings(
            torch.cat([input_ids.flatten(), query_input_ids.flatten()])
        ).split([input_ids.numel(), query_input_ids.numel()])
        hidden = self.bert(inputs_embeds=pair_embeds.view(*input_ids.shape, -1), attention_mask=attention_mask,
                           token_type_ids=token_type_ids, **kwargs).last_hidden_state
        mlm_loss, mlm_sums, mlm_logits, mlm_labels = self.masked_lm_loss(hidden, labels, num_items_in_batch)

        if not self.queue.key_encoder_ready.item():
            self.momentum_update()  # a new key encoder starts as a copy of the query encoder
        if len(query_input_ids):
            queries = self._embed(self.bert, self.projection, query_attention_mask,
                                  inputs_embeds=query_embeds.view(*query_input_ids.shape, self.config.hidden_size))
            with torch.no_grad():
                keys = self._embed(self.key_bert, self.key_projection, key_attention_mask, input_ids=key_input_ids)
            per_pair, contrastive_logits = info_nce(queries, keys, self.queue.keys, self.queue.negatives_mask(),
                                                    self.config.ppa_temperature)
            if self.training:
                self.step_keys.append(keys)
            contrastive_sum = per_pair.sum()
        else:  # single sentences only (--monolingual_data): no pair to contrast; the projection takes part at 0,
            # as DDP expects of every trained parameter
            per_pair, contrastive_logits = query_embeds.new_zeros(0), query_embeds.new_zeros(0, 1)
            contrastive_sum = 0.0 * sum(parameter.sum() for parameter in self.projection.parameters())
        # a step of single sentences only has no pair: its (zero) term is divided by 1
        pairs_denominator = max(num_pairs_in_batch if num_pairs_in_batch is not None else len(query_input_ids), 1)
        return PpaForPreTrainingOutput(
            loss=mlm_loss + contrastive_sum / pairs_denominator,
            mlm_loss=mlm_loss.detach(),
            contrastive_loss=contrastive_sum.detach() / pairs_denominator,
            head_sums={
                "mlm": mlm_sums,
                # accuracy: the share of queries that rank their own key above every negative
                "contrastive": head_sums(contrastive_sum, len(per_pair), contrastive_logits,
                                         torch.zeros_like(per_pair, dtype=torch.long), count_correct=not self.training),
            },
            mlm_logits=mlm_logits,
            mlm_labels=mlm_labels,
        )

    def published_state_dict(self):
        """The query encoder (with its pooler) and its MLM head. The key encoder and the queue are in every
        checkpoint, for resuming, but not in the result."""
        return {k: v for k, v in self.state_dict().items() if k.startswith(("bert.", "cls."))}


def self_training_loss(source_states, source_mask, target_states, target_mask, threshold):
    """awesome-align's self-training objective (SO), per sentence pair, and its guide.

    source_states (batch, m, d), target_states (batch, n, d): each sentence's states, encoded alone;
    source_mask (batch, m), target_mask (batch, n): True on the sentence's own tokens (not special, not padding).
    With S = source_states @ target_statesᵀ, P→ = softmax of S over the target and P← over the source, the
    guide A links (i, j) where both exceed `threshold` (awesome-align's extraction, so the model is trained
    towards the alignments it extracts: no gradient flows through A), and the loss of a pair is
    −(Σ A∘P→ / m + Σ A∘P← / n), m and n its sentences' lengths. Returns `(per_pair_loss, guide)`.
    """
    valid = source_mask[:, :, None] & target_mask[:, None, :]
    # finite, not -inf: a padding row of all-masked scores gives a uniform softmax (that A then zeroes), not NaN
    scores = (source_states @ target_states.transpose(1, 2)).masked_fill(~valid, torch.finfo(source_states.dtype).min)
    source_to_target, target_to_source = scores.softmax(-1), scores.softmax(-2)
    guide = (source_to_target > threshold) & (target_to_source > threshold) & valid
    per_pair = -((source_to_target * guide).sum((1, 2)) / source_mask.sum(1)
                 + (target_to_source * guide).sum((1, 2)) / target_mask.sum(1))
    return per_pair, guide


def sentence_tokens(attention_mask):
    """True on a sentence's own tokens in its right-padded view `[CLS] S [SEP]` (`<s> S </s>`): all but the first
    and the last real token."""
    mask = attention_mask.bool().clone()
    mask[:, 0] = False
    mask[torch.arange(len(mask), device=mask.device), attention_mask.sum(1) - 1] = False
    return mask


@dataclass
class AwesomeAlignForPreTrainingOutput(ModelOutput):
    r"""
    loss: L_SO + L_TLM (L_SO alone without `alignment_tlm`). mlm_loss, self_training_loss: the two terms.
    head_sums: per head (`"mlm"`, `"self_training"`), this batch's sums (see `WeamForPreTrainingOutput`).
    """

    loss: torch.FloatTensor | None = None
    mlm_loss: torch.FloatTensor | None = None
    self_training_loss: torch.FloatTensor | None = None
    head_sums: dict[str, dict[str, torch.Tensor]] | None = None
    mlm_logits: torch.FloatTensor | None = None
    mlm_labels: torch.LongTensor | None = None


class AwesomeAlignForPreTraining(MaskedPreTrainingModel):
    """awesome-align's fine-tuning (Dou & Neubig 2021) of an encoder for word alignment: the self-training
    objective (SO, `self_training_loss`) at layer `alignment_layer` on each sentence of a pair encoded alone,
    plus TLM (BERT's MLM head) on the masked pair. L = L_SO + L_TLM, or L_SO alone (`alignment_tlm=False`).
    Words are then aligned with the trained encoder at the same layer (`align_words.py --aligner neural+eflomal`),
    e.g. for the word alignments WEAM learns from.
    """

    def __init__(self, config: WeamConfig):
        super().__init__(config)
        if config.alignment_layer > config.num_hidden_layers:
            raise ValueError(f"alignment_layer {config.alignment_layer} is past the encoder's "
                             f"{config.num_hidden_layers} layers: set --alignment_layer")
        if not config.alignment_tlm:  # the head's own weights; its decoder is the word embeddings, which SO trains
            self.cls.predictions.transform.requires_grad_(False)
            self.cls.predictions.bias.requires_grad_(False)
        self.post_init()

    def forward(
        self,
        input_ids=None,
        attention_mask=None,
        token_type_ids=None,
        labels=None,
        query_input_ids=None,
        query_attention_mask=None,
        key_input_ids=None,
        key_attention_mask=None,
        num_items_in_batch=None,
        num_pairs_in_batch=None,
        alignment_pairs=None,
        **kwargs,
    ) -> AwesomeAlignForPreTrainingOutput:
        r"""
        input_ids, attention_mask, token_type_ids, labels: the masked pair `[CLS] S [SEP] T [SEP]` (TLM).
        query_input_ids, query_attention_mask / key_input_ids, key_attention_mask: the unmasked sentences
            `[CLS] S [SEP]` and `[CLS] T [SEP]` (the collator's sentence views), for SO.
        num_items_in_batch: masked tokens in the optimizer step (all micro-batches and processes).
        num_pairs_in_batch: pairs in the optimizer step; L_SO is their mean, exactly also under gradient
            accumulation (the `AlignmentTrainer` passes it).
        alignment_pairs: ignored (the guide comes from the model itself).
        """
        sums, mlm_logits, mlm_labels, mlm_loss = {}, None, None, 0.0
        if self.config.alignment_tlm:
            hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids,
                               **kwargs).last_hidden_state
            mlm_loss, sums["mlm"], mlm_logits, mlm_labels = self.masked_lm_loss(hidden, labels, num_items_in_batch)

        # Both sentences in one pass (padded to one length); the layers above `alignment_layer` get no gradient.
        length = max(query_input_ids.shape[1], key_input_ids.shape[1])
        views = [(F.pad(ids, (0, length - ids.shape[1])), F.pad(mask, (0, length - mask.shape[1])))
                 for ids, mask in ((query_input_ids, query_attention_mask), (key_input_ids, key_attention_mask))]
        view_ids, view_mask = (torch.cat(parts) for parts in zip(*views))
        states = self.bert(input_ids=view_ids, attention_mask=view_mask,
                           output_hidden_states=True).hidden_states[self.config.alignment_layer]
        source_states, target_states = states.chunk(2)
        source_mask, target_mask = sentence_tokens(view_mask).chunk(2)
        per_pair, _ = self_training_loss(source_states, source_mask, target_states, target_mask,
                                         self.config.alignment_threshold)
        self_training_sum = per_pair.sum()
        pairs_denominator = num_pairs_in_batch if num_pairs_in_batch is not None else len(per_pair)
        sums["self_training"] = {"loss_sum": self_training_sum.detach(),
                                 "loss_count": torch.as_tensor(len(per_pair), device=per_pair.device)}
        return AwesomeAlignForPreTrainingOutput(
            loss=mlm_loss + self_training_sum / pairs_denominator,
            mlm_loss=mlm_loss.detach() if self.config.alignment_tlm else None,
            self_training_loss=self_training_sum.detach() / pairs_denominator,
            head_sums=sums,
            mlm_logits=mlm_logits,
            mlm_labels=mlm_labels,
        )


# save_pretrained writes the code files and the `auto_map` entry (see the module docstring).
WeamForPreTraining.register_for_auto_class("AutoModelForPreTraining")
PpaForPreTraining.register_for_auto_class("AutoModelForPreTraining")
AwesomeAlignForPreTraining.register_for_auto_class("AutoModelForPreTraining")


def save_as_bert(model: nn.Module, save_directory: str) -> None:
    """Write a pre-training model (or a BERT with WEAM settings in its config) as a plain `bert` checkpoint:
    the encoder and, where the model has one, the MLM head (`BertForMaskedLM`), else `BertModel`; the
    config without WEAM's settings and `auto_map`. The pooler is written too, so
    `BertForSequenceClassification` starts from it as from mBERT's. The cross-lingual head and PPA's key
    encoder (pre-training only) are left out."""
    settings = {
        key: value
        for key, value in model.config.to_dict().items()
        if key not in WEAM_SETTINGS and key not in ("model_type", "auto_map", "architectures")
    }
    bert_config = BertConfig(**settings)
    if hasattr(model, "cls"):
        bert, prefix = BertForMaskedLM(bert_config), ""
    else:  # an encoder, bare (keys `embeddings.*`) or under a task head (keys `bert.embeddings.*`)
        bert, prefix = BertModel(bert_config), "bert." if hasattr(model, "bert") else ""
    wanted = set(bert.state_dict()) | {"bert.pooler.dense.weight", "bert.pooler.dense.bias"}
    state = {key[len(prefix) :]: value for key, value in model.state_dict().items() if key.startswith(prefix)}
    state = {key: value.contiguous() for key, value in state.items() if key in wanted}
    missing = sorted(set(bert.state_dict()) - set(state))
    if missing:
        raise ValueError(f"the model has no weights for these BERT parameters: {missing}")
    bert.load_state_dict(state, strict=False)
    bert.save_pretrained(save_directory, state_dict=state)
