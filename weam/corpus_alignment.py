"""Word alignment of the training corpora: sharded over the processes of a launch, saved with the run.

eflomal, the default aligner, learns from a whole corpus, takes most of the data stage's time (hours
for a few million pairs in one process) and cannot be seeded. So:

* Under `torchrun`/`accelerate launch` with N processes, on one node or several, each corpus is cut
  into contiguous shards of rows (`shard_bounds`) and each process aligns one. eflomal's links get
  worse on small corpora, so no shard has fewer than `min_shard_pairs` pairs (a small corpus gets
  fewer shards than there are processes), and a shard is sampled with the iterations eflomal gives the
  whole corpus (`shard_aligner_options`): its default, 5000/sqrt(pairs), would make N shards N^0.5
  times the work of one corpus, so that N processes would align only N^0.5 times faster (measured:
  no loss of accuracy at 20k pairs a shard).
* The links, one short Pharaoh line per pair, reach every process through torch.distributed (a gloo
  group, in chunks), so nodes need no shared filesystem. Every process then tokenizes and trains on
  the whole corpus, with the same links.
* The links are part of the run (`RunAlignments`): OUTPUT_DIR/alignments/NAME.align has one line per
  line of the corpus (blank: skipped), NAME.json the corpus' fingerprint and the aligner's settings, and
  every checkpoint a copy. A resume, another node, or a later run on the same pairs with the same
  settings reuses them instead of aligning again (eflomal would give other links, hence other losses).
  Saved links of other pairs or settings are an earlier run's: they stop the run, unless
  --overwrite_output_dir (aligned again, with a warning). The records name files and models by their names
  (a model also by a hash of its files), never by local paths: they are pushed with the folder.
"""

import glob
import hashlib
import json
import logging
import math
import os
import shutil
import time
from datetime import timedelta

import torch
import torch.distributed as dist
from transformers import TrainerCallback
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

from weam.corpora import ParallelDataError
from weam.model_card import public_location
from weam.word_alignment import align_words, pharaoh_line, split_words

logger = logging.getLogger(__name__)

# AER on test.de-en aligned inside 40k, 20k, 10k, 5k news pairs: 26.8, 27.9, 29.0, 30.0 (each halving
# costs ~1 point; `benchmarks/bench_data.py --shard_aer`, docs/multi-node.md).
MIN_SHARD_PAIRS = 20_000
STATISTICAL_ALIGNERS = ("eflomal", "neural+eflomal")
FOLDER = "alignments"
EXCHANGE_LINES = 100_000  # Pharaoh lines per message between processes
# Aligner options that change where or how fast links are computed, not the links.
RUNTIME_OPTIONS = ("device", "batch_size")


