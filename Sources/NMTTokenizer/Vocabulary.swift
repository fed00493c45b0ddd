/// The model's token table for one side: id → piece and piece → id, with unknown pieces mapped
/// to the unk id, as MarianTokenizer does with vocab.json.
public struct Vocabulary: Sendable {
    public let pieces: [String]
    private let ids: [String: Int32]
    public let unkID: Int32

    public init(pieces: [String], unkID: Int) {
        self.pieces = pieces
        self.unkID = Int32(unkID)
        var ids: [String: Int32] = [:]
        ids.reserveCapacity(pieces.count)
        // The first id of a piece wins, as in a JSON object read into a dictionary of unique keys.
        for (id, piece) in pieces.enumerated() where ids[piece] == nil { ids[piece] = Int32(id) }
        self.ids = ids
    }

    public var count: Int { pieces.count }

    public func id(of piece: String) -> Int32 { ids[piece] ?? unkID }

    public func contains(_ piece: String) -> Bool { ids[piece] != nil }

    public func piece(of id: Int32) -> String? {
        pieces.indices.contains(Int(id)) ? pieces[Int(id)] : nil
    }
}
