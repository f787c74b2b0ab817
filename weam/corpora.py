"""Parallel corpora in, model-ready examples out.

    read_corpus      a corpus (two line-aligned files, TSV/CSV/JSONL, a saved or Hub dataset) -> rows
                     `source`, `target` [, `alignment`], each checked (empty side, over-long line, ...)
    prepare_corpus   rows -> `input_ids` of `[CLS] S [SEP] T [SEP]`, `token_type_ids`,
                     `special_tokens_mask`, `word_ids` and `alignment`: the word links (from an aligner,
                     or given in Pharaoh format) mapped to subword position pairs (i in S, j in T)

Every step is a `datasets` map, so tokenization and word alignment run once and are cached by
fingerprint. A bad row is an error naming the file, the line and what to do; with
`skip_invalid=True` it is skipped and counted instead, and `CorpusReport` says how many pairs were
read, used and skipped for what: nothing is dropped silently.
"""

import logging
import os
from collections import Counter
from dataclasses import dataclass, field

import datasets

from weam.word_alignment import align_words, parse_pharaoh, split_words

logger = logging.getLogger(__name__)

TABULAR_FORMATS = {".tsv": "csv", ".csv": "csv", ".jsonl": "json", ".json": "json"}


class ParallelDataError(ValueError):
    """Bad input data; the message names the file, the line and what to do."""


@dataclass
class CorpusSpec:
    """One language pair's corpus as given on the command line: `[SRC-TGT=]LOCATION`.

    LOCATION is `SRC_FILE,TGT_FILE[,ALIGNMENT_FILE]` (line-aligned text, alignment in Pharaoh format),
    a `.tsv/.csv/.jsonl/.json` file, a folder written by `Dataset.save_to_disk`, or a Hub dataset
    `NAME[:CONFIG][@SPLIT]` (e.g. `Helsinki-NLP/europarl:de-en`; `@train[:100000]`: its first 100k pairs).
    Columns of tables and datasets: one per language (`en`, `de`), `source`/`target`, or a `translation`
    dict; optionally `alignment`.
    """

    source_lang: str
    target_lang: str
    location: str

    @classmethod
    def parse(cls, spec: str) -> "CorpusSpec":
        languages, _, location = spec.rpartition("=")
        if not languages:
            # `corpus.en,corpus.de`: the file extensions name the languages
            paths = location.split(",")
            extensions = [os.path.splitext(path)[1].lstrip(".") for path in paths[:2]]
            if len(paths) < 2 or not all(extensions):
                raise ParallelDataError(
                    f"{spec!r}: say which languages it holds, as `SRC-TGT={location}` (e.g. en-de={location})"
                )
            languages = "-".join(extensions)
        source_lang, sep, target_lang = languages.partition("-")
        if not sep or not source_lang or not target_lang:
            raise ParallelDataError(f"{spec!r}: the language pair must look like `en-de`, got {languages!r}")
        return cls(source_lang, target_lang, location)

    @property
    def name(self) -> str:
        return f"{self.source_lang}-{self.target_lang}"


@dataclass
class CorpusReport:
    """Pairs read = pairs used + pairs skipped (by reason)."""

    name: str
    read: int = 0
    used: int = 0
    skipped: Counter = field(default_factory=Counter)

    def count_and_drop(self, dataset: datasets.Dataset) -> datasets.Dataset:
        problems = Counter(problem for problem in dataset["problem"] if problem)
        self.skipped.update(problems)
        if problems:
            dataset = dataset.filter(lambda problem: not problem, input_columns="problem", desc="Dropping skipped")
        return dataset

    def __str__(self):
        skipped = ", ".join(f"{count} {reason}" for reason, count in self.skipped.most_common()) or "none"
        return f"{self.name}: {self.read} pairs read, {self.used} used, {sum(self.skipped.values())} skipped ({skipped})"


def _check_pair(source, target, max_line_chars):
    """The reason a pair cannot be used, or "" if it can."""
    if source is None or not source.strip():
        return "empty source side"
    if target is None or not target.strip():
        return "empty target side"
    if max(len(source), len(target)) > max_line_chars:
        return f"line longer than {max_line_chars} characters"
    return ""


