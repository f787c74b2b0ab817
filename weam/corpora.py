"""Parallel corpora in, model-ready examples out.

    read_corpus      a corpus (two line-aligned files, TSV/CSV, JSON Lines, a saved or Hub dataset) -> rows
                     `source`, `target` [, `alignment`], each checked (UTF-8, fields, empty side, long line, ...)
    prepare_corpus   rows -> `input_ids` of `[CLS] S [SEP] T [SEP]` (the tokenizer's pair template),
                     `token_type_ids`, `special_tokens_mask`, `word_ids` and `alignment`: the word links
                     (from an aligner, or given in Pharaoh format) mapped to subword position pairs
                     (i in S, j in T); or, with `unit="sentences"`, S and T as two examples
    load_monolingual_corpus
                     a monolingual file (one sentence per line) -> single-sentence examples like
                     `unit="sentences"`'s, to train beside the pairs (XLM's MLM + TLM)


Each sentence is tokenized as it is written (`weam.words.encode_words`), not as a list of words: a
SentencePiece tokenizer (XLM-R, multilingual-e5) would otherwise read Chinese as characters separated
by spaces. Words, for the aligner and for whole-word masking, are mapped to subwords by character offsets.

Every step makes a `datasets` dataset, so reading, tokenization and word alignment run once and are
cached by fingerprint; with `streaming=True` every step is lazy instead (`IterableDataset`), and
nothing is counted ahead. A bad row is an error naming the file, the line and what to do; with
`skip_invalid=True` it is skipped and counted instead, and `CorpusReport` says how many pairs were
read, used and skipped for what: nothing is dropped silently.
"""

import csv
import json
import logging
import os
import re
from collections import Counter
from dataclasses import dataclass, field

import datasets

from weam.word_alignment import align_words, parse_pharaoh, split_on_spaces, split_words
from weam.words import WordTokens, encode_words, words_and_text

logger = logging.getLogger(__name__)

TABLE_EXTENSIONS = (".tsv", ".csv", ".jsonl", ".json")
# The kinds of bad pair (what CorpusReport counts) and what to do about each.
FIXES = {
    "not valid UTF-8": "Convert the file to UTF-8 (e.g. `iconv -f latin1 -t utf-8`)",
    "empty source side": "Fill in or remove the pair",
    "empty target side": "Fill in or remove the pair",
    "not text": "Give both sides (and the alignment) as strings",
    "line longer than --max_line_chars": "Is it one sentence per line? Split or remove it, or raise --max_line_chars",
    "empty line": "Remove the line",
    "wrong number of fields": "Give one value per header column (a tab inside a sentence of a .tsv must go; "
                              "a comma inside a sentence of a .csv must be quoted)",
    "not valid JSON": 'Write one JSON object per line, e.g. {"en": "a house", "de": "ein Haus"}',
    "not a JSON object": 'Write one JSON object per line, e.g. {"en": "a house", "de": "ein Haus"}',
    "no text fields": "Name them by language, `source` and `target`, or give a `translation` object",
    "no alignment": "Give every row an `alignment` (Pharaoh `0-0 1-2`; an empty string for none)",
}
_UNDECODABLE = re.compile("[\udc80-\udcff]")  # bytes that are not UTF-8, as "surrogateescape" decodes them


class ParallelDataError(ValueError):
    """Bad input data; the message names the file, the line and what to do."""


