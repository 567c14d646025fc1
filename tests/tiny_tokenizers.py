"""The tests' one tiny-tokenizer builder: every tiny model the tests save gets
its tokenizer here, offline, from a vocabulary written in the test (no download).

Byte-level vocabularies (CLIP, BART, Qwen2) come from one alphabet, the
``tokenizers`` library's own byte-level one, with no merges: every text encodes,
one token per byte. Word vocabularies (BERT, T5) are the words given.
"""

from __future__ import annotations

from pathlib import Path


def byte_vocab(
    specials: list[str], word: str | None = None, suffixes: tuple[str, ...] = ("",)
) -> dict[str, int]:
    """``word`` (as a whole word, ``Ġword``) at id 0 when given, then ``specials``,
    then each byte-level character with each of ``suffixes`` (CLIP: ``""`` and ``"</w>"``)."""
    from tokenizers import pre_tokenizers

    vocab = {"\u0120" + word: 0} if word else {}
    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    for token in specials + [c + suffix for suffix in suffixes for c in alphabet]:
        vocab.setdefault(token, len(vocab))
    return vocab


def clip(folder: Path, max_length: int = 77):
    """A ``CLIPTokenizer`` saved to ``folder``: ``<|startoftext|>`` 0, ``<|endoftext|>`` 1,
    then the bytes (ids < 600, so a 1000-word text model takes them)."""
    import json

    from transformers import CLIPTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    vocab = byte_vocab(["<|startoftext|>", "<|endoftext|>"], suffixes=("", "</w>"))
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    tokenizer = CLIPTokenizer(
        str(folder / "vocab.json"), str(folder / "merges.txt"), model_max_length=max_length
    )
    tokenizer.save_pretrained(folder)
    return tokenizer


def bart(word: str, **kwargs):
    """A byte-level ``BartTokenizer`` with ``word`` at id 0."""
    from transformers import BartTokenizer

    vocab = byte_vocab(["<s>", "<pad>", "</s>", "<unk>", "<mask>"], word)
    return BartTokenizer(vocab=vocab, merges=[], **kwargs)


def qwen2(word: str, specials: list[str], **kwargs):
    """A byte-level ``Qwen2Tokenizer`` with ``word`` at id 0, then ``specials``."""
    from transformers import Qwen2Tokenizer

    return Qwen2Tokenizer(vocab=byte_vocab(specials, word), merges=[], **kwargs)


def bert(words: list[str]):
    """A ``BertTokenizerFast`` over ``words`` (``[CLS]`` / ``[SEP]`` as bos / eos)."""
    from transformers import BertTokenizerFast

    vocab = {w: index for index, w in enumerate(words)}
    return BertTokenizerFast(vocab=vocab, bos_token="[CLS]", eos_token="[SEP]")


def t5(words: list[str]):
    """A ``T5TokenizerFast`` over ``words`` (a unigram model; ``<pad>``, ``</s>``,
    ``<unk>`` first), each text ended by ``</s>``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import T5TokenizerFast

    tok = Tokenizer(models.Unigram([(w, -float(i)) for i, w in enumerate(words)], unk_id=2))
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    tok.post_processor = processors.TemplateProcessing(
        single="$A </s>", special_tokens=[("</s>", 1)]
    )
    return T5TokenizerFast(
        tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>", extra_ids=0
    )
