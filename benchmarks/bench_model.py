#!/usr/bin/env python
"""WEAM's and PPA's training steps against stock BertForMaskedLM's, side by side in one process, at mBERT size.

    python benchmarks/bench_model.py [--json FILE] [--steps 5] [--warmup 1] [--batch_size 8] [--seq_len 128]
                                     [--models mlm,weam,ppa] [--count_flops] [--profile]

All models: random weights, vocabulary 119,547 (mBERT's), 12 layers, hidden 768. Each step is a full
training step (forward, backward, AdamW fused as the Trainer runs it) on a fresh collated batch: stock
`DataCollatorForLanguageModeling` (mlm_probability=0.3) for BERT; `DataCollatorForWeam` (0.3, with word alignments) for WEAM; for PPA the
same collator with 0.15 (TLM), random order and the two sentence views (query and momentum encoders).
Steps of the models alternate, so all see the same machine load. Each step is timed twice: by the wall
clock (`step_ratio_*`) and by the process's CPU time (`cpu_step_ratio_*`, less exposed to other processes
taking the cores, though not to their use of caches and memory bandwidth). Ratios are of the medians after warm-up, with the spread of
the paired ratios (step k of a model over step k of BERT: median, min, max). Peak memory is the highest
resident set size sampled during each model's steps, above what the process held before. A step ends
with the model's `after_optimizer_step` (PPA's momentum update and enqueue).

`--count_flops` counts each model's floating-point operations over one training step's forward and
backward (`torch.utils.flop_counter`: matrix products and attention, which are nearly all of the work), by
submodule: a figure the machine's load cannot move, and where a model's floor lies. `--profile` runs every
step under torch.profiler (times include its small overhead, the same for all models) and splits the
operators' time in two: those on vocabulary-sized tensors (the output projections, their gradients and
softmax) and all the rest (the encoder, the optimizer, index work); medians over the timed steps. Both parts
come from the same steps, under the same load. With both flags, `time_floor_X_vs_mlm` is what a step of
model X would take against BERT's if each part of BERT's time grew with X's FLOPs on it: (BERT's other time x
X's FLOPs outside the output layers / BERT's + BERT's vocabulary time x X's output-layer FLOPs / BERT's) /
BERT's time. For WEAM, whose encoder work equals BERT's, that is its floor; for PPA it is slightly above it
(the optimizer's share of the other time does not grow with PPA's extra encoder passes).
"""

import argparse
import contextlib
import gc
import json
import os
import statistics
import sys
import threading
import time

import psutil
import torch
from torch.profiler import ProfilerActivity, profile
from torch.utils.flop_counter import FlopCounterMode
from transformers import AutoTokenizer, BertConfig, BertForMaskedLM, DataCollatorForLanguageModeling

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, ROOT)
from configuration_weam import WeamConfig  # noqa: E402
from data_collator import DataCollatorForWeam  # noqa: E402
from modeling_weam import MaskedPreTrainingModel, PpaForPreTraining, WeamForPreTraining  # noqa: E402

# the vocabulary-sized output layers (the prediction heads) among the models' top-level modules
OUTPUT_LAYERS = ("cls", "cross_lingual_head")
MBERT = dict(vocab_size=119547, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
             intermediate_size=3072, max_position_embeddings=512)


def make_examples(batch_size, seq_len, generator):
    """`[CLS] S [SEP] T [SEP]` of random ids (mBERT's special ids), S and T of equal length, each S token
    aligned to the T token opposite."""
    half = (seq_len - 3) // 2
    examples = []
    for _ in range(batch_size):
        ids = torch.randint(1000, MBERT["vocab_size"], (seq_len,), generator=generator).tolist()
        ids[0], ids[half + 1], ids[-1] = 101, 102, 102
        special = [0] * seq_len
        special[0] = special[half + 1] = special[-1] = 1
        types = [0] * (half + 2) + [1] * (seq_len - half - 2)
        alignment = [[1 + k, half + 2 + k] for k in range(half)]
        examples.append(dict(input_ids=ids, token_type_ids=types, special_tokens_mask=special, alignment=alignment))
    return examples