@dataclass
class CorpusSpec:
    """One language pair's corpus as given on the command line: `[SRC-TGT=]LOCATION`.

    LOCATION is `SRC_FILE,TGT_FILE[,ALIGNMENT_FILE]` (line-aligned text, alignment in Pharaoh format),
    a `.tsv/.csv/.jsonl/.json` file, a folder written by `Dataset.save_to_disk`, or a Hub dataset
    `NAME[:CONFIG][@SPLIT]` (e.g. `Helsinki-NLP/europarl:de-en`; `@train[:100000]`: its first 100k pairs).
    Columns of tables and datasets: one per language (`en`, `de`), `source`/`target`, or a `translation`
    dict; optionally `alignment`. A `.json` file holds JSON Lines or one array of objects.
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
class MonolingualSpec:
    """A monolingual corpus as given on the command line: `LANG=FILE`, one sentence per line."""

    language: str
    path: str

    @classmethod
    def parse(cls, spec: str) -> "MonolingualSpec":
        language, _, path = spec.rpartition("=")  # as `CorpusSpec`: the last "=" ends the name
        if not language or not path or "-" in language or "," in path:
            raise ParallelDataError(f"{spec!r}: a monolingual corpus is `LANG=FILE` (one sentence per line, e.g. "
                                    "en=wiki.en); parallel corpora go to --train_data")
        return cls(language, path)

    @property
    def name(self) -> str:
        return self.language

    @property
    def location(self) -> str:
        return self.path


@dataclass
class CorpusReport:
    """Pairs read = pairs used + pairs skipped (by reason); of those used, `held_out` for evaluation."""

    name: str
    read: int = 0
    used: int = 0
    held_out: int = 0
    skipped: Counter = field(default_factory=Counter)
    unit: str = "pairs"  # what `read` and `used` count: "pairs", or "sentences" of a monolingual corpus

    def count_and_drop(self, dataset: datasets.Dataset) -> datasets.Dataset:
        problems = Counter(problem for problem in dataset["problem"] if problem)
        self.skipped.update(problems)
        if problems:
            dataset = dataset.filter(lambda problem: not problem, input_columns="problem", desc="Dropping skipped")
        return dataset

    def __str__(self):
        skipped = ", ".join(f"{count} {reason}" for reason, count in self.skipped.most_common()) or "none"
        return (f"{self.name}: {self.read} {self.unit} read, {self.used} used, {sum(self.skipped.values())} skipped "
                f"({skipped})")


def _judge(where, kind, detail, skip_invalid):
    """The kind of problem to record with a pair ("" for none); an error instead unless skipping."""
    if kind and not skip_invalid:
        raise ParallelDataError(
            f"{where}: {kind}{detail}. {FIXES[kind]}, or pass --skip_invalid to skip and count such pairs."
        )
    return kind


def _judged(row, where, kind, detail, skip_invalid):
    """`row` with its `problem` (see `_judge`); a skipped pair's values go, as they may not even be storable
    (bytes that are not UTF-8, numbers)."""
    row["problem"] = _judge(where, kind, detail, skip_invalid)
    if kind:
        row.update((key, None) for key in ("source", "target", "alignment") if key in row)
    return row


def _decode(raw: bytes):
    """A line of a file -> (its text without the line break and byte order mark, what is not UTF-8 in it or "")."""
    text = raw.decode("utf-8", "surrogateescape").rstrip("\r\n").removeprefix("\ufeff")
    return text, _undecodable(text)


def _undecodable(text):
    match = _UNDECODABLE.search(text)
    return f" (byte 0x{ord(match[0]) - 0xDC00:02X} at character {match.start() + 1})" if match else ""


def _check_side(text, side, max_line_chars):
    """(kind, detail) of what makes one side of a pair unusable, or ("", "")."""
    if text is None or (isinstance(text, str) and not text.strip()):
        return f"empty {side} side", ""
    if not isinstance(text, str):
        return "not text", f" (the {side} side is the {type(text).__name__} {text!r:.40})"
    if len(text) > max_line_chars:
        return "line longer than --max_line_chars", f" ({len(text)} characters, the limit is {max_line_chars})"
    return "", ""


def _check_pair(source, target, max_line_chars, alignment=""):
    """(kind, detail) of the first problem of a pair, or ("", "")."""
    if alignment is not None and not isinstance(alignment, str):
        return "not text", f" (the alignment is the {type(alignment).__name__} {alignment!r:.40})"
    source_problem = _check_side(source, "source", max_line_chars)
    return source_problem if source_problem[0] else _check_side(target, "target", max_line_chars)


def _row_features(with_alignment):
    """The columns of `read_corpus`'s rows (declared, so that a stream knows them too)."""
    columns = ["source", "target"] + ["alignment"] * with_alignment
    return datasets.Features({
        **{name: datasets.Value("string") for name in columns},
        "line": datasets.Value("int64"),
        "problem": datasets.Value("string"),
    })


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
            texts, undecodable = zip(*(_decode(raw) for raw in raw_lines))
            row = {"source": texts[0], "target": texts[1], "line": line_number}
            if alignment_path:
                row["alignment"] = texts[2]
            for path, text, bad_bytes, side in zip(paths, texts, undecodable, ("source", "target", "alignment")):
                if bad_bytes:
                    kind, detail = "not valid UTF-8", bad_bytes
                else:
                    kind, detail = _check_side(text, side, max_line_chars) if side != "alignment" else ("", "")
                if kind:
                    break
            yield _judged(row, f"{path}:{line_number}", kind, detail, skip_invalid)
    finally:
        for f in files:
            f.close()


def _read_text_lines(path, max_line_chars, skip_invalid, file_stamps):
    """Yields the rows of a monolingual file, one sentence per line (as `source`); `file_stamps` only keys the cache."""
    with open(path, "rb") as file:
        for line_number, raw in enumerate(file, 1):
            text, bad_bytes = _decode(raw)
            kind, detail = ("not valid UTF-8", bad_bytes) if bad_bytes else ("empty line", "") if not text.strip() \
                else _check_side(text, "source", max_line_chars)
            yield _judged({"source": text, "line": line_number}, f"{path}:{line_number}", kind, detail, skip_invalid)


