import Foundation

/// Writes a model file (docs/FORMAT.md) from a loaded one, with its matrices in another dtype:
/// what `nmt-quantize` does. Vectors (biases, layer norms, the logits bias) stay f32; matrices
/// become `dtype`: f32, f16 (rounded to nearest), or i8 (symmetric per row, as
/// `ComputeType.i8` quantizes when loading, so the two give the same weights).
public enum ModelFileWriter {
    public static func bytes(of file: ModelFile, matrices dtype: DType) -> [UInt8] {
        // Tensors in the weight table's order, each as (entry, dtype, data bytes, scales bytes).
        var tensors: [(entry: WeightTable.Entry, dtype: DType, data: [UInt8], scales: [UInt8])] = []
        for entry in file.weights.all {
            let isMatrix = entry.dtypes.contains(.i8)
            let floats = floatValues(file.tensor(entry))
            switch isMatrix ? dtype : .f32 {
            case .f32:
                tensors.append((entry, .f32, littleEndianBytes(floats.map(\.bitPattern)), []))
            case .f16:
                tensors.append((entry, .f16, littleEndianBytes(floats.map { Float16($0).bitPattern }), []))
            case .i8:
                let (values, scales) = quantizeRows(floats, rows: entry.shape[0])
                tensors.append((entry, .i8, values.map { UInt8(bitPattern: $0) }, littleEndianBytes(scales.map(\.bitPattern))))
            }
        }
        let spm = file.sourceSentencePiece, sharedSPM = file.targetSentencePiece == spm
        var blobs: [(name: String, data: [UInt8])] = [("source.spm", spm)]
        if !sharedSPM { blobs.append(("target.spm", file.targetSentencePiece)) }
        blobs += [("source.vocab", vocabularyBlob(file.sourceVocabulary)), ("target.vocab", vocabularyBlob(file.targetVocabulary))]

        // Offsets depend on the header's length, which depends on the offsets: iterate to a fixed point.
        func layout(headerLength: Int) -> (header: [UInt8], blobOffsets: [Int], tensorOffsets: [(Int, Int?)]) {
            var offset = 16 + headerLength
            var blobOffsets: [Int] = []
            var blobEntries: [[String: Any]] = []
            for blob in blobs {
                blobOffsets.append(offset)
                blobEntries.append(["name": blob.name, "offset": offset, "length": blob.data.count,
                                    "crc32": blob.data.withUnsafeBytes { CRC32.checksum($0) }])
                offset += blob.data.count
            }
            if sharedSPM {
                blobEntries.insert(["name": "target.spm", "offset": blobOffsets[0], "length": spm.count,
                                    "crc32": blobEntries[0]["crc32"]!], at: 1)
            }
            var tensorOffsets: [(Int, Int?)] = []
            var tensorEntries: [[String: Any]] = []
            for t in tensors {
                offset = aligned(offset)
                var entry: [String: Any] = ["name": t.entry.name, "dtype": t.dtype.rawValue, "shape": t.entry.shape,
                                            "offset": offset]
                offset += t.data.count
                var scalesOffset: Int?
                if t.dtype == .i8 {
                    offset = aligned(offset)
                    scalesOffset = offset
                    entry["scales_offset"] = offset
                    offset += t.scales.count
                }
                tensorOffsets.append((entry["offset"] as! Int, scalesOffset))
                tensorEntries.append(entry)
            }
            // The config round-trips through its Codable form: the same field names as the file's.
            let config = try! JSONSerialization.jsonObject(with: JSONEncoder().encode(file.config))
            let header = try! JSONSerialization.data(
                withJSONObject: ["config": config, "tensors": tensorEntries, "blobs": blobEntries], options: [.sortedKeys])
            return (Array(header), blobOffsets, tensorOffsets)
        }
        var headerLength = 0
        var plan = layout(headerLength: 0)
        while plan.header.count != headerLength {
            headerLength = plan.header.count
            plan = layout(headerLength: headerLength)
        }
        var out = Array("NMTMODEL".utf8) + littleEndianBytes([ModelFile.version, UInt32(headerLength)]) + plan.header
        for (blob, offset) in zip(blobs, plan.blobOffsets) {
            out += [UInt8](repeating: 0, count: offset - out.count) + blob.data
        }
        for (t, (offset, scalesOffset)) in zip(tensors, plan.tensorOffsets) {
            out += [UInt8](repeating: 0, count: offset - out.count) + t.data
            if let scalesOffset { out += [UInt8](repeating: 0, count: scalesOffset - out.count) + t.scales }
        }
        return out
    }

    /// Symmetric per-row int8: scale = 127 / max|row| (1 for a zero row), values rounded to
    /// nearest (ties to even), as nmt_quantize_rows does.
    public static func quantizeRows(_ x: [Float], rows: Int) -> (values: [Int8], scales: [Float]) {
        let columns = rows > 0 ? x.count / rows : 0
        var values = [Int8](repeating: 0, count: x.count), scales = [Float](repeating: 1, count: rows)
        for r in 0..<rows {
            let row = x[(r * columns)..<((r + 1) * columns)]
            let peak = row.reduce(Float(0)) { max($0, abs($1)) }
            let scale: Float = peak > 0 ? 127 / peak : 1
            scales[r] = scale
            for (c, v) in row.enumerated() {
                values[r * columns + c] = Int8(max(-127, min(127, (v * scale).rounded(.toNearestOrEven))))
            }
        }
        return (values, scales)
    }

    private static func floatValues(_ tensor: WeightTensor) -> [Float] {
        switch tensor.values {
        case .float(let pointer):
            return Array(UnsafeBufferPointer(start: pointer, count: tensor.count))
        case .int8(let values, let scales):
            let columns = tensor.count / tensor.shape[0]
            return (0..<tensor.count).map { Float(values[$0]) / scales[$0 / columns] }
        }
    }

    private static func vocabularyBlob(_ pieces: [String]) -> [UInt8] {
        var out = littleEndianBytes([UInt32(pieces.count)])
        for piece in pieces {
            out += littleEndianBytes([UInt32(piece.utf8.count)]) + Array(piece.utf8)
        }
        return out
    }

    private static func littleEndianBytes<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(values.count * MemoryLayout<T>.size)
        for v in values { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        return out
    }

    private static func aligned(_ offset: Int) -> Int { (offset + 63) / 64 * 64 }
}
