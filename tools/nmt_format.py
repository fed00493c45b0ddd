"""Writer of the model file format v1 (docs/FORMAT.md). The Swift loader (Sources/NMT/ModelFile)
reads exactly what this writes; the two cite the same document."""
import json
import struct
import zlib

import numpy as np

MAGIC = b"NMTMODEL"
VERSION = 1
ALIGN = 64
DTYPES = {"f32": np.float32, "f16": np.float16}


def vocabulary_blob(pieces):
    """u32 count, then per piece u32 byte length and its UTF-8 bytes (all little-endian)."""
    out = [struct.pack("<I", len(pieces))]
    for piece in pieces:
        b = piece.encode("utf-8")
        out.append(struct.pack("<I", len(b)))
        out.append(b)
    return b"".join(out)


def write_model(path, config, tensors, blobs, dtype="f32"):
    """config: dict of header fields; tensors: ordered {name: array}; blobs: {name: bytes}.
    Identical blobs are stored once and referenced twice."""
    # f16 applies to matrices; vectors (biases, layer norms, logits bias) stay f32: they are a
    # negligible share of the size and rounding them would move every output a little.
    def stored(a):
        a = np.asarray(a, dtype=np.float32)
        return np.ascontiguousarray(a.astype(DTYPES[dtype]) if a.ndim >= 2 and a.shape[0] > 1 else a)
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
            f.write(a.tobytes())