def _table_rows(path):
    """(line number, fields, what is not UTF-8 or "") of each row of a .tsv or .csv file, the header first."""
    if path.lower().endswith(".tsv"):  # no quoting: a line is a row
        with open(path, "rb") as file:
            for line_number, raw in enumerate(file, start=1):
                text, undecodable = _decode(raw)
                yield line_number, text.split("\t") if text else [], undecodable
        return
    csv.field_size_limit(2**31 - 1)  # an over-long line is --max_line_chars' business, not the parser's
    with open(path, encoding="utf-8-sig", errors="surrogateescape", newline="") as file:
        reader = csv.reader(file)
        line_number = 1
        for fields in reader:  # a quoted field may span lines: a row is numbered by its first line
            yield line_number, fields, next(filter(None, map(_undecodable, fields)), "")
            line_number = reader.line_num + 1


def _table_columns(path, spec):
    """The header of a .tsv/.csv file and its (source, target, alignment or None) columns."""
    _, header, undecodable = next(_table_rows(path), (0, [], ""))
    if undecodable:
        raise ParallelDataError(f"{path}:1: the header is not valid UTF-8{undecodable}. {FIXES['not valid UTF-8']}.")
    names = _text_columns(header, spec)
    if names is None:
        raise _missing_columns(path, spec, header)
    return header, (*names, "alignment" if "alignment" in header else None)


def _read_table(path, header, columns, max_line_chars, skip_invalid, file_stamps):
    """Yields the rows of a .tsv/.csv file; `file_stamps` only keys the cache."""
    source_column, target_column, alignment_column = columns
    rows = _table_rows(path)
    next(rows)  # the header
    for line_number, fields, undecodable in rows:
        row = {"source": None, "target": None, "line": line_number}
        if alignment_column:
            row["alignment"] = None
        if undecodable:
            kind, detail = "not valid UTF-8", undecodable
        elif not fields:
            kind, detail = "empty line", ""
        elif len(fields) != len(header):
            kind, detail = "wrong number of fields", f" ({len(fields)}; the header has {len(header)})"
        else:
            values = dict(zip(header, fields))
            row.update(source=values[source_column], target=values[target_column])
            if alignment_column:
                row["alignment"] = values[alignment_column]
            kind, detail = _check_pair(row["source"], row["target"], max_line_chars)
        yield _judged(row, f"{path}:{line_number}", kind, detail, skip_invalid)


def _json_records(path):
    """(where, number, record, kind, detail) of each object of a JSON Lines file or of a JSON array;
    `kind` and `detail` say why an entry is no record ("" when it is one)."""
    with open(path, "rb") as file:
        if file.read(4096).lstrip()[:1] == b"[":  # one JSON array of objects
            file.seek(0)
            try:
                records = json.load(file)
            except (UnicodeDecodeError, json.JSONDecodeError) as error:
                raise ParallelDataError(
                    f"{path}: not a valid JSON array ({error}). Give one array of objects, or JSON Lines "
                    "(one object per line; a broken line can then be skipped with --skip_invalid)."
                ) from None
            for number, record in enumerate(records, start=1):
                yield f"{path}, object {number}", number, record, "", ""
            return
        file.seek(0)
        for line_number, raw in enumerate(file, start=1):
            where = f"{path}:{line_number}"
            text, undecodable = _decode(raw)
            if undecodable:
                yield where, line_number, None, "not valid UTF-8", undecodable
            elif not text.strip():
                yield where, line_number, None, "empty line", ""
            else:
                try:
                    yield where, line_number, json.loads(text), "", ""
                except json.JSONDecodeError as error:
                    yield where, line_number, None, "not valid JSON", f" ({error.msg} at character {error.colno})"


def _json_has_alignment(path):
    """Whether the first object of a JSON (Lines) file has an `alignment`: then every object needs one."""
    for _, _, record, _, _ in _json_records(path):
        if isinstance(record, dict):
            return "alignment" in record
    raise ParallelDataError(f"{path}: no JSON object in it, hence no sentence pairs. {FIXES['not valid JSON']}.")


def _read_json(path, source_lang, target_lang, with_alignment, max_line_chars, skip_invalid, file_stamps):
    """Yields the rows of a JSON Lines file or JSON array; `file_stamps` only keys the cache."""
    spec = CorpusSpec(source_lang, target_lang, path)
    for where, number, record, kind, detail in _json_records(path):
        row = {"source": None, "target": None, "line": number}
        if with_alignment:
            row["alignment"] = None
        if not kind and not isinstance(record, dict):
            kind, detail = "not a JSON object", f" (a JSON {type(record).__name__})"
        elif not kind:
            texts = record["translation"] if isinstance(record.get("translation"), dict) else record
            names = _text_columns(list(texts), spec)
            if names is None:
                kind, detail = "no text fields", f" for {spec.name} (it has {sorted(texts)})"
            elif with_alignment and "alignment" not in record:
                kind, detail = "no alignment", ""
            else:
                row.update(source=texts[names[0]], target=texts[names[1]])
                if with_alignment:
                    row["alignment"] = record["alignment"]
                kind, detail = _check_pair(row["source"], row["target"], max_line_chars, row.get("alignment", ""))
        yield _judged(row, where, kind, detail, skip_invalid)


