/// A sublayer f in its residual connection: x ← x + f(LN(x)) for pre-LN models, x ← LN(x + f(x))
/// for post-LN ones (Marian). x: [rows, d], updated in place; f reads its input and writes its
/// output, both [rows, d].
@inline(__always)
func residual(_ x: UnsafeMutablePointer<Float>, rows: Int, norm: LayerNorm, normalizeBefore: Bool,
              workspace: LayerWorkspace, _ sublayer: (UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void) {
    let count = rows * norm.size
    var input = UnsafePointer(x)
    if normalizeBefore {
        let normed = workspace.normed.reserve(count)
        norm(x, rows: rows, into: normed)
        input = UnsafePointer(normed)
    }
    let output = workspace.projected.reserve(count)
    sublayer(input, output)
    VectorMath.add(output, to: x, count: count)
    if !normalizeBefore { norm(x, rows: rows, into: x) }
}
