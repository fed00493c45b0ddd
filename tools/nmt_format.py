"""Reader and writer of the model file format v1 (docs/FORMAT.md). The Swift loader
(Sources/NMTFormat) reads exactly what this writes; the two cite the same document. Every tool
reads model files through read_model / read_header here, never by unpacking bytes itself."""
import json
import os
import re
import struct
import zlib

import numpy as np

MAGIC = b"NMTMODEL"
VERSION = 1
ALIGN = 64
DTYPES = {"f32": np.float32, "f16": np.float16, "i8": np.int8}
PREAMBLE = 16  # magic, u32 version, u32 header length


class FormatError(ValueError):
    """A file that is not a readable model file of this version; the message names the field."""


class Quantized:
    """An i8 matrix: values [rows, cols] int8 and one f32 scale per row; weights = values / scale."""

    def __init__(self, values, scales):
        self.values, self.scales = values, scales
        self.shape = values.shape

    @staticmethod
    def of(a):
        """Symmetric per-row quantization, as CTranslate2's int8 and the engine's own
        (nmt_quantize_rows): scale = 127 / max|row| (1 for a zero row), values rounded to nearest even."""
        a = np.asarray(a, dtype=np.float32)
        peak = np.abs(a).max(axis=1)
        scales = np.where(peak > 0, np.float32(127) / np.where(peak > 0, peak, 1), 1).astype(np.float32)
        values = np.clip(np.rint(a * scales[:, None]), -127, 127).astype(np.int8)
        return Quantized(values, scales)

    def widened(self):
        return self.values.astype(np.float32) / self.scales[:, None]


def vocabulary_blob(pieces):
    """u32 count, then per piece u32 byte length and its UTF-8 bytes (all little-endian)."""
    out = [struct.pack("<I", len(pieces))]
    for piece in pieces:
        b = piece.encode("utf-8")
        out.append(struct.pack("<I", len(b)))
        out.append(b)
    return b"".join(out)


def read_vocabulary_blob(blob):
    """The pieces of a vocabulary blob, in id order: the inverse of vocabulary_blob."""
    def u32(pos):
        if pos + 4 > len(blob):
            raise FormatError("vocabulary blob ends inside a length field")
        return struct.unpack_from("<I", blob, pos)[0]
    count, pos, pieces = u32(0), 4, []
    for _ in range(count):
        length = u32(pos)
        if pos + 4 + length > len(blob):
            raise FormatError("vocabulary blob ends inside a piece")
        pieces.append(bytes(blob[pos + 4:pos + 4 + length]).decode("utf-8"))
        pos += 4 + length
    return pieces


