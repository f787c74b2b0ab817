"""WEAM: Word-Exchange Aligning Model, as `transformers` models that travel to the Hub as remote code.

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

Self-contained on purpose: this file and `configuration_weam.py` are all a Hub repo needs.
"""

from dataclasses import dataclass

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from transformers import BertConfig
from transformers import initialization as init
from transformers.models.bert.modeling_bert import (
    BertForMaskedLM,
    BertForQuestionAnswering,
    BertForSequenceClassification,
    BertForTokenClassification,
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


class WeamPreTrainedModel(BertPreTrainedModel):
    config_class = WeamConfig
    config: WeamConfig

    @torch.no_grad()
    def _init_weights(self, module):
        super()._init_weights(module)
        if isinstance(module, MomentumQueue):
            init.copy_(module.keys, F.normalize(torch.randn_like(module.keys), dim=1))
            init.zeros_(module.pointer)
            init.zeros_(module.filled)
            init.zeros_(module.key_encoder_ready)


class WeamModel(BertModel):
    """The BERT encoder, under the WEAM configuration (what `AutoModel` loads from a WEAM checkpoint)."""

    config_class = WeamConfig
    config: WeamConfig


@dataclass
class WeamForPreTrainingOutput(ModelOutput):
    r"""
    loss (`torch.FloatTensor` of shape `()`):
        L_mp + λ·L_cp, per masked token (see `WeamForPreTraining.forward`).
    mlm_loss, cross_lingual_loss (`torch.FloatTensor` of shape `()`):
        The two terms, before λ.
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


def mlm_loss_at_masked_positions(head, hidden, labels, denominator=None):
    """Σ CE / denominator over the masked positions only (vocabulary logits nowhere else)."""
    flat_labels = labels.reshape(-1)
    masked_positions = (flat_labels != -100).nonzero().squeeze(1)
    logits = head(hidden.reshape(-1, hidden.shape[-1])[masked_positions])
    targets = flat_labels[masked_positions]
    denominator = denominator if denominator is not None else max(masked_positions.numel(), 1)
    return F.cross_entropy(logits.float(), targets, reduction="sum") / denominator, logits, targets, masked_positions


class MaskedPreTrainingModel(WeamPreTrainedModel):
    """What every pre-training objective has: the BERT encoder and BERT's MLM head, tied to the embeddings."""

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

    def get_output_embeddings(self):
        return self.cls.predictions.decoder

    def set_output_embeddings(self, new_embeddings):
        self.cls.predictions.decoder = new_embeddings
        self.cls.predictions.bias = new_embeddings.bias


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

        seq_len, hidden_size = hidden.shape[1:]
        flat_hidden = hidden.reshape(-1, hidden_size)
        denominator = num_items_in_batch if num_items_in_batch is not None else max(int((labels != -100).sum()), 1)
        mlm_loss, mlm_logits, mlm_labels, masked_positions = mlm_loss_at_masked_positions(
            self.cls, hidden, labels, denominator
        )
        loss = mlm_loss

        cross_lingual_loss = cross_lingual_logits = cross_lingual_labels = None
        if self.has_cross_lingual_head:
            if alignment_pairs is None:
                raise ValueError(
                    "cross_lingual_weight > 0 needs `alignment_pairs` (use DataCollatorForWeam, or set "
                    "cross_lingual_weight=0 for TLM/MLM)"
                )
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
            cross_lingual_logits = self.cross_lingual_head(self.cross_lingual_transform(partner_states))
            cross_lingual_loss = (
                F.cross_entropy(cross_lingual_logits.float(), cross_lingual_labels, reduction="sum") / denominator
            )
            loss = loss + self.config.cross_lingual_weight * cross_lingual_loss

        return WeamForPreTrainingOutput(
            loss=loss,
            mlm_loss=mlm_loss.detach(),
            cross_lingual_loss=None if cross_lingual_loss is None else cross_lingual_loss.detach(),
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
    longest = int(max(sizes))
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
    """InfoNCE with the positive in column 0: −log exp(q·k⁺/τ) / (exp(q·k⁺/τ) + Σ exp(q·k⁻/τ)), averaged."""
    positive = (queries * positive_keys).sum(dim=1, keepdim=True)
    negative = queries @ queue_keys.T
    negative = negative.masked_fill(~queue_mask, float("-inf"))
    logits = torch.cat([positive, negative], dim=1) / temperature
    return F.cross_entropy(logits.float(), torch.zeros(len(queries), dtype=torch.long, device=queries.device),
                           reduction="none")


@dataclass
class PpaForPreTrainingOutput(ModelOutput):
    loss: torch.FloatTensor | None = None
    mlm_loss: torch.FloatTensor | None = None
    contrastive_loss: torch.FloatTensor | None = None
    mlm_logits: torch.FloatTensor | None = None
    mlm_labels: torch.LongTensor | None = None


class PpaForPreTraining(MaskedPreTrainingModel):
    """PPA (post-pretraining alignment): MoCo on the [CLS] states of translation pairs, plus TLM.

    * Query encoder `bert` (trained, what is published) and key encoder `key_bert` (an exponential moving
      average of it, m = `ppa_momentum`, no gradients, no dropout), each followed by a projection
      z = W₂·ReLU(W₁·h) of the L2-normalized final [CLS] state h, then L2-normalized.
    * InfoNCE (τ = `ppa_temperature`) of each query against its own key and the queue's keys; the batch's
      keys (gathered from all processes) then enter the queue.
    * TLM (BERT's MLM head) on the masked concatenated pair through the query encoder.
    * L = L_MoCo + L_TLM. Which sentence of a pair goes to which encoder is random (the collator's swap).
    """

    def __init__(self, config: WeamConfig):
        super().__init__(config)
        self.projection = self._make_projection(config)
        self.key_bert = BertModel(config, add_pooling_layer=False)
        self.key_projection = self._make_projection(config)
        self.key_bert.requires_grad_(False)
        self.key_projection.requires_grad_(False)
        self.queue = MomentumQueue(config.ppa_queue_size, config.ppa_projection_dim)
        self.post_init()

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

    def _embed(self, encoder, projection, input_ids, attention_mask):
        cls_state = encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state[:, 0]
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
        """
        hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids,
                           **kwargs).last_hidden_state
        mlm_loss, mlm_logits, mlm_labels, _ = mlm_loss_at_masked_positions(self.cls, hidden, labels, num_items_in_batch)

        queries = self._embed(self.bert, self.projection, query_input_ids, query_attention_mask)
        if self.training:
            self.momentum_update()
        with torch.no_grad():
            keys = self._embed(self.key_bert, self.key_projection, key_input_ids, key_attention_mask)
        per_pair = info_nce(queries, keys, self.queue.keys.clone(), self.queue.negatives_mask(),
                            self.config.ppa_temperature)
        contrastive_loss = per_pair.sum() / (num_pairs_in_batch if num_pairs_in_batch is not None else len(per_pair))
        if self.training:
            self.queue.enqueue(gather_from_all_processes(keys))
        return PpaForPreTrainingOutput(
            loss=mlm_loss + contrastive_loss,
            mlm_loss=mlm_loss.detach(),
            contrastive_loss=contrastive_loss.detach(),
            mlm_logits=mlm_logits,
            mlm_labels=mlm_labels,
        )

    def published_state_dict(self):
        """What a finished run saves and pushes: the query encoder (with its pooler) and its MLM head.
        The key encoder and the queue are in every checkpoint, for resuming, but not in the result."""
        return {k: v for k, v in self.state_dict().items() if k.startswith(("bert.", "cls."))}


class WeamForMaskedLM(BertForMaskedLM):
    config_class = WeamConfig
    config: WeamConfig


class WeamForSequenceClassification(BertForSequenceClassification):
    config_class = WeamConfig
    config: WeamConfig


class WeamForQuestionAnswering(BertForQuestionAnswering):
    config_class = WeamConfig
    config: WeamConfig


class WeamForTokenClassification(BertForTokenClassification):
    config_class = WeamConfig
    config: WeamConfig


WeamConfig.register_for_auto_class()
for _model_class, _auto_class in [
    (WeamModel, "AutoModel"),
    (WeamForPreTraining, "AutoModelForPreTraining"),
    (WeamForMaskedLM, "AutoModelForMaskedLM"),
    (WeamForSequenceClassification, "AutoModelForSequenceClassification"),
    (WeamForQuestionAnswering, "AutoModelForQuestionAnswering"),
    (WeamForTokenClassification, "AutoModelForTokenClassification"),
]:
    _model_class.register_for_auto_class(_auto_class)


def save_as_bert(model: nn.Module, save_directory: str) -> None:
    """Write a WEAM model as a plain `bert` checkpoint that stock `transformers` loads without remote
    code: the encoder and, where the model has one, the MLM head (`BertForMaskedLM`), else `BertModel`.
    The pooler is written too, so `BertForSequenceClassification` starts from it as from mBERT's.
    The cross-lingual head (pre-training only) is left out."""
    settings = {
        key: value
        for key, value in model.config.to_dict().items()
        if key not in WeamConfig.weam_settings and key not in ("model_type", "auto_map", "architectures")
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