def _text_columns(columns, spec):
    """The (source, target) names among `columns` for `spec`'s languages, or None."""
    for source_column, target_column in [(spec.source_lang, spec.target_lang), ("source", "target")]:
        if source_column in columns and target_column in columns:
            return source_column, target_column
    return None


def _missing_columns(where, spec, columns):
    return ParallelDataError(
        f"{where}: no text columns for {spec.name}; it has {list(columns)}. Name them `{spec.source_lang}` and "
        f"`{spec.target_lang}`, `source` and `target`, or give a `translation` column of dicts."
    )


def _select_columns(dataset, spec, where):
    """A dataset's text columns renamed `source`/`target` (its `alignment` kept), and whether it has one."""
    columns, features = dataset.column_names, dataset.features or {}
    if columns is None:  # a stream that does not declare its columns: its first row shows them
        first = next(iter(dataset.take(1)), None)
        if first is None:
            raise ParallelDataError(f"{where}: no rows, hence no sentence pairs")
        columns, features = list(first), first
    if "translation" in columns:
        src, tgt = spec.source_lang, spec.target_lang
        feature = features.get("translation")
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
        columns = [c for c in columns if c != "translation"] + ["source", "target"]
    names = _text_columns(columns, spec)
    if names is None:
        raise _missing_columns(where, spec, columns)
    keep = dict(zip(names, ("source", "target")))
    if "alignment" in columns:
        keep["alignment"] = "alignment"
    dataset = dataset.remove_columns([c for c in columns if c not in keep])
    renames = {old: new for old, new in keep.items() if old != new}
    return (dataset.rename_columns(renames) if renames else dataset), "alignment" in keep


def _load_hub_dataset(location, streaming, cache_dir):
    """A Hub dataset `NAME[:CONFIG][@SPLIT]`, e.g. Helsinki-NLP/opus-100:en-fi@train[:100000]."""
    name_and_config, _, split = location.partition("@")
    name, _, config = name_and_config.partition(":")
    try:
        dataset = datasets.load_dataset(name, config or None, split=split or "train", streaming=streaming,
                                        cache_dir=cache_dir)
    except ConnectionError:
        cache = cache_dir or datasets.config.HF_DATASETS_CACHE
        if datasets.config.HF_HUB_OFFLINE:
            raise ParallelDataError(
                f"{location}: offline (HF_HUB_OFFLINE or HF_DATASETS_OFFLINE is set), and not in the datasets cache "
                f"({cache}). Load it once with network access (with the same --cache_dir), or give local files."
            ) from None
        raise ParallelDataError(
            f"{location}: the Hub cannot be reached, and the dataset is not in the datasets cache ({cache}). "
            "Connect, or give local files; with HF_HUB_OFFLINE=1 a cached dataset is used without trying the network."
        ) from None
    except datasets.exceptions.DatasetNotFoundError:
        raise ParallelDataError(
            f"{location}: no such file, folder or Hub dataset. Give two line-aligned files `SRC,TGT`, a "
            f"{'/'.join(TABLE_EXTENSIONS)} file, a saved dataset folder or a Hub dataset `NAME[:CONFIG][@SPLIT]`."
        ) from None
    if streaming and dataset.num_shards > 1:
        # One shard, as every other stream here: each training process then reads all of it and keeps its
        # share of every batch round. Split by shards, processes could get unequal numbers of batches and wait
        # for each other forever at an epoch's end.
        dataset = datasets.IterableDataset.from_generator(_iterate, gen_kwargs={"stream": dataset})
    return dataset


def _iterate(stream):
    yield from stream