def _parse_header(path, head, size):
    """The header dict from the first bytes of a file of `size` bytes (magic and version checked)."""
    if len(head) < PREAMBLE or head[:8] != MAGIC:
        raise FormatError(f"{path}: not a model file: the first 8 bytes are not the magic {MAGIC.decode()!r}")
    version, header_len = struct.unpack_from("<II", head, 8)
    if version != VERSION:
        raise FormatError(f"{path}: format version {version}, this reader knows version {VERSION}")
    if PREAMBLE + header_len > size:
        raise FormatError(f"{path}: header of {header_len} bytes does not fit in the file ({size} bytes)")
    if len(head) < PREAMBLE + header_len:
        raise FormatError(f"{path}: header truncated")
    try:
        header = json.loads(bytes(head[PREAMBLE:PREAMBLE + header_len]).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise FormatError(f"{path}: header is not UTF-8 JSON: {e}") from None
    for key, kind in (("config", dict), ("tensors", list), ("blobs", list)):
        if not isinstance(header.get(key), kind):
            raise FormatError(f"{path}: header field {key!r} missing or not a {kind.__name__}")
    return header, PREAMBLE + header_len


def read_header(path):
    """The JSON header only ({"config", "tensors", "blobs"}), without reading the data; magic and
    version are checked. For tools that need the config or the tensor directory."""
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        head = f.read(PREAMBLE)
        if len(head) == PREAMBLE and head[:8] == MAGIC:
            head += f.read(struct.unpack_from("<I", head, 12)[0])
    return _parse_header(path, head, size)[0]


def read_model(path, widen=False):
    """(config, tensors, blobs) of a model file: tensors an ordered {name: np.ndarray} as stored
    (f32 or f16; float32 throughout with widen=True), blobs an ordered {name: bytes}, both in file
    order, so that write_model(path2, *read_model(path)) writes the same layout. Checks the magic,
    version, that every region lies in the data area, tensor alignment and dtypes, no duplicate
    names, and each blob's CRC-32. The arrays are read-only views of the file's bytes."""
    with open(path, "rb") as f:
        data = f.read()
    header, data_start = _parse_header(path, data, len(data))

    def region(kind, name, offset, length):
        if not (isinstance(offset, int) and isinstance(length, int)) or offset < data_start or length < 0 \
                or offset + length > len(data):
            raise FormatError(f"{path}: {kind} {name!r}: region [{offset}, +{length}) outside the data area "
                              f"[{data_start}, {len(data)})")

    blobs = {}
    for b in header["blobs"]:
        name = b["name"]
        if name in blobs:
            raise FormatError(f"{path}: duplicate blob {name!r}")
        region("blob", name, b["offset"], b["length"])
        blob = data[b["offset"]:b["offset"] + b["length"]]
        if zlib.crc32(blob) != b.get("crc32"):
            raise FormatError(f"{path}: blob {name!r}: CRC-32 {zlib.crc32(blob)}, the header says {b.get('crc32')}")
        blobs[name] = blob
    tensors = {}
    for t in header["tensors"]:
        name = t["name"]
        if name in tensors:
            raise FormatError(f"{path}: duplicate tensor {name!r}")
        if t["dtype"] not in DTYPES:
            raise FormatError(f"{path}: tensor {name!r}: unknown dtype {t['dtype']!r}")
        if t["offset"] % ALIGN:
            raise FormatError(f"{path}: tensor {name!r}: offset {t['offset']} is not a multiple of {ALIGN}")
        dtype = np.dtype(DTYPES[t["dtype"]]).newbyteorder("<")
        count = int(np.prod(t["shape"], dtype=np.int64))
        region("tensor", name, t["offset"], count * dtype.itemsize)
        a = np.frombuffer(data, dtype=dtype, count=count, offset=t["offset"]).reshape(t["shape"])
        if t["dtype"] == "i8":
            rows = t["shape"][0]
            if t.get("scales_offset", -1) % ALIGN:
                raise FormatError(f"{path}: tensor {name!r}: i8 without an aligned scales_offset")
            region("scales of", name, t["scales_offset"], 4 * rows)
            scales = np.frombuffer(data, dtype="<f4", count=rows, offset=t["scales_offset"])
            if not np.all(np.isfinite(scales) & (scales > 0)):
                raise FormatError(f"{path}: tensor {name!r}: a scale is not a finite positive number")
            a = Quantized(a, scales)
            tensors[name] = a.widened() if widen else a
            continue
        tensors[name] = a.astype(np.float32) if widen else a
    return header["config"], tensors, blobs


LANGUAGE_FIELDS = ("source_language", "target_language")
_LANGUAGE_CODE = re.compile(r"[A-Za-z]{2}[A-Za-z0-9-]{0,33}")


def is_language_code(code):
    """An ISO 639 code (en, deu), optionally with BCP 47 subtags (pt-BR): what the Swift loader
    accepts in source_language / target_language (ModelConfig.isLanguageCode)."""
    return isinstance(code, str) and _LANGUAGE_CODE.fullmatch(code) is not None


def languages_from_name(name):
    """(source, target) ISO 639 codes from an OPUS-MT name such as 'Helsinki-NLP/opus-mt-en-de' or
    'opus-mt-en-de/', or (None, None) when the name does not have that form (multilingual groups
    such as opus-mt-en-ROMANCE included: their target is chosen per line, not by the file)."""
    m = re.search(r"opus-mt-([a-z]{2,3})-([a-z]{2,3})(?![A-Za-z0-9])", os.path.basename(os.path.normpath(name)))
    return (m.group(1), m.group(2)) if m else (None, None)


def with_languages(config, source, target):
    """A copy of config recording the model's source and target language codes (optional header
    fields, docs/FORMAT.md); None leaves a field out."""
    config = {k: v for k, v in config.items() if k not in LANGUAGE_FIELDS}
    for field, code in zip(LANGUAGE_FIELDS, (source, target)):
        if code is None:
            continue
        if not is_language_code(code):
            raise FormatError(f"{field} {code!r} is not an ISO 639 code such as 'en'")
        config[field] = code
    return config


def write_model(path, config, tensors, blobs, dtype="f32"):
    """config: dict of header fields; tensors: ordered {name: array}; blobs: {name: bytes}.
    Identical blobs are stored once and referenced twice."""
    for field in LANGUAGE_FIELDS:
        if field in config and not is_language_code(config[field]):
            raise FormatError(f"{field} {config[field]!r} is not an ISO 639 code such as 'en'")
    # f16 applies to matrices; vectors (biases, layer norms, logits bias) stay f32: they are a
    # negligible share of the size and rounding them would move every output a little.
    # i8 likewise applies to matrices only, each row with its own scale.
    def stored(a):
        if isinstance(a, Quantized):
            return a
        a = np.asarray(a, dtype=np.float32)
        if a.ndim < 2 or a.shape[0] == 1:
            return np.ascontiguousarray(a)
        return Quantized.of(a) if dtype == "i8" else np.ascontiguousarray(a.astype(DTYPES[dtype]))
    arrays = [(name, stored(a)) for name, a in tensors.items()]

    def layout(header_len):
        offset = 16 + header_len
        entries, blob_entries, seen = [], [], {}
        for name, data in blobs.items():
            crc = zlib.crc32(data)
            if data in seen:
                blob_entries.append({"name": name, "offset": seen[data], "length": len(data), "crc32": crc})
                continue
            seen[data] = offset
            blob_entries.append({"name": name, "offset": offset, "length": len(data), "crc32": crc})
            offset += len(data)
        for name, a in arrays:
            offset = (offset + ALIGN - 1) // ALIGN * ALIGN
            if isinstance(a, Quantized):
                scales_offset = (offset + a.values.nbytes + ALIGN - 1) // ALIGN * ALIGN
                entries.append({"name": name, "dtype": "i8", "shape": list(a.shape), "offset": offset,
                                "scales_offset": scales_offset})
                offset = scales_offset + a.scales.nbytes
                continue
            entries.append({"name": name, "dtype": "f16" if a.dtype == np.float16 else "f32", "shape": list(a.shape),
                            "offset": offset})
            offset += a.nbytes
        return {"config": config, "tensors": entries, "blobs": blob_entries}

    # The header's length shifts the offsets inside it: iterate until it is stable.
    header_len = 0
    while True:
        header = json.dumps(layout(header_len), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        if len(header) == header_len:
            break
        header_len = len(header)
    doc = layout(header_len)
    with open(path, "wb") as f:
        f.write(MAGIC + struct.pack("<II", VERSION, header_len) + header)
        written = set()
        for b in doc["blobs"]:
            if b["offset"] in written:
                continue
            assert f.tell() == b["offset"]
            f.write(blobs[b["name"]])
            written.add(b["offset"])
        for entry, (_, a) in zip(doc["tensors"], arrays):
            f.write(b"\0" * (entry["offset"] - f.tell()))
            if isinstance(a, Quantized):
                f.write(a.values.tobytes())
                f.write(b"\0" * (entry["scales_offset"] - f.tell()))
                f.write(a.scales.astype("<f4").tobytes())
            else:
                f.write(a.tobytes())


def main():
    import argparse
    import sys
    p = argparse.ArgumentParser(description="Record the source and target language codes of a model file "
                                "(the optional config fields source_language / target_language). Only the "
                                "header changes; tensors and blobs keep their bytes (the data moves with the "
                                "header's length, tensors stay 64-byte aligned).")
    p.add_argument("model", help="model file to read")
    p.add_argument("--source-language", required=True, help="ISO 639 code of the source language, e.g. en")
    p.add_argument("--target-language", required=True, help="ISO 639 code of the target language, e.g. de")
    p.add_argument("--output", help="file to write (default: replace the input)")
    args = p.parse_args()
    try:
        config, tensors, blobs = read_model(args.model)
        tensors = {k: (v if isinstance(v, Quantized) else np.array(v)) for k, v in tensors.items()}
        config = with_languages(config, args.source_language, args.target_language)
        output = args.output or args.model
        temporary = output + ".tmp"
        # f16 tensors are written as stored: write_model converts float arrays to the dtype argument.
        dtypes = {a.dtype for a in tensors.values() if not isinstance(a, Quantized) and a.ndim >= 2 and a.shape[0] > 1}
        dtype = "f16" if np.dtype(np.float16) in dtypes else "f32"
        write_model(temporary, config, tensors, {k: bytes(v) for k, v in blobs.items()}, dtype=dtype)
        os.replace(temporary, output)
    except (FormatError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