class PeakMemory:
    """Samples the resident set size in a thread; `peak` is the highest seen above `baseline`."""

    def __init__(self):
        self.process = psutil.Process()
        self.baseline = self.process.memory_info().rss
        self.peak = 0
        self.running = True
        self.thread = threading.Thread(target=self.sample, daemon=True)
        self.thread.start()

    def sample(self):
        while self.running:
            self.peak = max(self.peak, self.process.memory_info().rss - self.baseline)
            time.sleep(0.005)

    def stop(self):
        self.running = False
        self.thread.join()
        return self.peak


def training_step(model, optimizer, batch):
    """(CPU seconds of this process, wall seconds) of one training step."""
    start, start_cpu = time.perf_counter(), time.process_time()
    loss = model(**batch).loss
    loss.backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    if isinstance(model, MaskedPreTrainingModel):
        model.after_optimizer_step()
    return time.process_time() - start_cpu, time.perf_counter() - start


def count_flops(model, batch):
    """{"total": FLOPs of one forward + backward, "by_module": {top-level submodule: FLOPs}} (the optimizer's
    elementwise work is not counted)."""
    counter = FlopCounterMode(display=False)
    with counter:
        model(**batch).loss.backward()
    model.zero_grad(set_to_none=True)
    prefix = f"{type(model).__name__}."
    by_module = {name.removeprefix(prefix): sum(counts.values()) for name, counts in counter.get_flop_counts().items()
                 if name.startswith(prefix) and "." not in name.removeprefix(prefix)}
    return {"total": counter.get_total_flops(), "by_module": by_module}


def vocabulary_share(profiler, vocab_size):
    """{"vocabulary_ops_s", "other_ops_s"}: the profiled step's operator self time on tensors with a
    vocabulary-sized dimension, and on the rest."""
    seconds = {"vocabulary_ops_s": 0.0, "other_ops_s": 0.0}
    for event in profiler.key_averages(group_by_input_shape=True):
        shapes = [shape for shape in event.input_shapes if isinstance(shape, list)]
        on_vocabulary = any(vocab_size in shape for shape in shapes if all(isinstance(d, int) for d in shape))
        seconds["vocabulary_ops_s" if on_vocabulary else "other_ops_s"] += event.self_cpu_time_total / 1e6
    return seconds