def _read_text_pairs(source_path, target_path, alignment_path, max_line_chars, skip_invalid, file_stamps):
    """Yields the rows of two (three) line-aligned files; `file_stamps` only keys the cache."""
    paths = [p for p in (source_path, target_path, alignment_path) if p]
    files = [open(path, "rb") for path in paths]
    try:
        line_number = 0
        while True:
            raw_lines = [f.readline() for f in files]
            ended = [not raw for raw in raw_lines]
            if all(ended):
                return
            line_number += 1
            if any(ended):
                short = paths[ended.index(True)]
                raise ParallelDataError(
                    f"{short}: ends at line {line_number - 1}, but {paths[ended.index(False)]} goes on. "
                    "The files of a parallel corpus must have one line per sentence pair, in the same order."
                )
            texts = []
            for path, raw in zip(paths, raw_lines):
                try:
                    texts.append(raw.decode("utf-8").rstrip("\r\n"))
                except UnicodeDecodeError as error:
                    raise ParallelDataError(
                        f"{path}:{line_number}: not valid UTF-8 ({error.reason} at byte {error.start}). "
                        "Convert the file to UTF-8 (e.g. `iconv -f latin1 -t utf-8`)."
                    ) from None
            row = {"source": texts[0], "target": texts[1], "line": line_number}
            if alignment_path:
                row["alignment"] = texts[2]
            row["problem"] = _check_pair(row["source"], row["target"], max_line_chars)
            if row["problem"] and not skip_invalid:
                raise ParallelDataError(
                    f"{source_path}:{line_number} / {target_path}:{line_number}: {row['problem']}. "
                    "Fix or remove the pair (in both files), or pass --skip_invalid to skip and count such pairs."
                )
            yield row
    finally:
        for f in files:
            f.close()