def _read_dataset(spec, max_line_chars, skip_invalid, streaming, cache_dir):
    """The rows of a folder written by `Dataset.save_to_disk` or of a Hub dataset."""
    location = spec.location
    if os.path.isdir(location):
        try:
            dataset = datasets.load_from_disk(location)
        except FileNotFoundError:
            raise ParallelDataError(
                f"{location}: a folder, but not one written by `Dataset.save_to_disk`. Give two line-aligned files "
                f"`SRC,TGT`, a {'/'.join(TABLE_EXTENSIONS)} file, or a saved dataset folder."
            ) from None
        if isinstance(dataset, datasets.DatasetDict):
            if "train" not in dataset:
                raise ParallelDataError(f"{location}: no `train` split (it has {sorted(dataset)})")
            dataset = dataset["train"]
        if streaming:
            dataset = dataset.to_iterable_dataset()
    elif os.path.exists(location):
        raise ParallelDataError(
            f"{location}: unknown format; give two line-aligned files `SRC,TGT`, or a file ending in "
            f"{', '.join(TABLE_EXTENSIONS)}"
        )
    elif location.startswith((".", os.sep, "~")):
        raise ParallelDataError(f"{location}: no such file or folder (from {spec.name}={location})")
    else:
        dataset = _load_hub_dataset(location, streaming, cache_dir)
    dataset, with_alignment = _select_columns(dataset, spec, location)

    def check(row, index):
        kind, detail = _check_pair(row["source"], row["target"], max_line_chars, row.get("alignment", ""))
        return {"line": index + 1, "problem": _judge(f"{location}, row {index + 1}", kind, detail, skip_invalid)}

    if isinstance(dataset, datasets.IterableDataset):  # declared, so that the stream knows its columns
        return dataset.map(check, with_indices=True, features=_row_features(with_alignment))
    return dataset.map(check, with_indices=True)


def _check_file(path, spec):
    where = f"(from {spec.name}={spec.location})"
    if os.path.isdir(path):
        raise ParallelDataError(f"{path}: a folder, not a file {where}. Give the file(s) in it.")
    if not os.path.isfile(path):
        raise ParallelDataError(f"{path}: no such file {where}")


def read_corpus(spec: CorpusSpec, max_line_chars=2000, skip_invalid=False, streaming=False, cache_dir=None):
    """Reads one corpus into rows `source`, `target` [, `alignment`], `line` (in its file) and `problem`
    (the kind of problem that makes the pair skipped, "" for none; without `skip_invalid` a problem is an
    error naming the file and the line)."""
    paths = spec.location.split(",")
    if len(paths) > 3:
        raise ParallelDataError(f"{spec.location}: at most three files (source, target, alignment), got {len(paths)}")
    extension = os.path.splitext(spec.location)[1].lower()
    if len(paths) not in (2, 3) and not (extension in TABLE_EXTENSIONS and not os.path.isdir(spec.location)):
        return _read_dataset(spec, max_line_chars, skip_invalid, streaming, cache_dir)
    for path in paths:
        _check_file(path, spec)
    if all(os.path.getsize(path) == 0 for path in paths[:2]):
        raise ParallelDataError(f"{' and '.join(paths)}: empty, hence no sentence pairs to read")
    options = {
        "max_line_chars": max_line_chars,
        "skip_invalid": skip_invalid,
        # Keys the cache to the files' contents. A string: datasets would shard a list across generator calls.
        "file_stamps": repr([(os.path.abspath(p), os.path.getsize(p), os.path.getmtime(p)) for p in paths]),
    }
    if len(paths) > 1:
        reader, with_alignment = _read_text_pairs, len(paths) == 3
        options.update(source_path=paths[0], target_path=paths[1], alignment_path=paths[2] if with_alignment else None)
    elif extension in (".tsv", ".csv"):
        header, columns = _table_columns(spec.location, spec)
        reader, with_alignment = _read_table, columns[2] is not None
        options.update(path=spec.location, header=tuple(header), columns=columns)  # tuples: not shards
    else:
        reader, with_alignment = _read_json, _json_has_alignment(spec.location)
        options.update(path=spec.location, source_lang=spec.source_lang, target_lang=spec.target_lang,
                       with_alignment=with_alignment)
    first_rows = reader(**options)
    empty = next(first_rows, None) is None
    first_rows.close()
    if empty:
        raise ParallelDataError(f"{spec.location}: no sentence pairs in it")
    features = _row_features(with_alignment)
    if streaming:
        return datasets.IterableDataset.from_generator(reader, features=features, gen_kwargs=options)
    return _generate(reader, features, options, cache_dir)


def _generate(reader, features, options, cache_dir):
    """The rows `reader(**options)` yields as a (cached) dataset; the reader's ParallelDataError, not datasets'."""
    try:
        return datasets.Dataset.from_generator(reader, features=features, gen_kwargs=options, cache_dir=cache_dir)
    except datasets.exceptions.DatasetGenerationError as error:
        if isinstance(error.__cause__, ParallelDataError):
            raise error.__cause__ from None
        raise


def subword_alignment(word_links, source_tokens, target_tokens, first_subword_only=False):
    """Word links (i, j) -> subword position pairs, each once.

    `source_tokens[i]`: the positions of source word i (`WordTokens.word_tokens`); a word cut off by
    truncation has none, so its links are dropped: no link is ever moved to another word."""
    pairs = {}
    for i, j in word_links:
        source, target = source_tokens[i], target_tokens[j]
        if not source or not target:
            continue
        if first_subword_only:
            pairs[source[0], target[0]] = None
        else:
            pairs.update(dict.fromkeys((s, t) for s in source for t in target))
    return [list(pair) for pair in pairs]  # two words that share a token give its pairs once