def model_batch(name, collator, generator, batch_size, seq_len):
    examples = make_examples(batch_size, seq_len, generator)
    if name == "mlm":  # stock BERT's collator knows no alignments
        examples = [{k: v for k, v in e.items() if k != "alignment"} for e in examples]
    return collator(examples)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=5, help="Timed steps per model (after the warm-up steps).")
    parser.add_argument("--warmup", type=int, default=1, help="Untimed steps per model first (memory is still sampled).")
    parser.add_argument("--batch_size", type=int, default=8)
    parser.add_argument("--seq_len", type=int, default=128)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice).")
    parser.add_argument("--models", default="mlm,weam,ppa", help="Which of mlm, weam, ppa to run (mlm always runs).")
    parser.add_argument("--count_flops", action="store_true",
                        help="Count each model's FLOPs over one step (after the timed steps).")
    parser.add_argument("--profile", action="store_true",
                        help="Run the steps under torch.profiler: split their time, vocabulary-sized ops and the rest.")
    parser.add_argument("--json", help="Write the figures to this file.")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    started = time.perf_counter()
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(os.path.join(ROOT, "data", "sample", "mbert-tokenizer"))
    builders = {
        "mlm": lambda: (BertForMaskedLM(BertConfig(**MBERT)), DataCollatorForLanguageModeling(tokenizer, mlm_probability=0.3)),
        "weam": lambda: (WeamForPreTraining(WeamConfig(**MBERT)), DataCollatorForWeam(tokenizer, mlm_probability=0.3, seed=0)),
        "ppa": lambda: (PpaForPreTraining(WeamConfig(**MBERT)).train(), DataCollatorForWeam(
            tokenizer, mlm_probability=0.15, swap_probability=0.5, sentence_views=True, seed=0)),
    }
    names = ["mlm"] + [name for name in args.models.split(",") if name != "mlm"]
    setups = {name: builders[name]() for name in names}
    # fused: the Trainer's default optimizer (optim="adamw_torch_fused"), the one run_pretrain.py steps with
    optimizers = {name: torch.optim.AdamW(model.parameters(), lr=5e-5, fused=True) for name, (model, _) in setups.items()}
    figures = {}
    times = {clock: {name: [] for name in setups} for clock in ("cpu", "wall")}
    shares = {name: [] for name in setups}
    peaks = {name: 0 for name in setups}
    for step in range(args.warmup + args.steps):
        for name, (model, collator) in setups.items():
            batch = model_batch(name, collator, generator, args.batch_size, args.seq_len)
            gc.collect()
            memory = PeakMemory()
            profiler = profile(activities=[ProfilerActivity.CPU], record_shapes=True) if args.profile else None
            with profiler or contextlib.nullcontext():
                cpu, wall = training_step(model, optimizers[name], batch)
            peaks[name] = max(peaks[name], memory.stop())
            if step >= args.warmup:
                times["cpu"][name].append(cpu)
                times["wall"][name].append(wall)
                if profiler:
                    shares[name].append(vocabulary_share(profiler, MBERT["vocab_size"]))
            print(f"step {step} {name}: {cpu:.3f} s CPU, {wall:.3f} s wall", flush=True)
    # after the timed steps: the counted step's allocations would change their peak memory
    if args.count_flops:
        for name, (model, collator) in setups.items():
            batch = model_batch(name, collator, torch.Generator().manual_seed(1), args.batch_size, args.seq_len)
            figures[f"{name}_flops"] = count_flops(model, batch)
            print(f"{name}: {figures[f'{name}_flops']['total'] / 1e12:.3f} TFLOPs a step", flush=True)
            if name != "mlm":
                figures[f"flop_ratio_{name}_vs_mlm"] = figures[f"{name}_flops"]["total"] / figures["mlm_flops"]["total"]
    if args.profile and args.steps:
        for name in setups:
            figures[f"{name}_profile_median"] = {part: statistics.median(s[part] for s in shares[name])
                                                 for part in ("vocabulary_ops_s", "other_ops_s")}
        if args.count_flops:
            mlm = figures["mlm_profile_median"]
            for name in setups:
                if name == "mlm":
                    continue
                # each part of BERT's time, scaled by the FLOPs this model spends on it against BERT's
                parts = {model: {"projections": sum(figures[f"{model}_flops"]["by_module"].get(module, 0)
                                                    for module in OUTPUT_LAYERS)} for model in ("mlm", name)}
                for model, part in parts.items():
                    part["rest"] = figures[f"{model}_flops"]["total"] - part["projections"]
                figures[f"time_floor_{name}_vs_mlm"] = (
                    mlm["other_ops_s"] * parts[name]["rest"] / parts["mlm"]["rest"]
                    + mlm["vocabulary_ops_s"] * parts[name]["projections"] / parts["mlm"]["projections"]
                ) / (mlm["other_ops_s"] + mlm["vocabulary_ops_s"])
    figures = {"setup": {**vars(args), "torch_threads": torch.get_num_threads(), "model": "mBERT size, random weights",
                         "load_average_end": os.getloadavg(), "total_s": time.perf_counter() - started}, **figures}
    for name in setups if args.steps else []:
        figures[f"{name}_peak_mem_mb"] = peaks[name] / 2**20
        if name != "mlm":
            figures[f"peak_mem_ratio_{name}_vs_mlm"] = figures[f"{name}_peak_mem_mb"] / figures["mlm_peak_mem_mb"]
        for clock, prefix in (("wall", ""), ("cpu", "cpu_")):
            steps = times[clock]
            figures[f"{name}_{prefix}steps_s"] = steps[name]
            if name != "mlm":
                figures[f"{prefix}step_ratio_{name}_vs_mlm"] = statistics.median(steps[name]) / statistics.median(
                    steps["mlm"])
                paired = [mine / bert for mine, bert in zip(steps[name], steps["mlm"])]
                figures[f"{prefix}step_ratio_{name}_vs_mlm_paired"] = {
                    "median": statistics.median(paired), "min": min(paired), "max": max(paired)}
    print(json.dumps(figures, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(figures, f, indent=2)


if __name__ == "__main__":
    main()