def _check_utf8(path):
    with open(path, "rb") as f:
        for line_number, raw in enumerate(f, 1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as error:
                raise ParallelDataError(
                    f"{path}:{line_number}: not valid UTF-8 ({error.reason} at byte {error.start}). "
                    "Convert the file to UTF-8."
                ) from None


def _select_columns(dataset, spec, where):
    """Rename a table's or dataset's text columns to `source`/`target`."""
    columns = dataset.column_names
    if "translation" in columns:
        src, tgt = spec.source_lang, spec.target_lang
        feature = (dataset.features or {}).get("translation")  # a stream may not know its features
        languages = getattr(feature, "languages", None) or (list(feature) if isinstance(feature, dict) else None)
        if languages is not None and not {src, tgt} <= set(languages):
            raise ParallelDataError(
                f"{where}: its `translation` column holds {sorted(languages)}, not both {src} and {tgt}; name the "
                f"pair by two of those languages (e.g. `{'-'.join(sorted(languages)[:2])}={where}`)."
            )
        dataset = dataset.map(
            lambda row: {"source": row["translation"].get(src), "target": row["translation"].get(tgt)},
            remove_columns=["translation"],
        )
        columns = dataset.column_names
    for source_column, target_column in [(spec.source_lang, spec.target_lang), ("source", "target")]:
        if source_column in columns and target_column in columns:
            break
    else:
        raise ParallelDataError(
            f"{where}: no text columns for {spec.name}; it has {columns}. Name them `{spec.source_lang}` and "
            f"`{spec.target_lang}`, `source` and `target`, or give a `translation` column of dicts."
        )
    keep = {source_column: "source", target_column: "target"}
    if "alignment" in columns:
        keep["alignment"] = "alignment"
    dataset = dataset.remove_columns([c for c in columns if c not in keep])
    for old, new in keep.items():
        if old != new:
            dataset = dataset.rename_column(old, new)
    return dataset


def read_corpus(spec: CorpusSpec, max_line_chars=2000, skip_invalid=False, streaming=False, cache_dir=None):
    """Reads one corpus into rows `source`, `target` [, `alignment`], `line`, `problem`."""
    paths = spec.location.split(",")
    if len(paths) in (2, 3):
        for path in paths:
            if not os.path.isfile(path):
                raise ParallelDataError(f"{path}: no such file (from {spec.name}={spec.location})")
        gen_kwargs = {
            "source_path": paths[0],
            "target_path": paths[1],
            "alignment_path": paths[2] if len(paths) == 3 else None,
            "max_line_chars": max_line_chars,
            "skip_invalid": skip_invalid,
            # Keys the cache to the files' contents. A string: datasets would shard a list across generator calls.
            "file_stamps": repr([(os.path.abspath(p), os.path.getsize(p), os.path.getmtime(p)) for p in paths]),
        }
        if streaming:
            return datasets.IterableDataset.from_generator(_read_text_pairs, gen_kwargs=gen_kwargs)
        try:
            return datasets.Dataset.from_generator(_read_text_pairs, gen_kwargs=gen_kwargs, cache_dir=cache_dir)
        except datasets.exceptions.DatasetGenerationError as error:
            if isinstance(error.__cause__, ParallelDataError):
                raise error.__cause__ from None
            raise

    location, line_offset = spec.location, 1
    extension = os.path.splitext(location)[1].lower()
    if os.path.isfile(location) and extension in TABULAR_FORMATS:
        _check_utf8(location)
        builder = TABULAR_FORMATS[extension]
        options = {"delimiter": "\t", "quoting": 3} if extension == ".tsv" else {}
        line_offset = 2 if builder == "csv" else 1  # a header line comes first
        dataset = datasets.load_dataset(
            builder, data_files=location, split="train", streaming=streaming, cache_dir=cache_dir, **options
        )
    elif os.path.isdir(location):
        dataset = datasets.load_from_disk(location)
        if isinstance(dataset, datasets.DatasetDict):
            dataset = dataset["train"]
    elif os.path.exists(location):
        raise ParallelDataError(
            f"{location}: unknown format; give two line-aligned files `SRC,TGT`, or a file ending in "
            f"{', '.join(TABULAR_FORMATS)}"
        )
    else:  # a Hub dataset: NAME[:CONFIG][@SPLIT], e.g. Helsinki-NLP/opus-100:en-fi@train[:100000]
        location, _, split = location.partition("@")
        name, _, config = location.partition(":")
        dataset = datasets.load_dataset(name, config or None, split=split or "train", streaming=streaming,
                                        cache_dir=cache_dir)
    dataset = _select_columns(dataset, spec, location)

    def check(row, index):
        problem = _check_pair(row["source"], row["target"], max_line_chars)
        if problem and not skip_invalid:
            raise ParallelDataError(
                f"{location}, line {index + line_offset}: {problem}. Fix or remove the pair, or pass "
                "--skip_invalid to skip and count such pairs."
            )
        return {"line": index + line_offset, "problem": problem}

    return dataset.map(check, with_indices=True)


def subword_alignment(word_links, source_positions, target_positions, first_subword_only=False):
    """Word links (i, j) -> subword position pairs. A word cut off by truncation has no positions,
    so its links are dropped; no link is ever moved to another word."""
    pairs = []
    for i, j in word_links:
        source, target = source_positions.get(i), target_positions.get(j)
        if not source or not target:
            continue
        if first_subword_only:
            pairs.append([source[0], target[0]])
        else:
            pairs.extend([s, t] for s in source for t in target)
    return pairs


def _word_positions(encoding, source_word_count):
    """({word: [positions]} of S, of T) and one id per token (T's words numbered after S's, -1: special)."""
    positions = ({}, {})
    word_ids = []
    for position, (word, sequence) in enumerate(zip(encoding.word_ids, encoding.sequence_ids)):
        if word is None:
            word_ids.append(-1)
            continue
        positions[sequence].setdefault(word, []).append(position)
        word_ids.append(word + sequence * source_word_count)
    return positions, word_ids


def _prepare_batch(batch, tokenizer, max_seq_length, first_subword_only, pretokenized, aligner, aligner_options,
                   skip_invalid, corpus_name):
    split = str.split if pretokenized else split_words
    source_words = [split(text) for text in batch["source"]]
    target_words = [split(text) for text in batch["target"]]
    problems = ["" for _ in source_words]

    def report(k, problem):
        if not skip_invalid:
            raise ParallelDataError(
                f"{corpus_name}, line {batch['line'][k]}: {problem}. Fix the data, or pass --skip_invalid."
            )
        problems[k] = problem

    if "alignment" in batch:
        word_links = []
        for k, (line, src, tgt) in enumerate(zip(batch["alignment"], source_words, target_words)):
            try:
                links = parse_pharaoh(line or "")
            except ValueError as error:
                report(k, f"malformed alignment ({error})")
                links = []
            bad = [(i, j) for i, j in links if not (0 <= i < len(src) and 0 <= j < len(tgt))]
            if bad:
                report(k, f"alignment link {bad[0][0]}-{bad[0][1]} out of range ({len(src)} x {len(tgt)} words)")
                links = []
            word_links.append(links)
    elif aligner == "none":  # objectives that use no word alignment (TLM, MLM, PPA)
        word_links = [[] for _ in source_words]
    else:
        usable = [k for k, (src, tgt) in enumerate(zip(source_words, target_words)) if src and tgt]
        aligned = align_words([source_words[k] for k in usable], [target_words[k] for k in usable], aligner=aligner,
                              **aligner_options) if usable else []
        word_links = [[] for _ in source_words]
        for k, links in zip(usable, aligned):
            word_links[k] = links
    for k, (src, tgt) in enumerate(zip(source_words, target_words)):
        if not src or not tgt:
            report(k, "a side has no words after tokenization")

    # Empty word lists would break the tokenizer; a placeholder keeps rows aligned (they are dropped).
    encodings = tokenizer(
        [words or ["."] for words in source_words],
        [words or ["."] for words in target_words],
        is_split_into_words=True,
        truncation="longest_first",
        max_length=max_seq_length,
        return_special_tokens_mask=True,
        return_token_type_ids=True,
    )
    alignments, word_ids = [], []
    for k, links in enumerate(word_links):
        (source_positions, target_positions), ids = _word_positions(encodings.encodings[k], len(source_words[k]))
        alignments.append(subword_alignment(links, source_positions, target_positions, first_subword_only))
        word_ids.append(ids)  # for whole-word masking
    return {
        "input_ids": encodings["input_ids"],
        "token_type_ids": encodings["token_type_ids"],
        "special_tokens_mask": encodings["special_tokens_mask"],
        "alignment": alignments,
        "word_ids": word_ids,
        "problem": problems,
    }


def prepare_corpus(dataset, tokenizer, spec: CorpusSpec, max_seq_length=128, first_subword_only=False,
                   pretokenized=False, aligner="eflomal", aligner_options=None, skip_invalid=False):
    """Tokenizes `[CLS] S [SEP] T [SEP]` and maps word links to subword position pairs (cached)."""
    statistical = aligner in ("eflomal", "neural+eflomal") and "alignment" not in dataset.column_names
    if statistical and isinstance(dataset, datasets.IterableDataset):
        raise ParallelDataError(
            f"{spec.name}: {aligner} aligns a whole corpus at once and cannot read a stream; with --streaming "
            "use --aligner neural, or give precomputed alignments."
        )
    kwargs = dict(
        batched=True,
        # A statistical aligner learns from the whole corpus: one batch.
        batch_size=None if statistical else 1000,
        remove_columns=[c for c in dataset.column_names if c not in ("line", "problem")],
        fn_kwargs=dict(
            tokenizer=tokenizer,
            max_seq_length=max_seq_length,
            first_subword_only=first_subword_only,
            pretokenized=pretokenized,
            aligner=aligner,
            aligner_options=aligner_options or {},
            skip_invalid=skip_invalid,
            corpus_name=f"{spec.name}={spec.location}",
        ),
    )
    if isinstance(dataset, datasets.Dataset):
        kwargs["desc"] = f"Tokenizing and aligning {spec.name} ({aligner if 'alignment' not in dataset.column_names else 'given alignments'})"
    return dataset.map(_prepare_batch, **kwargs)


def load_parallel_corpus(spec: CorpusSpec, tokenizer, skip_invalid=False, max_line_chars=2000, streaming=False,
                         cache_dir=None, alignment_stage=None, **prepare_options):
    """read_corpus + prepare_corpus, with the skipped pairs counted: (dataset, CorpusReport).

    alignment_stage: called as `alignment_stage(rows, spec)` on a corpus without given alignments, it
        returns the rows with an `alignment` column (a `corpus_alignment.CorpusAlignment`: sharded over
        the launch, saved with the run); None: `prepare_corpus` aligns.
    """
    report = CorpusReport(spec.name)
    rows = read_corpus(spec, max_line_chars=max_line_chars, skip_invalid=skip_invalid, streaming=streaming,
                       cache_dir=cache_dir)
    if streaming:
        # A stream cannot be counted ahead; skipping is refused so that nothing is dropped unseen.
        if skip_invalid:
            raise ParallelDataError("--skip_invalid cannot be combined with --streaming (skips could not be counted)")
        return prepare_corpus(rows, tokenizer, spec, skip_invalid=False, **prepare_options), None
    report.read = len(rows)
    rows = report.count_and_drop(rows)
    if alignment_stage is not None and "alignment" not in rows.column_names:
        rows = alignment_stage(rows, spec)
    prepared = prepare_corpus(rows, tokenizer, spec, skip_invalid=skip_invalid, **prepare_options)
    prepared = report.count_and_drop(prepared)
    report.used = len(prepared)
    assert report.read == report.used + sum(report.skipped.values())
    return prepared.remove_columns(["line", "problem"]), report