def _masking_word_ids(mapped: WordTokens, source_word_count):
    """One id per token for whole-word masking: T's words numbered after S's, -1 for special tokens.

    A bare space piece (`▁` before a Chinese word) belongs to no word; it is masked with the word after it.
    """
    word_ids = [-1] * len(mapped.token_words)
    for position in reversed(range(len(word_ids))):
        word, sequence = mapped.token_words[position], mapped.token_sequences[position]
        if sequence < 0:
            continue
        if word >= 0:
            word_ids[position] = word + sequence * source_word_count
        elif position + 1 < len(word_ids) and mapped.token_sequences[position + 1] == sequence:
            word_ids[position] = word_ids[position + 1]
    return word_ids


def _word_links(batch, source_words, target_words, aligner, aligner_options, pretokenized, report):
    """Each pair's word links: given (Pharaoh, checked against the words), from the aligner, or none."""
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
        return word_links
    word_links = [[] for _ in source_words]
    if aligner == "none":  # objectives that use no word alignment (TLM, MLM, PPA)
        return word_links
    usable = [k for k, (src, tgt) in enumerate(zip(source_words, target_words)) if src and tgt]
    if aligner in ("neural", "neural+eflomal") and not pretokenized:  # the encoder reads the text as written
        aligner_options = dict(aligner_options, src_texts=[batch["source"][k] for k in usable],
                               tgt_texts=[batch["target"][k] for k in usable])
    aligned = align_words([source_words[k] for k in usable], [target_words[k] for k in usable], aligner=aligner,
                          **aligner_options) if usable else []
    for k, links in zip(usable, aligned):
        word_links[k] = links
    return word_links


def _outside_length_limits(tokenizer, source_texts, target_texts, pair_length_limits):
    """Per pair, why it is outside (fewest subwords on a side, most in the pair), or "" (counted, never an error)."""
    fewest, most = pair_length_limits
    source, target = (
        [len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]] for texts in (source_texts, target_texts)
    )
    return [
        f"fewer than {fewest} subwords on a side" if min(s, t) < fewest else
        f"more than {most} subwords in the pair" if s + t > most else ""
        for s, t in zip(source, target)
    ]


def _prepare_batch(batch, tokenizer, max_seq_length, unit, first_subword_only, pretokenized, aligner, aligner_options,
                   skip_invalid, corpus_name, pair_length_limits):
    split = split_on_spaces if pretokenized else split_words
    source_words = [split(text) for text in batch["source"]]
    target_words = [split(text) for text in batch["target"]]
    problems = ["" for _ in source_words]

    def report(k, problem):
        if not skip_invalid:
            raise ParallelDataError(
                f"{corpus_name}, line {batch['line'][k]}: {problem}. Fix the data, or pass --skip_invalid."
            )
        problems[k] = problem

    word_links = _word_links(batch, source_words, target_words, aligner, aligner_options, pretokenized, report)
    for k, (src, tgt) in enumerate(zip(source_words, target_words)):
        if not src or not tgt:
            report(k, "a side has no words after tokenization")
    # The text as written, unless it is given as space-separated words (`encode_words` then joins them).
    texts = {} if pretokenized else {"texts": batch["source"], "pair_texts": batch["target"]}
    if pair_length_limits:  # an objective's filter (PPA's), not bad data: counted whatever --skip_invalid says
        written = [[words_and_text(words, None if pretokenized else text)[0] for words, text in zip(side, batch[key])]
                   for side, key in ((source_words, "source"), (target_words, "target"))]
        outside = _outside_length_limits(tokenizer, *written, pair_length_limits)
        problems = [problem or reason for problem, reason in zip(problems, outside)]
    options = dict(max_length=max_seq_length, return_special_tokens_mask=True, return_token_type_ids=True)
    if unit == "sentences":
        sides = [(source_words, texts.get("texts")), (target_words, texts.get("pair_texts"))]
        return _encode_sentences(tokenizer, sides, problems, batch["line"], options)
    encoding, mapped = encode_words(tokenizer, source_words, target_words, **texts, truncation="longest_first",
                                    **options)
    return {
        "input_ids": encoding["input_ids"],
        "token_type_ids": encoding["token_type_ids"],
        "special_tokens_mask": encoding["special_tokens_mask"],
        "alignment": [subword_alignment(links, *words.word_tokens, first_subword_only)
                      for links, words in zip(word_links, mapped)],
        "word_ids": [_masking_word_ids(words, len(src)) for words, src in zip(mapped, source_words)],
        "line": batch["line"],
        "problem": problems,
    }