def shard_bounds(pairs: int, shards: int) -> list[tuple[int, int]]:
    """Row ranges `[start, stop)` of `shards` contiguous shards whose sizes differ by at most one."""
    return [(k * pairs // shards, (k + 1) * pairs // shards) for k in range(shards)]


def shard_count(pairs: int, processes: int, aligner: str, min_shard_pairs: int = MIN_SHARD_PAIRS) -> int:
    """One shard per process, but none under `min_shard_pairs` pairs for a statistical aligner
    (a neural aligner links each pair alone: any shard size is as good)."""
    if aligner in STATISTICAL_ALIGNERS:
        return max(1, min(processes, pairs // max(1, min_shard_pairs)))
    return max(1, min(processes, pairs))


def shard_aligner_options(aligner: str, options: dict, shard_pairs: int, corpus_pairs: int) -> dict:
    """`options` for one shard of a corpus: eflomal samples it with the iterations of the whole corpus."""
    if aligner not in STATISTICAL_ALIGNERS or shard_pairs >= corpus_pairs:
        return options
    nested = aligner == "neural+eflomal"  # whose own options are the neural aligner's
    eflomal_options = dict(options.get("eflomal_options") or {}) if nested else dict(options)
    if "n_iterations" in eflomal_options:  # fixed by the caller
        return options
    share = math.sqrt(shard_pairs / corpus_pairs)
    eflomal_options["rel_iterations"] = eflomal_options.get("rel_iterations", 1.0) * share
    return {**options, "eflomal_options": eflomal_options} if nested else eflomal_options


def pairs_fingerprint(rows) -> str:
    """SHA-256 of a dataset's pairs: their line numbers and texts, in order."""
    digest = hashlib.sha256()
    columns = ["line", "source", "target"] if "line" in rows.column_names else ["source", "target"]
    for batch in rows.select_columns(columns).iter(batch_size=10_000):
        for column in columns:
            digest.update("\0".join(map(str, batch[column])).encode("utf-8", "surrogatepass") + b"\1")
    return digest.hexdigest()


def links_fingerprint(lines: list[str]) -> str:
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def local_model(folder: str) -> str:
    """A local model folder as a record names it: its name and the SHA-256 of its files (not its path)."""
    digest = hashlib.sha256()
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            digest.update(name.encode() + b"\0")
            with open(path, "rb") as file:
                for block in iter(lambda: file.read(1 << 20), b""):
                    digest.update(block)
    return f"{os.path.basename(os.path.normpath(folder))} sha256:{digest.hexdigest()}"


def aligner_settings(aligner: str, options: dict, pretokenized: bool) -> dict:
    """What decides the links besides the pairs (JSON; options that are not plain values by their hash, a local
    model by `local_model`)."""
    settings = {"aligner": aligner, "pretokenized": pretokenized}
    for name, value in sorted(options.items()):
        if name in RUNTIME_OPTIONS:
            continue
        if isinstance(value, str) and os.path.isdir(value):
            value = local_model(value)
        plain = value is None or isinstance(value, (str, int, float, bool))
        settings[name] = value if plain else "sha256:" + hashlib.sha256(repr(value).encode()).hexdigest()
    return settings


class RunAlignments(TrainerCallback):
    """The word alignments of a run's corpora, in OUTPUT_DIR/alignments and in every checkpoint.

    `find` looks in the checkpoint the run resumes from, then in the output folder; `save` writes
    `NAME.align` (one Pharaoh line per line of the corpus, blank for a line not used) and `NAME.json`
    (the record); as a `TrainerCallback` it hard-links (or copies) them into each checkpoint it saves.
    `save_files=False` (a process that does not save, see `TrainingArguments.should_save`) only reads.
    Saved links of other pairs or settings (an earlier run's, or of the checkpoint resumed from) stop the run,
    unless `overwrite` (--overwrite_output_dir): then this run's corpus is aligned again, over them.
    """

    def __init__(self, output_dir, resume_from_checkpoint=None, save_files=True, overwrite=False):
        self.folder = os.path.join(output_dir, FOLDER)
        self.resumed = os.path.join(resume_from_checkpoint, FOLDER) if isinstance(resume_from_checkpoint, str) else None
        self.search = [self.resumed, self.folder] if self.resumed else [self.folder]
        self.save_files = save_files
        self.overwrite = overwrite
        self.names = []  # of this run's corpora, in order

    def name_for(self, corpus_name: str) -> str:
        """A file name for the corpus, unique in the run (a second en-de corpus is en-de.2)."""
        name, count = corpus_name, 1
        while name in self.names:
            count += 1
            name = f"{corpus_name}.{count}"
        self.names.append(name)
        return name

    def find(self, record: dict, name: str, row_lines: list[int]):
        """((links of the rows, record) saved for these pairs and settings, or None; why the run must stop, or
        None). It stops where this corpus' saved links are of other pairs or settings, or the checkpoint resumed
        from aligned other corpora (with `overwrite`: a warning, and the corpus is aligned again)."""
        stale = None
        for folder in self.search:
            for record_path in sorted(glob.glob(os.path.join(glob.escape(folder), "*.json"))):
                try:
                    with open(record_path, encoding="utf-8") as f:
                        saved = json.load(f)
                    if (saved["pairs_sha256"], saved["settings"]) != (record["pairs_sha256"], record["settings"]):
                        if os.path.basename(record_path) == f"{name}.json":
                            stale = (record_path, saved)
                        continue
                    with open(record_path.removesuffix(".json") + ".align", encoding="utf-8") as f:
                        file_lines = f.read().split("\n")
                    links = [file_lines[line - 1] for line in row_lines]
                except (OSError, ValueError, KeyError, IndexError, TypeError) as error:
                    logger.warning(f"{record_path}: unreadable or incomplete saved alignments ({error}); ignored")
                    continue
                if links_fingerprint(links) != saved.get("links_sha256"):
                    logger.warning(f"{record_path}: its .align file does not hold the links it records; ignored")
                    continue
                logger.info(f"{record['corpus']}: using the word alignments saved in {record_path}")
                return (links, {**saved, "corpus": record["corpus"], "files": record["files"]}), None
        if stale is not None:
            path, saved = stale
            differs = [key for key in ("pairs", "pairs_sha256", "settings") if saved.get(key) != record.get(key)]
            found = (f"{path}: saved word alignments of other pairs or aligner settings ({', '.join(differs)} differ: "
                     f"{saved.get('corpus')}, {saved.get('settings')})")
            if not self.overwrite:
                return None, (f"{found}, an earlier run's: give another --output_dir, or --overwrite_output_dir to "
                              f"align {record['corpus']} again over them")
            logger.warning(f"{found}; aligning {record['corpus']} again")
        elif self.resumed and os.path.isdir(self.resumed) and not self.overwrite:
            return None, (f"{os.path.dirname(self.resumed)} was trained on other corpora (no word alignments of "
                          f"{record['corpus']}): resume it with its own --train_data")
        return None, None

    def save(self, name: str, record: dict, row_lines: list[int], links: list[str]):
        if not self.save_files:
            return
        os.makedirs(self.folder, exist_ok=True)
        by_line = dict(zip(row_lines, links))
        lines = [by_line.get(line, "") for line in range(1, record["lines"] + 1)]
        path = os.path.join(self.folder, name)
        _write_atomically(path + ".align", "".join(line + "\n" for line in lines))
        _write_atomically(path + ".json", json.dumps(record, indent=2) + "\n")

    def on_save(self, args, state, control, **kwargs):
        checkpoint = os.path.join(args.output_dir, f"{PREFIX_CHECKPOINT_DIR}-{state.global_step}")
        if not (args.should_save and self.save_files and self.names and os.path.isdir(checkpoint)):
            return
        folder = os.path.join(checkpoint, FOLDER)
        os.makedirs(folder, exist_ok=True)
        for name in self.names:
            for extension in (".align", ".json"):
                source, copy = os.path.join(self.folder, name + extension), os.path.join(folder, name + extension)
                if os.path.exists(copy):
                    os.remove(copy)
                try:
                    os.link(source, copy)  # no second copy on disk
                except OSError:
                    shutil.copyfile(source, copy)


def _write_atomically(path, text):
    """Readers (another process, a crash) see the old file or the new one, never half of one."""
    temporary = f"{path}.tmp{os.getpid()}"
    with open(temporary, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(temporary, path)


def _all_gather_lines(lines: list[str], rank: int, processes: int, group) -> list[list[str]]:
    """Every process' lines, on every process, in messages of at most EXCHANGE_LINES lines."""
    counts = [None] * processes
    dist.all_gather_object(counts, len(lines), group=group)
    gathered = [[] for _ in range(processes)]
    for start in range(0, max(counts), EXCHANGE_LINES):
        parts = [None] * processes
        dist.all_gather_object(parts, "\n".join(lines[start:start + EXCHANGE_LINES]), group=group)
        for sender, part in enumerate(parts):
            if start < counts[sender]:
                gathered[sender].extend(part.split("\n"))
    return gathered


class CorpusAlignment:
    """The alignment stage of `corpora.load_parallel_corpus`: rows -> rows with an `alignment` column
    (Pharaoh lines), from the run's saved links or aligned in shards by the processes of the launch.

    Every process of the launch must call it, for the same corpora in the same order.
    """

    def __init__(self, aligner: str, aligner_options: dict, pretokenized: bool, run_alignments: RunAlignments,
                 min_shard_pairs: int = MIN_SHARD_PAIRS):
        self.aligner, self.options, self.pretokenized = aligner, dict(aligner_options), pretokenized
        self.run_alignments, self.min_shard_pairs = run_alignments, min_shard_pairs
        self._group = None

    def _processes(self):
        """(this process' rank, number of processes, the gloo group for the links, or None for one process)."""
        if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
            return 0, 1, None
        if self._group is None:
            # Its own group: the launch's default one times out after --ddp_timeout (30 min), and a
            # shard may take longer; gloo also carries the links between the nodes of an NCCL launch.
            self._group = dist.new_group(backend="gloo", timeout=timedelta(days=7))
        return dist.get_rank(), dist.get_world_size(), self._group

    def __call__(self, rows, spec):
        rank, processes, group = self._processes()
        row_lines = rows["line"][:] if "line" in rows.column_names else list(range(1, len(rows) + 1))
        files = [path for path in spec.location.split(",") if os.path.isfile(path)]
        record = {
            "corpus": f"{spec.name}={public_location(spec.location)}",
            "files": [{"name": os.path.basename(path), "bytes": os.path.getsize(path)} for path in files],
            "pairs": len(rows),
            "lines": max(row_lines, default=0),
            "pairs_sha256": pairs_fingerprint(rows),
            "settings": aligner_settings(self.aligner, self.options, self.pretokenized),
        }
        name = self.run_alignments.name_for(spec.name)
        found, refusal = self.run_alignments.find(record, name, row_lines)
        links, saved = found if found is not None else (None, None)
        if processes > 1:
            gathered = [None] * processes
            dist.all_gather_object(gathered, (record["pairs_sha256"], saved, refusal), group=group)
            others = [k for k, (pairs_sha256, _, _) in enumerate(gathered) if pairs_sha256 != gathered[0][0]]
            if others:
                raise ParallelDataError(
                    f"{record['corpus']}: processes {others} read other pairs than process 0; every node of the "
                    "launch must have the same corpus (same files, same --skip_invalid and --max_line_chars)"
                )
            refusal = next((held for _, _, held in gathered if held), None)  # one process' stops them all
        if refusal:
            raise ParallelDataError(refusal)
        if processes > 1:  # all processes train on the links of the lowest process that has saved ones
            records = [held for _, held, _ in gathered]
            holders = [k for k, held in enumerate(records) if held]
            if not holders:
                links = None
            elif len({held and held["links_sha256"] for held in records}) > 1:
                source = holders[0]
                links = _all_gather_lines(links if rank == source else [], rank, processes, group)[source]
                saved = {**records[source], "corpus": record["corpus"], "files": record["files"]}
        if links is None:
            links, shards = self._align_shards(rows, rank, processes, group, spec.name, record["pairs_sha256"])
            record.update(links_sha256=links_fingerprint(links), processes=processes, shards=shards)
        else:
            record = saved
        self.run_alignments.save(name, record, row_lines, links)
        return rows.add_column("alignment", links)

    def _align_shards(self, rows, rank, processes, group, corpus_name, pairs_sha256):
        """This process' shard aligned, every shard's links gathered: (links of all rows, shard records)."""
        pairs = len(rows)
        shards = shard_count(pairs, processes, self.aligner, self.min_shard_pairs)
        bounds = shard_bounds(pairs, shards)
        # Shard k on process (first + k) % N: the shards of small corpora spread over the processes.
        first = int(pairs_sha256[:8], 16) % processes
        shard = (rank - first) % processes
        links, seconds = [], 0.0
        if shard < shards:
            start, stop = bounds[shard]
            links, seconds = self._align(rows[start:stop], start, pairs, shard, shards, corpus_name)
        if processes == 1:
            return links, [{"rows": list(bounds[0]), "process": 0, "seconds": round(seconds, 1)}]
        gathered = _all_gather_lines(links, rank, processes, group)
        times = [None] * processes
        dist.all_gather_object(times, round(seconds, 1), group=group)
        records = []
        for k in range(shards):
            sender = (first + k) % processes
            records.append({"rows": list(bounds[k]), "process": sender, "seconds": times[sender]})
        return [line for k in range(shards) for line in gathered[(first + k) % processes]], records

    def _align(self, part, start, corpus_pairs, shard, shards, corpus_name):
        split = str.split if self.pretokenized else split_words
        source_words = [split(text) for text in part["source"]]
        target_words = [split(text) for text in part["target"]]
        # A pair with no words on a side gets no links here; prepare_corpus reports it.
        usable = [k for k, (src, tgt) in enumerate(zip(source_words, target_words)) if src and tgt]
        options = shard_aligner_options(self.aligner, self.options, len(source_words), corpus_pairs)
        if self.aligner in ("neural", "neural+eflomal") and "device" not in options and torch.cuda.is_available():
            options = {**options, "device": f"cuda:{torch.cuda.current_device()}"}  # this process' GPU
        logger.info(
            f"{corpus_name}: aligning pairs {start + 1}-{start + len(source_words)} of {corpus_pairs} with "
            f"{self.aligner} (shard {shard + 1} of {shards})"
        )
        began = time.perf_counter()
        aligned = align_words([source_words[k] for k in usable], [target_words[k] for k in usable],
                              aligner=self.aligner, **options) if usable else []
        lines = [""] * len(source_words)
        for k, pair_links in zip(usable, aligned):
            lines[k] = pharaoh_line(pair_links)
        return lines, time.perf_counter() - began
