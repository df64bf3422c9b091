#!/usr/bin/env python3
"""Writes the tiny tokenizers of tests/tokenizer_test.cpp (run from anywhere; standard library only):

  gpt2/    vocab.json + merges.txt, GPT-2's layout: the 256 byte tokens with GPT-2's own ids, the merges below,
           <|endoftext|>.
  llama3/  tokenizer.json in Llama 3's form (a Split with Llama 3's regex, then ByteLevel without regex; merges
           as [left, right] pairs; ignore_merges; added tokens) + tokenizer_config.json (bos_token, eos_token).
  both/    tokenizer.json (ByteLevel with add_prefix_space, merges as "left right") and a vocab.json + merges.txt
           that disagree with it, to show which one load_tokenizer reads.
  bytes/   tokenizer.json in Llama 3's form with the 256 byte tokens alone (no merges, no added tokens): the one
           tokenizer small enough for the llama test model (vocab_size 256), which the program's tests
           (tests/cli_models.sh) run with it.

The merges are chosen by hand so that the tests' expected ids can be worked out by hand (the tests say how)."""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def byte_characters():
    """GPT-2's bytes_to_unicode(), in GPT-2's order of ids: the byte of each id 0..255 and its character."""
    kept = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    characters = [chr(b) for b in kept]
    others = [b for b in range(256) if b not in kept]
    return kept + others, characters + [chr(256 + n) for n in range(len(others))]


def vocabulary(merges, extra=()):
    """The byte tokens (ids 0..255), then each merge's result in order, then `extra` tokens."""
    _, characters = byte_characters()
    vocab = {c: i for i, c in enumerate(characters)}
    for left, right in merges:
        assert left in vocab and right in vocab, (left, right)
        vocab[left + right] = len(vocab)
    for token in extra:
        vocab[token] = len(vocab)
    return vocab


def write(folder, name, text):
    os.makedirs(os.path.join(HERE, folder), exist_ok=True)
    with open(os.path.join(HERE, folder, name), "w", encoding="utf-8", newline="\n") as file:
        file.write(text)


def write_json(folder, name, value):
    write(folder, name, json.dumps(value, ensure_ascii=False, indent=1) + "\n")


# rank: left right -> result (id 256 + rank)
GPT2_MERGES = [
    ("Ġ", "t"), ("h", "e"), ("Ġt", "he"), ("l", "l"), ("o", "r"), ("H", "e"), ("He", "ll"), ("Hell", "o"),
    ("Ġ", "w"), ("Ġw", "or"), ("Ġwor", "l"), ("Ġworl", "d"), ("'", "s"), ("Ġ", "c"), ("a", "t"), ("Ġc", "at"),
    ("1", "2"), ("Ġ", "Ġ"), ("Ã", "©"), ("c", "a"), ("ca", "f"), ("caf", "Ã©"), ("Ð", "Ł"), ("Ñ", "Ģ"),
    ("æ", "Ĺ"), ("æĹ", "¥"), ("ð", "Ł"), ("Ċ", "Ċ"), ("Ġ", "ÐŁ"),
]

LLAMA3_MERGES = [
    ("Ġ", "t"), ("h", "e"), ("Ġt", "he"), ("'", "s"), ("'", "S"), ("'", "r"), ("'r", "e"), ("1", "2"),
    ("12", "3"), ("4", "5"), ("Ġ", "Ġ"), ("Ċ", "Ċ"), ("Ã", "©"), ("Ġ", "c"), ("Ġc", "a"), ("Ġca", "f"),
    ("Ġcaf", "Ã©"), ("W", "e"),
]
LLAMA3_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                  r"|\s*[\r\n]+|\s+(?!\S)|\s+")


def added_token(id, content, special):
    return {"id": id, "content": content, "single_word": False, "lstrip": False, "rstrip": False,
            "normalized": False, "special": special}


def main():
    vocab = vocabulary(GPT2_MERGES, ["<|endoftext|>"])
    write_json("gpt2", "vocab.json", vocab)
    write("gpt2", "merges.txt", "#version: 0.2\n" + "".join(f"{l} {r}\n" for l, r in GPT2_MERGES))

    # "Ġdog" is a token no merge makes: with ignore_merges, " dog" is still that one token.
    vocab = vocabulary(LLAMA3_MERGES, ["Ġdog"])
    added = [added_token(len(vocab), "<|begin_of_text|>", True), added_token(len(vocab) + 1, "<|end_of_text|>", True),
             added_token(len(vocab) + 2, "<|end", False)]
    write_json("llama3", "tokenizer.json", {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": None,
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": LLAMA3_PATTERN}, "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]},
        "post_processor": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": True,
                  "vocab": vocab, "merges": [[l, r] for l, r in LLAMA3_MERGES]},
    })
    write_json("llama3", "tokenizer_config.json", {
        "bos_token": "<|begin_of_text|>",
        "eos_token": {"__type": "AddedToken", "content": "<|end_of_text|>", "lstrip": False, "normalized": False,
                      "rstrip": False, "single_word": False},
        "model_max_length": 131072,
    })

    write_json("bytes", "tokenizer.json", {
        "version": "1.0",
        "added_tokens": [],
        "normalizer": None,
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": LLAMA3_PATTERN}, "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": True,
                  "vocab": vocabulary([]), "merges": []},
    })

    json_merges, txt_merges = [("b", "c")], [("a", "b")]
    write_json("both", "tokenizer.json", {
        "added_tokens": [],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "vocab": vocabulary(json_merges), "merges": [f"{l} {r}" for l, r in json_merges]},
    })
    write_json("both", "vocab.json", vocabulary(txt_merges))
    write("both", "merges.txt", "".join(f"{l} {r}\n" for l, r in txt_merges))


if __name__ == "__main__":
    main()