def _encode_sentences(tokenizer, sides, problems, lines, options):
    """Each sentence alone (`[CLS] S [SEP]`, `<s> S </s>`, ... with the whole `max_length`). `sides`: (word lists,
    texts as written or None) of each side: the S and T of a pair become rows in a row, a monolingual corpus has
    one side. A row to skip leaves one row, carrying its problem, to be counted."""
    encoded = [encode_words(tokenizer, words, texts=texts, truncation=True, **options) for words, texts in sides]
    rows = {key: [] for key in ("input_ids", "token_type_ids", "special_tokens_mask", "alignment", "word_ids", "line",
                                "problem")}
    for k, problem in enumerate(problems):
        for encoding, mapped in encoded[: 1 if problem else len(encoded)]:
            for key in ("input_ids", "token_type_ids", "special_tokens_mask"):
                rows[key].append(encoding[key][k])
            rows["alignment"].append([])
            rows["word_ids"].append(_masking_word_ids(mapped[k], 0))
            rows["line"].append(lines[k])
            rows["problem"].append(problem)
    return rows


def _prepare_monolingual_batch(batch, tokenizer, max_seq_length, pretokenized, skip_invalid, corpus_name):
    words = [(split_on_spaces if pretokenized else split_words)(text) for text in batch["source"]]
    problems = ["" for _ in words]
    for k, sentence in enumerate(words):
        if not sentence:
            if not skip_invalid:
                raise ParallelDataError(f"{corpus_name}, line {batch['line'][k]}: the sentence has no words after "
                                        "tokenization. Fix the data, or pass --skip_invalid.")
            problems[k] = "no words after tokenization"
    options = dict(max_length=max_seq_length, return_special_tokens_mask=True, return_token_type_ids=True)
    return _encode_sentences(tokenizer, [(words, None if pretokenized else batch["source"])], problems, batch["line"],
                             options)


UNITS = ("pairs", "sentences")
# Fewest pairs worth a tokenizing process of their own: starting one (a fork, the tokenizer, the shard's
# Arrow file) costs more than tokenizing fewer.
MIN_PAIRS_PER_PROCESS = 10_000


def tokenizing_processes(pairs: int, requested: int | None = None) -> int:
    """How many processes tokenize a corpus of `pairs` pairs (datasets' `num_proc`): `requested`, or the CPU
    cores this process may use shared among the launch's processes on this machine (`LOCAL_WORLD_SIZE`),
    with none given fewer than `MIN_PAIRS_PER_PROCESS` pairs."""
    if requested is not None:
        return requested
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    cores_per_launch_process = cores // int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    return max(1, min(cores_per_launch_process, pairs // MIN_PAIRS_PER_PROCESS))


def prepare_corpus(dataset, tokenizer, spec: CorpusSpec, max_seq_length=128, unit="pairs", first_subword_only=False,
                   pretokenized=False, aligner="eflomal", aligner_options=None, skip_invalid=False,
                   pair_length_limits=None, num_proc=None):
    """Tokenizes each pair as written and maps its word links to subword position pairs (cached).

    unit: "pairs" gives one example per pair, `[CLS] S [SEP] T [SEP]` (the tokenizer's pair template) with
        its alignment; "sentences" two, S alone and T alone (MLM on the same data), each with the whole
        `max_seq_length` and no alignment.
    pair_length_limits: (fewest subwords on a side, most subwords in the pair), special tokens not counted,
        or None; pairs outside are dropped and counted (PPA's filter), never truncated to fit.
    num_proc: processes that tokenize (default: `tokenizing_processes`). An aligner that runs here (the
        rows have no `alignment` column yet) runs in this process only: eflomal learns from the whole
        corpus, and a neural aligner's encoder is loaded once.
    """
    if unit not in UNITS:
        raise ValueError(f"unit must be one of {UNITS}, got {unit!r}")
    if unit == "sentences" and aligner != "none":
        raise ValueError("single sentences carry no word alignment: use aligner='none' with unit='sentences'")
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
        remove_columns=dataset.column_names,
        fn_kwargs=dict(
            tokenizer=tokenizer,
            max_seq_length=max_seq_length,
            unit=unit,
            first_subword_only=first_subword_only,
            pretokenized=pretokenized,
            aligner=aligner,
            aligner_options=aligner_options or {},
            skip_invalid=skip_invalid,
            corpus_name=f"{spec.name}={spec.location}",
            pair_length_limits=pair_length_limits,
        ),
    )
    if isinstance(dataset, datasets.Dataset):
        aligns_here = aligner != "none" and "alignment" not in dataset.column_names
        processes = 1 if aligns_here else tokenizing_processes(len(dataset), num_proc)
        if processes > 1:  # datasets forks a pool even for num_proc=1
            kwargs["num_proc"] = processes
        kwargs["desc"] = f"Tokenizing and aligning {spec.name} ({aligner if 'alignment' not in dataset.column_names else 'given alignments'})"
    return dataset.map(_prepare_batch, **kwargs)


def hold_out_pairs(dataset, count, seed, unit="pairs"):
    """(train, held out): `count` pairs drawn at random (a stream: its first `count`), a pair's two
    sentences (`unit="sentences"`, rows 2k and 2k + 1) on the same side."""
    rows_per_pair = 2 if unit == "sentences" else 1
    if isinstance(dataset, datasets.IterableDataset):
        return dataset.skip(count * rows_per_pair), dataset.take(count * rows_per_pair)
    pairs = datasets.Dataset.from_dict({"pair": range(len(dataset) // rows_per_pair)})
    split = pairs.train_test_split(test_size=count, seed=seed)
    return tuple(
        dataset.select([pair * rows_per_pair + row for pair in split[part]["pair"] for row in range(rows_per_pair)])
        for part in ("train", "test")
    )


def load_parallel_corpus(spec: CorpusSpec, tokenizer, skip_invalid=False, max_line_chars=2000, streaming=False,
                         cache_dir=None, alignment_stage=None, **prepare_options):
    """read_corpus + prepare_corpus, with the skipped pairs counted: (dataset, CorpusReport).

    A stream comes without a report: it cannot be counted ahead, so it refuses `skip_invalid` (its skips
    could not be reported) and stops at the first bad pair instead. `alignment_stage`: a
    `weam.corpus_alignment.CorpusAlignment` that adds the word links to the rows (sharded over a launch)."""
    if streaming and skip_invalid:
        raise ParallelDataError("--skip_invalid cannot be combined with --streaming (skips could not be counted)")
    rows = read_corpus(spec, max_line_chars=max_line_chars, skip_invalid=skip_invalid, streaming=streaming,
                       cache_dir=cache_dir)
    if streaming:
        return prepare_corpus(rows, tokenizer, spec, **prepare_options).remove_columns(["line", "problem"]), None
    report = CorpusReport(spec.name)
    report.read = len(rows)
    if not report.read:
        raise ParallelDataError(f"{spec.location}: no sentence pairs in it")
    rows = report.count_and_drop(rows)
    if alignment_stage is not None and "alignment" not in rows.column_names:
        rows = alignment_stage(rows, spec)
    prepared = prepare_corpus(rows, tokenizer, spec, skip_invalid=skip_invalid, **prepare_options)
    prepared = report.count_and_drop(prepared)
    report.used = len(prepared) // (2 if prepare_options.get("unit") == "sentences" else 1)
    assert report.read == report.used + sum(report.skipped.values())
    if not report.used:
        raise ParallelDataError(f"{spec.location}: no usable sentence pairs ({report})")
    return prepared.remove_columns(["line", "problem"]), report


def load_monolingual_corpus(spec: MonolingualSpec, tokenizer, skip_invalid=False, max_line_chars=2000, cache_dir=None,
                            max_seq_length=128, pretokenized=False, num_proc=None):
    """A monolingual file, one sentence per line, as single-sentence examples `[CLS] S [SEP]` with the columns of
    `prepare_corpus(unit="sentences")`: (dataset, CorpusReport counting sentences). Read, checked and cached like a
    parallel corpus; a bad line is an error naming it, or with `skip_invalid` a counted skip."""
    _check_file(spec.path, spec)
    if os.path.getsize(spec.path) == 0:
        raise ParallelDataError(f"{spec.path}: empty, hence no sentences to read (from --monolingual_data {spec.name}=)")
    options = {"path": spec.path, "max_line_chars": max_line_chars, "skip_invalid": skip_invalid,
               "file_stamps": repr((os.path.abspath(spec.path), os.path.getsize(spec.path),
                                    os.path.getmtime(spec.path)))}
    features = datasets.Features({"source": datasets.Value("string"), "line": datasets.Value("int64"),
                                  "problem": datasets.Value("string")})
    rows = _generate(_read_text_lines, features, options, cache_dir)
    report = CorpusReport(f"{spec.language} (monolingual)", read=len(rows), unit="sentences")
    rows = report.count_and_drop(rows)
    processes = tokenizing_processes(len(rows), num_proc)
    prepared = rows.map(
        _prepare_monolingual_batch, batched=True, batch_size=1000, remove_columns=rows.column_names,
        fn_kwargs=dict(tokenizer=tokenizer, max_seq_length=max_seq_length, pretokenized=pretokenized,
                       skip_invalid=skip_invalid, corpus_name=f"{spec.language}={spec.path}"),
        desc=f"Tokenizing {spec.language} (monolingual)", **({"num_proc": processes} if processes > 1 else {}),
    )
    prepared = report.count_and_drop(prepared)
    report.used = len(prepared)
    if not report.used:
        raise ParallelDataError(f"{spec.path}: no usable sentences ({report})")
    return prepared.remove_columns(["line", "problem"]), report
